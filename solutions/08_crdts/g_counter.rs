//! # crdt_g_counter: a counter that only grows
//!
//! Several replicas count events (page views, likes) with no coordination:
//! each accepts increments on its own, and now and then sends its whole state
//! to another replica, which merges it into its own. States travel late,
//! twice, in any order, and some never arrive; still, once every replica has
//! heard, directly or not, of every increment, all must show the same total.
//!
//! One number per replica cannot do it: merging 5 with 7 could mean 7 (the
//! same five increments and two more) or 12 (two different groups of
//! increments), and nothing in the numbers tells which. The G-counter keeps
//! one entry per replica instead: entry `r` counts the increments made *at*
//! replica `r`. Only replica `r` ever raises entry `r`, so two states can
//! disagree about an entry only in that one of them is out of date, and the
//! merge keeps the larger of the two. The value is the sum of the entries.
//!
//! The merge is the least upper bound of two states (the smallest state
//! that includes everything either knew), which makes it commutative,
//! associative and idempotent: it does not matter in which order, how often,
//! or by which path states are merged. [`Crdt`] is that promise, shared by
//! every type of this topic.
//!
// exercise: begin
// stub: //! Read `exercises/08_crdts/README.md` first. Then fill in each `todo!()`.
//! The reference solution.
// exercise: end

use dsim::NodeId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Debug;

/// A state-based CRDT: a state that replicas update on their own and merge.
///
/// The suite checks that `merge` is commutative, associative and idempotent,
/// and that every update moves a state up (merging the old state into the
/// new one changes nothing), so that the updates of every replica reach
/// every other through any number of merges, in any order.
pub trait Crdt: Clone + Debug + PartialEq {
    /// Merges `other` into `self`: afterwards `self` is the least upper
    /// bound of the two states, the smallest state that includes everything
    /// either of them knew.
    fn merge(&mut self, other: &Self);
}

/// A grow-only counter: one entry per replica.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GCounter {
    /// `counts[r]`: how many increments replica `r` has made, as far as this
    /// state knows. A replica that has made none has no entry (so that two
    /// states that know the same are equal).
    pub counts: BTreeMap<NodeId, u64>,
}

impl GCounter {
    /// A counter at zero.
    pub fn new() -> Self {
        GCounter::default()
    }

    /// Replica `replica` counts one more: its own entry goes up by one, and
    /// no other entry changes.
    pub fn increment(&mut self, replica: NodeId) {
        // exercise: begin "add one to the entry of replica (an absent entry counts as 0)"
        *self.counts.entry(replica).or_insert(0) += 1;
        // exercise: end
    }

    /// The total: the increments of every replica.
    pub fn value(&self) -> u64 {
        // exercise: begin "sum the entries"
        self.counts.values().sum()
        // exercise: end
    }
}

impl Crdt for GCounter {
    /// Each entry becomes the larger of the two: the larger one has seen
    /// every increment the smaller one has, and maybe more. An entry only
    /// one side has is taken as it is.
    fn merge(&mut self, other: &Self) {
        // exercise: begin "for each entry of other, keep the larger of the two counts (an entry only other has is copied)"
        for (&replica, &count) in &other.counts {
            let mine = self.counts.entry(replica).or_insert(0);
            *mine = (*mine).max(count);
        }
        // exercise: end
    }
}
