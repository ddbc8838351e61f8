//! clocks_lamport: tick on local events and sends, max + 1 on receipt, and
//! the total order of (timestamp, node id).
//!
//! Happens-before is taken from the simulated trace (program order on each
//! node plus send → receipt), never from the clocks under test.

use crate::clocks::happens_before::{chaotic_network, drive, Action, HappensBefore};
use crate::expect_caught;
use crate::subject::clocks::lamport::{LamportClock, LamportNode, Msg, Request, Stamp};
use dscheck::{ms, run, secs, Failure, Property, Suite};
use dsim::{Broken, Ctx, Event, Node, NodeId, RequestId, Sim, SimRng};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::cmp::Ordering;
use std::rc::Rc;

const RULES: Property = Property {
    name: "a Lamport clock ticks by one, and jumps past a received timestamp",
    hint: "tick: time + 1; receive(t): max(time, t) + 1; both store and return the new time",
    when: &[],
};
const EXACT_ORDER: Property = Property {
    name: "stamps are ordered by timestamp, then by node id",
    hint: "the timestamps decide; only equal timestamps fall back to the node ids",
    when: &[],
};
const CAUSAL: Property = Property {
    name: "if event a happens before event b, then L(a) < L(b)",
    hint: "tick before every local event and send; on receipt take the larger of your clock and the message's timestamp, then add one",
    when: &[],
};
const EACH_EVENT: Property = Property {
    name: "a send request sends one message, to its destination, with the new time; nothing else sends",
    hint: "a send request: let timestamp = tick(), then send one Msg { timestamp } to `to`; a local event and a receipt only move the clock",
    when: &[],
};
const TOTAL: Property = Property {
    name: "the stamps order all events strictly and totally, never against happens-before",
    hint: "compare timestamps first and node ids only to break a tie; two events of one node never share a timestamp",
    when: &[],
};

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded(
            "lamport::clock_ticks_and_jumps_past_received_timestamps",
            10,
            clock_rules,
        )
        .seeded(
            "lamport::stamps_compare_by_timestamp_then_node_id",
            10,
            exact_order,
        )
        .seeded(
            "lamport::happens_before_implies_a_smaller_timestamp",
            30,
            |seed| causality(seed, |_| LamportNode::new()),
        )
        .seeded(
            "lamport::stamps_totally_order_events_consistently_with_causality",
            20,
            |seed| {
                total_order(
                    seed,
                    |_| LamportNode::new(),
                    |a, b| {
                        Stamp {
                            time: a.0,
                            node: a.1,
                        }
                        .cmp(&Stamp {
                            time: b.0,
                            node: b.1,
                        })
                    },
                )
            },
        )
        .test("meta::lamport_send_without_a_message_is_caught", || {
            expect_caught(EACH_EVENT, |seed| {
                causality(seed, |_| Model {
                    time: 0,
                    take_max: true,
                    sends: false,
                })
            })
        })
        .test("meta::lamport_receive_without_max_is_caught", || {
            expect_caught(CAUSAL, |seed| {
                causality(seed, |_| Model {
                    time: 0,
                    take_max: false,
                    sends: true,
                })
            })
        })
        .test(
            "meta::lamport_order_without_node_id_tie_break_is_caught",
            || {
                expect_caught(TOTAL, |seed| {
                    total_order(seed, |_| Model::correct(), |a, b| a.0.cmp(&b.0))
                })
            },
        )
        .test("meta::lamport_order_by_node_id_first_is_caught", || {
            expect_caught(TOTAL, |seed| {
                total_order(
                    seed,
                    |_| Model::correct(),
                    |a, b| (a.1, a.0).cmp(&(b.1, b.0)),
                )
            })
        })
        .test(
            "meta::lamport_order_that_goes_round_in_a_circle_is_caught",
            || {
                // Equal times are broken by rock-paper-scissors on the node's
                // index modulo 3: never a tie, never against causality (equal
                // times are concurrent), yet not transitive.
                let circular = |a: (u64, NodeId), b: (u64, NodeId)| {
                    let hand = |n: NodeId| n.index() % 3;
                    a.0.cmp(&b.0)
                        .then_with(|| match (hand(b.1) + 3 - hand(a.1)) % 3 {
                            0 => a.1.cmp(&b.1),
                            1 => Ordering::Less,
                            _ => Ordering::Greater,
                        })
                };
                expect_caught(TOTAL, |seed| {
                    total_order(seed, |_| Model::correct(), circular)
                })
            },
        )
}

/// A node whose events the suite can read: the learner's, or a model.
trait Lamport: Node {
    fn request(action: Action) -> Self::Request;
    /// The timestamp a message carries.
    fn carried(msg: &Self::Msg) -> u64;
    /// The node's clock now.
    fn time(&self) -> u64;
    /// Where a request asks for a message to go (`None`: a local event).
    fn destination(req: &Self::Request) -> Option<NodeId>;
}

impl Lamport for LamportNode {
    fn request(action: Action) -> Request {
        match action {
            Action::Local => Request::Local,
            Action::Send(to) => Request::Send { to },
        }
    }
    fn carried(msg: &Msg) -> u64 {
        msg.timestamp
    }
    fn time(&self) -> u64 {
        self.clock.time
    }
    fn destination(req: &Request) -> Option<NodeId> {
        match req {
            Request::Local => None,
            Request::Send { to } => Some(*to),
        }
    }
}

/// Four nodes on a network that delays, reorders, loses and duplicates,
/// with 160 local events and sends spread over 800 ms.
fn system<N: Lamport>(seed: u64, make: impl FnMut(NodeId) -> N + 'static) -> Sim<N> {
    let mut sim = Sim::new(seed, 4, make);
    sim.set_network(chaotic_network());
    each_event(&mut sim);
    drive(&mut sim, 160, ms(800), N::request);
    sim
}

/// Checks every event of one node, after it: a send request sends one
/// message, to its destination, carrying the node's time after the event;
/// a local event and a receipt send nothing.
fn each_event<N: Lamport>(sim: &mut Sim<N>) {
    sim.check(EACH_EVENT, move |sim, step| {
        let (node, to, what) = match step.trigger_event() {
            Some(Event::Request {
                node,
                req,
                refused: false,
                ..
            }) => {
                let to = N::destination(req);
                let what = to.map_or("a local event".to_string(), |to| format!("a send to {to}"));
                (*node, to, what)
            }
            Some(Event::Deliver { to, msg, .. }) => {
                let what = format!("the receipt of timestamp {}", N::carried(msg));
                (*to, None, what)
            }
            _ => return Ok(()),
        };
        let Some(state) = sim.node(node) else {
            return Ok(());
        };
        let now = state.time();
        let sent: Vec<(NodeId, u64)> = step
            .caused()
            .iter()
            .filter_map(|e| match &e.event {
                Event::Send { from, to, msg, .. } if *from == node => Some((*to, N::carried(msg))),
                _ => None,
            })
            .collect();
        let expected: Vec<(NodeId, u64)> = to.map(|to| (to, now)).into_iter().collect();
        if sent != expected {
            return Err(Broken::new(format!(
                "at {what}, {node} sent {sent:?} (destination, timestamp); it should send {expected:?}"
            ))
            .nodes([node]));
        }
        Ok(())
    });
}

/// Tracks happens-before and each event's Lamport timestamp, step by step.
fn track<N: Lamport>(
    sim: &mut Sim<N>,
    property: Property,
    mut then: impl FnMut(&HappensBefore<u64>, usize) -> Result<(), Broken> + 'static,
) -> Rc<RefCell<HappensBefore<u64>>> {
    let hb = Rc::new(RefCell::new(HappensBefore::new(sim.len())));
    let shared = hb.clone();
    sim.check(property, move |sim, step| {
        let mut hb = shared.borrow_mut();
        let new = hb.observe(sim, step, N::carried, N::time);
        new.into_iter().try_for_each(|b| then(&hb, b))
    });
    hb
}

fn causality<N: Lamport>(
    seed: u64,
    make: impl FnMut(NodeId) -> N + 'static,
) -> Result<(), Failure> {
    let mut sim = system(seed, make);
    track(&mut sim, CAUSAL, |hb, b| {
        let later = &hb.events[b];
        match hb.past_of(b).find(|&a| hb.events[a].stamp >= later.stamp) {
            None => Ok(()),
            Some(a) => {
                let earlier = &hb.events[a];
                Err(Broken::new(format!(
                    "“{}” happens before “{}”, but their timestamps are {} and {}",
                    earlier.what, later.what, earlier.stamp, later.stamp
                ))
                .nodes([earlier.node, later.node]))
            }
        }
    });
    run(&mut sim, |s| s.run_until_quiet(secs(10)))?;
    Ok(())
}

/// Runs the system, then checks `cmp` over the stamps (timestamp, node) of
/// every event: a strict total order that puts a before b whenever a → b.
fn total_order<N: Lamport>(
    seed: u64,
    make: impl FnMut(NodeId) -> N + 'static,
    cmp: impl Fn((u64, NodeId), (u64, NodeId)) -> Ordering,
) -> Result<(), Failure> {
    let mut sim = system(seed, make);
    let hb = track(&mut sim, TOTAL, |_, _| Ok(()));
    run(&mut sim, |s| s.run_until_quiet(secs(10)))?;
    let hb = hb.borrow();
    check_total(&hb, &cmp).map_err(|detail| Failure::after_run(&sim, TOTAL, detail))
}

fn check_total(
    hb: &HappensBefore<u64>,
    cmp: &impl Fn((u64, NodeId), (u64, NodeId)) -> Ordering,
) -> Result<(), String> {
    let events = &hb.events;
    let stamp = |i: usize| (events[i].stamp, events[i].node);
    let show = |i: usize| {
        format!(
            "“{}” with stamp ({}, {})",
            events[i].what, events[i].stamp, events[i].node
        )
    };
    let mut wins = vec![0usize; events.len()];
    for a in 0..events.len() {
        if cmp(stamp(a), stamp(a)) != Ordering::Equal {
            return Err(format!("{} does not compare equal to itself", show(a)));
        }
        for b in a + 1..events.len() {
            let (ab, ba) = (cmp(stamp(a), stamp(b)), cmp(stamp(b), stamp(a)));
            if ab != ba.reverse() {
                return Err(format!(
                    "{} and {} each compare {ab:?} to the other",
                    show(a),
                    show(b)
                ));
            }
            if ab == Ordering::Equal {
                return Err(format!(
                    "two different events tie: {} and {}",
                    show(a),
                    show(b)
                ));
            }
            if hb.before(a, b) && ab != Ordering::Less {
                return Err(format!(
                    "{} happens before {}, but is ordered after it",
                    show(a),
                    show(b)
                ));
            }
            wins[if ab == Ordering::Greater { a } else { b }] += 1;
        }
    }
    // A tournament is transitive exactly when no two events beat equally
    // many others (the orders then win 0, 1, …, n-1 times), and then beating
    // someone means beating more events than they do. Only an order that
    // is not transitive needs the search below for its cycle.
    let mut scores = wins.clone();
    scores.sort_unstable();
    if scores.iter().enumerate().all(|(rank, &won)| won == rank) {
        return Ok(());
    }
    for x in 0..events.len() {
        for y in 0..events.len() {
            if x != y && cmp(stamp(x), stamp(y)) == Ordering::Greater && wins[x] <= wins[y] {
                let z = (0..events.len())
                    .find(|&z| {
                        cmp(stamp(y), stamp(z)) == Ordering::Greater
                            && cmp(stamp(x), stamp(z)) == Ordering::Less
                    })
                    .expect("a cycle through x and y");
                return Err(format!(
                    "the order goes round in a circle: {} > {} > {} > the first",
                    show(x),
                    show(y),
                    show(z)
                ));
            }
        }
    }
    Ok(())
}

fn clock_rules(seed: u64) -> Result<(), Failure> {
    let mut rng = SimRng::new(seed);
    for _ in 0..50 {
        let mut clock = LamportClock::new();
        let mut model = 0u64;
        let mut done = vec![];
        for _ in 0..20 {
            let (got, op) = if rng.chance(0.5) {
                model += 1;
                (clock.tick(), "tick()".to_string())
            } else {
                let timestamp = rng.range(0..=model + 6);
                model = model.max(timestamp) + 1;
                (clock.receive(timestamp), format!("receive({timestamp})"))
            };
            done.push(op);
            if got != model || clock.time != model {
                return Err(Failure::new(
                    RULES,
                    format!(
                        "a new clock then {}: returned {got} and left time = {}; expected {model}",
                        done.join(", "),
                        clock.time
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn exact_order(seed: u64) -> Result<(), Failure> {
    let mut rng = SimRng::new(seed);
    for _ in 0..500 {
        let a = Stamp {
            time: rng.range(0..=4),
            node: NodeId(rng.below(4) as usize),
        };
        let b = Stamp {
            time: rng.range(0..=4),
            node: NodeId(rng.below(4) as usize),
        };
        let expected = (a.time, a.node).cmp(&(b.time, b.node));
        let got = a.cmp(&b);
        if got != expected {
            return Err(Failure::new(
                EXACT_ORDER,
                format!("{a:?}.cmp({b:?}) is {got:?}, not {expected:?}"),
            ));
        }
    }
    Ok(())
}

/// A Lamport node written in the suite, correct or with one known bug.
#[derive(Debug)]
struct Model {
    time: u64,
    /// false: on receipt, tick without taking the maximum.
    take_max: bool,
    /// false: a send request ticks but sends nothing.
    sends: bool,
}

impl Model {
    fn correct() -> Self {
        Model {
            time: 0,
            take_max: true,
            sends: true,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Stamped(u64);

#[derive(Clone, Debug, Serialize)]
enum ModelRequest {
    Local,
    Send(NodeId),
}

impl Node for Model {
    type Msg = Stamped;
    type Timer = ();
    type Request = ModelRequest;
    type Reply = ();

    fn on_request(&mut self, ctx: &mut Ctx<Self>, _id: RequestId, req: ModelRequest) {
        self.time += 1;
        if let (ModelRequest::Send(to), true) = (req, self.sends) {
            ctx.send(to, Stamped(self.time));
        }
    }

    fn on_message(&mut self, _ctx: &mut Ctx<Self>, _from: NodeId, msg: Stamped) {
        self.time = if self.take_max {
            self.time.max(msg.0)
        } else {
            self.time
        } + 1;
    }
}

impl Lamport for Model {
    fn request(action: Action) -> ModelRequest {
        match action {
            Action::Local => ModelRequest::Local,
            Action::Send(to) => ModelRequest::Send(to),
        }
    }
    fn carried(msg: &Stamped) -> u64 {
        msg.0
    }
    fn time(&self) -> u64 {
        self.time
    }
    fn destination(req: &ModelRequest) -> Option<NodeId> {
        match req {
            ModelRequest::Local => None,
            ModelRequest::Send(to) => Some(*to),
        }
    }
}
