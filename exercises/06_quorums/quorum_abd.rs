//! quorum_abd: the ABD register (Attiya, Bar-Noy and Dolev), linearizable
//! on a majority of replicas, with any number of writers.
//!
//! Every node is a replica holding one `(tag, value)` pair and also a
//! coordinator for the clients' requests. Each operation has two phases,
//! each waiting for a majority:
//!
//! 1. **query**: ask every replica for its pair and keep the one with the
//!    highest tag;
//! 2. **update**: a write stores its value under a new tag, higher than
//!    the one found; a read stores back the pair it found (the write-back).
//!    Replicas keep the pair with the higher tag.
//!
//! The write-back is what makes reads linearizable: a read returns only a
//! value a majority holds, so a later read, whose query meets that
//! majority, cannot return anything older. Without it, a read can see a
//! write that reached one replica, and a read after it miss that replica.
//! Majorities also mean nothing completes in a minority partition.

use dsim::{Ctx, Node, NodeId, RequestId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::time::Duration;

/// A register value.
pub type Value = u64;

/// Orders writes: a higher counter wins, the writer's id breaks ties, so
/// two writers never make the same tag (and a writer never makes the same
/// tag twice: a node coordinating two writes at once gives the second a
/// higher counter).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Tag {
    pub counter: u64,
    pub writer: usize,
}

/// What a client asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    Read,
    Write(Value),
}

/// What a client is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// The value read (`None`: never written).
    Value(Option<Value>),
    Written,
}

/// Between coordinator and replicas; `id` names the client request.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Msg {
    /// Phase 1: what pair do you hold?
    Query {
        id: RequestId,
    },
    QueryOk {
        id: RequestId,
        tag: Tag,
        value: Option<Value>,
    },
    /// Phase 2: keep this pair if its tag is higher than yours.
    Update {
        id: RequestId,
        tag: Tag,
        value: Option<Value>,
    },
    UpdateOk {
        id: RequestId,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Timer {
    /// Ask again the replicas that have not answered the current phase.
    Resend(RequestId),
}

/// How long a coordinator waits before asking again.
pub const RESEND_AFTER: Duration = Duration::from_millis(40);

/// Where an operation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Collecting pairs; the highest so far.
    Query { tag: Tag, value: Option<Value> },
    /// Storing this pair on a majority.
    Update { tag: Tag, value: Option<Value> },
}

/// A client request this node coordinates.
#[derive(Debug)]
pub struct Operation {
    pub id: RequestId,
    pub request: Request,
    pub phase: Phase,
    /// The replicas that answered the current phase.
    pub answered: BTreeSet<NodeId>,
}

#[derive(Debug, Default)]
pub struct Abd {
    /// This replica's pair.
    pub tag: Tag,
    pub value: Option<Value>,
    /// The operations this node coordinates, until answered.
    pub operations: Vec<Operation>,
}

impl Abd {
    pub fn new() -> Self {
        Abd::default()
    }

    /// More than half of the `n` replicas.
    pub fn majority(n: usize) -> usize {
        n / 2 + 1
    }
}

impl Node for Abd {
    type Msg = Msg;
    type Timer = Timer;
    type Request = Request;
    type Reply = Reply;

    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, request: Request) {
        todo!(
            "start an Operation in the query phase and send Msg::Query to every replica (this \
             node included), with a Timer::Resend"
        )
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        todo!(
            "as a replica: answer Query with your (tag, value), keep an Update's pair if its tag \
             is higher and answer UpdateOk; as a coordinator: after a majority of QueryOk move to \
             the update phase (a write with a new, higher tag; a read writes back the highest \
             pair it found), and after a majority of UpdateOk reply to the client"
        )
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        todo!("resend the current phase to the replicas that have not answered it")
    }
}
