//! # events_temporal: the state as of a version or a time
//!
//! A store that keeps every event can answer questions a store of current
//! state cannot: what was the price list *as of* version 120, or *as of*
//! last Tuesday noon? What changed between two moments? Each answer is a
//! replay of a prefix of the log, and the whole difficulty is choosing the
//! prefix exactly:
//!
//! - **as of version `v`**: the first `v` events (versions `1..=v`);
//! - **as of time `t`**: every event recorded *at or before* `t`. Events
//!   are recorded in order, so their times never decrease, and the prefix
//!   ends at the first event recorded after `t`: a binary search. Several
//!   events may share one timestamp; either all of them are in, or none;
//! - **between `from` and `to`**: the events recorded after `from` and at or
//!   before `to`, so that `as_of(to)` is `as_of(from)` plus those changes,
//!   with no event counted twice or lost at a boundary.
//!
//! A long log makes every such replay slow; snapshots (see
//! `events_snapshots`) shorten it, if the query starts from the latest
//! snapshot *at or before* the version asked for, never from one after it.
//!
//! Times here are milliseconds on the recording clock of the store, the
//! order in which it recorded events (not the time a user claims an event
//! happened, which is another axis: "bitemporal" data has both).
//!
//! The domain is a shop's price list.
//!
// exercise: begin
// stub: //! Read `exercises/11_event_sourcing/README.md` first. The changes, the
// stub: //! price list and its `apply` and `then` are given; fill in each
// stub: //! `todo!()`: as of a version, the version at a time, as of a time, the
// stub: //! changes between two times, and as of a version from snapshots.
//! The reference solution.
// exercise: end

use std::collections::BTreeMap;

/// A change to the price list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// The item costs `cents` from now on.
    PriceSet { item: String, cents: u64 },
    /// The item is no longer for sale.
    Delisted { item: String },
}

/// A change as the log recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// Its place in the log: 1 for the first change.
    pub version: u64,
    /// When the store recorded it, in ms; never less than the previous
    /// change's time (equal times happen).
    pub at: u64,
    pub change: Change,
}

/// The items for sale and their prices.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PriceList {
    pub prices: BTreeMap<String, u64>,
}

impl PriceList {
    /// Applies one change. Given.
    pub fn apply(&mut self, change: &Change) {
        match change {
            Change::PriceSet { item, cents } => {
                self.prices.insert(item.clone(), *cents);
            }
            Change::Delisted { item } => {
                self.prices.remove(item);
            }
        }
    }

    /// The list after `changes`, applied to this one in order. Given.
    pub fn then(mut self, changes: &[Recorded]) -> PriceList {
        for recorded in changes {
            self.apply(&recorded.change);
        }
        self
    }
}

/// The price list as of version `version`: after the first `version`
/// changes (all of them if the log is shorter; none for version 0).
pub fn as_of_version(log: &[Recorded], version: u64) -> PriceList {
    // exercise: begin "apply the first min(version, log.len()) changes to an empty PriceList (PriceList::then)"
    let end = (version as usize).min(log.len());
    PriceList::default().then(&log[..end])
    // exercise: end
}

/// The version of the log as of time `t`: how many changes were recorded
/// at or before `t`. A binary search: the times never decrease.
pub fn version_at(log: &[Recorded], t: u64) -> u64 {
    // exercise: begin "count the changes recorded at or before t: log.partition_point(|r| r.at <= t)"
    log.partition_point(|recorded| recorded.at <= t) as u64
    // exercise: end
}

/// The price list as of time `t`: every change recorded at or before `t`.
pub fn as_of_time(log: &[Recorded], t: u64) -> PriceList {
    // exercise: begin "the state as of the version at time t"
    as_of_version(log, version_at(log, t))
    // exercise: end
}

/// The changes recorded after `from` and at or before `to` (none if `to`
/// is not after `from`).
pub fn changes_between(log: &[Recorded], from: u64, to: u64) -> &[Recorded] {
    // exercise: begin "the slice of the log from the version at `from` to the version at `to` (empty if that is backwards)"
    let start = version_at(log, from) as usize;
    let end = (version_at(log, to) as usize).max(start);
    &log[start..end]
    // exercise: end
}

/// A saved price list: the state as of `version`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub version: u64,
    pub state: PriceList,
}

/// The price list as of `version`, from the latest of `snapshots` (in any
/// order) taken at or before that version, plus the changes after it up to
/// the version; from the start of the log if no snapshot is early enough.
/// A version beyond the log means the whole log, as in `as_of_version`.
pub fn as_of_version_from(snapshots: &[Snapshot], log: &[Recorded], version: u64) -> PriceList {
    // exercise: begin "the snapshot with the highest version at or below the version asked for, then the changes after it up to that version; or as_of_version if none is early enough"
    let version = version.min(log.len() as u64);
    let base = snapshots
        .iter()
        .filter(|s| s.version <= version)
        .max_by_key(|s| s.version);
    match base {
        Some(snapshot) => snapshot
            .state
            .clone()
            .then(&log[snapshot.version as usize..version as usize]),
        None => as_of_version(log, version),
    }
    // exercise: end
}
