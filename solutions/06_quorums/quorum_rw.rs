//! quorum_rw: a key-value store replicated on every node, read and written
//! through quorums.
//!
//! Every node is a replica and also a coordinator: a client's request
//! reaches one node, which asks all replicas and answers the client once
//! enough of them replied: `w` acknowledgements for a write, `r` answers for
//! a read. Each write carries a timestamp (here the client's, from a clock
//! all clients share), a replica keeps the value with the highest timestamp
//! it has seen, and a read returns the newest value among its `r` answers.
//!
//! When `r + w > n`, every read quorum overlaps every write quorum, so a
//! read sees at least one replica holding the last write that completed
//! before it began. When `r + w <= n`, the quorums can miss each other and a
//! read can return a stale value. Messages get lost, so a coordinator
//! resends to the replicas that have not answered until it has its quorum.
//!
//! Even with `r + w > n` this store is not linearizable: while a write is
//! on its way, one read may see it and a later read miss it. What it does
//! promise is a regular register: a read returns the last write completed
//! before it began, or a newer one. quorum_abd adds what is missing.

use dsim::{Ctx, Node, NodeId, RequestId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// A key of the store.
pub type Key = u64;
/// A value of the store.
pub type Value = u64;

/// A value with the timestamp of the write that stored it: newer
/// timestamps win.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Versioned {
    pub ts: u64,
    pub value: Value,
}

/// What a client asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    Get { key: Key },
    Put { key: Key, value: Value, ts: u64 },
}

/// What a client is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// The newest value a read quorum held (`None`: never written).
    Value(Option<Value>),
    /// A write quorum stored the value.
    Written,
}

/// Between coordinator and replicas. `id` names the client request.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Msg {
    /// Coordinator to replica: what do you hold for `key`?
    Read { id: RequestId, key: Key },
    /// Replica to coordinator: this (or nothing).
    ReadOk {
        id: RequestId,
        stored: Option<Versioned>,
    },
    /// Coordinator to replica: store this if it is newer than yours.
    Write {
        id: RequestId,
        key: Key,
        versioned: Versioned,
    },
    /// Replica to coordinator: stored (or already had something newer).
    WriteOk { id: RequestId },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Timer {
    /// Ask again the replicas that have not answered request `id`.
    Resend(RequestId),
}

/// How long a coordinator waits before asking again.
pub const RESEND_AFTER: Duration = Duration::from_millis(40);

/// A client request this node coordinates.
#[derive(Debug)]
pub struct Coordinating {
    pub request: Request,
    /// The replicas that answered.
    pub answered: BTreeSet<NodeId>,
    /// The newest value among the read answers.
    pub newest: Option<Versioned>,
}

#[derive(Debug)]
pub struct Replica {
    /// Read quorum size.
    pub r: usize,
    /// Write quorum size.
    pub w: usize,
    /// This replica's copy of the store.
    pub store: BTreeMap<Key, Versioned>,
    /// The requests this node coordinates, until answered.
    pub coordinating: BTreeMap<RequestId, Coordinating>,
}

impl Replica {
    /// A replica that waits for `r` answers to a read and `w` to a write.
    pub fn new(r: usize, w: usize) -> Self {
        Replica {
            r,
            w,
            store: BTreeMap::new(),
            coordinating: BTreeMap::new(),
        }
    }
    // exercise: begin

    /// The message that asks a replica to do its part of `request`.
    fn ask(id: RequestId, request: Request) -> Msg {
        match request {
            Request::Get { key } => Msg::Read { id, key },
            Request::Put { key, value, ts } => Msg::Write {
                id,
                key,
                versioned: Versioned { ts, value },
            },
        }
    }

    /// Sends request `id` to every replica that has not answered it; this
    /// node, a replica too, answers itself at once.
    fn ask_missing(&mut self, ctx: &mut Ctx<Self>, id: RequestId) {
        let Some(op) = self.coordinating.get(&id) else {
            return;
        };
        let msg = Self::ask(id, op.request);
        let me = ctx.id();
        let missing: Vec<NodeId> = ctx
            .peers()
            .iter()
            .copied()
            .chain([me])
            .filter(|n| !op.answered.contains(n))
            .collect();
        for to in missing {
            if to == me {
                self.on_message(ctx, me, msg.clone());
            } else {
                ctx.send(to, msg.clone());
            }
        }
        if self.coordinating.contains_key(&id) {
            ctx.set_timer(Timer::Resend(id), RESEND_AFTER);
        }
    }

    /// The replica's part of a write: keep the newer value.
    fn store_if_newer(&mut self, key: Key, versioned: Versioned) {
        let newer = self.store.get(&key).is_none_or(|v| versioned.ts > v.ts);
        if newer {
            self.store.insert(key, versioned);
        }
    }

    /// Counts `from`'s answer to request `id`; answers the client once a
    /// quorum has answered.
    fn on_answer(
        &mut self,
        ctx: &mut Ctx<Self>,
        from: NodeId,
        id: RequestId,
        stored: Option<Versioned>,
    ) {
        let Some(op) = self.coordinating.get_mut(&id) else {
            return; // already answered
        };
        op.answered.insert(from);
        if stored.is_some_and(|s| op.newest.is_none_or(|n| s.ts > n.ts)) {
            op.newest = stored;
        }
        let (quorum, reply) = match op.request {
            Request::Get { .. } => (self.r, Reply::Value(op.newest.map(|v| v.value))),
            Request::Put { .. } => (self.w, Reply::Written),
        };
        if op.answered.len() >= quorum {
            self.coordinating.remove(&id);
            ctx.cancel_timer(Timer::Resend(id));
            ctx.reply(id, reply);
        }
    }
    // exercise: end
}

impl Node for Replica {
    type Msg = Msg;
    type Timer = Timer;
    type Request = Request;
    type Reply = Reply;

    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, request: Request) {
        // exercise: begin "remember the request in self.coordinating, send Msg::Read or Msg::Write to every "
        //   "replica (this node included: it may answer itself directly) and set a Timer::Resend"
        self.coordinating.insert(
            id,
            Coordinating {
                request,
                answered: BTreeSet::new(),
                newest: None,
            },
        );
        self.ask_missing(ctx, id);
        // exercise: end
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        // exercise: begin "as a replica: answer Read with ReadOk (your stored Versioned), store a Write if its "
        //   "timestamp is newer than yours and answer WriteOk; as a coordinator: count ReadOk and "
        //   "WriteOk per request, keep the newest value, and reply once r (reads) or w (writes) "
        //   "distinct replicas answered"
        let me = ctx.id();
        match msg {
            Msg::Read { id, key } => {
                let stored = self.store.get(&key).copied();
                if from == me {
                    self.on_answer(ctx, me, id, stored);
                } else {
                    ctx.send(from, Msg::ReadOk { id, stored });
                }
            }
            Msg::Write { id, key, versioned } => {
                self.store_if_newer(key, versioned);
                if from == me {
                    self.on_answer(ctx, me, id, None);
                } else {
                    ctx.send(from, Msg::WriteOk { id });
                }
            }
            Msg::ReadOk { id, stored } => self.on_answer(ctx, from, id, stored),
            Msg::WriteOk { id } => self.on_answer(ctx, from, id, None),
        }
        // exercise: end
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        // exercise: begin "resend the request to the replicas that have not answered yet, if it is still open"
        let Timer::Resend(id) = timer;
        self.ask_missing(ctx, id);
        // exercise: end
    }
}
