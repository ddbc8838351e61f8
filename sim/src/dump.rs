//! A run written down for people: every event and the nodes' states, in a
//! form that needs no knowledge of the protocol's types, so the runner can
//! draw it as columns, as a space-time diagram or as a ShiViz log.
//!
//! Recording states costs a `Debug` rendering per event, so it is off unless
//! [`capture`] is on: the suite harness turns it on when one seed is replayed,
//! and every simulation built on that thread is then kept when it ends.

use crate::node::{Node, NodeId};
use crate::trace::{DropReason, Entry, Event, Trace};
use crate::violation::Violation;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;

/// One run: its events, the nodes' states, and the violation that stopped it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Dump {
    pub seed: u64,
    /// How many nodes the run had (`n0` to `n{nodes-1}`).
    pub nodes: usize,
    /// Events that happened before the first one kept (a trace limit).
    pub dropped: u64,
    pub events: Vec<DumpEvent>,
    /// Each node's state after the events that changed it, in event order.
    pub states: Vec<DumpState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub violation: Option<DumpViolation>,
}

/// What kind of event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Start,
    Send,
    Deliver,
    Drop,
    Timer,
    Request,
    Reply,
    Crash,
    Restart,
    Sync,
    PowerCut,
    /// A node paused (its payload: until when, in true time).
    Pause,
    Resume,
    Fault,
    Note,
}

impl EventKind {
    /// Whether the event takes its node down (a crash or a power cut).
    pub fn takes_node_down(self) -> bool {
        matches!(self, EventKind::Crash | EventKind::PowerCut)
    }
}

/// One event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DumpEvent {
    /// Its position in the whole run.
    pub index: u64,
    /// True time, in nanoseconds.
    pub at_nanos: u64,
    pub kind: EventKind,
    /// The node it happened at: the sender of a send or a drop, the receiver
    /// of a delivery; none for network faults and notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<usize>,
    /// The other end of a message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<usize>,
    /// Links a send to its deliveries and drops.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_id: Option<u64>,
    /// The message, timer, request or reply (`Debug`), the fault or the note.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub payload: String,
    /// Why a message was not delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<DropReason>,
    /// The event on one line, as failure reports print it.
    pub text: String,
}

/// A node's state after an event (`None`: the node is down).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DumpState {
    pub after: u64,
    pub node: usize,
    pub state: Option<String>,
}

/// The violation that stopped the run, or the property a test found
/// broken when the run was over.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DumpViolation {
    /// The event after which the property was found broken (for a
    /// property checked at the end, the run's last event).
    pub event: u64,
    pub property: String,
    pub detail: String,
    pub nodes: Vec<usize>,
    /// Earlier events the failure is about, to show first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<u64>,
    /// Set when the test checked the property after the run rather than
    /// after an event: the true time it did, in nanoseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_end: Option<u64>,
}

impl DumpEvent {
    /// The event in plain data.
    pub fn from_entry<N: Node>(entry: &Entry<N>) -> DumpEvent {
        let (kind, node, peer, msg_id, payload, reason) = match &entry.event {
            Event::Start { node } => (
                EventKind::Start,
                Some(*node),
                None,
                None,
                String::new(),
                None,
            ),
            Event::Send {
                from,
                to,
                msg_id,
                msg,
            } => (
                EventKind::Send,
                Some(*from),
                Some(*to),
                Some(*msg_id),
                format!("{msg:?}"),
                None,
            ),
            Event::Deliver {
                from,
                to,
                msg_id,
                msg,
            } => (
                EventKind::Deliver,
                Some(*to),
                Some(*from),
                Some(*msg_id),
                format!("{msg:?}"),
                None,
            ),
            Event::Drop {
                from,
                to,
                msg_id,
                reason,
            } => (
                EventKind::Drop,
                Some(*from),
                Some(*to),
                Some(*msg_id),
                String::new(),
                Some(*reason),
            ),
            Event::Timer { node, timer } => (
                EventKind::Timer,
                Some(*node),
                None,
                None,
                format!("{timer:?}"),
                None,
            ),
            Event::Request { node, req, .. } => (
                EventKind::Request,
                Some(*node),
                None,
                None,
                format!("{req:?}"),
                None,
            ),
            Event::Reply { node, reply, .. } => (
                EventKind::Reply,
                Some(*node),
                None,
                None,
                format!("{reply:?}"),
                None,
            ),
            Event::Crash { node } => (
                EventKind::Crash,
                Some(*node),
                None,
                None,
                String::new(),
                None,
            ),
            Event::Restart { node } => (
                EventKind::Restart,
                Some(*node),
                None,
                None,
                String::new(),
                None,
            ),
            Event::Sync { node, file } => (
                EventKind::Sync,
                Some(*node),
                None,
                None,
                file.clone().unwrap_or_default(),
                None,
            ),
            Event::PowerCut { node, loss } => (
                EventKind::PowerCut,
                Some(*node),
                None,
                None,
                loss.to_string(),
                None,
            ),
            Event::Pause { node, until } => (
                EventKind::Pause,
                Some(*node),
                None,
                None,
                until.to_string(),
                None,
            ),
            Event::Resume { node } => (
                EventKind::Resume,
                Some(*node),
                None,
                None,
                String::new(),
                None,
            ),
            Event::Fault { what } => (EventKind::Fault, None, None, None, what.clone(), None),
            Event::Note { text } => (EventKind::Note, None, None, None, text.clone(), None),
        };
        DumpEvent {
            index: entry.index,
            at_nanos: entry.at.as_nanos(),
            kind,
            node: node.map(NodeId::index),
            peer: peer.map(NodeId::index),
            msg_id,
            payload,
            reason,
            text: entry.event.to_string(),
        }
    }
}

impl Dump {
    /// A dump of `trace` with the states recorded during the run.
    pub(crate) fn new<N: Node>(
        seed: u64,
        nodes: usize,
        trace: &Trace<N>,
        states: Vec<DumpState>,
        violation: Option<&Violation>,
    ) -> Dump {
        let events: Vec<DumpEvent> = trace.entries().map(DumpEvent::from_entry).collect();
        Dump {
            seed,
            nodes,
            dropped: trace.total() - events.len() as u64,
            events,
            states,
            violation: violation.map(|v| DumpViolation {
                event: v.event,
                property: v.property.name.to_string(),
                detail: v.detail.clone(),
                nodes: v.nodes.iter().map(|n| n.index()).collect(),
                events: v.events.to_vec(),
                at_end: None,
            }),
        }
    }

    /// Node `node`'s state just after event `index` (the latest recorded at
    /// or before it), if any was recorded.
    pub fn state_after(&self, node: usize, index: u64) -> Option<&DumpState> {
        self.states
            .iter()
            .rev()
            .find(|s| s.node == node && s.after <= index)
    }
}

thread_local! {
    static CAPTURE: RefCell<Option<Vec<Dump>>> = const { RefCell::new(None) };
}

/// Keeping runs for replay: while on, every simulation created on this
/// thread records its nodes' states and leaves a [`Dump`] when dropped.
pub mod capture {
    use super::{Dump, CAPTURE};

    /// Starts keeping runs on this thread (forgetting any kept before).
    pub fn start() {
        CAPTURE.with(|c| *c.borrow_mut() = Some(Vec::new()));
    }

    /// Stops keeping runs and returns those kept, oldest first.
    pub fn finish() -> Vec<Dump> {
        CAPTURE.with(|c| c.borrow_mut().take()).unwrap_or_default()
    }

    /// Whether runs are being kept on this thread.
    pub fn is_on() -> bool {
        CAPTURE.with(|c| c.borrow().is_some())
    }

    pub(crate) fn keep(dump: Dump) {
        CAPTURE.with(|c| {
            if let Some(kept) = c.borrow_mut().as_mut() {
                kept.push(dump);
            }
        });
    }
}
