//! ABD that can skip the write-back of a read.

use crate::subject::quorums::quorum_abd::{
    Msg, Phase, Reply, Request, Tag, Timer, Value, RESEND_AFTER,
};
use dsim::{Ctx, Node, NodeId, RequestId};
use std::collections::BTreeSet;

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
pub struct WrongAbd {
    /// Reads skip the update phase.
    pub no_write_back: bool,
    /// This replica's pair.
    pub tag: Tag,
    pub value: Option<Value>,
    /// The operations this node coordinates, until answered.
    pub operations: Vec<Operation>,
}

impl WrongAbd {
    pub fn new(no_write_back: bool) -> Self {
        WrongAbd {
            no_write_back,
            ..WrongAbd::default()
        }
    }

    /// More than half of the `n` replicas.
    pub fn majority(n: usize) -> usize {
        n / 2 + 1
    }

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
        if self.no_write_back && op.request == Request::Read {
            let reply = Reply::Value(highest_value);
            self.operations.retain(|o| o.id != id);
            ctx.cancel_timer(Timer::Resend(id));
            ctx.reply(id, reply);
            return;
        }
        op.phase = match op.request {
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
}

impl Node for WrongAbd {
    type Msg = Msg;
    type Timer = Timer;
    type Request = Request;
    type Reply = Reply;

    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, request: Request) {
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
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
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
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        let Timer::Resend(id) = timer;
        self.ask_missing(ctx, id);
    }
}
