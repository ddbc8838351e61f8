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
    // exercise: begin

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
    /// node answers itself at once.
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
            .filter(|n| !op.answers.contains_key(n))
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

    fn store_if_newer(&mut self, key: Key, versioned: Versioned) {
        if self.store.get(&key).is_none_or(|v| versioned.ts > v.ts) {
            self.store.insert(key, versioned);
        }
    }

    /// The newest of the answers collected so far.
    fn newest(answers: &BTreeMap<NodeId, Option<Versioned>>) -> Option<Versioned> {
        answers.values().flatten().max_by_key(|v| v.ts).copied()
    }

    fn on_answer(
        &mut self,
        ctx: &mut Ctx<Self>,
        from: NodeId,
        id: RequestId,
        stored: Option<Versioned>,
    ) {
        let n = ctx.cluster_size();
        let Some(op) = self.coordinating.get_mut(&id) else {
            return;
        };
        op.answers.insert(from, stored);
        let (quorum, reply) = match op.request {
            Request::Get { .. } => (
                self.r,
                Reply::Value(Self::newest(&op.answers).map(|v| v.value)),
            ),
            Request::Put { .. } => (self.w, Reply::Written),
        };
        if !op.replied && op.answers.len() >= quorum {
            op.replied = true;
            ctx.reply(id, reply);
        }
        // A write is done with its quorum; a read waits for every replica
        // (or the window) to repair them.
        let done = match op.request {
            Request::Put { .. } => op.replied,
            Request::Get { .. } => op.answers.len() == n,
        };
        if done {
            self.close(ctx, id);
        }
    }

    /// Stops collecting answers for `id`; for a read, repairs every replica
    /// that answered with something older than the newest answer.
    fn close(&mut self, ctx: &mut Ctx<Self>, id: RequestId) {
        let Some(op) = self.coordinating.remove(&id) else {
            return;
        };
        ctx.cancel_timer(Timer::Resend(id));
        ctx.cancel_timer(Timer::Close(id));
        let Request::Get { key } = op.request else {
            return;
        };
        let Some(newest) = Self::newest(&op.answers) else {
            return;
        };
        let me = ctx.id();
        for (&replica, answer) in &op.answers {
            if answer.is_none_or(|a| a.ts < newest.ts) {
                if replica == me {
                    self.store_if_newer(key, newest);
                } else {
                    ctx.send(
                        replica,
                        Msg::Repair {
                            key,
                            versioned: newest,
                        },
                    );
                }
            }
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
        // exercise: begin "as in quorum_rw: remember the request, ask every replica, set a Timer::Resend; for a "
        //   "read also set a Timer::Close after REPAIR_WINDOW"
        self.coordinating.insert(
            id,
            Coordinating {
                request,
                answers: BTreeMap::new(),
                replied: false,
            },
        );
        if let Request::Get { .. } = request {
            ctx.set_timer(Timer::Close(id), REPAIR_WINDOW);
        }
        self.ask_missing(ctx, id);
        // exercise: end
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        // exercise: begin "as in quorum_rw, recording each replica's answer in `answers`; reply once r (reads) "
        //   "or w (writes) answered, but keep a read open until every replica answered; store a "
        //   "Repair if it is newer"
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
            Msg::Repair { key, versioned } => self.store_if_newer(key, versioned),
            Msg::ReadOk { id, stored } => self.on_answer(ctx, from, id, stored),
            Msg::WriteOk { id } => self.on_answer(ctx, from, id, None),
        }
        // exercise: end
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        // exercise: begin "Resend: ask the replicas that have not answered; Close: once the client has its "
        //   "answer, stop the read and send Msg::Repair with the newest value to every replica "
        //   "that answered with an older one (or nothing)"
        match timer {
            Timer::Resend(id) => self.ask_missing(ctx, id),
            // A read still without its quorum keeps going: the client
            // waits for its answer.
            Timer::Close(id) => match self.coordinating.get(&id) {
                Some(op) if !op.replied => ctx.set_timer(Timer::Close(id), REPAIR_WINDOW),
                _ => self.close(ctx, id),
            },
        }
        // exercise: end
    }
}
