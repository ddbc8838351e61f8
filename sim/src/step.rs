//! What a check sees of one step of a run.

use crate::node::Node;
use crate::trace::{Entry, Event};
use std::fmt;

/// The events of one step: the event that triggered it, then everything it
/// caused, in order.
///
/// A step is one event taken from the queue (a delivery, a timer, a client
/// request, a node's start) or one thing the scenario did (a crash, a
/// restart, a partition), with all that followed from it at the same
/// instant: the handler's sends, replies and drops. Checks registered with
/// [`Sim::check`](crate::Sim::check) run after every step; a rule about
/// what a node does *in answer to* something (a ping is answered by a pong
/// in the same handler) reads the [`trigger`](Step::trigger) and the rest of
/// the step, not just any event of it, because a crash's or a restart's step
/// starts with that fault.
pub struct Step<'a, N: Node> {
    entries: &'a [Entry<N>],
}

impl<'a, N: Node> Step<'a, N> {
    pub(crate) fn new(entries: &'a [Entry<N>]) -> Self {
        Step { entries }
    }

    /// The event that started the step. `None` for a step in which nothing
    /// happened: a timer came due that had been cancelled, set again or
    /// lost in a crash since.
    pub fn trigger(&self) -> Option<&'a Entry<N>> {
        self.entries.first()
    }

    /// The trigger's event, if the step has one (the common case of a
    /// check that matches on what started the step).
    pub fn trigger_event(&self) -> Option<&'a Event<N>> {
        self.trigger().map(|e| &e.event)
    }

    /// What the trigger caused: every event of the step after it.
    pub fn caused(&self) -> &'a [Entry<N>] {
        self.entries.get(1..).unwrap_or_default()
    }

    /// Every event of the step, the trigger first.
    pub fn entries(&self) -> &'a [Entry<N>] {
        self.entries
    }

    /// Every event of the step, the trigger first.
    pub fn iter(&self) -> std::slice::Iter<'a, Entry<N>> {
        self.entries.iter()
    }

    /// Whether nothing happened in the step.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<N: Node> Clone for Step<'_, N> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<N: Node> Copy for Step<'_, N> {}

impl<'a, N: Node> IntoIterator for Step<'a, N> {
    type Item = &'a Entry<N>;
    type IntoIter = std::slice::Iter<'a, Entry<N>>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}

impl<N: Node> fmt::Debug for Step<'_, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|e| e.to_string()))
            .finish()
    }
}
