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
/// ```
/// use dsim::Property;
///
/// pub const ELECTION_SAFETY: Property = Property {
///     name: "at most one leader per term",
///     hint: "a node votes at most once per term, and a candidate needs a majority",
/// };
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Property {
    /// The property in plain words, the same for every failure of it.
    pub name: &'static str,
    /// What to look at when it breaks; empty for none (the simulator's own
    /// properties, which only say that a node misbehaved).
    pub hint: &'static str,
}

impl fmt::Display for Property {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// A property that stopped holding, or a node that misbehaved.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    /// The property ("at most one leader per term").
    pub property: Property,
    /// What exactly went wrong ("n2 and n4 both lead term 3").
    pub detail: String,
    /// The nodes involved, to pick the trace lines that matter.
    pub nodes: Vec<NodeId>,
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
}

impl Broken {
    /// A failure described by `detail`.
    pub fn new(detail: impl Into<String>) -> Self {
        Broken {
            detail: detail.into(),
            nodes: Vec::new(),
        }
    }

    /// Names the nodes involved, so the report shows their events.
    pub fn nodes(mut self, nodes: impl IntoIterator<Item = NodeId>) -> Self {
        self.nodes = nodes.into_iter().collect();
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
