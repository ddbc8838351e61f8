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
    // exercise: begin

    /// The message of an operation's current phase.
    fn phase_msg(op: &Operation) -> Msg {
        match op.phase {
            Phase::Query { .. } => Msg::Query { id: op.id },
            Phase::Update { tag, value } => Msg::Update {
                id: op.id,
                tag,
                value,
            },
        }
    }

    /// Sends the current phase of `id` to every replica that has not
    /// answered it; this node answers itself at once.
    fn ask_missing(&mut self, ctx: &mut Ctx<Self>, id: RequestId) {
        let Some(op) = self.operations.iter().find(|o| o.id == id) else {
            return;
        };
        let msg = Self::phase_msg(op);
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
        if self.operations.iter().any(|o| o.id == id) {
            ctx.set_timer(Timer::Resend(id), RESEND_AFTER);
        }
    }

    /// A replica keeps the pair with the higher tag.
    fn store_if_newer(&mut self, tag: Tag, value: Option<Value>) {
        if tag > self.tag {
            self.tag = tag;
            self.value = value;
        }
    }

    /// `from` answered the query of `id` with its pair.
    fn on_query_ok(
        &mut self,
        ctx: &mut Ctx<Self>,
        from: NodeId,
        id: RequestId,
        tag: Tag,
        value: Option<Value>,
    ) {
        let majority = Self::majority(ctx.cluster_size());
        let me = ctx.id().index();
        let own = self.tag.counter;
        let Some(op) = self.operations.iter_mut().find(|o| o.id == id) else {
            return;
        };
        let Phase::Query {
            tag: highest,
            value: highest_value,
        } = op.phase
        else {
            return; // a late answer to a finished query
        };
        op.answered.insert(from);
        let (highest, highest_value) = if tag > highest {
            (tag, value)
        } else {
            (highest, highest_value)
        };
        op.phase = Phase::Query {
            tag: highest,
            value: highest_value,
        };
        if op.answered.len() < majority {
            return;
        }
        // A majority answered: on to the update phase.
        op.phase = match op.request {
            // Above the highest tag found, and above this node's own: it
            // may coordinate two writes at once, which must not share a tag.
            Request::Write(v) => Phase::Update {
                tag: Tag {
                    counter: highest.counter.max(own) + 1,
                    writer: me,
                },
                value: Some(v),
            },
            Request::Read => Phase::Update {
                tag: highest,
                value: highest_value,
            },
        };
        op.answered.clear();
        self.ask_missing(ctx, id);
    }

    /// `from` stored the update of `id`.
    fn on_update_ok(&mut self, ctx: &mut Ctx<Self>, from: NodeId, id: RequestId) {
        let majority = Self::majority(ctx.cluster_size());
        let Some(pos) = self.operations.iter().position(|o| o.id == id) else {
            return;
        };
        let op = &mut self.operations[pos];
        let Phase::Update { value, .. } = op.phase else {
            return;
        };
        op.answered.insert(from);
        if op.answered.len() >= majority {
            let reply = match op.request {
                Request::Read => Reply::Value(value),
                Request::Write(_) => Reply::Written,
            };
            self.operations.remove(pos);
            ctx.cancel_timer(Timer::Resend(id));
            ctx.reply(id, reply);
        }
    }
    // exercise: end
}

impl Node for Abd {
    type Msg = Msg;
    type Timer = Timer;
    type Request = Request;
    type Reply = Reply;

    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, request: Request) {
        // exercise: begin "start an Operation in the query phase and send Msg::Query to every replica (this "
        //   "node included), with a Timer::Resend"
        self.operations.push(Operation {
            id,
            request,
            phase: Phase::Query {
                tag: Tag::default(),
                value: None,
            },
            answered: BTreeSet::new(),
        });
        self.ask_missing(ctx, id);
        // exercise: end
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        // exercise: begin "as a replica: answer Query with your (tag, value), keep an Update's pair if its tag "
        //   "is higher and answer UpdateOk; as a coordinator: after a majority of QueryOk move to "
        //   "the update phase (a write with a new, higher tag; a read writes back the highest "
        //   "pair it found), and after a majority of UpdateOk reply to the client"
        let me = ctx.id();
        match msg {
            Msg::Query { id } => {
                let (tag, value) = (self.tag, self.value);
                if from == me {
                    self.on_query_ok(ctx, me, id, tag, value);
                } else {
                    ctx.send(from, Msg::QueryOk { id, tag, value });
                }
            }
            Msg::Update { id, tag, value } => {
                self.store_if_newer(tag, value);
                if from == me {
                    self.on_update_ok(ctx, me, id);
                } else {
                    ctx.send(from, Msg::UpdateOk { id });
                }
            }
            Msg::QueryOk { id, tag, value } => self.on_query_ok(ctx, from, id, tag, value),
            Msg::UpdateOk { id } => self.on_update_ok(ctx, from, id),
        }
        // exercise: end
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        // exercise: begin "resend the current phase to the replicas that have not answered it"
        let Timer::Resend(id) = timer;
        self.ask_missing(ctx, id);
        // exercise: end
    }
}
