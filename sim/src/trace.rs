//! The record of a run: every event, in order, with a one-line rendering.

use crate::disk::PowerLoss;
use crate::node::{Node, NodeId, RequestId};
use crate::time::Time;
use serde::Serialize;
use std::fmt::{self, Debug, Write};

/// Why a message was not delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// The network lost it at random.
    Lost,
    /// The link was cut or the nodes were on different sides of a partition.
    Partitioned,
    /// The receiver was down when it arrived.
    ReceiverDown,
}

/// One thing that happened in a run.
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[serde(bound = "")]
pub enum Event<N: Node> {
    /// `on_start` ran (boot or restart).
    Start { node: NodeId },
    /// A node handed a message to the network.
    Send {
        from: NodeId,
        to: NodeId,
        msg_id: u64,
        msg: N::Msg,
    },
    /// A message reached its receiver and `on_message` ran.
    Deliver {
        from: NodeId,
        to: NodeId,
        msg_id: u64,
        msg: N::Msg,
    },
    /// A message was not delivered.
    Drop {
        from: NodeId,
        to: NodeId,
        msg_id: u64,
        reason: DropReason,
    },
    /// A timer fired and `on_timer` ran.
    Timer { node: NodeId, timer: N::Timer },
    /// A client request reached a node and `on_request` ran (or the node was down).
    Request {
        node: NodeId,
        id: RequestId,
        req: N::Request,
        refused: bool,
    },
    /// A node answered a client request.
    Reply {
        node: NodeId,
        id: RequestId,
        reply: N::Reply,
    },
    /// A node crashed: its volatile state and timers are gone.
    Crash { node: NodeId },
    /// A crashed node came back (its `on_start` follows).
    Restart { node: NodeId },
    /// A node made a file (`Some`) or its disk's names (`None`) durable.
    Sync { node: NodeId, file: Option<String> },
    /// A node's power went out: it is down, and its disk lost what was not
    /// synced (`loss` says what).
    PowerCut { node: NodeId, loss: PowerLoss },
    /// A node stopped handling anything until `until` (true time): a long
    /// pause of the process, such as a garbage collector's. What comes due
    /// for it meanwhile waits.
    Pause { node: NodeId, until: Time },
    /// A paused node runs again; what waited for it follows, in order.
    Resume { node: NodeId },
    /// The scenario changed the network (partition, heal, cut link, …).
    Fault { what: String },
    /// A remark added by the scenario or a checker.
    Note { text: String },
}

impl<N: Node> Clone for Event<N> {
    fn clone(&self) -> Self {
        match self {
            Event::Start { node } => Event::Start { node: *node },
            Event::Send {
                from,
                to,
                msg_id,
                msg,
            } => Event::Send {
                from: *from,
                to: *to,
                msg_id: *msg_id,
                msg: msg.clone(),
            },
            Event::Deliver {
                from,
                to,
                msg_id,
                msg,
            } => Event::Deliver {
                from: *from,
                to: *to,
                msg_id: *msg_id,
                msg: msg.clone(),
            },
            Event::Drop {
                from,
                to,
                msg_id,
                reason,
            } => Event::Drop {
                from: *from,
                to: *to,
                msg_id: *msg_id,
                reason: *reason,
            },
            Event::Timer { node, timer } => Event::Timer {
                node: *node,
                timer: timer.clone(),
            },
            Event::Request {
                node,
                id,
                req,
                refused,
            } => Event::Request {
                node: *node,
                id: *id,
                req: req.clone(),
                refused: *refused,
            },
            Event::Reply { node, id, reply } => Event::Reply {
                node: *node,
                id: *id,
                reply: reply.clone(),
            },
            Event::Crash { node } => Event::Crash { node: *node },
            Event::Restart { node } => Event::Restart { node: *node },
            Event::Sync { node, file } => Event::Sync {
                node: *node,
                file: file.clone(),
            },
            Event::PowerCut { node, loss } => Event::PowerCut {
                node: *node,
                loss: loss.clone(),
            },
            Event::Pause { node, until } => Event::Pause {
                node: *node,
                until: *until,
            },
            Event::Resume { node } => Event::Resume { node: *node },
            Event::Fault { what } => Event::Fault { what: what.clone() },
            Event::Note { text } => Event::Note { text: text.clone() },
        }
    }
}

impl<N: Node> Event<N> {
    /// The nodes this event concerns (sender and receiver, or the one node).
    pub fn nodes(&self) -> Vec<NodeId> {
        match self {
            Event::Send { from, to, .. }
            | Event::Deliver { from, to, .. }
            | Event::Drop { from, to, .. } => {
                vec![*from, *to]
            }
            Event::Start { node }
            | Event::Timer { node, .. }
            | Event::Request { node, .. }
            | Event::Reply { node, .. }
            | Event::Crash { node }
            | Event::Restart { node }
            | Event::Sync { node, .. }
            | Event::PowerCut { node, .. }
            | Event::Pause { node, .. }
            | Event::Resume { node } => vec![*node],
            Event::Fault { .. } | Event::Note { .. } => Vec::new(),
        }
    }

    /// The node whose handler ran for this event, if one did.
    pub fn handled_by(&self) -> Option<NodeId> {
        match self {
            Event::Start { node } | Event::Timer { node, .. } => Some(*node),
            Event::Deliver { to, .. } => Some(*to),
            Event::Request {
                node,
                refused: false,
                ..
            } => Some(*node),
            _ => None,
        }
    }
}

impl<N: Node> fmt::Display for Event<N> {
    /// One line in the learner's terms: `n1 → n2  Ping { seq: 3 }`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Start { node } => write!(f, "{node} starts"),
            Event::Send { from, to, msg, .. } => write!(f, "{from} sends {to}: {}", short(msg)),
            Event::Deliver { from, to, msg, .. } => {
                write!(f, "{to} receives from {from}: {}", short(msg))
            }
            Event::Drop {
                from,
                to,
                msg_id,
                reason,
            } => {
                let why = match reason {
                    DropReason::Lost => "lost by the network",
                    DropReason::Partitioned => "blocked by a partition",
                    DropReason::ReceiverDown => "dropped: the receiver is down",
                };
                write!(f, "message #{msg_id} {from} → {to} {why}")
            }
            Event::Timer { node, timer } => write!(f, "{node} timer fires: {}", short(timer)),
            Event::Request {
                node,
                id,
                req,
                refused,
            } => {
                write!(f, "client asks {node} ({id}): {}", short(req))?;
                if *refused {
                    write!(f, "  (refused: {node} is down)")?;
                }
                Ok(())
            }
            Event::Reply { node, id, reply } => {
                write!(f, "{node} answers the client ({id}): {}", short(reply))
            }
            Event::Crash { node } => write!(f, "{node} crashes"),
            Event::Restart { node } => write!(f, "{node} restarts"),
            Event::Sync {
                node,
                file: Some(file),
            } => write!(f, "{node} syncs {file}"),
            Event::Sync { node, file: None } => write!(f, "{node} syncs its directory"),
            Event::PowerCut { node, loss } => write!(f, "{node} loses power: {loss}"),
            Event::Pause { node, until } => {
                write!(f, "{node} pauses until {until} (handles nothing meanwhile)")
            }
            Event::Resume { node } => write!(f, "{node} resumes"),
            Event::Fault { what } => write!(f, "network: {what}"),
            Event::Note { text } => write!(f, "note: {text}"),
        }
    }
}

/// `Debug` on one line, cut to a readable length.
pub fn short(value: &impl Debug) -> String {
    const LIMIT: usize = 110;
    let mut text = String::new();
    let _ = write!(text, "{value:?}");
    if text.len() > LIMIT {
        let mut cut = LIMIT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// An event with the true time at which it happened.
#[derive(Serialize)]
#[serde(bound = "")]
pub struct Entry<N: Node> {
    /// Its position in the whole run (0 for the first event).
    pub index: u64,
    /// True time (not any node's clock).
    pub at: Time,
    #[serde(flatten)]
    pub event: Event<N>,
}

impl<N: Node> Clone for Entry<N> {
    fn clone(&self) -> Self {
        Entry {
            index: self.index,
            at: self.at,
            event: self.event.clone(),
        }
    }
}

impl<N: Node> fmt::Display for Entry<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>10}  {}", self.at.to_string(), self.event)
    }
}

/// The events of a run, oldest first; optionally only the most recent ones.
///
/// The step being taken is recorded here too, after the events kept, but is
/// not part of the trace until the simulator commits it (after the checks
/// have seen it as a [`Step`](crate::Step)): so an event is written once, in
/// its place, rather than gathered elsewhere and moved in. One `Vec` holds
/// both, so that the step is one slice.
pub struct Trace<N: Node> {
    /// `entries[start..committed]`: the events kept; `entries[committed..]`:
    /// the step being taken; `entries[..start]`: events beyond the limit,
    /// removed in bulk once they are as many as the rest.
    entries: Vec<Entry<N>>,
    start: usize,
    committed: usize,
    limit: Option<usize>,
    /// Events committed in the whole run, including those no longer kept.
    total: u64,
}

impl<N: Node> Trace<N> {
    pub(crate) fn new() -> Self {
        Trace {
            entries: Vec::new(),
            start: 0,
            committed: 0,
            limit: None,
            total: 0,
        }
    }

    pub(crate) fn set_limit(&mut self, limit: Option<usize>) {
        self.limit = limit;
        self.trim();
    }

    /// Adds an event to the step being taken.
    #[inline]
    pub(crate) fn record(&mut self, entry: Entry<N>) {
        self.entries.push(entry);
    }

    /// The events of the step being taken, in order.
    #[inline]
    pub(crate) fn pending(&self) -> &[Entry<N>] {
        &self.entries[self.committed..]
    }

    /// Makes the step being taken part of the trace.
    #[inline]
    pub(crate) fn commit(&mut self) {
        self.total += (self.entries.len() - self.committed) as u64;
        self.committed = self.entries.len();
        if self.limit.is_some() {
            self.trim();
        }
    }

    fn trim(&mut self) {
        let Some(limit) = self.limit else {
            return;
        };
        self.start = self.start.max(self.committed.saturating_sub(limit));
        // Removing the first events costs a move of the rest: wait until
        // there are at least as many to remove, so each event is moved at
        // most once on average.
        if self.start > 0 && self.start >= self.entries.len() - self.start {
            self.entries.drain(..self.start);
            self.committed -= self.start;
            self.start = 0;
        }
    }

    /// The events kept, oldest first.
    pub fn entries(&self) -> impl DoubleEndedIterator<Item = &Entry<N>> + ExactSizeIterator {
        self.kept().iter()
    }

    fn kept(&self) -> &[Entry<N>] {
        &self.entries[self.start..self.committed]
    }

    /// How many events the run has had, including any no longer kept.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Every kept event, one line each.
    pub fn render(&self) -> Vec<String> {
        self.kept().iter().map(|e| e.to_string()).collect()
    }

    /// The last `count` events that concern any of `nodes` (all events if
    /// `nodes` is empty), one line each: the excerpt a failure report shows.
    pub fn excerpt(&self, nodes: &[NodeId], count: usize) -> Vec<String> {
        self.excerpt_to(nodes, count, u64::MAX)
    }

    /// [`Trace::excerpt`] of the events up to the one of index `last`.
    pub fn excerpt_to(&self, nodes: &[NodeId], count: usize, last: u64) -> Vec<String> {
        let mut lines: Vec<String> = self
            .kept()
            .iter()
            .rev()
            .skip_while(|e| e.index > last)
            .filter(|e| nodes.is_empty() || e.event.nodes().iter().any(|n| nodes.contains(n)))
            .take(count)
            .map(|e| e.to_string())
            .collect();
        lines.reverse();
        lines
    }

    /// The kept events as JSON (an array of objects with `index`, `at`,
    /// `kind` and the event's fields).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self.kept()).expect("trace serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::Ctx;

    #[derive(Debug)]
    struct Quiet;

    impl Node for Quiet {
        type Msg = ();
        type Timer = ();
        type Request = ();
        type Reply = ();
        fn on_message(&mut self, _: &mut Ctx<Self>, _: NodeId, _: ()) {}
    }

    /// Records a step of `len` notes, numbered from the trace's total.
    fn step(trace: &mut Trace<Quiet>, len: usize) {
        for i in 0..len {
            let index = trace.total() + i as u64;
            trace.record(Entry {
                index,
                at: Time::ZERO,
                event: Event::Note {
                    text: index.to_string(),
                },
            });
        }
    }

    fn kept(trace: &Trace<Quiet>) -> Vec<u64> {
        trace.entries().map(|e| e.index).collect()
    }

    /// The step being taken is seen by the checks (`pending`) but is not in
    /// the trace until committed.
    #[test]
    fn a_step_joins_the_trace_when_committed() {
        let mut trace = Trace::new();
        step(&mut trace, 2);
        trace.commit();
        step(&mut trace, 3);
        assert_eq!(kept(&trace), [0, 1]);
        assert_eq!(trace.total(), 2);
        let pending: Vec<u64> = trace.pending().iter().map(|e| e.index).collect();
        assert_eq!(pending, [2, 3, 4]);
        trace.commit();
        assert_eq!(kept(&trace), [0, 1, 2, 3, 4]);
        assert_eq!(trace.total(), 5);
        assert!(trace.pending().is_empty());
    }

    /// With a limit, only the last events are kept, however the steps fall,
    /// and a step longer than the limit is still seen whole by the checks.
    #[test]
    fn a_limit_keeps_the_last_events() {
        let mut trace = Trace::new();
        trace.set_limit(Some(4));
        let mut total = 0u64;
        for len in [1, 3, 0, 7, 2, 1, 1, 5, 9, 2].into_iter().cycle().take(200) {
            step(&mut trace, len);
            assert_eq!(trace.pending().len(), len);
            trace.commit();
            total += len as u64;
            let first = total.saturating_sub(4);
            assert_eq!(kept(&trace), (first..total).collect::<Vec<u64>>());
            assert_eq!(trace.total(), total);
        }
        trace.set_limit(Some(2));
        assert_eq!(kept(&trace), [total - 2, total - 1]);
        trace.set_limit(None);
        step(&mut trace, 3);
        trace.commit();
        assert_eq!(kept(&trace).len(), 5);
    }
}
