//! # events_snapshots: snapshot plus tail replay equals full replay
//!
//! Rebuilding an aggregate by replaying its whole stream costs time in
//! proportion to its history: fine for a shopping cart, not for a
//! warehouse with a million stock movements. A **snapshot** is the state
//! after the first `version` events, saved on the side. Loading then means
//! taking the latest snapshot and replaying only the **tail**, the events
//! after `version`. The one rule:
//!
//! ```text
//! restore(snapshot of the first v events, log) == replay(log)   for every v
//! ```
//!
//! which holds only if a snapshot says exactly which events it covers (its
//! version) and the tail starts right after them: one event too early is
//! applied twice, one too late is lost.
//!
//! A snapshot is a cache, never the truth: the log is. So a snapshot that
//! does not fit may always be thrown away and the state rebuilt from the
//! log: one written by an older version of the code (another `format`, a
//! state shaped differently), or one ahead of the log (it covers events the
//! log no longer holds, say a tail that recovery cut off).
//!
//! The domain is a warehouse's stock.
//!
// exercise: begin
// stub: //! Read `exercises/11_event_sourcing/README.md` first. The events, the
// stub: //! state and its `apply` are given; fill in each `todo!()`: `replay`,
// stub: //! `restore`, then the repository (`append`, `usable_snapshot`, `load`).
//! The reference solution.
// exercise: end

use std::collections::{BTreeMap, BTreeSet};

/// A stock movement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Goods arrived.
    Received { sku: String, qty: u64 },
    /// Goods left (never more than the level: the write side checked).
    Shipped { sku: String, qty: u64 },
    /// A stock-take found exactly `qty` on the shelf.
    Counted { sku: String, qty: u64 },
    /// The article will not be sold any more.
    Discontinued { sku: String },
}

/// The warehouse after some events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stock {
    /// The quantity on the shelf, per article.
    pub levels: BTreeMap<String, u64>,
    pub discontinued: BTreeSet<String>,
    /// Everything ever shipped.
    pub shipped: u64,
}

impl Stock {
    /// Applies one event. Given. Note that applying an event twice is not
    /// harmless (two receipts are not one), and order matters (a count
    /// overrides what came before it).
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::Received { sku, qty } => *self.levels.entry(sku.clone()).or_insert(0) += qty,
            Event::Shipped { sku, qty } => {
                let level = self.levels.entry(sku.clone()).or_insert(0);
                *level = level.saturating_sub(*qty);
                self.shipped += qty;
            }
            Event::Counted { sku, qty } => {
                self.levels.insert(sku.clone(), *qty);
            }
            Event::Discontinued { sku } => {
                self.discontinued.insert(sku.clone());
            }
        }
    }
}

/// The snapshot format this code writes and reads. A snapshot of another
/// format was made by other code, whose `Stock` may have meant something
/// else: it is not used.
pub const FORMAT: u32 = 2;

/// The state after the first `version` events of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub format: u32,
    /// How many events of the log the state contains: the tail to replay
    /// starts at `log[version]`.
    pub version: u64,
    pub state: Stock,
}

/// The state after all of `events`, from an empty warehouse.
pub fn replay(events: &[Event]) -> Stock {
    // exercise: begin "start from Stock::default() and apply each event in order"
    let mut stock = Stock::default();
    for event in events {
        stock.apply(event);
    }
    stock
    // exercise: end
}

/// The state after all of `log`, from `snapshot` (which covers the first
/// `snapshot.version` events of it) and the tail after it.
pub fn restore(snapshot: &Snapshot, log: &[Event]) -> Stock {
    // exercise: begin "clone the snapshot's state and apply the events from log[snapshot.version] on"
    let mut stock = snapshot.state.clone();
    for event in &log[snapshot.version as usize..] {
        stock.apply(event);
    }
    stock
    // exercise: end
}

/// One warehouse: its log, and the snapshots taken of it.
#[derive(Clone, Debug, Default)]
pub struct Repository {
    pub log: Vec<Event>,
    /// Oldest first. Others may put snapshots here too (an older version of
    /// the code, a restored backup): `load` checks each before using it.
    pub snapshots: Vec<Snapshot>,
    /// Take a snapshot after every `every` events (at versions `every`,
    /// `2 * every`, …).
    pub every: u64,
}

impl Repository {
    pub fn new(every: u64) -> Repository {
        Repository {
            every: every.max(1),
            ..Repository::default()
        }
    }

    /// Appends `event`; when the log's length reaches a multiple of
    /// `every`, takes a snapshot of the state at that version.
    pub fn append(&mut self, event: Event) {
        // exercise: begin "push the event; if the log's length is a multiple of self.every, push a Snapshot of this FORMAT at that version holding self.load()"
        self.log.push(event);
        let version = self.log.len() as u64;
        if version.is_multiple_of(self.every) {
            let state = self.load();
            self.snapshots.push(Snapshot {
                format: FORMAT,
                version,
                state,
            });
        }
        // exercise: end
    }

    /// The latest snapshot that fits the log: of this `FORMAT`, and not
    /// ahead of the log. `None` if there is none.
    pub fn usable_snapshot(&self) -> Option<&Snapshot> {
        // exercise: begin "among the snapshots of this FORMAT whose version is at most the log's length, the one with the highest version"
        let len = self.log.len() as u64;
        self.snapshots
            .iter()
            .filter(|s| s.format == FORMAT && s.version <= len)
            .max_by_key(|s| s.version)
        // exercise: end
    }

    /// The current state: the usable snapshot plus its tail, or a full
    /// replay if no snapshot fits.
    pub fn load(&self) -> Stock {
        // exercise: begin "restore from the usable snapshot, or replay the whole log if there is none"
        match self.usable_snapshot() {
            Some(snapshot) => restore(snapshot, &self.log),
            None => replay(&self.log),
        }
        // exercise: end
    }
}
