//! The node API as a handler sees it, and the simulator's controls as a
//! scenario sees them, on a node driven by client commands: timers, crash
//! and restart, checks, and client requests and replies. How runs go and
//! stop (panics, `run_until`, the event budget) is in `runs.rs`.

use dsim::{Broken, Ctx, Event, Network, Node, NodeId, Property, RequestId, Sim, Time};
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const N0: NodeId = NodeId(0);
const N1: NodeId = NodeId(1);

// ----- a node driven by client commands --------------------------------------

/// What a test asks a node to do.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Cmd {
    /// Set timer `name` to fire after this many milliseconds.
    Set(char, u64),
    /// Cancel timer `name`.
    Cancel(char),
    /// Set timer `name`, then cancel it, in the same handler.
    SetThenCancel(char, u64),
    /// Remember a value in volatile state and in storage.
    Remember(u64),
    /// Send `Msg::Hello` to a node.
    Hello(NodeId),
    /// Reply with this value now.
    Answer(u64),
    /// Reply now with the first value, and again 5 ms later with the second.
    AnswerTwice(u64, u64),
    /// Reply after `ms` milliseconds, from a timer.
    AnswerLater(u64, u64),
    /// Forward the request to a node, which answers it.
    Forward(NodeId, u64),
    /// Reply to a request id no client sent.
    AnswerStranger,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
enum Msg {
    Hello,
    /// Please answer client request `id` with `value`.
    Answer {
        id: RequestId,
        value: u64,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
enum Timer {
    Named(char),
    Reply { id: RequestId, value: u64 },
}

/// A node that does what its commands say and records what happened to it.
#[derive(Debug, Default)]
struct Puppet {
    /// How many times `on_start` ran on this instance.
    starts: u32,
    /// The boot count read from storage in `on_start`.
    boot: u64,
    /// Volatile memory.
    remembered: Vec<u64>,
    /// Timers that fired, with the local time.
    fired: Vec<(char, Time)>,
    hellos: u32,
}

impl Node for Puppet {
    type Msg = Msg;
    type Timer = Timer;
    type Request = Cmd;
    type Reply = u64;

    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        self.starts += 1;
        self.boot = ctx.storage().get::<u64>("boot").unwrap_or(0) + 1;
        let boot = self.boot;
        ctx.storage().put("boot", &boot);
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, _from: NodeId, msg: Msg) {
        match msg {
            Msg::Hello => self.hellos += 1,
            Msg::Answer { id, value } => ctx.reply(id, value),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        match timer {
            Timer::Named(name) => self.fired.push((name, ctx.now())),
            Timer::Reply { id, value } => ctx.reply(id, value),
        }
    }

    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, cmd: Cmd) {
        match cmd {
            Cmd::Set(name, after) => ctx.set_timer(Timer::Named(name), ms(after)),
            Cmd::Cancel(name) => ctx.cancel_timer(Timer::Named(name)),
            Cmd::SetThenCancel(name, after) => {
                ctx.set_timer(Timer::Named(name), ms(after));
                ctx.cancel_timer(Timer::Named(name));
            }
            Cmd::Remember(value) => {
                self.remembered.push(value);
                ctx.storage().put("last", &value);
            }
            Cmd::Hello(to) => ctx.send(to, Msg::Hello),
            Cmd::Answer(value) => ctx.reply(id, value),
            Cmd::AnswerTwice(first, second) => {
                ctx.reply(id, first);
                ctx.set_timer(Timer::Reply { id, value: second }, ms(5));
            }
            Cmd::AnswerLater(after, value) => ctx.set_timer(Timer::Reply { id, value }, ms(after)),
            Cmd::Forward(to, value) => ctx.send(to, Msg::Answer { id, value }),
            Cmd::AnswerStranger => ctx.reply(RequestId(999), 0),
        }
    }
}

/// Puppets on a network with a fixed 10 ms latency.
fn puppets(nodes: usize) -> Sim<Puppet> {
    let mut sim = Sim::new(11, nodes, |_| Puppet::default());
    sim.set_network(Network::reliable(ms(10), ms(10)));
    sim
}

fn fired(sim: &Sim<Puppet>, id: NodeId) -> Vec<(char, Time)> {
    sim.node(id).expect("node is up").fired.clone()
}

// ----- timers -------------------------------------------------------------------

#[test]
fn a_timer_fires_once_after_its_duration() {
    let mut sim = puppets(1);
    sim.request(N0, Cmd::Set('a', 10));
    sim.run_for(ms(100)).unwrap();
    assert_eq!(fired(&sim, N0), vec![('a', Time::from_millis(10))]);
    assert_eq!(sim.stats().timers, 1);
}

#[test]
fn setting_an_equal_timer_replaces_it() {
    let mut sim = puppets(1);
    sim.request(N0, Cmd::Set('a', 10));
    sim.request(N0, Cmd::Set('a', 30));
    sim.run_for(ms(100)).unwrap();
    assert_eq!(fired(&sim, N0), vec![('a', Time::from_millis(30))]);

    // Set again before it fires, to an earlier moment: it moves earlier.
    sim.request(N0, Cmd::Set('b', 50));
    sim.run_for(ms(20)).unwrap();
    sim.request(N0, Cmd::Set('b', 10));
    sim.run_for(ms(100)).unwrap();
    assert_eq!(
        fired(&sim, N0),
        vec![('a', Time::from_millis(30)), ('b', Time::from_millis(130))]
    );
    assert_eq!(sim.stats().timers, 2);
}

#[test]
fn different_timers_are_independent() {
    let mut sim = puppets(1);
    sim.request(N0, Cmd::Set('a', 20));
    sim.request(N0, Cmd::Set('b', 10));
    sim.run_for(ms(100)).unwrap();
    assert_eq!(
        fired(&sim, N0),
        vec![('b', Time::from_millis(10)), ('a', Time::from_millis(20))]
    );
}

#[test]
fn cancel_timer_stops_only_that_timer() {
    let mut sim = puppets(1);
    sim.request(N0, Cmd::Set('a', 10));
    sim.request(N0, Cmd::Set('b', 20));
    sim.request(N0, Cmd::Cancel('a'));
    sim.request(N0, Cmd::Cancel('z'));
    sim.request(N0, Cmd::SetThenCancel('c', 5));
    sim.run_for(ms(100)).unwrap();
    assert_eq!(fired(&sim, N0), vec![('b', Time::from_millis(20))]);
}

#[test]
fn timers_are_lost_on_crash() {
    let mut sim = puppets(1);
    sim.request(N0, Cmd::Set('a', 50));
    sim.run_for(ms(20)).unwrap();
    sim.crash(N0).unwrap();
    sim.run_for(ms(10)).unwrap();
    sim.restart(N0).unwrap();
    sim.run_for(ms(200)).unwrap();
    assert!(fired(&sim, N0).is_empty());
    assert_eq!(sim.stats().timers, 0);
    assert!(!sim
        .trace()
        .entries()
        .any(|e| matches!(e.event, Event::Timer { .. })));
}

// ----- crash and restart -----------------------------------------------------------

#[test]
fn a_crash_loses_volatile_state_and_keeps_storage() {
    let mut sim = puppets(2);
    sim.request(N1, Cmd::Remember(5));
    sim.run_for(ms(1)).unwrap();
    let node = sim.node(N1).unwrap();
    assert_eq!(
        (node.starts, node.boot, node.remembered.clone()),
        (1, 1, vec![5])
    );

    sim.crash(N1).unwrap();
    assert!(!sim.is_up(N1));
    assert!(sim.node(N1).is_none());
    assert_eq!(sim.storage(N1).get::<u64>("last"), Some(5));

    sim.run_for(ms(5)).unwrap();
    sim.restart(N1).unwrap();
    assert!(sim.is_up(N1));
    let node = sim.node(N1).unwrap();
    // A fresh node: on_start ran once on it, and read the boot count back.
    assert_eq!(node.starts, 1);
    assert_eq!(node.boot, 2);
    assert!(node.remembered.is_empty());
    assert_eq!(sim.storage(N1).get::<u64>("boot"), Some(2));
    assert_eq!(sim.storage(N1).get::<u64>("last"), Some(5));
    // The other node was not touched.
    assert_eq!(sim.node(N0).unwrap().boot, 1);

    let n1_events: Vec<&'static str> = sim
        .trace()
        .entries()
        .filter(|e| e.event.nodes() == vec![N1])
        .map(|e| match e.event {
            Event::Start { .. } => "start",
            Event::Request { .. } => "request",
            Event::Crash { .. } => "crash",
            Event::Restart { .. } => "restart",
            Event::Sync { .. } => "sync",
            _ => "other",
        })
        .collect();
    // Each put is a synced file, then a synced directory.
    let put = ["sync", "sync"];
    let expected = [&["start"][..], &put, &["request"], &put]
        .concat()
        .into_iter()
        .chain(["crash", "restart", "start"])
        .chain(put)
        .collect::<Vec<_>>();
    assert_eq!(n1_events, expected);
}

#[test]
fn crashing_a_crashed_node_or_restarting_a_running_one_does_nothing() {
    let mut sim = puppets(1);
    sim.run_for(ms(1)).unwrap();
    let before = sim.trace().total();
    sim.restart(N0).unwrap();
    assert_eq!(sim.trace().total(), before);
    assert_eq!(sim.node(N0).unwrap().starts, 1);
    sim.crash(N0).unwrap();
    sim.crash(N0).unwrap();
    assert_eq!(sim.trace().total(), before + 1);
}

// ----- checks ----------------------------------------------------------------------

#[test]
fn a_check_runs_after_every_event_and_sees_its_step() {
    let mut sim = puppets(3);
    let calls = Rc::new(Cell::new(0u64));
    let seen = calls.clone();
    const WHOLE_STEPS: Property = Property {
        name: "steps are whole and in order",
        hint: "",
        when: &[],
    };
    sim.check(WHOLE_STEPS, move |sim, step| {
        seen.set(seen.get() + 1);
        let trigger = step.trigger().ok_or("a step has at least one event")?;
        if trigger.index != sim.trace().total() {
            return Err(Broken::new("the step does not follow the trace"));
        }
        let entries = step.entries();
        if entries.windows(2).any(|w| w[1].index != w[0].index + 1) {
            return Err(Broken::new("the step's events are not consecutive"));
        }
        if step.caused().len() + 1 != entries.len() || step.iter().count() != entries.len() {
            return Err(Broken::new(
                "the trigger and what it caused are not the step",
            ));
        }
        // A delivery of Hello triggers its own step; no other step has one.
        if step
            .caused()
            .iter()
            .any(|e| matches!(e.event, Event::Deliver { .. }))
        {
            return Err(Broken::new("a delivery inside another event's step"));
        }
        Ok(())
    });
    for to in [N1, NodeId(2)] {
        sim.request(N0, Cmd::Hello(to));
    }
    sim.request(N1, Cmd::Hello(N0));
    sim.request(NodeId(2), Cmd::Set('t', 3));
    assert!(sim.run_until_quiet(ms(1000)).unwrap());
    assert!(sim.stats().events > 0);
    assert_eq!(calls.get(), sim.stats().events);
}

#[test]
fn a_failing_check_stops_the_run_with_a_violation_naming_it() {
    let mut sim = puppets(2);
    const TWO_HELLOS: Property = Property {
        name: "n1 gets at most two hellos",
        hint: "",
        when: &[],
    };
    sim.check(TWO_HELLOS, |sim, _| match sim.node(N1) {
        Some(node) if node.hellos > 2 => {
            Err(Broken::new(format!("n1 got {} hellos", node.hellos)).nodes([N1]))
        }
        _ => Ok(()),
    });
    for k in 0..5 {
        sim.request_after(ms(k), N0, Cmd::Hello(N1));
    }
    let violation = sim.run_for(ms(1000)).unwrap_err();
    assert_eq!(violation.property, TWO_HELLOS);
    assert_eq!(violation.detail, "n1 got 3 hellos");
    assert_eq!(*violation.nodes, [N1]);
    // It stopped right after the third delivery, at 12 ms.
    assert_eq!(violation.at, Time::from_millis(12));
    assert_eq!(sim.now(), Time::from_millis(12));
    let last = sim.trace().entries().last().unwrap();
    assert_eq!(violation.event, last.index);
    assert!(matches!(last.event, Event::Deliver { to: N1, .. }));
    // The run stays stopped.
    assert_eq!(sim.violation(), Some(&violation));
    assert_eq!(sim.step().unwrap_err(), violation);
    assert_eq!(sim.run_for(ms(10)).unwrap_err(), violation);
    assert_eq!(sim.node(N1).unwrap().hellos, 3);
}

// ----- requests and replies --------------------------------------------------------

#[test]
fn requests_and_replies_make_the_history() {
    let mut sim = puppets(2);
    let now = sim.request(N0, Cmd::Answer(7));
    let later = sim.request_after(ms(3), N0, Cmd::AnswerLater(5, 8));
    let forwarded = sim.request_after(ms(4), N0, Cmd::Forward(N1, 9));
    let open = sim.request_after(ms(6), N0, Cmd::Remember(1));
    sim.run_for(ms(100)).unwrap();

    let history = sim.history();
    assert_eq!(history.len(), 4);
    let op = sim.operation(now);
    assert_eq!((op.id, op.node, op.invoked_at), (now, N0, Time::ZERO));
    assert_eq!(op.completion, Some((7, Time::ZERO)));
    let op = sim.operation(later);
    assert_eq!(op.invoked_at, Time::from_millis(3));
    assert_eq!(op.completion, Some((8, Time::from_millis(8))));
    // Answered by another node, one hop later.
    let op = sim.operation(forwarded);
    assert_eq!(op.completion, Some((9, Time::from_millis(14))));
    let replied_by = sim.trace().entries().find_map(|e| match e.event {
        Event::Reply { node, id, .. } if id == forwarded => Some(node),
        _ => None,
    });
    assert_eq!(replied_by, Some(N1));
    let op = sim.operation(open);
    assert!(!op.is_complete());
    assert_eq!(op.reply(), None);
}

#[test]
fn only_the_first_reply_counts() {
    let mut sim = puppets(1);
    let id = sim.request(N0, Cmd::AnswerTwice(1, 2));
    sim.run_for(ms(100)).unwrap();
    assert_eq!(sim.operation(id).completion, Some((1, Time::ZERO)));
    let replies = sim
        .trace()
        .entries()
        .filter(|e| matches!(e.event, Event::Reply { .. }))
        .count();
    assert_eq!(replies, 1);
}

#[test]
fn a_request_to_a_crashed_node_is_refused() {
    let mut sim = puppets(2);
    sim.crash(N1).unwrap();
    let id = sim.request(N1, Cmd::Answer(3));
    sim.run_for(ms(10)).unwrap();
    let op = sim.operation(id);
    assert_eq!(op.node, N1);
    assert!(!op.is_complete());
    let refused = sim.trace().entries().find_map(|e| match e.event {
        Event::Request { id: r, refused, .. } if r == id => Some(refused),
        _ => None,
    });
    assert_eq!(refused, Some(true));
    let line = sim
        .trace()
        .render()
        .into_iter()
        .find(|l| l.contains("client asks n1"));
    assert!(line.unwrap().contains("refused"));
}

/// Requests sent with different delays arrive in another order than their
/// ids were given out; each reply must still complete its own request.
#[test]
fn replies_find_their_request_when_requests_arrive_out_of_order() {
    let mut sim = puppets(1);
    let slow = sim.request_after(ms(20), N0, Cmd::Answer(20));
    let fast = sim.request_after(ms(5), N0, Cmd::Answer(5));
    let middle = sim.request_after(ms(10), N0, Cmd::AnswerLater(30, 10));
    sim.run_for(ms(100)).unwrap();
    let order: Vec<RequestId> = sim.history().iter().map(|op| op.id).collect();
    assert_eq!(
        order,
        vec![fast, middle, slow],
        "history is in invocation order"
    );
    assert_eq!(
        sim.operation(slow).completion,
        Some((20, Time::from_millis(20)))
    );
    assert_eq!(
        sim.operation(fast).completion,
        Some((5, Time::from_millis(5)))
    );
    assert_eq!(
        sim.operation(middle).completion,
        Some((10, Time::from_millis(40)))
    );
    assert_eq!(sim.operation(slow).invoked_at, Time::from_millis(20));
}

#[test]
fn a_reply_to_a_request_no_client_sent_is_a_violation() {
    let mut sim = puppets(1);
    sim.request(N0, Cmd::AnswerStranger);
    let violation = sim.run_for(ms(10)).unwrap_err();
    assert_eq!(violation.property.name, "replies answer real requests");
    assert_eq!(*violation.nodes, [N0]);
}

#[test]
fn a_message_to_a_node_that_does_not_exist_is_a_violation() {
    let mut sim = puppets(2);
    sim.request(N0, Cmd::Hello(NodeId(5)));
    let violation = sim.run_for(ms(10)).unwrap_err();
    assert_eq!(violation.property.name, "messages go to nodes that exist");
    assert!(violation.detail.contains("n5"), "{}", violation.detail);
}
