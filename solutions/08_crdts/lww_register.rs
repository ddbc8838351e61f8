//! # crdt_lww_register: two registers, two answers to concurrent writes
//!
//! A register holds one value, and two replicas may write it at the same
//! time without hearing of each other. Once they merge, which value is it?
//!
//! The **last-writer-wins register** picks one. Every write carries a
//! [`Stamp`]: the writer's clock reading and the writer's id. The write with
//! the larger stamp wins, on every replica, whatever order the states arrive
//! in. Stamps are ordered by time first and by node id when the times are
//! equal (the total order of `clocks_lamport`), never by which state arrived
//! last: arrival order differs from replica to replica, and replicas that
//! broke ties by it would never agree. The price: of two concurrent writes,
//! one is silently lost, and with physical clocks a write made later in
//! real time can lose to an earlier one from a replica whose clock is ahead.
//!
//! The **multi-value register** loses nothing. It stamps each write with a
//! [`VersionVector`] instead (the vector clock of `clocks_vector`, keyed by
//! replica): the merge of the vectors of every version the writer had, with
//! one more write of its own. A write thus dominates every version its
//! writer had seen and replaces them; two writes that did not see each
//! other are concurrent, and the register keeps both, for the application
//! (or the user) to reconcile with its next write.
//!
// exercise: begin
// stub: //! Read `exercises/08_crdts/README.md` first. Then fill in each `todo!()`.
//! The reference solution.
// exercise: end

use super::g_counter::Crdt;
use dsim::NodeId;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

/// When and where a write was made. The derived order compares `time` first
/// and `replica` only when the times are equal, so two writes of different
/// replicas never tie, and every replica orders them alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Stamp {
    /// The writer's clock when it wrote. One replica never stamps two writes
    /// with the same time.
    pub time: u64,
    /// The writer.
    pub replica: NodeId,
}

/// A last-writer-wins register.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LwwRegister<T> {
    /// The write with the largest stamp seen so far, or `None` before any.
    pub current: Option<(Stamp, T)>,
}

impl<T> Default for LwwRegister<T> {
    fn default() -> Self {
        LwwRegister { current: None }
    }
}

impl<T: Clone> LwwRegister<T> {
    /// An empty register.
    pub fn new() -> Self {
        LwwRegister::default()
    }

    /// A write of `value` stamped `stamp`: it takes the register if its
    /// stamp is larger than the current one's, or if the register is empty.
    /// A write stamped below the current value is lost, even on the replica
    /// that made it (that is what last-writer-wins means).
    pub fn set(&mut self, stamp: Stamp, value: T) {
        // exercise: begin "take the write if the register is empty or stamp is larger than the current stamp"
        let newer = match &self.current {
            None => true,
            Some((current, _)) => stamp > *current,
        };
        if newer {
            self.current = Some((stamp, value));
        }
        // exercise: end
    }

    /// The value of the winning write, if any.
    pub fn get(&self) -> Option<&T> {
        // exercise: begin "the value of the current write, if any"
        self.current.as_ref().map(|(_, value)| value)
        // exercise: end
    }
}

impl<T: Clone + Debug + PartialEq> Crdt for LwwRegister<T> {
    /// Keeps whichever of the two writes has the larger stamp.
    fn merge(&mut self, other: &Self) {
        // exercise: begin "keep whichever write has the larger stamp (compare the whole Stamp)"
        if let Some((stamp, value)) = &other.current {
            self.set(*stamp, value.clone());
        }
        // exercise: end
    }
}

/// A version vector: `counts[r]` is how many writes of replica `r` a version
/// had seen when it was written (absent entries are 0). Given, not an
/// exercise: you wrote its like in `clocks_vector`.
///
/// The derived `Ord` is only there so that versions can be kept in a
/// `BTreeSet`; it is *not* happens-before. Use [`VersionVector::dominates`]
/// for that.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct VersionVector {
    pub counts: BTreeMap<NodeId, u64>,
}

impl VersionVector {
    /// All zeros.
    pub fn new() -> Self {
        VersionVector::default()
    }

    /// Entry `replica` (0 if absent).
    pub fn get(&self, replica: NodeId) -> u64 {
        self.counts.get(&replica).copied().unwrap_or(0)
    }

    /// One more write of `replica`.
    pub fn increment(&mut self, replica: NodeId) {
        *self.counts.entry(replica).or_insert(0) += 1;
    }

    /// Entry-wise maximum: everything either vector had seen.
    pub fn merge(&mut self, other: &VersionVector) {
        for (&replica, &count) in &other.counts {
            let mine = self.counts.entry(replica).or_insert(0);
            *mine = (*mine).max(count);
        }
    }

    /// Whether `self` has seen everything `other` has, and more: the write
    /// stamped `other` happened before the write stamped `self`.
    pub fn dominates(&self, other: &VersionVector) -> bool {
        self != other
            && other
                .counts
                .iter()
                .all(|(&replica, &count)| self.get(replica) >= count)
    }
}

/// A multi-value register.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MvRegister<T: Ord> {
    /// The concurrent writes: each value with the version vector of its
    /// write. No version here dominates another.
    pub versions: BTreeSet<(VersionVector, T)>,
}

impl<T: Ord> Default for MvRegister<T> {
    fn default() -> Self {
        MvRegister {
            versions: BTreeSet::new(),
        }
    }
}

impl<T: Clone + Ord> MvRegister<T> {
    /// An empty register.
    pub fn new() -> Self {
        MvRegister::default()
    }

    /// Replica `replica` writes `value`. The writer has seen every version
    /// here, so the new write dominates them all and replaces them: its
    /// vector is the merge of their vectors with one more write of
    /// `replica`.
    pub fn set(&mut self, replica: NodeId, value: T) {
        // exercise: begin "the merge of every version's vector, plus one write of replica; then this version alone"
        let mut vector = VersionVector::new();
        for (seen, _) in &self.versions {
            vector.merge(seen);
        }
        vector.increment(replica);
        self.versions = BTreeSet::from([(vector, value)]);
        // exercise: end
    }

    /// The values of the concurrent writes, one per version, in the order
    /// of `versions`.
    pub fn values(&self) -> Vec<T> {
        // exercise: begin "the value of each version"
        self.versions
            .iter()
            .map(|(_, value)| value.clone())
            .collect()
        // exercise: end
    }
}

impl<T: Clone + Ord + Debug> Crdt for MvRegister<T> {
    /// Keeps every version of either side that no version of the other side
    /// dominates: a write survives unless some write on the other side had
    /// seen it. A version both sides have is kept once.
    fn merge(&mut self, other: &Self) {
        // exercise: begin "keep the versions of each side that no version of the other side dominates"
        let dominated = |vector: &VersionVector, by: &BTreeSet<(VersionVector, T)>| {
            by.iter().any(|(later, _)| later.dominates(vector))
        };
        let mut kept: BTreeSet<(VersionVector, T)> = self
            .versions
            .iter()
            .filter(|(vector, _)| !dominated(vector, &other.versions))
            .cloned()
            .collect();
        for version in &other.versions {
            if !dominated(&version.0, &self.versions) {
                kept.insert(version.clone());
            }
        }
        self.versions = kept;
        // exercise: end
    }
}
