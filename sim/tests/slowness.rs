//! Slowness: every timer a straggler sets takes `factor` times as long;
//! other nodes, messages and timers already pending are unaffected; the
//! factor outlives a crash; the trace notes it; runs stay deterministic.

use dsim::{Ctx, Event, Node, NodeId, Sim, Time};
use serde::{Deserialize, Serialize};
use std::time::Duration;

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Works in steps of 10 ms (a timer each), and tells node 0 when each ends.
#[derive(Debug, Default)]
struct Worker {
    /// When each step ended (its clock is perfect: true time).
    done: Vec<Time>,
    heard: Vec<(NodeId, Time)>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Finished;

impl Node for Worker {
    type Msg = Finished;
    type Timer = ();
    type Request = ();
    type Reply = ();

    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        ctx.set_timer((), ms(10));
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, _: Finished) {
        self.heard.push((from, ctx.now()));
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, _: ()) {
        self.done.push(ctx.now());
        if ctx.id() != NodeId(0) {
            ctx.send(NodeId(0), Finished);
        }
        ctx.set_timer((), ms(10));
    }
}

fn done(sim: &Sim<Worker>, id: usize) -> Vec<u64> {
    let node = sim.node(NodeId(id)).expect("up");
    node.done.iter().map(|t| t.as_millis()).collect()
}

#[test]
fn a_straggler_s_timers_take_factor_times_as_long() {
    let mut sim = Sim::new(1, 3, |_| Worker::default());
    assert_eq!(sim.slowness(NodeId(1)), 1);
    sim.set_slowness(NodeId(1), 3);
    assert_eq!(sim.slowness(NodeId(1)), 3);
    sim.run_for(ms(95)).unwrap();
    // Node 1's first timer was set at its start, after the change.
    assert_eq!(done(&sim, 1), vec![30, 60, 90]);
    assert_eq!(done(&sim, 2), vec![10, 20, 30, 40, 50, 60, 70, 80, 90]);
}

#[test]
fn pending_timers_keep_their_time_and_factor_one_restores_the_pace() {
    let mut sim = Sim::new(1, 2, |_| Worker::default());
    sim.run_for(ms(5)).unwrap();
    sim.set_slowness(NodeId(1), 4);
    sim.run_for(ms(60)).unwrap();
    // Set before the change: 10; then 10 + 40 = 50.
    assert_eq!(done(&sim, 1), vec![10, 50]);
    sim.set_slowness(NodeId(1), 1);
    sim.run_for(ms(60)).unwrap();
    // The timer set at 50 was slow (90); the next ones are not.
    assert_eq!(done(&sim, 1), vec![10, 50, 90, 100, 110, 120]);
}

#[test]
fn messages_are_not_slowed() {
    let mut sim = Sim::new(4, 2, |_| Worker::default());
    sim.set_slowness(NodeId(0), 5);
    sim.run_for(ms(40)).unwrap();
    // Node 0 is slow, but hears node 1's messages 1-10 ms after each is sent.
    let heard = &sim.node(NodeId(0)).unwrap().heard;
    assert_eq!(heard.len(), 3);
    for ((_, at), sent) in heard.iter().zip([10, 20, 30]) {
        assert!(
            at.as_millis() > sent && at.as_millis() <= sent + 10,
            "{heard:?}"
        );
    }
}

#[test]
fn slowness_outlives_a_crash_and_is_noted() {
    let mut sim = Sim::new(1, 2, |_| Worker::default());
    sim.set_slowness(NodeId(1), 2);
    sim.run_for(ms(25)).unwrap();
    sim.crash(NodeId(1)).unwrap();
    sim.restart(NodeId(1)).unwrap();
    sim.run_for(ms(25)).unwrap();
    // Restarted at 25: its first timer is 20 ms long.
    assert_eq!(done(&sim, 1), vec![45]);
    let noted = sim
        .trace()
        .entries()
        .any(|e| matches!(&e.event, Event::Note { text } if text == "n1 runs 2× slower"));
    assert!(noted, "the trace notes the slowness");
}

#[test]
fn slow_runs_are_deterministic() {
    let run = || {
        let mut sim = Sim::new(9, 4, |_| Worker::default());
        sim.set_slowness(NodeId(2), 7);
        sim.run_for(ms(200)).unwrap();
        sim.trace()
            .entries()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(run(), run());
}

#[test]
#[should_panic(expected = "at least 1")]
fn a_factor_of_zero_is_refused() {
    let mut sim = Sim::new(1, 1, |_| Worker::default());
    sim.set_slowness(NodeId(0), 0);
}
