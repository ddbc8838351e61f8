//! Replay dumps: what `capture` keeps, and that it is deterministic.

use dsim::{capture, Broken, Ctx, EventKind, Network, Node, NodeId, Property, Sim};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Counts the messages it receives and forwards each to the next node.
#[derive(Debug, Default)]
struct Ring {
    received: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Hop(u32);

impl Node for Ring {
    type Msg = Hop;
    type Timer = ();
    type Request = ();
    type Reply = ();

    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        if ctx.id() == NodeId(0) {
            ctx.send(NodeId(1), Hop(0));
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, _from: NodeId, Hop(n): Hop) {
        self.received += 1;
        if n < 20 {
            let next = NodeId((ctx.id().0 + 1) % ctx.cluster_size());
            ctx.send(next, Hop(n + 1));
        }
    }
}

fn ring(seed: u64) -> Sim<Ring> {
    let mut sim = Sim::new(seed, 3, |_| Ring::default());
    sim.set_network(Network::reliable(
        Duration::from_millis(1),
        Duration::from_millis(9),
    ));
    sim
}

#[test]
fn nothing_is_kept_without_capture() {
    drop(ring(1));
    assert!(!capture::is_on());
    assert!(capture::finish().is_empty());
}

#[test]
fn a_captured_run_keeps_its_events_and_states() {
    capture::start();
    {
        let mut sim = ring(3);
        sim.run_until_quiet(Duration::from_secs(5)).unwrap();
        assert_eq!(sim.dump().events.len(), sim.trace().entries().len());
    }
    let dumps = capture::finish();
    assert_eq!(dumps.len(), 1);
    let dump = &dumps[0];
    assert_eq!((dump.seed, dump.nodes, dump.dropped), (3, 3, 0));
    let delivered = dump
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Deliver)
        .count();
    assert!(delivered > 0);
    // Every delivery changed the receiver's count, and its state says so.
    let last_delivery = dump
        .events
        .iter()
        .rev()
        .find(|e| e.kind == EventKind::Deliver)
        .unwrap();
    let node = last_delivery.node.unwrap();
    let state = dump.state_after(node, last_delivery.index).unwrap();
    assert_eq!(state.after, last_delivery.index);
    assert!(state.state.as_deref().unwrap().contains("received"));
    // Sends and deliveries are linked by message id.
    for deliver in dump.events.iter().filter(|e| e.kind == EventKind::Deliver) {
        let send = dump
            .events
            .iter()
            .find(|e| e.kind == EventKind::Send && e.msg_id == deliver.msg_id)
            .unwrap();
        assert_eq!((send.node, send.peer), (deliver.peer, deliver.node));
        assert!(send.index < deliver.index);
    }
    assert!(!capture::is_on());
}

#[test]
fn a_crash_is_recorded_as_a_node_without_state() {
    capture::start();
    {
        let mut sim = ring(4);
        sim.run_for(Duration::from_millis(5)).unwrap();
        sim.crash(NodeId(2)).unwrap();
    }
    let dump = capture::finish().remove(0);
    let crash = dump
        .events
        .iter()
        .find(|e| e.kind == EventKind::Crash)
        .unwrap();
    assert_eq!(dump.state_after(2, crash.index).unwrap().state, None);
}

#[test]
fn the_violation_is_in_the_dump() {
    capture::start();
    {
        let mut sim = ring(5);
        let two_at_most = Property {
            name: "no node receives three messages",
            hint: "",
            when: &[],
        };
        sim.check(two_at_most, |sim, _| {
            match sim
                .ids()
                .find(|&id| sim.node(id).is_some_and(|n| n.received >= 3))
            {
                Some(id) => Err(Broken::new(format!("{id} received three")).nodes([id])),
                None => Ok(()),
            }
        });
        assert!(sim.run_until_quiet(Duration::from_secs(5)).is_err());
    }
    let dump = capture::finish().remove(0);
    let violation = dump.violation.as_ref().unwrap();
    assert_eq!(violation.property, "no node receives three messages");
    assert_eq!(violation.event, dump.events.last().unwrap().index);
    assert_eq!(violation.nodes.len(), 1);
}

#[test]
fn the_same_seed_gives_the_same_dump() {
    let run = |seed| {
        capture::start();
        let mut sim = ring(seed);
        sim.run_until_quiet(Duration::from_secs(5)).unwrap();
        drop(sim);
        capture::finish().remove(0)
    };
    assert_eq!(run(9), run(9));
    assert_ne!(run(9), run(10));
}
