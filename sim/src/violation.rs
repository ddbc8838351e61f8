//! What a run reports about itself: a property that broke, and counters.

use crate::node::NodeId;
use crate::time::Time;
use std::fmt;

/// A property a run must keep, declared once, as a constant, and used
/// wherever it is checked, so that every failure of it carries the same
/// words and the same hint. The simulator keeps the property a check was
/// registered with and hands it back in the [`Violation`], so the hint
/// reaches whoever reports the failure (the course's harness re-exports
/// this type as `dscheck::Property`).
///
/// What to look at can depend on what happened in the run: a node that
/// votes twice in a term forgot its vote across a restart, or never
/// remembered it; a value never delivered was lost, or held back forever.
/// `when` gives the hint for a run that shows a [`Fact`], so the property
/// carries every hint it needs and a failure shows the one true of its run
/// ([`Property::hint_where`]), without a test choosing it.
///
/// ```
/// use dsim::{Fact, Property};
///
/// pub const ONE_VOTE: Property = Property {
///     name: "a node votes for at most one candidate per term",
///     hint: "grant a vote only if voted_for is None or already that candidate",
///     when: &[(Fact::Restarted, "keep voted_for on storage, and read it back on restart")],
/// };
/// assert_eq!(ONE_VOTE.hint_where(|_| false), ONE_VOTE.hint);
/// assert!(ONE_VOTE.hint_where(|f| f == Fact::Restarted).contains("storage"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Property {
    /// The property in plain words, the same for every failure of it.
    pub name: &'static str,
    /// What to look at when it breaks; empty for none (the simulator's own
    /// properties, which only say that a node misbehaved).
    pub hint: &'static str,
    /// The hint instead for a run that shows a fact (the first that holds
    /// wins); empty for a property whose hint is true of every run.
    pub when: &'static [(Fact, &'static str)],
}

impl Property {
    /// The hint for a run in which `holds` says which facts are true: the
    /// first of [`Property::when`] whose fact holds, else
    /// [`Property::hint`].
    pub fn hint_where(&self, holds: impl Fn(Fact) -> bool) -> &'static str {
        self.when
            .iter()
            .find(|(fact, _)| holds(*fact))
            .map_or(self.hint, |(_, hint)| hint)
    }
}

/// Something a run can show that changes what to look at when a property
/// breaks in it. The simulator records what it needs to tell
/// ([`Sim::fact`](crate::Sim::fact)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fact {
    /// A node the failure names crashed and came back, after the first
    /// event the failure names (any time before the failure, if it names
    /// none). A failure that names no node is about every node.
    Restarted,
    /// The network did not deliver some message of the run: lost at
    /// random, blocked by a partition or a cut link, or addressed to a node
    /// that was down.
    MessageLost,
}

impl fmt::Display for Property {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// A property that stopped holding, or a node that misbehaved. (Its lists
/// are boxed slices: a violation is the `Err` of every step of a run, and
/// stays small.)
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    /// The property ("at most one leader per term").
    pub property: Property,
    /// What exactly went wrong ("n2 and n4 both lead term 3").
    pub detail: String,
    /// The nodes involved, to pick the trace lines that matter.
    pub nodes: Box<[NodeId]>,
    /// Earlier events the failure is about (indices in the trace), if the
    /// check named any: where to look first.
    pub events: Box<[u64]>,
    /// True time of the event after which the check failed.
    pub at: Time,
    /// The index of that event in the trace.
    pub event: u64,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} — {} (at {})", self.property, self.detail, self.at)
    }
}

/// What a check reports when its property does not hold.
#[derive(Clone, Debug, Default)]
pub struct Broken {
    /// What exactly went wrong.
    pub detail: String,
    /// The nodes involved.
    pub nodes: Vec<NodeId>,
    /// The events it is about, by their index in the trace.
    pub events: Vec<u64>,
}

impl Broken {
    /// A failure described by `detail`.
    pub fn new(detail: impl Into<String>) -> Self {
        Broken {
            detail: detail.into(),
            ..Broken::default()
        }
    }

    /// Names the nodes involved, so the report shows their events.
    pub fn nodes(mut self, nodes: impl IntoIterator<Item = NodeId>) -> Self {
        self.nodes = nodes.into_iter().collect();
        self
    }

    /// Names the earlier events the failure is about (a first vote, the
    /// round that went out early), by their index in the trace: a replay
    /// shows them, and a [`Fact`] about the named nodes counts only from
    /// the first of them.
    pub fn events(mut self, events: impl IntoIterator<Item = u64>) -> Self {
        self.events = events.into_iter().collect();
        self
    }
}

impl From<String> for Broken {
    fn from(detail: String) -> Self {
        Broken::new(detail)
    }
}

impl From<&str> for Broken {
    fn from(detail: &str) -> Self {
        Broken::new(detail)
    }
}

/// Counters over a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Messages handed to the network.
    pub sent: u64,
    /// Messages delivered (a duplicate counts again).
    pub delivered: u64,
    /// Messages lost, blocked or sent to a node that was down.
    pub dropped: u64,
    /// Serialised bytes of the messages sent (only with `measure_bytes`).
    pub bytes: u64,
    /// Timers that fired.
    pub timers: u64,
    /// Events processed.
    pub events: u64,
}
