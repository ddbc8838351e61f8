//! What every broadcast test shares: reading each node's deliveries after
//! every event, the properties checked on them, the workload, and the final
//! check that every correct node got what it was owed.
//!
//! A node delivers a value by appending it to its `delivered` list. The
//! suite keeps its own copy of each list, so a crashed node's deliveries
//! still count (a crashed node stays down in this suite: crash-stop). The
//! safety properties (no creation, no duplication, the orders) hold for
//! every node, crashed ones included, for as long as they ran. Validity and
//! agreement are promises to the correct nodes only, the ones up at the end:
//! this is non-uniform agreement, and a node that delivered a value and then
//! crashed may be the only one that ever did.

use super::orders;
use dscheck::{run, Failure, Property};
use dsim::{Broken, Event, Fact, Node, NodeId, Sim, Step, Time};
use std::cell::RefCell;
use std::collections::{btree_map, BTreeMap, BTreeSet};
use std::rc::Rc;
use std::time::Duration;

pub const GROWS: Property = Property {
    name: "a node's deliveries are never taken back",
    hint: "deliver only through self.deliver(value), and never remove from self.delivered",
    when: &[],
};
pub const NO_CREATION: Property = Property {
    name: "a node delivers only values that were broadcast",
    hint: "deliver only the values of broadcast requests and of the messages that carry them",
    when: &[],
};
pub const NO_DUPLICATION: Property = Property {
    name: "a node delivers each value at most once",
    hint: "the network delivers some messages twice and retransmissions arrive after the original: recognise a message you have delivered already (by its id, not by arrival) and deliver it only once",
    when: &[],
};
pub const VALIDITY: Property = Property {
    name: "every value broadcast by a correct node is delivered by every correct node",
    hint: "the network lost no message in this run, so a value a node lacks was never sent to it, \
           or arrived and is still held back: a message held back until what it waits for is \
           delivered must be delivered then, so after every delivery look through the held-back \
           messages again, until none can go",
    when: &[(
        Fact::MessageLost,
        "a lost message must be sent again until its receiver acknowledges it, and a partition \
         only delays: keep retrying after it heals",
    )],
};
pub const AGREEMENT: Property = Property {
    name: "a value delivered by one correct node is delivered by every correct node",
    hint: "if the sender crashes after reaching only some nodes, those must finish its job: relay a message to every other node the first time you receive it",
    when: &[],
};
pub const FIFO: Property = Property {
    name: "each sender's values are delivered in the order it broadcast them",
    hint: "number each sender's messages; hold back a message until every earlier one from the same sender has been delivered",
    when: &[],
};
pub const CAUSAL: Property = Property {
    name: "a value is delivered only after every value delivered or broadcast before its broadcast",
    hint: "a message may be delivered once it is the next from its sender and every entry of its dependency vector is at most your count for that node: check every entry",
    when: &[],
};
pub const TOTAL: Property = Property {
    name: "every node delivers the same sequence: of two nodes, one has delivered a prefix of the other's",
    hint: "order pending messages by (Lamport time, node id), never by arrival, and deliver the smallest only once every other node has sent you a stamp at least as large",
    when: &[],
};

/// A broadcast node whose deliveries the suite can read: the learner's, or
/// a model written in the suite.
pub trait Broadcaster: Node {
    /// The request that broadcasts `value`.
    fn broadcast(value: u64) -> Self::Request;
    /// The value a broadcast request carries.
    fn value_of(req: &Self::Request) -> u64;
    /// The values this node has delivered, in order.
    fn delivered(&self) -> &[u64];
}

/// One broadcast, as the suite saw it.
pub struct Sent {
    pub origin: NodeId,
    /// True time of the request.
    pub at: Time,
    /// Its place among its origin's broadcasts (0 for the first).
    pub index: usize,
}

/// What a node did in the step just taken, in order.
#[derive(Clone, Copy)]
pub enum Happened {
    Broadcast {
        node: NodeId,
        value: u64,
    },
    Deliver {
        node: NodeId,
        value: u64,
        index: usize,
    },
}

/// Every broadcast and delivery of the run so far.
#[derive(Default)]
pub struct Deliveries {
    pub sent: BTreeMap<u64, Sent>,
    /// For each node, the values it broadcast, in order.
    pub by_origin: Vec<Vec<u64>>,
    /// For each node, what it delivered, in order.
    pub logs: Vec<Vec<u64>>,
    /// For each node, the place of each value in its log (the first, if it
    /// delivered a value more than once).
    pub position: Vec<BTreeMap<u64, usize>>,
    /// For each value, how many nodes have delivered it, and when the last
    /// of them did (true time).
    pub reached: BTreeMap<u64, (usize, Time)>,
    /// What happened in the step just taken.
    pub step: Vec<Happened>,
    /// A node whose list shrank or changed: (node, what it was, what it is).
    pub taken_back: Option<(NodeId, Vec<u64>, Vec<u64>)>,
    /// Deliveries of the step just taken that repeat an earlier one.
    pub repeated: Vec<(NodeId, u64)>,
    last_step: Option<u64>,
}

impl Deliveries {
    fn new(nodes: usize) -> Self {
        Deliveries {
            by_origin: vec![Vec::new(); nodes],
            logs: vec![Vec::new(); nodes],
            position: vec![BTreeMap::new(); nodes],
            ..Deliveries::default()
        }
    }

    /// Reads the step just taken: its broadcast requests, and the new
    /// deliveries of the node that handled it. Every check calls this; only
    /// the first call for a step does the work.
    pub fn update<N: Broadcaster>(&mut self, sim: &Sim<N>, step: Step<'_, N>) {
        let key = step.trigger().map(|e| e.index);
        if key.is_some() && key == self.last_step {
            return;
        }
        self.last_step = key;
        self.step.clear();
        self.repeated.clear();
        let mut touched = BTreeSet::new();
        for entry in step {
            if let Event::Request {
                node,
                req,
                refused: false,
                ..
            } = &entry.event
            {
                let value = N::value_of(req);
                let index = self.by_origin[node.index()].len();
                self.by_origin[node.index()].push(value);
                let sent = Sent {
                    origin: *node,
                    at: entry.at,
                    index,
                };
                self.sent.insert(value, sent);
                self.step.push(Happened::Broadcast { node: *node, value });
            }
            touched.extend(entry.event.handled_by());
        }
        for node in touched {
            let Some(state) = sim.node(node) else {
                continue;
            };
            let now = state.delivered();
            let log = &mut self.logs[node.index()];
            if now.len() < log.len() || now[..log.len()] != log[..] {
                self.taken_back = Some((node, log.clone(), now.to_vec()));
                return;
            }
            for &value in &now[log.len()..] {
                let index = log.len();
                log.push(value);
                match self.position[node.index()].entry(value) {
                    btree_map::Entry::Occupied(_) => self.repeated.push((node, value)),
                    btree_map::Entry::Vacant(slot) => {
                        slot.insert(index);
                        let reached = self.reached.entry(value).or_insert((0, sim.now()));
                        *reached = (reached.0 + 1, sim.now());
                    }
                }
                self.step.push(Happened::Deliver { node, value, index });
            }
        }
    }

    /// Whether `node` has delivered `value`.
    pub fn has(&self, node: NodeId, value: u64) -> bool {
        self.position[node.index()].contains_key(&value)
    }
}

/// Which order a test checks, besides the properties every broadcast has.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Any,
    Fifo,
    Causal,
    Total,
}

/// The record of a run, shared by the checks.
pub type Shared = Rc<RefCell<Deliveries>>;

/// Checks, after every event: deliveries are never taken back, no creation,
/// no duplication, and `order`. Returns the record of the run.
pub fn watch<N: Broadcaster>(sim: &mut Sim<N>, order: Order) -> Shared {
    let seen: Shared = Rc::new(RefCell::new(Deliveries::new(sim.len())));
    let d = Rc::clone(&seen);
    sim.check(GROWS, move |sim, step| {
        let mut d = d.borrow_mut();
        d.update(sim, step);
        match &d.taken_back {
            Some((node, was, now)) => Err(Broken::new(format!(
                "{node} had delivered {} and now lists {}",
                list(was),
                list(now)
            ))
            .nodes([*node])),
            None => Ok(()),
        }
    });
    let d = Rc::clone(&seen);
    sim.check(NO_CREATION, move |sim, step| {
        let mut d = d.borrow_mut();
        d.update(sim, step);
        for h in &d.step {
            if let Happened::Deliver { node, value, .. } = *h {
                if !d.sent.contains_key(&value) {
                    return Err(Broken::new(format!(
                        "{node} delivered {value}, which no node has broadcast (broadcast so far: {})",
                        list(d.sent.keys())
                    ))
                    .nodes([node]));
                }
            }
        }
        Ok(())
    });
    let d = Rc::clone(&seen);
    sim.check(NO_DUPLICATION, move |sim, step| {
        let mut d = d.borrow_mut();
        d.update(sim, step);
        match d.repeated.first() {
            Some(&(node, value)) => Err(Broken::new(format!(
                "{node} delivered {value} a second time; its deliveries: {}",
                tail(&d.logs[node.index()])
            ))
            .nodes([node, d.sent[&value].origin])),
            None => Ok(()),
        }
    });
    match order {
        Order::Any => {}
        Order::Fifo => orders::fifo(sim, &seen),
        Order::Causal => orders::causal(sim, &seen),
        Order::Total => orders::total(sim, &seen),
    }
    seen
}

/// Schedules `count` broadcasts of the values `first..first + count` at
/// random nodes among `senders`, over `span` from now. About a third share
/// the moment of the broadcast before them (at another node), so some
/// broadcasts are truly concurrent. Returns the next unused value.
pub fn schedule<N: Broadcaster>(
    sim: &mut Sim<N>,
    first: u64,
    count: usize,
    span: Duration,
    senders: &[NodeId],
) -> u64 {
    let mut rng = sim.scenario_rng();
    let step = span.as_nanos() as u64 / count.max(1) as u64;
    let mut at = 0;
    let mut previous = None;
    for value in first..first + count as u64 {
        let mut sender = senders[rng.below(senders.len() as u64) as usize];
        if previous.is_some() && senders.len() > 1 && rng.chance(0.33) {
            while Some(sender) == previous {
                sender = senders[rng.below(senders.len() as u64) as usize];
            }
        } else {
            at += rng.range(0..=2 * step);
        }
        previous = Some(sender);
        sim.request_after(Duration::from_nanos(at), sender, N::broadcast(value));
    }
    first + count as u64
}

/// How the broadcasts of a scenario are spread over time and nodes.
#[derive(Clone, Copy)]
pub enum Load {
    /// 40 broadcasts from random nodes over 400 ms (see [`schedule`]).
    Random,
    /// 30 broadcasts from n0 within 30 ms, and 10 from the others over
    /// 400 ms.
    Burst,
    /// A conversation: the nodes take turns, one broadcast every 25 ms, so
    /// each usually comes after the delivery of the one before.
    Turns,
    /// Ten rounds, 40 ms apart, in each of which every node broadcasts at
    /// the same moment.
    Rounds,
}

impl Load {
    /// Schedules the broadcasts of this load, from now on.
    pub fn schedule<N: Broadcaster>(self, sim: &mut Sim<N>) {
        let all: Vec<NodeId> = sim.ids().collect();
        match self {
            Load::Random => {
                schedule(sim, 1, 40, Duration::from_millis(400), &all);
            }
            Load::Burst => {
                let next = schedule(sim, 1, 30, Duration::from_millis(30), &all[..1]);
                schedule(sim, next, 10, Duration::from_millis(400), &all[1..]);
            }
            Load::Turns => {
                for value in 1..=40u64 {
                    let at = Duration::from_millis(25 * (value - 1));
                    let node = all[(value - 1) as usize % all.len()];
                    sim.request_after(at, node, N::broadcast(value));
                }
            }
            Load::Rounds => {
                let mut value = 1;
                for round in 0..10 {
                    for &node in &all {
                        let at = Duration::from_millis(40 * round);
                        sim.request_after(at, node, N::broadcast(value));
                        value += 1;
                    }
                }
            }
        }
    }
}

/// The correct nodes: those up now (crashed nodes stay down).
pub fn correct<N: Node>(sim: &Sim<N>) -> Vec<NodeId> {
    sim.ids().filter(|&id| sim.is_up(id)).collect()
}

/// What correct node `node` still lacks: values broadcast by correct nodes
/// (validity), and values delivered by another correct node (agreement).
fn owed<N: Node>(sim: &Sim<N>, d: &Deliveries, node: NodeId) -> (Vec<u64>, Vec<u64>) {
    let correct = correct(sim);
    let valid = d
        .sent
        .iter()
        .filter(|(_, s)| sim.is_up(s.origin))
        .map(|(&v, _)| v)
        .filter(|&v| !d.has(node, v))
        .collect();
    let agreed: BTreeSet<u64> = correct
        .iter()
        .flat_map(|&c| d.position[c.index()].keys().copied())
        .filter(|&v| !d.has(node, v))
        .collect();
    (valid, agreed.into_iter().collect())
}

/// Runs until every correct node has delivered what it is owed, or `limit`
/// has passed. `Ok(true)` if they all have.
pub fn settle<N: Broadcaster>(
    sim: &mut Sim<N>,
    seen: &Shared,
    limit: Duration,
) -> Result<bool, Failure> {
    let until = sim.now() + limit;
    loop {
        let done = {
            let d = seen.borrow();
            let correct = correct(sim);
            let valid = d.sent.iter().filter(|(_, s)| sim.is_up(s.origin));
            let mut due: BTreeSet<u64> = valid.map(|(&v, _)| v).collect();
            for &c in &correct {
                due.extend(d.position[c.index()].keys());
            }
            correct.iter().all(|&c| {
                d.position[c.index()].len() >= due.len() && due.iter().all(|&v| d.has(c, v))
            })
        };
        if done {
            return Ok(true);
        }
        if sim.now() >= until {
            return Ok(false);
        }
        run(sim, |s| s.run_for(Duration::from_millis(10)))?;
    }
}

/// Validity, then agreement, for every correct node, after `settle`.
/// `after` says since when the network has been good ("the last broadcast",
/// "the partition healed").
pub fn everyone_delivered<N: Broadcaster>(
    sim: &Sim<N>,
    seen: &Shared,
    limit: Duration,
    after: &str,
) -> Result<(), Failure> {
    let d = seen.borrow();
    let origins = |values: &[u64]| {
        let names: BTreeSet<String> = values
            .iter()
            .map(|v| d.sent.get(v).map_or("?".into(), |s| s.origin.to_string()))
            .collect();
        names.into_iter().collect::<Vec<_>>().join(", ")
    };
    for node in correct(sim) {
        let (valid, agreed) = owed(sim, &d, node);
        if !valid.is_empty() {
            let detail = format!(
                "{node} has not delivered {} (broadcast by {}, up to the end) {} s after {after}",
                list(&valid),
                origins(&valid),
                limit.as_secs()
            );
            return Err(Failure::after_run(sim, VALIDITY, detail));
        }
        if !agreed.is_empty() {
            let holders: Vec<String> = correct(sim)
                .into_iter()
                .filter(|&c| d.has(c, agreed[0]))
                .map(|c| c.to_string())
                .collect();
            let crashed: Vec<String> = sim
                .ids()
                .filter(|&id| !sim.is_up(id))
                .map(|id| id.to_string())
                .collect();
            let detail = format!(
                "{node} has not delivered {} (broadcast by {}; crashed: {}), though {} delivered {}, {} s after {after}",
                list(&agreed),
                origins(&agreed),
                if crashed.is_empty() { "none".to_string() } else { crashed.join(" ") },
                holders.join(" "),
                agreed[0],
                limit.as_secs()
            );
            return Err(Failure::after_run(sim, AGREEMENT, detail));
        }
    }
    Ok(())
}

/// `[a, b, c]`.
pub fn list<'a>(values: impl IntoIterator<Item = &'a u64>) -> String {
    let items: Vec<String> = values.into_iter().map(|v| v.to_string()).collect();
    format!("[{}]", items.join(", "))
}

/// The last dozen values of a log, with an ellipsis if there are more.
pub fn tail(log: &[u64]) -> String {
    const SHOWN: usize = 12;
    if log.len() <= SHOWN {
        list(log)
    } else {
        let rest = list(&log[log.len() - SHOWN..]);
        format!("[…, {}", &rest[1..])
    }
}

/// The broadcast request of the models written in the suite.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Bcast(pub u64);
