//! `Storage` lives in files on the node's disk: a put is a file under
//! `storage/`, made durable by an atomic, synced replace, so a power cut
//! keeps every put, and one that fails in the middle of a put leaves the
//! old value or the new one, whole. A put's syncs are not drawn in the
//! trace (a put is durable by contract); a node's syncs of its own files are.

use dsim::{Ctx, Event, Node, NodeId, RequestId, Sim};
use serde::Serialize;
use std::time::Duration;

const N0: NodeId = NodeId(0);
/// A put's disk operations: create, write and sync the temporary file,
/// rename it into place, sync the directory.
const PUT_OPS: u64 = 5;

/// Puts each request's text under its key, then answers; the key
/// `journal` is instead a file of the node's own, appended to and synced.
#[derive(Debug)]
struct Keeper;

#[derive(Clone, Debug, Serialize)]
struct Put(&'static str, String);

impl Node for Keeper {
    type Msg = ();
    type Timer = ();
    type Request = Put;
    type Reply = ();

    fn on_message(&mut self, _: &mut Ctx<Self>, _: NodeId, _: ()) {}

    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, Put(key, text): Put) {
        if key == "journal" {
            let disk = ctx.disk();
            disk.create(key);
            disk.append(key, text.as_bytes()).unwrap();
            disk.sync(key).unwrap();
        } else {
            ctx.storage().put(key, &text);
        }
        ctx.reply(id, ());
    }
}

/// A value of several sectors, so that a write of it could be torn.
fn text(fill: &str) -> String {
    fill.repeat(700)
}

fn put(sim: &mut Sim<Keeper>, key: &'static str, value: String) -> bool {
    let id = sim.request(N0, Put(key, value));
    sim.run_until_quiet(Duration::from_secs(1)).unwrap();
    sim.operation(id).is_complete()
}

#[test]
fn a_put_is_a_synced_file_under_the_storage_prefix() {
    let mut sim = Sim::new(1, 1, |_| Keeper);
    assert!(put(&mut sim, "term", "seven".into()));
    let disk = sim.disk(N0);
    assert_eq!(disk.list().collect::<Vec<_>>(), ["storage/term"]);
    assert_eq!(disk.read("storage/term").unwrap(), br#""seven""#);
    assert!(disk.is_synced(), "nothing of a put is left to sync");
    assert_eq!(sim.storage(N0).size(), br#""seven""#.len());
}

#[test]
fn every_put_survives_a_power_cut() {
    for seed in 1..=20 {
        let mut sim = Sim::new(seed, 1, |_| Keeper);
        for (key, fill) in [("a", "1"), ("b", "2"), ("a", "3")] {
            assert!(put(&mut sim, key, text(fill)));
        }
        sim.power_cut(N0).unwrap();
        sim.restart(N0).unwrap();
        assert_eq!(sim.storage(N0).get::<String>("a"), Some(text("3")));
        assert_eq!(sim.storage(N0).get::<String>("b"), Some(text("2")));
    }
}

#[test]
fn a_power_failure_in_the_middle_of_a_put_leaves_the_old_value_whole() {
    for seed in 1..=20 {
        for ops in 0..PUT_OPS {
            let mut sim = Sim::new(seed, 1, |_| Keeper);
            assert!(put(&mut sim, "v", text("old")));
            sim.power_cut_after(N0, ops);
            assert!(!put(&mut sim, "v", text("new")), "the handler lost power");
            assert_eq!(
                sim.storage(N0).get::<String>("v"),
                Some(text("old")),
                "seed {seed}, failure before operation {ops} of the put"
            );
            assert_eq!(sim.disk(N0).list().collect::<Vec<_>>(), ["storage/v"]);
        }
    }
}

#[test]
fn a_put_that_ends_before_the_failure_is_kept() {
    let mut sim = Sim::new(1, 1, |_| Keeper);
    assert!(put(&mut sim, "v", text("old")));
    sim.power_cut_after(N0, PUT_OPS);
    assert!(
        put(&mut sim, "v", text("new")),
        "the put made all its operations"
    );
    assert!(!put(&mut sim, "w", text("next")), "the next put lost power");
    assert_eq!(sim.storage(N0).get::<String>("v"), Some(text("new")));
    assert_eq!(sim.storage(N0).get::<String>("w"), None::<String>);
}

#[test]
fn a_put_draws_no_sync_in_the_trace_and_a_nodes_own_sync_does() {
    let mut sim = Sim::new(1, 1, |_| Keeper);
    assert!(put(&mut sim, "term", "seven".into()));
    assert!(put(&mut sim, "journal", "entry".into()));
    let syncs: Vec<Option<String>> = (sim.trace().entries())
        .filter_map(|e| match &e.event {
            Event::Sync { node: N0, file } => Some(file.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        syncs,
        [Some("journal".to_string())],
        "a put is durable by contract"
    );
    assert_eq!(
        sim.storage(N0).get::<String>("term"),
        Some("seven".to_string())
    );
}
