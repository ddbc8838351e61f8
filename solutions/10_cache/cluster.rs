//! # cache_cluster: a replicated cache on a hash ring, and failover
//!
//! The cache is spread over several nodes by a consistent-hashing [`Ring`]
//! (given; it is the ring of topic 09): the first node clockwise from a
//! key's point is the key's **primary**, the next distinct node its
//! **replica**. Clients read and write a key at its primary. The primary
//! numbers each write to a key (its version), applies it, and sends it to
//! the replica, resending every [`RESEND_AFTER`] until the replica
//! acknowledges that version (the network loses messages).
//!
//! When does the primary tell the client "written"? That one choice is the
//! whole difference between the two modes ([`Replication`]):
//! - **synchronous**: only once the replica has acknowledged the write. A
//!   write costs a round trip to the replica, but every acknowledged write
//!   is on two nodes, so losing one node loses no acknowledged write;
//! - **asynchronous**: at once; replication follows in the background. A
//!   write costs nothing extra, but the writes still travelling to the
//!   replica when the primary dies are lost, although the client was told
//!   they were written.
//!
//! When a node dies, the test (standing in for a failure detector) tells
//! every survivor ([`Request::Down`]). Each takes the dead node off its
//! ring, so the dead node's keys fall to their replicas, which become
//! their primaries and already hold their data. Then every key whose
//! replica changed is sent to its new replica, so that the next failure
//! is survived too. From then on, messages from the dead node are ignored:
//! an old replication that arrives late must not overwrite what the new
//! primary has written since.
//!
// exercise: begin
// stub: //! Read `exercises/10_cache/README.md` first. The ring, the messages and
// stub: //! the dispatch of requests are given; fill in each `todo!()`: `replicate`
// stub: //! and `on_put` first (with `on_replicate` and `on_ack`, a cluster without
// stub: //! failures works), then `on_message`'s fencing and `on_down`.
// stub:
// stub: // Until you fill them in, the given helpers are not used yet.
// stub: #![allow(dead_code)]
//! The reference solution.
// exercise: end

use dsim::{Ctx, Node, NodeId, RequestId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// How long a primary waits for the replica's acknowledgement before it
/// sends the write again: more than a round trip (two hops of 1–10 ms).
pub const RESEND_AFTER: Duration = Duration::from_millis(30);

/// How many points each node has on the ring.
pub const VNODES: u32 = 16;

// ----- the ring (given) -----------------------------------------------------------

/// A stable 64-bit mix of `x` (SplitMix64's finaliser).
pub fn hash(x: u64) -> u64 {
    let mut x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A consistent-hashing ring of nodes with [`VNODES`] points each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ring {
    points: BTreeSet<(u64, NodeId)>,
}

impl Ring {
    /// A ring of `nodes`.
    pub fn new(nodes: &[NodeId]) -> Ring {
        let mut points = BTreeSet::new();
        for &node in nodes {
            for i in 0..u64::from(VNODES) {
                points.insert((hash(node.0 as u64 * 1_000 + i), node));
            }
        }
        Ring { points }
    }

    /// Takes `node` off the ring.
    pub fn remove(&mut self, node: NodeId) {
        self.points.retain(|&(_, n)| n != node);
    }

    /// Whether `node` is on the ring.
    pub fn contains(&self, node: NodeId) -> bool {
        self.points.iter().any(|&(_, n)| n == node)
    }

    /// The first `n` distinct nodes clockwise from `key`'s point.
    pub fn preference_list(&self, key: u64, n: usize) -> Vec<NodeId> {
        let point = hash(key);
        let clockwise = self.points.range((point, NodeId(0))..);
        let wrapped = self.points.range(..(point, NodeId(0)));
        let mut nodes = Vec::new();
        for &(_, node) in clockwise.chain(wrapped) {
            if !nodes.contains(&node) {
                nodes.push(node);
                if nodes.len() == n {
                    break;
                }
            }
        }
        nodes
    }

    /// The node that owns `key`.
    pub fn primary(&self, key: u64) -> Option<NodeId> {
        self.preference_list(key, 1).first().copied()
    }

    /// The node that keeps a copy of `key`, if the ring has two nodes.
    pub fn replica(&self, key: u64) -> Option<NodeId> {
        self.preference_list(key, 2).get(1).copied()
    }
}

// ----- the protocol ---------------------------------------------------------------

/// When a primary acknowledges a write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Replication {
    /// Once the replica has acknowledged it.
    Sync,
    /// At once; the replica gets it in the background.
    Async,
}

/// What a client asks a node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    Put {
        key: u64,
        value: u64,
    },
    Get {
        key: u64,
    },
    /// The failure detector announces that this node has died.
    Down(NodeId),
}

/// What the client gets back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    Written,
    Value(Option<u64>),
    /// This node is not the key's primary.
    NotPrimary,
    /// The death was noted.
    Noted,
}

/// A value and the version its primary gave it (1 for the first write of
/// the key, one more for each later write).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub value: u64,
    pub version: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    /// Primary to replica: keep this entry of `key`.
    Replicate { key: u64, entry: Entry },
    /// Replica to primary: I hold `key` at `version` (or newer).
    Ack { key: u64, version: u64 },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Timer {
    /// Send the unacknowledged write of `key` again.
    Resend { key: u64 },
}

/// The newest write of a key that its replica has not acknowledged yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unacked {
    pub entry: Entry,
    /// Synchronous mode: the clients waiting, with the version of their write.
    pub waiting: Vec<(RequestId, u64)>,
}

/// A cache node: primary for some keys, replica for others.
#[derive(Debug)]
pub struct CacheNode {
    pub mode: Replication,
    /// The live nodes, as far as this node knows.
    pub ring: Ring,
    /// Every key this node holds, as primary or as replica.
    pub data: BTreeMap<u64, Entry>,
    /// The keys this node is primary of whose newest write the replica has
    /// not acknowledged.
    pub unacked: BTreeMap<u64, Unacked>,
}

impl CacheNode {
    /// A node of a cluster of `nodes`, replicating in `mode`.
    pub fn new(mode: Replication, nodes: &[NodeId]) -> CacheNode {
        CacheNode {
            mode,
            ring: Ring::new(nodes),
            data: BTreeMap::new(),
            unacked: BTreeMap::new(),
        }
    }

    /// Sends the unacknowledged write of `key` to its replica, and sets the
    /// timer to send it again.
    fn replicate(&mut self, ctx: &mut Ctx<Self>, key: u64) {
        // exercise: begin "if the key is in unacked and has a replica on the ring: send it Msg::Replicate with the unacked entry, and set Timer::Resend {{ key }} after RESEND_AFTER"
        let (Some(unacked), Some(replica)) = (self.unacked.get(&key), self.ring.replica(key))
        else {
            return;
        };
        let entry = unacked.entry;
        ctx.send(replica, Msg::Replicate { key, entry });
        ctx.set_timer(Timer::Resend { key }, RESEND_AFTER);
        // exercise: end
    }

    /// On a write at the primary: a new version, applied here, sent to the
    /// replica; the client is answered now (async) or on the ack (sync).
    fn on_put(&mut self, ctx: &mut Ctx<Self>, id: RequestId, key: u64, value: u64) {
        // exercise: begin "version = the key's version here + 1 (1 if none); store the entry; no replica: reply Written. Else record it in unacked (Sync: the client waits there with its version; Async: reply Written now) and replicate"
        let version = self.data.get(&key).map_or(1, |e| e.version + 1);
        let entry = Entry { value, version };
        self.data.insert(key, entry);
        if self.ring.replica(key).is_none() {
            ctx.reply(id, Reply::Written);
            return;
        }
        let unacked = self.unacked.entry(key).or_insert(Unacked {
            entry,
            waiting: Vec::new(),
        });
        unacked.entry = entry;
        match self.mode {
            Replication::Sync => unacked.waiting.push((id, version)),
            Replication::Async => ctx.reply(id, Reply::Written),
        }
        self.replicate(ctx, key);
        // exercise: end
    }

    /// On the death of `dead`: off the ring; every key this node is now
    /// primary of whose replica changed goes to its new replica (writes
    /// waiting on the dead replica included).
    fn on_down(&mut self, ctx: &mut Ctx<Self>, dead: NodeId) {
        // exercise: begin "remember the ring, remove the dead node; for each key you hold and are now primary of whose replica changed: with no replica left, answer its waiting writes Written and forget it; otherwise put its entry in unacked and replicate it"
        let before = self.ring.clone();
        self.ring.remove(dead);
        let me = ctx.id();
        let keys: Vec<u64> = self.data.keys().copied().collect();
        for key in keys {
            let primary = self.ring.primary(key) == Some(me);
            if !primary || before.replica(key) == self.ring.replica(key) {
                continue;
            }
            if self.ring.replica(key).is_none() {
                // The last node standing: no replica is left to wait for
                // (as in on_put), so the writes waiting here are done.
                for (id, _) in self
                    .unacked
                    .remove(&key)
                    .map(|u| u.waiting)
                    .unwrap_or_default()
                {
                    ctx.reply(id, Reply::Written);
                }
                continue;
            }
            let entry = self.data[&key];
            self.unacked
                .entry(key)
                .or_insert(Unacked {
                    entry,
                    waiting: Vec::new(),
                })
                .entry = entry;
            self.replicate(ctx, key);
        }
        // exercise: end
    }

    /// On a replication: keep it if it is newer than what is here, and
    /// acknowledge it either way.
    fn on_replicate(&mut self, ctx: &mut Ctx<Self>, from: NodeId, key: u64, entry: Entry) {
        // exercise: begin "keep the entry if its version is newer than yours (or you have none); always answer Msg::Ack with the entry's version"
        let newer = self
            .data
            .get(&key)
            .is_none_or(|e| entry.version > e.version);
        if newer {
            self.data.insert(key, entry);
        }
        ctx.send(
            from,
            Msg::Ack {
                key,
                version: entry.version,
            },
        );
        // exercise: end
    }

    /// On an acknowledgement: the clients waiting for that version or an
    /// older one are answered; if it covers the newest write, the key is
    /// replicated.
    fn on_ack(&mut self, ctx: &mut Ctx<Self>, key: u64, version: u64) {
        // exercise: begin "reply Written to the waiting clients whose version <= the acked one (and drop them); if the unacked entry's version <= it, remove the key from unacked and cancel its Resend timer"
        let Some(unacked) = self.unacked.get_mut(&key) else {
            return;
        };
        unacked.waiting.retain(|&(id, v)| {
            if v <= version {
                ctx.reply(id, Reply::Written);
            }
            v > version
        });
        if unacked.entry.version <= version {
            self.unacked.remove(&key);
            ctx.cancel_timer(Timer::Resend { key });
        }
        // exercise: end
    }
}

impl Node for CacheNode {
    type Msg = Msg;
    type Timer = Timer;
    type Request = Request;
    type Reply = Reply;

    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, req: Request) {
        match req {
            Request::Down(dead) => {
                self.on_down(ctx, dead);
                ctx.reply(id, Reply::Noted);
            }
            Request::Put { key, .. } | Request::Get { key }
                if self.ring.primary(key) != Some(ctx.id()) =>
            {
                ctx.reply(id, Reply::NotPrimary)
            }
            Request::Put { key, value } => self.on_put(ctx, id, key, value),
            Request::Get { key } => {
                let value = self.data.get(&key).map(|e| e.value);
                ctx.reply(id, Reply::Value(value));
            }
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        // exercise: begin "ignore a message from a node that is not on your ring (announced dead); dispatch Replicate and Ack to their handlers"
        // Fencing: a node that was announced dead no longer speaks for any key.
        if !self.ring.contains(from) {
            return;
        }
        match msg {
            Msg::Replicate { key, entry } => self.on_replicate(ctx, from, key, entry),
            Msg::Ack { key, version } => self.on_ack(ctx, key, version),
        }
        // exercise: end
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        // exercise: begin "a Resend {{ key }}: replicate the key again"
        let Timer::Resend { key } = timer;
        self.replicate(ctx, key);
        // exercise: end
    }
}
