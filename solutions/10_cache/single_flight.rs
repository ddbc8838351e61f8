//! # cache_single_flight: one fill per miss, and invalidation everywhere
//!
//! Several cache replicas sit in front of one slow backing store (node
//! [`STORE`], given): each replica answers reads from its own copy and, on a
//! miss, loads the key from the store, which takes [`LOAD_TIME`].
//!
//! **Single flight.** When a popular key is missing, many reads for it
//! arrive while its load is still under way. Sending a load for each would
//! hit the store with a stampede of identical queries at the worst moment
//! (just after the key expired or was invalidated). Instead the replica
//! keeps one fill in flight per key: the first miss sends the load, later
//! misses join its list of waiting reads, and the one answer serves them
//! all.
//!
//! **Invalidation.** Writes go to the store. Before it acknowledges a write,
//! the store tells every replica to drop the key ([`Msg::Invalidate`]) and
//! waits for each to confirm: once a client is told "written", no replica
//! still serves the old value. One race remains: a load that left the store
//! before the write can arrive after the invalidation, carrying the old
//! value. Every value carries the store's version of its key, and a replica
//! remembers the newest version each key was invalidated at; a fill older
//! than that is stale: it is not cached, and the key is loaded again for
//! the reads still waiting.
//!
// exercise: begin
// stub: //! Read `exercises/10_cache/README.md` first. The store, the messages and
// stub: //! the dispatch are given; fill in the three handlers of [`Replica`].
//! The reference solution.
// exercise: end

use dsim::{Ctx, Node, NodeId, RequestId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The backing store; every other node is a cache replica.
pub const STORE: NodeId = NodeId(0);

/// How long the store takes to answer a load.
pub const LOAD_TIME: Duration = Duration::from_millis(20);

/// What a client asks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Read `key` at a replica.
    Get { key: u64 },
    /// Write `key` at the store.
    Put { key: u64, value: u64 },
}

/// What the client gets back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    Value(Option<u64>),
    /// The write is in the store as `version`, and no replica holds an
    /// older version of the key.
    Written {
        version: u64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    /// Replica to store: send me `key`.
    Load { key: u64 },
    /// Store to replica: `key` is `value` at `version` (0: never written).
    Loaded {
        key: u64,
        value: Option<u64>,
        version: u64,
    },
    /// Store to replica: `key` changed to `version`; drop your copy.
    Invalidate { key: u64, version: u64 },
    /// Replica to store: I hold nothing of `key` older than `version`.
    InvalidateAck { key: u64, version: u64 },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Timer {
    /// The store answers load number `n`.
    Answer { n: u64 },
}

/// A value and its version in the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Versioned {
    pub value: Option<u64>,
    pub version: u64,
}

// ----- the backing store (given) --------------------------------------------------

/// A write waiting for its invalidations to be confirmed.
#[derive(Clone, Debug)]
pub struct PendingWrite {
    pub id: RequestId,
    pub key: u64,
    pub version: u64,
    /// The replicas that have not confirmed yet.
    pub unconfirmed: BTreeSet<NodeId>,
}

/// The slow store behind the caches, which counts the loads it serves.
#[derive(Debug, Default)]
pub struct BackingStore {
    pub data: BTreeMap<u64, Versioned>,
    /// Loads received, per (replica, key).
    pub loads: BTreeMap<(NodeId, u64), u64>,
    /// Loads being served: (replica, key, value read when the load came).
    pub serving: BTreeMap<u64, (NodeId, u64, Versioned)>,
    pub next_load: u64,
    pub writes: Vec<PendingWrite>,
}

impl BackingStore {
    fn on_load(&mut self, ctx: &mut Ctx<Member>, from: NodeId, key: u64) {
        *self.loads.entry((from, key)).or_insert(0) += 1;
        let current = self.data.get(&key).copied().unwrap_or(Versioned {
            value: None,
            version: 0,
        });
        let n = self.next_load;
        self.next_load += 1;
        self.serving.insert(n, (from, key, current));
        ctx.set_timer(Timer::Answer { n }, LOAD_TIME);
    }

    fn on_answer(&mut self, ctx: &mut Ctx<Member>, n: u64) {
        if let Some((to, key, v)) = self.serving.remove(&n) {
            let (value, version) = (v.value, v.version);
            ctx.send(
                to,
                Msg::Loaded {
                    key,
                    value,
                    version,
                },
            );
        }
    }

    fn on_put(&mut self, ctx: &mut Ctx<Member>, id: RequestId, key: u64, value: u64) {
        let version = self.data.get(&key).map_or(1, |v| v.version + 1);
        self.data.insert(
            key,
            Versioned {
                value: Some(value),
                version,
            },
        );
        let unconfirmed: BTreeSet<NodeId> = ctx.peers().iter().copied().collect();
        for &replica in &unconfirmed {
            ctx.send(replica, Msg::Invalidate { key, version });
        }
        self.writes.push(PendingWrite {
            id,
            key,
            version,
            unconfirmed,
        });
    }

    fn on_invalidate_ack(&mut self, ctx: &mut Ctx<Member>, from: NodeId, key: u64, version: u64) {
        self.writes.retain_mut(|w| {
            if w.key == key && w.version <= version {
                w.unconfirmed.remove(&from);
            }
            if w.unconfirmed.is_empty() {
                let version = w.version;
                ctx.reply(w.id, Reply::Written { version });
                return false;
            }
            true
        });
    }
}

// ----- a cache replica --------------------------------------------------------------

/// A cache in front of the store.
#[derive(Debug, Default)]
pub struct Replica {
    /// The keys this replica holds.
    pub cache: BTreeMap<u64, Versioned>,
    /// The fills in flight: for each key being loaded, the reads waiting.
    pub in_flight: BTreeMap<u64, Vec<RequestId>>,
    /// The newest version each key was invalidated at.
    pub invalidated: BTreeMap<u64, u64>,
}

impl Replica {
    /// On a read: a hit is answered at once; a miss joins the key's fill
    /// in flight, or starts one.
    fn on_get(&mut self, ctx: &mut Ctx<Member>, id: RequestId, key: u64) {
        // exercise: begin "a cached key: reply its value. A miss: add the read to in_flight[key]; only if it is the first one waiting, send Msg::Load {{ key }} to STORE"
        if let Some(entry) = self.cache.get(&key) {
            ctx.reply(id, Reply::Value(entry.value));
            return;
        }
        let waiting = self.in_flight.entry(key).or_default();
        waiting.push(id);
        if waiting.len() == 1 {
            ctx.send(STORE, Msg::Load { key });
        }
        // exercise: end
    }

    /// On a fill: if it is not older than an invalidation of the key, cache
    /// it and answer every waiting read; if it is stale, load again for them.
    fn on_loaded(&mut self, ctx: &mut Ctx<Member>, key: u64, value: Option<u64>, version: u64) {
        // exercise: begin "if version < invalidated[key] (default 0) the fill is stale: send Load again and keep the reads waiting; else cache Versioned {{ value, version }} and reply to every read in in_flight[key], removing it"
        let invalidated = self.invalidated.get(&key).copied().unwrap_or(0);
        if version < invalidated {
            ctx.send(STORE, Msg::Load { key });
            return;
        }
        self.cache.insert(key, Versioned { value, version });
        for id in self.in_flight.remove(&key).unwrap_or_default() {
            ctx.reply(id, Reply::Value(value));
        }
        // exercise: end
    }

    /// On an invalidation: drop the key, remember the version, confirm.
    fn on_invalidate(&mut self, ctx: &mut Ctx<Member>, key: u64, version: u64) {
        // exercise: begin "remove the key from the cache, raise invalidated[key] to version, and send Msg::InvalidateAck {{ key, version }} to STORE"
        self.cache.remove(&key);
        let newest = self.invalidated.entry(key).or_insert(0);
        *newest = (*newest).max(version);
        ctx.send(STORE, Msg::InvalidateAck { key, version });
        // exercise: end
    }
}

// ----- the nodes of a run (given) ---------------------------------------------------

/// A node of the run: the store or a replica.
#[derive(Debug)]
pub enum Member {
    Store(BackingStore),
    Replica(Replica),
}

impl Member {
    /// Node `id`: the store if it is [`STORE`], else a replica.
    pub fn new(id: NodeId) -> Member {
        if id == STORE {
            Member::Store(BackingStore::default())
        } else {
            Member::Replica(Replica::default())
        }
    }
}

impl Node for Member {
    type Msg = Msg;
    type Timer = Timer;
    type Request = Request;
    type Reply = Reply;

    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, req: Request) {
        match (self, req) {
            (Member::Replica(r), Request::Get { key }) => r.on_get(ctx, id, key),
            (Member::Store(s), Request::Put { key, value }) => s.on_put(ctx, id, key, value),
            _ => {}
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        match (self, msg) {
            (Member::Store(s), Msg::Load { key }) => s.on_load(ctx, from, key),
            (Member::Store(s), Msg::InvalidateAck { key, version }) => {
                s.on_invalidate_ack(ctx, from, key, version)
            }
            (
                Member::Replica(r),
                Msg::Loaded {
                    key,
                    value,
                    version,
                },
            ) => r.on_loaded(ctx, key, value, version),
            (Member::Replica(r), Msg::Invalidate { key, version }) => {
                r.on_invalidate(ctx, key, version)
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        if let (Member::Store(s), Timer::Answer { n }) = (self, timer) {
            s.on_answer(ctx, n);
        }
    }
}
