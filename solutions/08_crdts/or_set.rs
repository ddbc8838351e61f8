//! # crdt_or_set: a set where an add survives a concurrent remove
//!
//! Replica A removes "milk" from a shared shopping list while replica B,
//! which has not heard of the remove yet, adds "milk" again. Once they merge,
//! is milk on the list? With a plain set and a merge by union, the remove is
//! simply undone by the next merge with any replica that still has milk;
//! with a list of removed elements, milk can never be added again. The
//! observed-remove set answers: *B's add wins*, because A's remove was about
//! the adds A had seen, and B's was not one of them.
//!
//! To make "the adds A had seen" precise, every add gets a unique [`Tag`]:
//! the adding replica and a sequence number of its own. A remove records the
//! tags of the element it observes in its state as removed (tombstones); an
//! element is in the set while some tag of it is not removed. The merge is
//! a union of the adds and a union of the tombstones, so a remove never
//! reaches an add it did not observe, and an add concurrent with it
//! survives.
//!
// exercise: begin
// stub: //! Read `exercises/08_crdts/README.md` first. Then fill in each `todo!()`.
//! The reference solution.
// exercise: end

use super::g_counter::Crdt;
use dsim::NodeId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt::Debug;

/// Names one add: the replica that made it and its sequence number there
/// (1 for the replica's first add, 2 for its second, …), so that no two
/// adds anywhere share a tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Tag {
    pub replica: NodeId,
    pub seq: u64,
}

/// An observed-remove set with tombstones.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrSet<T: Ord> {
    /// Every add this state knows of: the element and the tag of that add.
    /// Nothing is ever taken out of here, removed adds included.
    pub adds: BTreeSet<(T, Tag)>,
    /// The tags of the adds that have been removed: tombstones.
    pub removed: BTreeSet<Tag>,
}

impl<T: Ord> Default for OrSet<T> {
    fn default() -> Self {
        OrSet {
            adds: BTreeSet::new(),
            removed: BTreeSet::new(),
        }
    }
}

impl<T: Clone + Ord> OrSet<T> {
    /// An empty set.
    pub fn new() -> Self {
        OrSet::default()
    }

    /// Replica `replica` adds `element`, with a tag no add has had: the
    /// replica's id and one more than the largest sequence number among
    /// the replica's tags in `adds`. (Every add of this replica is in its
    /// own state, so that number has never been used.) Returns the tag.
    pub fn add(&mut self, replica: NodeId, element: T) -> Tag {
        // exercise: begin "tag the add with (replica, one more than replica's largest seq in adds), insert it, return the tag"
        let seq = self
            .adds
            .iter()
            .filter(|(_, tag)| tag.replica == replica)
            .map(|(_, tag)| tag.seq)
            .max()
            .unwrap_or(0)
            + 1;
        let tag = Tag { replica, seq };
        self.adds.insert((element, tag));
        tag
        // exercise: end
    }

    /// Removes `element`: the tags of `element` in this state, and no
    /// others, become tombstones. An add of `element` this state has not
    /// seen is not removed.
    pub fn remove(&mut self, element: &T) {
        // exercise: begin "make every tag of element in adds a tombstone"
        for (_, tag) in self.adds.iter().filter(|(e, _)| e == element) {
            self.removed.insert(*tag);
        }
        // exercise: end
    }

    /// Whether some add of `element` has not been removed.
    pub fn contains(&self, element: &T) -> bool {
        // exercise: begin "is some tag of element not in removed?"
        self.adds
            .iter()
            .any(|(e, tag)| e == element && !self.removed.contains(tag))
        // exercise: end
    }

    /// Every element in the set.
    pub fn elements(&self) -> BTreeSet<T> {
        // exercise: begin "the elements of the adds whose tags are not removed"
        self.adds
            .iter()
            .filter(|(_, tag)| !self.removed.contains(tag))
            .map(|(element, _)| element.clone())
            .collect()
        // exercise: end
    }
}

impl<T: Clone + Ord + Debug> Crdt for OrSet<T> {
    /// Every add either side knows of, and every tombstone either side
    /// knows of.
    fn merge(&mut self, other: &Self) {
        // exercise: begin "union the adds and union the tombstones"
        self.adds.extend(other.adds.iter().cloned());
        self.removed.extend(other.removed.iter().copied());
        // exercise: end
    }
}
