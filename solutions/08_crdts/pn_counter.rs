//! # crdt_pn_counter: a counter that goes up and down
//!
//! A G-counter cannot count down: its merge keeps the larger of two entries,
//! so an entry that went down would come back up at the next merge with an
//! older copy. (Try it: one signed entry per replica, merged by maximum,
//! forgets decrements.) The PN-counter keeps two G-counters instead: one
//! counts the increments, the other the decrements, and both only grow. Its
//! value is the difference; its merge merges each half.
//!
//! It reuses the [`GCounter`] of `g_counter.rs`.
//!
// exercise: begin
// stub: //! Read `exercises/08_crdts/README.md` first. Then fill in each `todo!()`.
//! The reference solution.
// exercise: end

use super::g_counter::{Crdt, GCounter};
use dsim::NodeId;
use serde::{Deserialize, Serialize};

/// A counter with increments and decrements, as two grow-only counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PnCounter {
    /// Every increment, counted per replica.
    pub increments: GCounter,
    /// Every decrement, counted per replica.
    pub decrements: GCounter,
}

impl PnCounter {
    /// A counter at zero.
    pub fn new() -> Self {
        PnCounter::default()
    }

    /// Replica `replica` adds one.
    pub fn increment(&mut self, replica: NodeId) {
        // exercise: begin "count one more increment of replica"
        self.increments.increment(replica);
        // exercise: end
    }

    /// Replica `replica` takes one away: one more decrement is counted.
    pub fn decrement(&mut self, replica: NodeId) {
        // exercise: begin "count one more decrement of replica"
        self.decrements.increment(replica);
        // exercise: end
    }

    /// The increments minus the decrements (negative if there were more
    /// decrements).
    pub fn value(&self) -> i64 {
        // exercise: begin "the increments minus the decrements, as an i64"
        self.increments.value() as i64 - self.decrements.value() as i64
        // exercise: end
    }
}

impl Crdt for PnCounter {
    /// Merges the increments with the increments and the decrements with
    /// the decrements.
    fn merge(&mut self, other: &Self) {
        // exercise: begin "merge each half with the same half of other"
        self.increments.merge(&other.increments);
        self.decrements.merge(&other.decrements);
        // exercise: end
    }
}
