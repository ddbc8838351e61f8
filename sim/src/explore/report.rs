//! What an exploration shows the checks, and what it reports.

use crate::disk::Disk;
use crate::node::{Node, NodeId};
use crate::storage::Storage;
use crate::violation::Property;
use std::fmt;
use std::rc::Rc;

/// What the checks see of one state.
pub struct View<'a, N: Node> {
    pub(super) nodes: &'a [Option<Rc<N>>],
    pub(super) storage: &'a [Rc<Storage>],
    pub(super) in_flight: usize,
}

impl<N: Node> View<'_, N> {
    /// Node `id`'s state, or `None` while it is crashed.
    pub fn node(&self, id: NodeId) -> Option<&N> {
        self.nodes[id.0].as_deref()
    }

    /// Node `id`'s durable storage.
    pub fn storage(&self, id: NodeId) -> &Storage {
        &self.storage[id.0]
    }

    /// Node `id`'s disk.
    pub fn disk(&self, id: NodeId) -> &Disk {
        &self.storage[id.0].disk
    }

    /// Every node id.
    pub fn ids(&self) -> impl Iterator<Item = NodeId> {
        (0..self.nodes.len()).map(NodeId)
    }

    /// How many messages are in flight.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }
}

/// What an [`every_step`](super::Explorer::every_step) check sees of one
/// step: the state before it and the state after it. An exploration keeps
/// states, not a trace, so a step is this pair, as in TLA+; a
/// [`Sim`](crate::Sim) check sees a step as its events instead
/// ([`Step`](crate::Step)).
pub struct Transition<'a, N: Node> {
    pub before: View<'a, N>,
    pub after: View<'a, N>,
}

/// A property that failed, with the shortest run that breaks it.
#[derive(Clone, Debug, PartialEq)]
pub struct Counterexample {
    /// The property that failed.
    pub property: Property,
    /// What exactly went wrong in the last state.
    pub detail: String,
    /// The nodes involved (a boxed slice, as in a
    /// [`Violation`](crate::Violation): this is an `Err`, kept small).
    pub nodes: Box<[NodeId]>,
    /// The run, one line per step, from the initial state.
    pub trace: Vec<String>,
    /// The states explored before it was found.
    pub states: usize,
}

/// What an exploration that found no counterexample learned.
#[derive(Clone, Debug, PartialEq)]
pub struct Explored {
    /// The distinct states reached.
    pub states: usize,
    /// The longest of the shortest paths to a state (the search depth).
    pub depth: usize,
    /// For each goal, the shortest run that reaches it, if one does.
    pub goals: Vec<(String, Option<Vec<String>>)>,
}

impl fmt::Display for Counterexample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}: {}", self.property, self.detail)?;
        for line in &self.trace {
            writeln!(f, "  {line}")?;
        }
        Ok(())
    }
}

/// The property reported when a handler panics during an exploration.
pub const PANIC_PROPERTY: Property = Property {
    name: "handlers run without panicking",
    hint: "",
    when: &[],
};
/// The property reported when the state space is larger than the limit.
pub const LIMIT_PROPERTY: Property = Property {
    name: "the model is small enough to explore",
    hint: "",
    when: &[],
};
