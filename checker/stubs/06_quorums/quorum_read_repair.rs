//! quorum_read_repair: quorum reads that also mend the replicas they find
//! behind, so that replicas converge after a partition heals.
//!
//! The store is the one of quorum_rw: every node is a replica and a
//! coordinator, writes carry the client's timestamp, a read answers the
//! client with the newest of `r` answers. Here a read also keeps listening
//! after it answered: once every replica has answered, or `REPAIR_WINDOW`
//! has passed, it sends the newest value it saw to every replica that
//! answered with something older (a `Repair`, which the replica stores if
//! it is newer, as a write). Replicas a partition left behind catch up as
//! soon as someone reads the keys they missed, without any background
//! process (compare anti-entropy, which mends keys nobody reads).

use dsim::{Ctx, Node, NodeId, RequestId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// A key of the store.
pub type Key = u64;
/// A value of the store.
pub type Value = u64;

/// A value with the timestamp of the write that stored it.
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
    Value(Option<Value>),
    Written,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Msg {
    Read {
        id: RequestId,
        key: Key,
    },
    ReadOk {
        id: RequestId,
        stored: Option<Versioned>,
    },
    Write {
        id: RequestId,
        key: Key,
        versioned: Versioned,
    },
    WriteOk {
        id: RequestId,
    },
    /// Coordinator to a replica that answered a read with an older value:
    /// store this if it is newer than yours. Not acknowledged: a lost
    /// repair is made again by the next read.
    Repair {
        key: Key,
        versioned: Versioned,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Timer {
    /// Ask again the replicas that have not answered request `id`.
    Resend(RequestId),
    /// Stop waiting for answers to read `id`, and repair.
    Close(RequestId),
}

/// How long a coordinator waits before asking again.
pub const RESEND_AFTER: Duration = Duration::from_millis(40);
/// How long a read keeps collecting answers for repair after it starts.
pub const REPAIR_WINDOW: Duration = Duration::from_millis(300);

/// A client request this node coordinates.
#[derive(Debug)]
pub struct Coordinating {
    pub request: Request,
    /// Each replica's answer (`None`: it holds nothing for the key).
    pub answers: BTreeMap<NodeId, Option<Versioned>>,
    /// Whether the client has its answer.
    pub replied: bool,
}

#[derive(Debug)]
pub struct Replica {
    pub r: usize,
    pub w: usize,
    pub store: BTreeMap<Key, Versioned>,
    pub coordinating: BTreeMap<RequestId, Coordinating>,
}

impl Replica {
    pub fn new(r: usize, w: usize) -> Self {
        Replica {
            r,
            w,
            store: BTreeMap::new(),
            coordinating: BTreeMap::new(),
        }
    }
}

impl Node for Replica {
    type Msg = Msg;
    type Timer = Timer;
    type Request = Request;
    type Reply = Reply;

    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, request: Request) {
        todo!(
            "as in quorum_rw: remember the request, ask every replica, set a Timer::Resend; for a \
             read also set a Timer::Close after REPAIR_WINDOW"
        )
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        todo!(
            "as in quorum_rw, recording each replica's answer in `answers`; reply once r (reads) \
             or w (writes) answered, but keep a read open until every replica answered; store a \
             Repair if it is newer"
        )
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        todo!(
            "Resend: ask the replicas that have not answered; Close: once the client has its \
             answer, stop the read and send Msg::Repair with the newest value to every replica \
             that answered with an older one (or nothing)"
        )
    }
}
