//! The record of a run: every event, in order, with a one-line rendering.

use crate::node::{Node, NodeId, RequestId};
use crate::time::Time;
use serde::Serialize;
use std::collections::VecDeque;
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
            | Event::Restart { node } => vec![*node],
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
pub struct Trace<N: Node> {
    entries: VecDeque<Entry<N>>,
    limit: Option<usize>,
    total: u64,
}

impl<N: Node> Trace<N> {
    pub(crate) fn new() -> Self {
        Trace {
            entries: VecDeque::new(),
            limit: None,
            total: 0,
        }
    }

    pub(crate) fn set_limit(&mut self, limit: Option<usize>) {
        self.limit = limit;
        self.trim();
    }

    pub(crate) fn push(&mut self, entry: Entry<N>) {
        self.entries.push_back(entry);
        self.total += 1;
        self.trim();
    }

    fn trim(&mut self) {
        if let Some(limit) = self.limit {
            while self.entries.len() > limit {
                self.entries.pop_front();
            }
        }
    }

    /// The events kept, oldest first.
    pub fn entries(&self) -> impl DoubleEndedIterator<Item = &Entry<N>> + ExactSizeIterator {
        self.entries.iter()
    }

    /// How many events the run has had, including any no longer kept.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Every kept event, one line each.
    pub fn render(&self) -> Vec<String> {
        self.entries.iter().map(|e| e.to_string()).collect()
    }

    /// The last `count` events that concern any of `nodes` (all events if
    /// `nodes` is empty), one line each: the excerpt a failure report shows.
    pub fn excerpt(&self, nodes: &[NodeId], count: usize) -> Vec<String> {
        self.excerpt_to(nodes, count, u64::MAX)
    }

    /// [`Trace::excerpt`] of the events up to the one of index `last`.
    pub fn excerpt_to(&self, nodes: &[NodeId], count: usize, last: u64) -> Vec<String> {
        let mut lines: Vec<String> = self
            .entries
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
        serde_json::to_value(self.entries.iter().collect::<Vec<_>>()).expect("trace serialises")
    }
}
