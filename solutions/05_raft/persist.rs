//! # raft_persistence: the log, and what must survive a crash
//!
//! A crash loses everything in `self`; only `ctx.storage()` survives, and a
//! restart calls `on_start` again, which calls [`Raft::restore`]. Figure 2
//! names three things as persistent: the current term, the vote, and the
//! log. The log's own durable copy is [`Log::save`] (given, like the rest
//! of [`Log`]); the term and vote are [`Raft::persist`]'s. Everything else
//! (commit index, roles, the leader's bookkeeping) is rebuilt from
//! messages.
//!
//! [`Log`] is the log with the prefix a snapshot replaced cut off. Indices
//! are the log's own, from 1; entries up to [`Log::base_index`] live only in
//! the snapshot, and [`Log::term_at`] still knows the term of the last of
//! them. The index arithmetic is easy to get wrong and teaches little, so it
//! is given; the rules of when to append, truncate and compact are yours.
// exercise: begin
// stub: //!
// stub: //! [`Raft::persist`] and [`Raft::restore`] do nothing until you write them:
// stub: //! the earlier steps never crash a node, so they pass without.
// exercise: end

use crate::raft::{Entry, Index, Payload, Raft, Snapshot, StateMachine, Term};
use dsim::{Ctx, NodeId, Storage};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The log of one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Log<C> {
    /// The last index the snapshot replaces (0: no snapshot).
    base_index: Index,
    /// The term of that entry.
    base_term: Term,
    /// The membership as of that entry.
    base_config: Vec<NodeId>,
    /// `entries[0]` has index `base_index + 1`.
    entries: Vec<Entry<C>>,
}

/// Where the log starts, as kept in storage.
#[derive(Serialize, Deserialize)]
struct Base {
    index: Index,
    term: Term,
    config: Vec<NodeId>,
    last: Index,
}

impl<C: Clone + Serialize + DeserializeOwned> Log<C> {
    /// An empty log whose initial membership is `members`.
    pub fn new(members: &[NodeId]) -> Self {
        Log {
            base_index: 0,
            base_term: 0,
            base_config: members.to_vec(),
            entries: Vec::new(),
        }
    }

    /// The last index the snapshot replaces (0 without a snapshot).
    pub fn base_index(&self) -> Index {
        self.base_index
    }

    /// The term of the entry at [`Log::base_index`].
    pub fn base_term(&self) -> Term {
        self.base_term
    }

    /// The index of the last entry (the snapshot's if the log is empty).
    pub fn last_index(&self) -> Index {
        self.base_index + self.entries.len() as Index
    }

    /// The term of the last entry (the snapshot's if the log is empty).
    pub fn last_term(&self) -> Term {
        self.entries.last().map_or(self.base_term, |e| e.term)
    }

    /// How many entries are held outside the snapshot.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no entry is held outside the snapshot.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The term of the entry at `index`: known for the snapshot's last entry
    /// and every entry after it up to the last; `None` elsewhere.
    pub fn term_at(&self, index: Index) -> Option<Term> {
        if index == self.base_index {
            Some(self.base_term)
        } else {
            self.get(index).map(|e| e.term)
        }
    }

    /// The entry at `index`, if the log holds it (not in the snapshot).
    pub fn get(&self, index: Index) -> Option<&Entry<C>> {
        if index <= self.base_index {
            return None;
        }
        self.entries.get((index - self.base_index - 1) as usize)
    }

    /// Copies of the entries from `from` on, at most `max` of them.
    pub fn entries_from(&self, from: Index, max: usize) -> Vec<Entry<C>> {
        let start = from.saturating_sub(self.base_index + 1) as usize;
        self.entries.iter().skip(start).take(max).cloned().collect()
    }

    /// The first index of the term of the entry at `index` (walking back
    /// while the term stays the same, not past the snapshot).
    pub fn first_index_of_term_at(&self, index: Index) -> Index {
        let Some(term) = self.term_at(index) else {
            return index;
        };
        let mut first = index;
        while first > self.base_index + 1 && self.term_at(first - 1) == Some(term) {
            first -= 1;
        }
        first
    }

    /// Appends `entry` at the end and returns its index.
    pub fn append(&mut self, entry: Entry<C>) -> Index {
        self.entries.push(entry);
        self.last_index()
    }

    /// Deletes the entries after `index` (not the snapshot's).
    pub fn truncate_after(&mut self, index: Index) {
        let keep = index.saturating_sub(self.base_index) as usize;
        self.entries.truncate(keep);
    }

    /// The membership in force: the last [`Payload::Config`] in the log,
    /// committed or not, else the snapshot's.
    pub fn config(&self) -> &[NodeId] {
        self.config_at(self.last_index())
    }

    /// The index of the last configuration entry (the snapshot's last index
    /// if the log holds none).
    pub fn config_index(&self) -> Index {
        (self.base_index + 1..=self.last_index())
            .rev()
            .find(|&i| matches!(self.get(i).map(|e| &e.payload), Some(Payload::Config(_))))
            .unwrap_or(self.base_index)
    }

    /// The membership as of entry `index`.
    pub fn config_at(&self, index: Index) -> &[NodeId] {
        (self.base_index + 1..=index.min(self.last_index()))
            .rev()
            .find_map(|i| match self.get(i).map(|e| &e.payload) {
                Some(Payload::Config(members)) => Some(members.as_slice()),
                _ => None,
            })
            .unwrap_or(&self.base_config)
    }

    /// Discards the entries up to `index`, which a snapshot now holds; the
    /// snapshot's last entry has term `term`. Entries after it are kept.
    pub fn compact(&mut self, index: Index, term: Term) {
        if index <= self.base_index {
            return;
        }
        let config = self.config_at(index).to_vec();
        let drop = ((index - self.base_index) as usize).min(self.entries.len());
        self.entries.drain(..drop);
        self.base_index = index;
        self.base_term = term;
        self.base_config = config;
    }

    /// Replaces the whole log by `snapshot` (when what follows it in this
    /// log does not match the snapshot's last entry).
    pub fn reset_to(&mut self, snapshot: &Snapshot) {
        self.entries.clear();
        self.base_index = snapshot.last_included_index;
        self.base_term = snapshot.last_included_term;
        self.base_config = snapshot.config.clone();
    }

    // ----- durable copy ------------------------------------------------------

    /// Writes the log to `storage`: its bounds, and every entry from `from`
    /// on (the ones before are unchanged since the last save). Call it after
    /// appending or truncating at `from`, and after compacting (with any
    /// `from`), before answering the leader.
    pub fn save(&self, storage: &mut Storage, from: Index) {
        let base = Base {
            index: self.base_index,
            term: self.base_term,
            config: self.base_config.clone(),
            last: self.last_index(),
        };
        let old: Option<Base> = storage.get("log");
        for i in from.max(self.base_index + 1)..=self.last_index() {
            if let Some(entry) = self.get(i) {
                storage.put(&entry_key(i), entry);
            }
        }
        if let Some(old) = old {
            // Entries no longer in the log: compacted, or truncated away.
            let compacted = old.index + 1..=self.base_index.min(old.last);
            let truncated = self.last_index().max(old.index) + 1..=old.last;
            for i in compacted.chain(truncated) {
                storage.remove(&entry_key(i));
            }
        }
        storage.put("log", &base);
    }

    /// The log as last saved to `storage`, or `None` if it never was.
    pub fn load(storage: &Storage) -> Option<Self> {
        let base: Base = storage.get("log")?;
        let entries = (base.index + 1..=base.last)
            .map(|i| {
                storage
                    .get(&entry_key(i))
                    .expect("a saved entry is in storage")
            })
            .collect();
        Some(Log {
            base_index: base.index,
            base_term: base.term,
            base_config: base.config,
            entries,
        })
    }
}

fn entry_key(index: Index) -> String {
    format!("log/{index}")
}

// ----- the rules of persistence -------------------------------------------------

impl<S: StateMachine> Raft<S> {
    /// Writes the current term and vote to durable storage. Call it whenever
    /// either changes, before sending anything that depends on it: a vote
    /// forgotten in a crash can be given twice in one term.
    pub fn persist(&self, ctx: &mut Ctx<Self>) {
        // exercise: begin
        // stub: // raft_persistence: ctx.storage().put(key, &value) for the term and the vote.
        ctx.storage().put("term", &self.current_term);
        ctx.storage().put("voted_for", &self.voted_for);
        // exercise: end
    }

    /// At start: reads term, vote, log and snapshot back from storage (a
    /// node that never ran finds nothing and keeps its fresh state). With a
    /// snapshot (saved under "snapshot" by `raft_snapshots`), the state
    /// machine starts from it, and so do the commit and applied indices.
    pub fn restore(&mut self, ctx: &mut Ctx<Self>) {
        // exercise: begin
        // stub: // raft_persistence: ctx.storage().get(key), Log::load(ctx.storage()).
        self.current_term = ctx.storage().get("term").unwrap_or(0);
        self.voted_for = ctx.storage().get("voted_for").flatten();
        if let Some(log) = Log::load(ctx.storage()) {
            self.log = log;
        }
        if let Some(snapshot) = ctx.storage().get::<Snapshot>("snapshot") {
            self.state_machine = S::restore(&snapshot.state);
            self.commit_index = snapshot.last_included_index;
            self.last_applied = snapshot.last_included_index;
        }
        // exercise: end
    }
}
