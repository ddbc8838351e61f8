//! Clock skew and drift: what `ctx.now()` reads, and how long timers take.
//!
//! The documented model: `local = true + skew + true × drift`, and a timer of
//! `d` fires once `d` has passed on the node's own clock.

use dsim::{Clock, Ctx, Event, Node, NodeId, RequestId, Sim, Time};
use serde::{Deserialize, Serialize};
use std::time::Duration;

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Records its clock readings: at start, when a timer is set, when it fires.
#[derive(Debug, Default)]
struct Watch {
    started_at: Option<Time>,
    /// `(local reading when set, duration)` of the pending timer.
    set: Option<(Time, Duration)>,
    /// `(local reading when set, duration, local reading when fired)`.
    fired: Vec<(Time, Duration, Time)>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
enum Never {}

impl Node for Watch {
    type Msg = Never;
    type Timer = ();
    type Request = Duration;
    type Reply = ();

    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        self.started_at = Some(ctx.now());
    }

    fn on_message(&mut self, _ctx: &mut Ctx<Self>, _from: NodeId, msg: Never) {
        match msg {}
    }

    fn on_request(&mut self, ctx: &mut Ctx<Self>, _id: RequestId, after: Duration) {
        self.set = Some((ctx.now(), after));
        ctx.set_timer((), after);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, _timer: ()) {
        let (at, after) = self.set.take().expect("a timer was set");
        self.fired.push((at, after, ctx.now()));
    }
}

fn watch(nodes: usize) -> Sim<Watch> {
    Sim::new(3, nodes, |_| Watch::default())
}

/// True times at which node `id`'s timers fired.
fn fired_at(sim: &Sim<Watch>, id: NodeId) -> Vec<Time> {
    sim.trace()
        .entries()
        .filter(|e| matches!(e.event, Event::Timer { node, .. } if node == id))
        .map(|e| e.at)
        .collect()
}

#[test]
fn skew_shifts_the_reading() {
    let mut sim = watch(2);
    sim.set_clock(
        NodeId(1),
        Clock {
            skew_nanos: 5_000_000,
            drift_ppm: 0.0,
        },
    );
    sim.run_for(ms(1)).unwrap();
    assert_eq!(sim.node(NodeId(0)).unwrap().started_at, Some(Time::ZERO));
    assert_eq!(
        sim.node(NodeId(1)).unwrap().started_at,
        Some(Time::from_millis(5))
    );
    sim.run_for(ms(99)).unwrap();
    assert_eq!(sim.local_time(NodeId(0)), Time::from_millis(100));
    assert_eq!(sim.local_time(NodeId(1)), Time::from_millis(105));
}

#[test]
fn a_clock_behind_reads_zero_until_true_time_catches_up() {
    let mut sim = watch(1);
    sim.set_clock(
        NodeId(0),
        Clock {
            skew_nanos: -5_000_000,
            drift_ppm: 0.0,
        },
    );
    sim.run_for(ms(2)).unwrap();
    assert_eq!(sim.node(NodeId(0)).unwrap().started_at, Some(Time::ZERO));
    assert_eq!(sim.local_time(NodeId(0)), Time::ZERO);
    sim.run_for(ms(8)).unwrap();
    assert_eq!(sim.local_time(NodeId(0)), Time::from_millis(5));
}

#[test]
fn skew_does_not_change_how_long_a_timer_takes() {
    let mut sim = watch(1);
    sim.set_clock(
        NodeId(0),
        Clock {
            skew_nanos: 1_000_000_000,
            drift_ppm: 0.0,
        },
    );
    sim.request(NodeId(0), ms(100));
    sim.run_for(ms(500)).unwrap();
    assert_eq!(fired_at(&sim, NodeId(0)), vec![Time::from_millis(100)]);
    let (set, _, fired) = sim.node(NodeId(0)).unwrap().fired[0];
    assert_eq!(set, Time::from_millis(1000));
    assert_eq!(fired, Time::from_millis(1100));
}

#[test]
fn drift_changes_the_rate_of_the_clock() {
    let mut sim = watch(2);
    // n0 runs 10% fast, n1 runs at half speed.
    sim.set_clock(
        NodeId(0),
        Clock {
            skew_nanos: 0,
            drift_ppm: 100_000.0,
        },
    );
    sim.set_clock(
        NodeId(1),
        Clock {
            skew_nanos: 0,
            drift_ppm: -500_000.0,
        },
    );
    sim.run_for(ms(1000)).unwrap();
    assert_eq!(sim.local_time(NodeId(0)), Time::from_millis(1100));
    assert_eq!(sim.local_time(NodeId(1)), Time::from_millis(500));
}

#[test]
fn a_timer_runs_on_the_nodes_own_clock() {
    let mut sim = watch(2);
    sim.set_clock(
        NodeId(0),
        Clock {
            skew_nanos: 0,
            drift_ppm: 100_000.0,
        },
    );
    sim.set_clock(
        NodeId(1),
        Clock {
            skew_nanos: 0,
            drift_ppm: -500_000.0,
        },
    );
    sim.request(NodeId(0), ms(110));
    sim.request(NodeId(1), ms(100));
    sim.run_for(ms(1000)).unwrap();
    // 110 ms on a clock 10% fast is 100 ms of true time; 100 ms on a clock
    // at half speed is 200 ms.
    assert_eq!(fired_at(&sim, NodeId(0)), vec![Time::from_millis(100)]);
    assert_eq!(fired_at(&sim, NodeId(1)), vec![Time::from_millis(200)]);
}

/// Whatever the drift, when a timer of `d` fires the node's clock has
/// advanced by at least `d` since it was set (so a handler that compares
/// `ctx.now()` with a deadline it computed sees the deadline reached), and by
/// no more than a few nanoseconds of rounding beyond it.
#[test]
fn a_timer_fires_once_its_duration_has_passed_on_the_nodes_clock() {
    let drifts = [
        -900_000.0, -1000.0, -100.0, -37.5, -1.0, 0.0, 0.5, 1.0, 33.3, 100.0, 250_000.0,
    ];
    for (n, &drift_ppm) in drifts.iter().enumerate() {
        let mut sim = watch(1);
        sim.set_clock(
            NodeId(0),
            Clock {
                skew_nanos: 12_345,
                drift_ppm,
            },
        );
        // Timers of awkward lengths, set at awkward times.
        for k in 0..200u64 {
            let after = Duration::from_nanos(1 + k * 7_919_113 + n as u64 * 104_729);
            sim.run_for(Duration::from_nanos(k * 3_301 + 17)).unwrap();
            sim.request(NodeId(0), after);
            sim.run_until_quiet(Duration::from_secs(100)).unwrap();
        }
        let node = sim.node(NodeId(0)).unwrap();
        assert_eq!(node.fired.len(), 200);
        for &(set, after, fired) in &node.fired {
            let elapsed = fired.saturating_since(set);
            assert!(
                elapsed >= after,
                "drift {drift_ppm} ppm: a timer of {after:?} set at {set:?} fired at {fired:?}, \
                 after only {elapsed:?} on the node's clock"
            );
            assert!(
                elapsed <= after + Duration::from_nanos(3),
                "drift {drift_ppm} ppm: a timer of {after:?} fired {elapsed:?} after it was set"
            );
        }
    }
}
