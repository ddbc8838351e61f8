//! Anti-entropy that can stop at the root, or ship every key.

use crate::subject::quorums::quorum_anti_entropy::{
    range_hash, Key, Msg, Put, Range, Timer, Versioned, Written, SYNC_EVERY,
};
use dsim::{Ctx, Node, NodeId, RequestId};
use std::collections::BTreeMap;

/// How an exchange goes wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AeFlaw {
    /// The Merkle walk: correct.
    None,
    /// Compares the roots only, and on a difference sends every entry.
    StopsAtRoot,
    /// No hashes: every exchange sends every entry.
    EveryKey,
}

#[derive(Debug)]
pub struct WrongAe {
    pub flaw: AeFlaw,
    pub store: BTreeMap<Key, Versioned>,
    /// How many exchanges this replica has started (picks the next peer).
    pub exchanges: usize,
}

impl WrongAe {
    pub fn new(flaw: AeFlaw) -> Self {
        WrongAe {
            flaw,
            store: BTreeMap::new(),
            exchanges: 0,
        }
    }

    /// Keeps `versioned` for `key` if it is newer than what this replica has.
    pub fn merge(&mut self, key: Key, versioned: Versioned) {
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
            if range.is_leaf() || self.flaw == AeFlaw::StopsAtRoot {
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
    }
}

impl Node for WrongAe {
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
        match msg {
            Msg::Hashes { ranges } => self.on_hashes(ctx, from, ranges),
            Msg::Entries {
                range,
                entries,
                reply,
            } => self.on_entries(ctx, from, range, entries, reply),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, Timer::Sync: Timer) {
        let peers = ctx.peers();
        if !peers.is_empty() {
            let peer = peers[self.exchanges % peers.len()];
            self.exchanges += 1;
            if self.flaw == AeFlaw::EveryKey {
                let entries = self.entries(Range::ALL);
                ctx.send(
                    peer,
                    Msg::Entries {
                        range: Range::ALL,
                        entries,
                        reply: false,
                    },
                );
                ctx.set_timer(Timer::Sync, SYNC_EVERY);
                return;
            }
            let root = range_hash(&self.store, Range::ALL);
            ctx.send(
                peer,
                Msg::Hashes {
                    ranges: vec![(Range::ALL, root)],
                },
            );
        }
        ctx.set_timer(Timer::Sync, SYNC_EVERY);
    }
}
