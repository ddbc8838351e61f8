//! A node's disk in a run: writes outlive a crash of the node, and a power
//! cut keeps only what was synced (plus, as the seed picks, some of what
//! was not). A store that answers its client before syncing loses answered
//! writes to a power cut; one that syncs first never does.

use dsim::{Ctx, Event, EventKind, Node, NodeId, RequestId, Sim};
use serde::Serialize;
use std::time::Duration;

const N0: NodeId = NodeId(0);
const LOG: &str = "log";

/// An append-only store of numbers, one line each, in a file.
#[derive(Debug)]
struct Store {
    /// Sync the log before answering a write (false: answer, sync later).
    sync_first: bool,
}

#[derive(Clone, Debug, Serialize)]
enum Request {
    Append(u32),
}

impl Store {
    fn values(ctx: &mut Ctx<Self>) -> Vec<u32> {
        let text = ctx.disk().read(LOG).unwrap_or_default().to_vec();
        String::from_utf8_lossy(&text)
            .lines()
            .filter_map(|line| line.parse().ok())
            .collect()
    }
}

impl Node for Store {
    type Msg = ();
    type Timer = ();
    type Request = Request;
    type Reply = Vec<u32>;

    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        if !ctx.disk().exists(LOG) {
            ctx.disk().create(LOG);
            ctx.disk().sync_dir();
        }
    }

    fn on_message(&mut self, _: &mut Ctx<Self>, _: NodeId, _: ()) {}

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, _: ()) {
        ctx.disk().sync(LOG).unwrap();
    }

    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, Request::Append(value): Request) {
        let line = format!("{value}\n");
        ctx.disk().append(LOG, line.as_bytes()).unwrap();
        if self.sync_first {
            ctx.disk().sync(LOG).unwrap();
        } else {
            ctx.set_timer((), Duration::from_millis(50));
        }
        let values = Store::values(ctx);
        ctx.reply(id, values);
    }
}

/// Appends 1..=20 a millisecond apart, cuts the power at 12.5 ms, restarts;
/// returns the values answered as written and those on the disk after.
fn run(seed: u64, sync_first: bool) -> (Sim<Store>, Vec<u32>, Vec<u32>) {
    let mut sim = Sim::new(seed, 1, move |_| Store { sync_first });
    for value in 1..=20 {
        sim.request_after(
            Duration::from_millis(value as u64),
            N0,
            Request::Append(value),
        );
    }
    sim.run_for(Duration::from_micros(12_500)).unwrap();
    let answered: Vec<u32> = (sim.history().iter())
        .filter(|op| op.is_complete())
        .map(|op| match op.request {
            Request::Append(v) => v,
        })
        .collect();
    sim.power_cut(N0).unwrap();
    sim.restart(N0).unwrap();
    let text = sim.disk(N0).read(LOG).unwrap().to_vec();
    let kept = String::from_utf8_lossy(&text)
        .lines()
        .map(|line| line.parse().expect("no line is half a number"))
        .collect();
    (sim, answered, kept)
}

#[test]
fn a_store_that_syncs_before_answering_keeps_every_answered_write() {
    for seed in 1..=30 {
        let (sim, answered, kept) = run(seed, true);
        assert_eq!(answered, (1..=12).collect::<Vec<_>>(), "seed {seed}");
        assert_eq!(kept, answered, "seed {seed}");
        let syncs = (sim.trace().entries())
            .filter(|e| {
                matches!(
                    e.event,
                    Event::Sync {
                        node: N0,
                        file: Some(_)
                    }
                )
            })
            .count();
        assert_eq!(syncs, 12, "seed {seed}: every sync is in the trace");
    }
}

#[test]
fn a_store_that_answers_before_syncing_loses_answered_writes_to_a_power_cut() {
    let mut lost_some = 0;
    for seed in 1..=30 {
        let (_, answered, kept) = run(seed, false);
        assert!(answered.starts_with(&kept), "seed {seed}: {kept:?}");
        if kept.len() < answered.len() {
            lost_some += 1;
        }
    }
    assert!(
        lost_some >= 20,
        "lost answered writes in {lost_some}/30 runs"
    );
}

#[test]
fn a_crash_keeps_unsynced_writes_and_the_dump_shows_the_power_cut() {
    let mut sim = Sim::new(7, 1, |_| Store { sync_first: false });
    sim.request(N0, Request::Append(1));
    sim.run_for(Duration::from_millis(1)).unwrap();
    sim.crash(N0).unwrap();
    sim.restart(N0).unwrap();
    assert_eq!(sim.disk(N0).read(LOG).unwrap(), b"1\n");
    assert!(!sim.disk(N0).is_synced());
    sim.power_cut(N0).unwrap();
    let dump = sim.dump();
    let cut = (dump.events.iter())
        .find(|e| e.kind == EventKind::PowerCut)
        .expect("the power cut is in the dump");
    assert_eq!(cut.node, Some(0));
    assert!(cut.text.contains("n0 loses power"), "{}", cut.text);
    assert!(!sim.is_up(N0));
}

#[test]
fn a_power_cut_ends_a_pause_and_what_it_held_finds_the_node_down() {
    let mut sim = Sim::new(3, 1, |_| Store { sync_first: true });
    sim.run_for(Duration::from_millis(1)).unwrap();
    sim.pause(N0, Duration::from_secs(1)).unwrap();
    let held = sim.request(N0, Request::Append(5));
    sim.run_for(Duration::from_millis(10)).unwrap();
    assert!(sim.is_paused(N0));
    sim.power_cut(N0).unwrap();
    assert!(!sim.is_paused(N0) && !sim.is_up(N0));
    sim.run_for(Duration::from_secs(2)).unwrap();
    assert!(!sim.operation(held).is_complete(), "refused, not answered");
    sim.restart(N0).unwrap();
    assert_eq!(sim.disk(N0).read(LOG).unwrap(), b"");
}
