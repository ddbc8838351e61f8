//! Meta tests: the checks of sharding_router catch known-wrong routers. The
//! [`Model`] is routers and servers written independently of the subject,
//! with one [`Flaw`] in the router (or none), run through the very same
//! tests.

use super::{reordered, steady, Answer, Factory, Observed, Test, INITIAL};
use crate::subject::sharding::router::{Op, RETRY_AFTER, ROUTERS, SHARDS};
use dscheck::{Failure, Property};
use dsim::{Ctx, Node, NodeId, RequestId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One mistake a learner could make, built into the [`Model`]'s router.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Flaw {
    /// No mistake: the model is correct.
    None,
    /// On a redirect, the router tells the client the request succeeded.
    AnswersRedirect,
    /// On a redirect, the router forgets the request.
    DropsRedirected,
    /// The router ignores the configuration a redirect carries and sends
    /// the request to the same server again.
    NeverLearns,
    /// The router sends the request to the owner a redirect names, but
    /// never updates its table.
    FollowsWithoutLearning,
}

const META_SEEDS: u64 = 10;

pub(super) fn caught(flaw: Flaw, test: Test<Model>, property: Property) -> Result<(), Failure> {
    dscheck::expect_caught(property, META_SEEDS, |seed| test(seed, model(flaw)))
}

/// Every test passes a correct model.
pub(super) fn correct_model_passes() -> Result<(), Failure> {
    let tests: &[(&str, Test<Model>)] = &[
        ("no_write_lost_while_shards_move", steady),
        ("stale_router_catches_up", reordered),
    ];
    for &(name, test) in tests {
        dscheck::expect_accepted(name, 3, |seed| test(seed, model(Flaw::None)))?;
    }
    Ok(())
}

fn model(flaw: Flaw) -> Factory<Model> {
    Box::new(move |id| Model::new(id, flaw))
}

type Table = (u64, Vec<NodeId>);

/// A router or a server, written independently of the subject.
#[derive(Debug)]
pub(super) struct Model {
    flaw: Flaw,
    router: bool,
    /// The router's table, or the server's configuration.
    table: Table,
    /// Router: pending requests, with the owner a redirect last named.
    pending: BTreeMap<RequestId, (Op, Option<NodeId>)>,
    /// Server: shards served.
    data: BTreeMap<usize, BTreeMap<u64, u64>>,
    waiting: BTreeSet<usize>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) enum ModelMsg {
    Go(RequestId, Op),
    Ok(RequestId, Option<u64>),
    Moved(RequestId, u64, Vec<NodeId>),
    Wait(RequestId),
    Data(usize, BTreeMap<u64, u64>),
}

#[derive(Clone, Debug, Serialize)]
pub(super) enum ModelRequest {
    Client(Op),
    Config(u64, Vec<NodeId>),
}

#[derive(Clone, Debug, Serialize)]
pub(super) enum ModelReply {
    Written,
    Value(Option<u64>),
    Done,
}

fn shard(key: u64) -> usize {
    ((key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) % SHARDS as u64) as usize
}

impl Model {
    fn new(id: NodeId, flaw: Flaw) -> Self {
        let owners: Vec<NodeId> = (0..SHARDS).map(|s| INITIAL[s % INITIAL.len()]).collect();
        let data = (0..SHARDS)
            .filter(|&s| owners[s] == id)
            .map(|s| (s, BTreeMap::new()))
            .collect();
        Model {
            flaw,
            router: ROUTERS.contains(&id),
            table: (1, owners),
            pending: BTreeMap::new(),
            data,
            waiting: BTreeSet::new(),
        }
    }

    fn send(&self, ctx: &mut Ctx<Self>, id: RequestId) {
        if let Some(&(op, hint)) = self.pending.get(&id) {
            let to = hint.unwrap_or(self.table.1[shard(op.key())]);
            ctx.send(to, ModelMsg::Go(id, op));
        }
    }

    fn redirected(&mut self, ctx: &mut Ctx<Self>, id: RequestId, num: u64, owners: Vec<NodeId>) {
        let Some(&(op, _)) = self.pending.get(&id) else {
            return;
        };
        match self.flaw {
            Flaw::AnswersRedirect => {
                self.pending.remove(&id);
                let reply = match op {
                    Op::Put { .. } => ModelReply::Written,
                    Op::Get { .. } => ModelReply::Value(None),
                };
                ctx.reply(id, reply);
                return;
            }
            Flaw::DropsRedirected => {
                self.pending.remove(&id);
                return;
            }
            Flaw::NeverLearns => {}
            Flaw::FollowsWithoutLearning => {
                let owner = owners[shard(op.key())];
                self.pending.insert(id, (op, Some(owner)));
            }
            Flaw::None => {
                if num > self.table.0 {
                    self.table = (num, owners);
                }
            }
        }
        self.send(ctx, id);
    }

    fn serve(&mut self, ctx: &mut Ctx<Self>, from: NodeId, id: RequestId, op: Op) {
        let s = shard(op.key());
        let msg = match (self.data.get_mut(&s), op) {
            (Some(d), Op::Put { key, value }) => {
                d.insert(key, value);
                ModelMsg::Ok(id, None)
            }
            (Some(d), Op::Get { key }) => ModelMsg::Ok(id, d.get(&key).copied()),
            (None, _) if self.waiting.contains(&s) => ModelMsg::Wait(id),
            (None, _) => ModelMsg::Moved(id, self.table.0, self.table.1.clone()),
        };
        ctx.send(from, msg);
    }

    fn reconfigure(&mut self, ctx: &mut Ctx<Self>, num: u64, owners: Vec<NodeId>) {
        let me = ctx.id();
        for (s, &now) in owners.iter().enumerate() {
            let was = self.table.1[s];
            if was == me && now != me {
                let d = self.data.remove(&s).unwrap_or_default();
                ctx.send(now, ModelMsg::Data(s, d));
            } else if was != me && now == me {
                self.waiting.insert(s);
            }
        }
        self.table = (num, owners);
    }
}

impl Node for Model {
    type Msg = ModelMsg;
    type Timer = RequestId;
    type Request = ModelRequest;
    type Reply = ModelReply;

    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, req: ModelRequest) {
        match req {
            ModelRequest::Client(op) if self.router => {
                self.pending.insert(id, (op, None));
                self.send(ctx, id);
            }
            ModelRequest::Config(num, owners) if !self.router => {
                self.reconfigure(ctx, num, owners);
                ctx.reply(id, ModelReply::Done);
            }
            _ => {}
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: ModelMsg) {
        match msg {
            ModelMsg::Go(id, op) => self.serve(ctx, from, id, op),
            ModelMsg::Data(s, d) => {
                if self.waiting.remove(&s) {
                    self.data.insert(s, d);
                }
            }
            ModelMsg::Ok(id, value) => {
                if let Some((op, _)) = self.pending.remove(&id) {
                    let reply = match op {
                        Op::Put { .. } => ModelReply::Written,
                        Op::Get { .. } => ModelReply::Value(value),
                    };
                    ctx.reply(id, reply);
                }
            }
            ModelMsg::Moved(id, num, owners) => self.redirected(ctx, id, num, owners),
            ModelMsg::Wait(id) => ctx.set_timer(id, RETRY_AFTER),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, id: RequestId) {
        self.send(ctx, id);
    }
}

impl Observed for Model {
    fn client(op: Op) -> ModelRequest {
        ModelRequest::Client(op)
    }
    fn reconfigure(num: u64, owners: Vec<NodeId>) -> ModelRequest {
        ModelRequest::Config(num, owners)
    }
    fn op(request: &ModelRequest) -> Option<Op> {
        match request {
            ModelRequest::Client(op) => Some(*op),
            ModelRequest::Config(..) => None,
        }
    }
    fn answer(reply: &ModelReply) -> Answer {
        match *reply {
            ModelReply::Written => Answer::Written,
            ModelReply::Value(v) => Answer::Value(v),
            ModelReply::Done => Answer::Other,
        }
    }
    fn redirect_of(msg: &ModelMsg) -> Option<RequestId> {
        match msg {
            ModelMsg::Moved(id, ..) => Some(*id),
            _ => None,
        }
    }
    fn table(&self) -> Option<Table> {
        self.router.then(|| self.table.clone())
    }
    fn config(&self) -> Option<Table> {
        (!self.router).then(|| self.table.clone())
    }
    fn busy(&self) -> bool {
        !self.waiting.is_empty()
    }
}
