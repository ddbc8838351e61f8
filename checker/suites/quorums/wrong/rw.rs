//! quorum_rw with a read that can answer at its first reply.

use crate::subject::quorums::quorum_rw::{
    Key, Msg, Reply, Request, Timer, Versioned, RESEND_AFTER,
};
use dsim::{Ctx, Node, NodeId, RequestId};
use std::collections::{BTreeMap, BTreeSet};

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
pub struct WrongRw {
    /// Answers a read at its first reply.
    pub first_reply: bool,
    /// Read quorum size.
    pub r: usize,
    /// Write quorum size.
    pub w: usize,
    /// This replica's copy of the store.
    pub store: BTreeMap<Key, Versioned>,
    /// The requests this node coordinates, until answered.
    pub coordinating: BTreeMap<RequestId, Coordinating>,
}

impl WrongRw {
    /// Waits for `r` answers to a read (1 with `first_reply`) and `w` to a write.
    pub fn new(r: usize, w: usize, first_reply: bool) -> Self {
        WrongRw {
            first_reply,
            r,
            w,
            store: BTreeMap::new(),
            coordinating: BTreeMap::new(),
        }
    }

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
            Request::Get { .. } if self.first_reply => {
                (1, Reply::Value(op.newest.map(|v| v.value)))
            }
            Request::Get { .. } => (self.r, Reply::Value(op.newest.map(|v| v.value))),
            Request::Put { .. } => (self.w, Reply::Written),
        };
        if op.answered.len() >= quorum {
            self.coordinating.remove(&id);
            ctx.cancel_timer(Timer::Resend(id));
            ctx.reply(id, reply);
        }
    }
}

impl Node for WrongRw {
    type Msg = Msg;
    type Timer = Timer;
    type Request = Request;
    type Reply = Reply;

    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, request: Request) {
        self.coordinating.insert(
            id,
            Coordinating {
                request,
                answered: BTreeSet::new(),
                newest: None,
            },
        );
        self.ask_missing(ctx, id);
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
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
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        let Timer::Resend(id) = timer;
        self.ask_missing(ctx, id);
    }
}
