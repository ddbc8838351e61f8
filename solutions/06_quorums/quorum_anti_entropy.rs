//! quorum_anti_entropy: replicas find the keys on which they differ by
//! comparing Merkle hashes, top down, and exchange only those keys.
//!
//! Each replica holds a copy of the store. Every `SYNC_EVERY` it starts an
//! exchange with the next peer in turn by sending the hash of its whole key
//! range. A replica that receives hashes compares each with its own hash of
//! the same range: equal ranges hold the same entries and are done; a
//! differing range is split in two and the halves' hashes go back, so the
//! two replicas walk down the tree together, only along the branches that
//! differ. At a leaf (a range of `LEAF_SIZE` keys) they send each other the
//! entries, and each keeps, per key, the value with the higher timestamp.
//! With `d` differing keys among `K`, an exchange costs about `log2(K /
//! LEAF_SIZE)` messages of hashes and ships `d` leaves, instead of all `K`
//! entries.
//!
//! A real Merkle tree stores each range's hash and updates the path above a
//! key on every write; this one recomputes a range's hash from its entries
//! when asked, which gives the same hashes.

use dsim::{Ctx, Node, NodeId, RequestId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// A key of the store, below `KEY_SPACE`.
pub type Key = u64;
/// A value of the store.
pub type Value = u64;

/// Keys are `0..KEY_SPACE`.
pub const KEY_SPACE: Key = 1024;
/// A range this small is a leaf: its entries are exchanged, not split.
pub const LEAF_SIZE: u64 = 16;
/// How often a replica starts an exchange.
pub const SYNC_EVERY: Duration = Duration::from_millis(100);

/// A value with the timestamp of its write: the higher wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Versioned {
    pub ts: u64,
    pub value: Value,
}

/// The keys `lo..hi`: a node of the hash tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    pub lo: Key,
    pub hi: Key,
}

impl Range {
    /// The root: every key.
    pub const ALL: Range = Range {
        lo: 0,
        hi: KEY_SPACE,
    };

    /// Whether this range is a leaf of the tree.
    pub fn is_leaf(self) -> bool {
        self.hi - self.lo <= LEAF_SIZE
    }

    /// The two children of this range.
    pub fn halves(self) -> [Range; 2] {
        let mid = self.lo + (self.hi - self.lo) / 2;
        [
            Range {
                lo: self.lo,
                hi: mid,
            },
            Range {
                lo: mid,
                hi: self.hi,
            },
        ]
    }
}

/// The hash of the entries of `store` in `range` (FNV-1a over each key,
/// timestamp and value): equal entries give equal hashes.
pub fn range_hash(store: &BTreeMap<Key, Versioned>, range: Range) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (key, v) in store.range(range.lo..range.hi) {
        for word in [*key, v.ts, v.value] {
            for byte in word.to_le_bytes() {
                hash ^= byte as u64;
                hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
    }
    hash
}

/// A client's write, stored at the replica it reaches (the exchanges
/// spread it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Put {
    pub key: Key,
    pub value: Value,
    pub ts: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Written;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Msg {
    /// The sender's hashes of these ranges: compare them with yours.
    Hashes { ranges: Vec<(Range, u64)> },
    /// The sender's entries in a leaf `range`; if `reply` is false, answer
    /// with yours.
    Entries {
        range: Range,
        entries: Vec<(Key, Versioned)>,
        reply: bool,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Timer {
    /// Time to start an exchange.
    Sync,
}

#[derive(Debug, Default)]
pub struct Replica {
    pub store: BTreeMap<Key, Versioned>,
    /// How many exchanges this replica has started (picks the next peer).
    pub exchanges: usize,
}

impl Replica {
    pub fn new() -> Self {
        Replica::default()
    }

    /// Keeps `versioned` for `key` if it is newer than what this replica has.
    pub fn merge(&mut self, key: Key, versioned: Versioned) {
        // exercise: begin "insert it unless the store already holds a value with a higher or equal timestamp"
        if self.store.get(&key).is_none_or(|v| versioned.ts > v.ts) {
            self.store.insert(key, versioned);
        }
    }

    /// This replica's entries in `range`.
    fn entries(&self, range: Range) -> Vec<(Key, Versioned)> {
        self.store
            .range(range.lo..range.hi)
            .map(|(k, v)| (*k, *v))
            .collect()
    }

    /// Compares the sender's hashes with ours: differing leaves are
    /// exchanged entry by entry, differing inner ranges split, and their
    /// halves' hashes sent back in one message.
    fn on_hashes(&mut self, ctx: &mut Ctx<Self>, from: NodeId, ranges: Vec<(Range, u64)>) {
        let mut deeper = Vec::new();
        for (range, theirs) in ranges {
            if range_hash(&self.store, range) == theirs {
                continue;
            }
            if range.is_leaf() {
                let entries = self.entries(range);
                ctx.send(
                    from,
                    Msg::Entries {
                        range,
                        entries,
                        reply: false,
                    },
                );
            } else {
                for half in range.halves() {
                    deeper.push((half, range_hash(&self.store, half)));
                }
            }
        }
        if !deeper.is_empty() {
            ctx.send(from, Msg::Hashes { ranges: deeper });
        }
    }

    /// Keeps the newer of each entry; answers a first sending with ours.
    fn on_entries(
        &mut self,
        ctx: &mut Ctx<Self>,
        from: NodeId,
        range: Range,
        entries: Vec<(Key, Versioned)>,
        reply: bool,
    ) {
        for (key, versioned) in entries {
            self.merge(key, versioned);
        }
        if !reply {
            let entries = self.entries(range);
            ctx.send(
                from,
                Msg::Entries {
                    range,
                    entries,
                    reply: true,
                },
            );
        }
        // exercise: end
    }
}

impl Node for Replica {
    type Msg = Msg;
    type Timer = Timer;
    type Request = Put;
    type Reply = Written;

    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        ctx.set_timer(Timer::Sync, SYNC_EVERY);
    }

    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, put: Put) {
        self.merge(
            put.key,
            Versioned {
                ts: put.ts,
                value: put.value,
            },
        );
        ctx.reply(id, Written);
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        // exercise: begin "Hashes: for each range whose hash differs from yours (range_hash), send your Entries "
        //   "if it is a leaf, else put both halves with your hashes into one Hashes reply; "
        //   "Entries: merge each entry, and if reply is false answer with your entries of the range"
        match msg {
            Msg::Hashes { ranges } => self.on_hashes(ctx, from, ranges),
            Msg::Entries {
                range,
                entries,
                reply,
            } => self.on_entries(ctx, from, range, entries, reply),
        }
        // exercise: end
    }

    // exercise: begin
    // stub: fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
    // stub:     todo!(
    // stub:         "start an exchange with the next peer in turn: send it the hash of Range::ALL; set \
    // stub:          the Sync timer again"
    // stub:     )
    fn on_timer(&mut self, ctx: &mut Ctx<Self>, Timer::Sync: Timer) {
        let peers = ctx.peers();
        if !peers.is_empty() {
            let peer = peers[self.exchanges % peers.len()];
            self.exchanges += 1;
            let root = range_hash(&self.store, Range::ALL);
            ctx.send(
                peer,
                Msg::Hashes {
                    ranges: vec![(Range::ALL, root)],
                },
            );
        }
        ctx.set_timer(Timer::Sync, SYNC_EVERY);
        // exercise: end
    }
}
