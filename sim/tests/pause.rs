//! Pauses: a paused node handles nothing until the pause ends; its timers
//! fire late, messages and requests to it wait and are handled in order when
//! it resumes, its clock keeps running and its state is kept; a crash ends
//! a pause; the trace shows the pause and the resume.

use dsim::{Ctx, DropReason, Event, EventKind, Network, Node, NodeId, RequestId, Sim, Time};
use serde::{Deserialize, Serialize};
use std::time::Duration;

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn n(i: usize) -> NodeId {
    NodeId(i)
}

/// What a test asks a probe to do.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Cmd {
    /// Send `count` numbered messages to `to`.
    Send(NodeId, u64),
    /// Set the timer to fire after `after`.
    Timer(Duration),
    /// Just be handled.
    Nothing,
}

/// What a probe handled, with its own clock's reading then.
#[derive(Clone, Debug, PartialEq)]
enum Seen {
    Msg(u64),
    Timer,
    Request(RequestId),
}

#[derive(Debug, Default)]
struct Probe {
    seen: Vec<(Time, Seen)>,
}

impl Node for Probe {
    type Msg = u64;
    type Timer = ();
    type Request = Cmd;
    type Reply = ();

    fn on_message(&mut self, ctx: &mut Ctx<Self>, _from: NodeId, msg: u64) {
        self.seen.push((ctx.now(), Seen::Msg(msg)));
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, _timer: ()) {
        self.seen.push((ctx.now(), Seen::Timer));
    }

    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, cmd: Cmd) {
        self.seen.push((ctx.now(), Seen::Request(id)));
        match cmd {
            Cmd::Send(to, count) => (0..count).for_each(|k| ctx.send(to, k)),
            Cmd::Timer(after) => ctx.set_timer((), after),
            Cmd::Nothing => {}
        }
    }
}

/// Two probes on a network with a fixed 10 ms latency, started.
fn probes(seed: u64) -> Sim<Probe> {
    let mut sim = Sim::new(seed, 2, |_| Probe::default());
    sim.set_network(Network::reliable(ms(10), ms(10)));
    sim.run_for(ms(1)).unwrap();
    sim
}

fn seen(sim: &Sim<Probe>, id: NodeId) -> Vec<(Time, Seen)> {
    sim.node(id).expect("up").seen.clone()
}

fn at(millis: u64) -> Time {
    Time::ZERO + ms(millis)
}

#[test]
fn a_paused_nodes_timer_fires_late_after_it_resumes_with_its_clock_run_on() {
    let mut sim = probes(1);
    sim.request(n(0), Cmd::Timer(ms(50)));
    sim.run_for(ms(9)).unwrap(); // true time 10 ms
    sim.pause(n(0), ms(200)).unwrap();
    assert!(sim.is_paused(n(0)));
    sim.run_for(ms(150)).unwrap(); // 160 ms: the timer was due at 51 ms
    assert_eq!(seen(&sim, n(0)).len(), 1, "a paused node handles nothing");
    sim.run_for(ms(100)).unwrap();
    assert!(!sim.is_paused(n(0)));
    assert_eq!(
        seen(&sim, n(0))[1],
        (at(210), Seen::Timer),
        "the timer fires when the pause ends, and the clock ran on meanwhile"
    );
    let kinds: Vec<String> = sim
        .trace()
        .entries()
        .filter(|e| matches!(e.event, Event::Pause { .. } | Event::Resume { .. }))
        .map(|e| format!("{} {}", e.at, e.event))
        .collect();
    assert_eq!(
        kinds,
        [
            "10 ms n0 pauses until 210 ms (handles nothing meanwhile)",
            "210 ms n0 resumes"
        ]
    );
    let after_resume = sim
        .trace()
        .entries()
        .skip_while(|e| !matches!(e.event, Event::Resume { .. }))
        .nth(1)
        .map(|e| e.event.clone());
    assert!(matches!(after_resume, Some(Event::Timer { .. })));
}

#[test]
fn messages_and_requests_to_a_paused_node_wait_and_arrive_in_order() {
    let mut sim = probes(2);
    sim.pause(n(1), ms(100)).unwrap();
    sim.request(n(0), Cmd::Send(n(1), 5));
    sim.run_for(ms(20)).unwrap();
    let late = sim.request(n(1), Cmd::Nothing);
    sim.run_for(ms(40)).unwrap();
    assert!(seen(&sim, n(1)).is_empty());
    sim.run_for(ms(100)).unwrap();
    let got = seen(&sim, n(1));
    let mut want: Vec<(Time, Seen)> = (0..5).map(|k| (at(101), Seen::Msg(k))).collect();
    want.push((at(101), Seen::Request(late)));
    assert_eq!(
        got, want,
        "held, not lost, and handled in the order they came"
    );
    assert_eq!(sim.stats().dropped, 0);
    assert_eq!(sim.stats().delivered, 5);
}

#[test]
fn a_crash_during_a_pause_drops_what_it_held_and_the_node_restarts_unpaused() {
    let mut sim = probes(3);
    sim.request(n(1), Cmd::Timer(ms(30)));
    sim.run_for(ms(5)).unwrap();
    sim.pause(n(1), ms(500)).unwrap();
    sim.request(n(0), Cmd::Send(n(1), 2));
    sim.run_for(ms(50)).unwrap();
    sim.crash(n(1)).unwrap();
    assert!(!sim.is_paused(n(1)));
    sim.run_for(ms(10)).unwrap();
    let drops: Vec<DropReason> = sim
        .trace()
        .entries()
        .filter_map(|e| match e.event {
            Event::Drop { reason, .. } => Some(reason),
            _ => None,
        })
        .collect();
    assert_eq!(drops, [DropReason::ReceiverDown, DropReason::ReceiverDown]);
    sim.restart(n(1)).unwrap();
    sim.request(n(0), Cmd::Send(n(1), 1));
    sim.run_for(ms(700)).unwrap();
    let got = seen(&sim, n(1));
    assert_eq!(
        got,
        [(at(76), Seen::Msg(0))],
        "no old timer, no stale resume"
    );
    assert!(!sim
        .trace()
        .entries()
        .any(|e| matches!(e.event, Event::Resume { .. })));
    // Paused again after the restart, it is held again.
    sim.pause(n(1), ms(50)).unwrap();
    sim.request(n(1), Cmd::Nothing);
    sim.run_for(ms(10)).unwrap();
    assert_eq!(seen(&sim, n(1)).len(), 1);
    sim.run_for(ms(50)).unwrap();
    assert_eq!(seen(&sim, n(1)).len(), 2);
}

#[test]
fn pausing_a_down_node_does_nothing_and_a_longer_pause_extends_a_shorter_one() {
    let mut sim = probes(4);
    sim.crash(n(1)).unwrap();
    sim.pause(n(1), ms(100)).unwrap();
    assert!(!sim.is_paused(n(1)));
    sim.restart(n(1)).unwrap();
    sim.pause(n(1), ms(100)).unwrap();
    sim.run_for(ms(50)).unwrap();
    sim.pause(n(1), ms(10)).unwrap(); // ends before the pause under way: no change
    sim.pause(n(1), ms(150)).unwrap(); // ends after it: extends it to 201 ms
    sim.request(n(1), Cmd::Nothing);
    sim.run_for(ms(120)).unwrap(); // 171 ms
    assert!(sim.is_paused(n(1)));
    assert!(seen(&sim, n(1)).is_empty());
    sim.run_for(ms(40)).unwrap();
    assert_eq!(seen(&sim, n(1)).len(), 1);
    assert_eq!(seen(&sim, n(1))[0].0, at(201));
    let resumes = sim
        .trace()
        .entries()
        .filter(|e| matches!(e.event, Event::Resume { .. }))
        .count();
    assert_eq!(resumes, 1, "the replaced pause's end does nothing");
}

#[test]
fn a_pause_is_in_the_dump_and_the_same_seed_pauses_the_same() {
    let run = |seed| {
        let mut sim = probes(seed);
        sim.set_network(Network::reliable(ms(1), ms(30)));
        sim.request(n(0), Cmd::Send(n(1), 20));
        sim.run_for(ms(5)).unwrap();
        sim.pause(n(1), ms(40)).unwrap();
        sim.run_for(ms(100)).unwrap();
        sim.dump()
    };
    let dump = run(9);
    assert_eq!(dump, run(9));
    let pause = dump.events.iter().find(|e| e.kind == EventKind::Pause);
    let pause = pause.expect("a pause event");
    assert_eq!((pause.node, pause.payload.as_str()), (Some(1), "46 ms"));
    assert!(dump
        .events
        .iter()
        .any(|e| e.kind == EventKind::Resume && e.node == Some(1)));
}
