//! The happens-before relation of a simulated run, built from the trace
//! (never from the clocks under test), and the workload that produces it.
//!
//! The events are the ones Lamport's paper counts: a local event, the send
//! of a message, the receipt of a message. `a → b` when `a` comes before `b`
//! on the same node, or `a` sent the message that `b` received, or a chain
//! of those links them. A duplicated message is received twice: two receipt
//! events after the one send.

use dsim::{Event, Node, NodeId, Sim, Step};
use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

/// One event of the run and the timestamp the clock under test gave it.
pub struct Happening<S> {
    pub node: NodeId,
    /// The event in words: "n1 receives message #4 from n0 (at 12.5 ms)".
    pub what: String,
    pub stamp: S,
}

/// The events so far and, for each, the set of events that happen before it.
pub struct HappensBefore<S> {
    pub events: Vec<Happening<S>>,
    /// `past[b]`: a bit set of every `a` with `a → b`.
    past: Vec<Vec<u64>>,
    /// The latest event of each node.
    last: Vec<Option<usize>>,
    /// The send event of each message id.
    sends: BTreeMap<u64, usize>,
}

impl<S> HappensBefore<S> {
    pub fn new(nodes: usize) -> Self {
        HappensBefore {
            events: Vec::new(),
            past: Vec::new(),
            last: vec![None; nodes],
            sends: BTreeMap::new(),
        }
    }

    /// Whether `a → b`.
    pub fn before(&self, a: usize, b: usize) -> bool {
        a < b && self.past[b][a / 64] & (1 << (a % 64)) != 0
    }

    /// Every `a` with `a → b`, oldest first.
    pub fn past_of(&self, b: usize) -> impl Iterator<Item = usize> + '_ {
        (0..b).filter(move |&a| self.before(a, b))
    }

    /// Adds an event at `node`, after the node's previous event and, for a
    /// receipt, after the send of `message`.
    fn add(&mut self, node: NodeId, what: String, stamp: S, message: Option<u64>) -> usize {
        let send = message.and_then(|m| self.sends.get(&m).copied());
        self.add_after(node, what, stamp, send)
    }

    /// Adds an event at `node`, after the node's previous event and, if
    /// given, after event `cause` (of another node). Other relations than
    /// send → receipt use this one, e.g. broadcast → delivery in the
    /// broadcast suite.
    pub fn add_after(
        &mut self,
        node: NodeId,
        what: String,
        stamp: S,
        cause: Option<usize>,
    ) -> usize {
        let id = self.events.len();
        let mut past = vec![0u64; id / 64 + 1];
        for earlier in [self.last[node.index()], cause].into_iter().flatten() {
            for (word, bits) in past.iter_mut().zip(&self.past[earlier]) {
                *word |= bits;
            }
            past[earlier / 64] |= 1 << (earlier % 64);
        }
        self.past.push(past);
        self.events.push(Happening { node, what, stamp });
        self.last[node.index()] = Some(id);
        id
    }

    /// Records the events of one simulation step (call it from a
    /// `Sim::check`) and returns their indices. A receipt or a local event
    /// is stamped with `node_stamp` of its node after the step; a send with
    /// `msg_stamp` of the message sent. A request whose handler sends
    /// messages is those sends; one that sends nothing is a local event.
    pub fn observe<N: Node>(
        &mut self,
        sim: &Sim<N>,
        step: Step<'_, N>,
        msg_stamp: impl Fn(&N::Msg) -> S,
        node_stamp: impl Fn(&N) -> S,
    ) -> Range<usize> {
        let start = self.events.len();
        let Some(trigger) = step.trigger() else {
            return start..start;
        };
        let at = trigger.at;
        let sends_anything = step.iter().any(|e| matches!(e.event, Event::Send { .. }));
        match &trigger.event {
            Event::Deliver {
                from, to, msg_id, ..
            } => {
                if let Some(node) = sim.node(*to) {
                    let what = format!("{to} receives message #{msg_id} from {from} (at {at})");
                    self.add(*to, what, node_stamp(node), Some(*msg_id));
                }
            }
            Event::Request {
                node,
                id,
                refused: false,
                ..
            } if !sends_anything => {
                if let Some(state) = sim.node(*node) {
                    let what = format!("{node}'s local event {id} (at {at})");
                    self.add(*node, what, node_stamp(state), None);
                }
            }
            _ => {}
        }
        for entry in step {
            if let Event::Send {
                from,
                to,
                msg_id,
                msg,
            } = &entry.event
            {
                let what = format!("{from} sends message #{msg_id} to {to} (at {at})");
                let id = self.add(*from, what, msg_stamp(msg), None);
                self.sends.insert(*msg_id, id);
            }
        }
        start..self.events.len()
    }
}

/// What the workload asks a node to do.
pub enum Action {
    Local,
    Send(NodeId),
}

/// The network of the causality tests: delays from 1 to 20 ms, and some
/// messages held back up to 200 ms (so they overtake each other), lost or
/// delivered twice.
pub fn chaotic_network() -> dsim::Network {
    dsim::Network::reliable(Duration::from_millis(1), Duration::from_millis(20))
        .with_loss(0.15)
        .with_duplication(0.15)
        .with_long_delays(0.1, Duration::from_millis(200))
}

/// Schedules `count` requests at random nodes over `span`: local events and
/// sends to random other nodes, in random proportions for this seed.
pub fn drive<N: Node>(
    sim: &mut Sim<N>,
    count: usize,
    span: Duration,
    request: impl Fn(Action) -> N::Request,
) {
    let mut rng = sim.scenario_rng();
    let nodes = sim.len() as u64;
    let send_share = 0.4 + 0.5 * rng.unit();
    let step = span.as_nanos() as u64 / count as u64;
    let mut at = 0;
    for _ in 0..count {
        at += rng.range(0..=2 * step);
        let node = NodeId(rng.below(nodes) as usize);
        let action = if nodes > 1 && rng.chance(send_share) {
            let other = (node.index() as u64 + 1 + rng.below(nodes - 1)) % nodes;
            Action::Send(NodeId(other as usize))
        } else {
            Action::Local
        };
        sim.request_after(Duration::from_nanos(at), node, request(action));
    }
}
