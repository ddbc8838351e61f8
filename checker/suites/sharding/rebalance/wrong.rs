//! Meta tests: the checks of sharding_rebalance catch known-wrong
//! implementations. The [`Model`] is the protocol written independently of
//! the subject, with one [`Flaw`] built in (or none), run through the very
//! same tests.

use super::{heavy, lossy, many_changes, Answer, Factory, Observed, Op, Test, INITIAL};
use crate::subject::sharding::rebalance::{Change, RESEND_AFTER, SHARDS};
use dscheck::{Failure, Property};
use dsim::{Ctx, Node, NodeId, RequestId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One mistake a learner could make, built into the [`Model`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Flaw {
    /// No mistake: the model is correct.
    None,
    /// The old owner sends a shard once and deletes it at once.
    DeletesBeforeAck,
    /// Every change deals all shards out afresh, in turn.
    DealsAfresh,
    /// The old owner keeps serving a shard until its ack arrives.
    ServesUntilAck,
    /// The new owner serves a gained shard before its data arrives.
    ServesEmpty,
    /// The new owner, awaiting a shard's data, answers WrongServer.
    WrongServerWhileAwaiting,
    /// A server moves to the announced configuration without answering.
    LeavesChangesUnanswered,
}

/// How many seeds a meta test tries before deciding the flaw goes unnoticed.
const META_SEEDS: u64 = 10;

/// Runs `test` against the model with `flaw` over seeds until a check fails,
/// and passes if the check that failed is the one for `property`.
pub(super) fn caught(flaw: Flaw, test: Test<Model>, property: Property) -> Result<(), Failure> {
    dscheck::expect_caught(property, META_SEEDS, |seed| test(seed, model(flaw)))
}

/// Every test passes a correct model: the checks demand nothing beyond the
/// protocol.
pub(super) fn correct_model_passes() -> Result<(), Failure> {
    let tests: &[(&str, Test<Model>)] = &[
        ("no_write_lost_through_joins_and_leaves", lossy),
        ("survives_heavy_loss_and_late_messages", heavy),
        ("many_changes_move_the_fewest_shards", many_changes),
    ];
    for &(name, test) in tests {
        dscheck::expect_accepted(name, 3, |seed| test(seed, model(Flaw::None)))?;
    }
    Ok(())
}

fn model(flaw: Flaw) -> Factory<Model> {
    Box::new(move |id| Model::new(id, flaw))
}

type Data = BTreeMap<u64, u64>;

/// The protocol written independently of the subject.
#[derive(Debug)]
pub(super) struct Model {
    flaw: Flaw,
    id: NodeId,
    num: u64,
    members: Vec<NodeId>,
    owners: Vec<NodeId>,
    /// Shards served, with their data.
    data: BTreeMap<usize, Data>,
    /// Shards given away: new owner, configuration, data.
    away: BTreeMap<usize, (NodeId, u64, Data)>,
    /// Shards gained whose data has not come: the configuration.
    awaiting: BTreeMap<usize, u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) enum ModelMsg {
    Shard { num: u64, shard: usize, data: Data },
    Got { num: u64, shard: usize },
}

#[derive(Clone, Debug, Serialize)]
pub(super) enum ModelRequest {
    Put(u64, u64),
    Get(u64),
    Change(Change),
}

#[derive(Clone, Debug, Serialize)]
pub(super) enum ModelReply {
    Ok,
    Val(Option<u64>),
    Later,
    Wrong(u64),
    Changed,
}

/// The model's own placement of keys.
fn shard(key: u64) -> usize {
    ((key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) % SHARDS as u64) as usize
}

impl Model {
    fn new(id: NodeId, flaw: Flaw) -> Self {
        let members = INITIAL.to_vec();
        let owners: Vec<NodeId> = (0..SHARDS).map(|s| members[s % members.len()]).collect();
        let data = (0..SHARDS)
            .filter(|&s| owners[s] == id)
            .map(|s| (s, Data::new()))
            .collect();
        Model {
            flaw,
            id,
            num: 1,
            members,
            owners,
            data,
            away: BTreeMap::new(),
            awaiting: BTreeMap::new(),
        }
    }

    fn count(owners: &[NodeId], server: NodeId) -> usize {
        owners.iter().filter(|&&o| o == server).count()
    }

    /// The owners after `change`.
    fn place(&self, change: Change) -> (Vec<NodeId>, Vec<NodeId>) {
        let mut members = self.members.clone();
        let mut owners = self.owners.clone();
        match change {
            Change::Join(s) => members.push(s),
            Change::Leave(s) => members.retain(|&m| m != s),
        }
        members.sort();
        if self.flaw == Flaw::DealsAfresh {
            let owners = (0..SHARDS).map(|s| members[s % members.len()]).collect();
            return (members, owners);
        }
        match change {
            Change::Join(newcomer) => {
                for _ in 0..SHARDS / members.len() {
                    let most = members
                        .iter()
                        .copied()
                        .filter(|&m| m != newcomer)
                        .rev()
                        .max_by_key(|&m| Self::count(&owners, m))
                        .expect("other members");
                    let s = (0..SHARDS).find(|&s| owners[s] == most).expect("a shard");
                    owners[s] = newcomer;
                }
            }
            Change::Leave(leaver) => {
                for s in (0..SHARDS).filter(|&s| self.owners[s] == leaver) {
                    let fewest = members
                        .iter()
                        .copied()
                        .min_by_key(|&m| Self::count(&owners, m))
                        .expect("members left");
                    owners[s] = fewest;
                }
            }
        }
        (members, owners)
    }

    /// The answer to a request for `s`, which this server does not serve.
    fn refusal(&self, s: usize) -> ModelReply {
        let owner = self.owners[s] == self.id && self.flaw != Flaw::WrongServerWhileAwaiting;
        if owner {
            ModelReply::Later
        } else {
            ModelReply::Wrong(self.num)
        }
    }

    fn send_shard(&self, ctx: &mut Ctx<Self>, s: usize) {
        if let Some((to, num, data)) = self.away.get(&s) {
            let msg = ModelMsg::Shard {
                num: *num,
                shard: s,
                data: data.clone(),
            };
            ctx.send(*to, msg);
            ctx.set_timer(s, RESEND_AFTER);
        }
    }

    fn reconfigure(&mut self, ctx: &mut Ctx<Self>, change: Change) {
        let (members, owners) = self.place(change);
        self.num += 1;
        for (s, &now) in owners.iter().enumerate() {
            let was = self.owners[s];
            if was == self.id && now != self.id {
                let data = if self.flaw == Flaw::ServesUntilAck {
                    self.data.get(&s).cloned().unwrap_or_default()
                } else {
                    self.data.remove(&s).unwrap_or_default()
                };
                if self.flaw == Flaw::DeletesBeforeAck {
                    let msg = ModelMsg::Shard {
                        num: self.num,
                        shard: s,
                        data,
                    };
                    ctx.send(now, msg);
                } else {
                    self.away.insert(s, (now, self.num, data));
                    self.send_shard(ctx, s);
                }
            } else if was != self.id && now == self.id {
                self.awaiting.insert(s, self.num);
                if self.flaw == Flaw::ServesEmpty {
                    self.data.insert(s, Data::new());
                }
            }
        }
        self.members = members;
        self.owners = owners;
    }
}

impl Node for Model {
    type Msg = ModelMsg;
    type Timer = usize;
    type Request = ModelRequest;
    type Reply = ModelReply;

    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, req: ModelRequest) {
        let reply = match req {
            ModelRequest::Put(key, value) => match self.data.get_mut(&shard(key)) {
                Some(data) => {
                    data.insert(key, value);
                    ModelReply::Ok
                }
                None => self.refusal(shard(key)),
            },
            ModelRequest::Get(key) => match self.data.get(&shard(key)) {
                Some(data) => ModelReply::Val(data.get(&key).copied()),
                None => self.refusal(shard(key)),
            },
            ModelRequest::Change(change) => {
                self.reconfigure(ctx, change);
                if self.flaw == Flaw::LeavesChangesUnanswered {
                    return;
                }
                ModelReply::Changed
            }
        };
        ctx.reply(id, reply);
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: ModelMsg) {
        match msg {
            ModelMsg::Shard { num, shard, data } if num <= self.num => {
                if self.awaiting.get(&shard) == Some(&num) {
                    self.awaiting.remove(&shard);
                    let mine = self.data.entry(shard).or_default();
                    for (k, v) in data {
                        mine.entry(k).or_insert(v);
                    }
                }
                ctx.send(from, ModelMsg::Got { num, shard });
            }
            ModelMsg::Shard { .. } => {}
            ModelMsg::Got { num, shard } => {
                if self.away.get(&shard).is_some_and(|a| a.1 == num) {
                    self.away.remove(&shard);
                    ctx.cancel_timer(shard);
                    if self.flaw == Flaw::ServesUntilAck {
                        self.data.remove(&shard);
                    }
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, s: usize) {
        self.send_shard(ctx, s);
    }
}

impl Observed for Model {
    fn shard_of(key: u64) -> usize {
        shard(key)
    }
    fn put(key: u64, value: u64) -> ModelRequest {
        ModelRequest::Put(key, value)
    }
    fn get(key: u64) -> ModelRequest {
        ModelRequest::Get(key)
    }
    fn reconfigure(change: Change) -> ModelRequest {
        ModelRequest::Change(change)
    }
    fn op(request: &ModelRequest) -> Op {
        match *request {
            ModelRequest::Put(key, value) => Op::Put { key, value },
            ModelRequest::Get(key) => Op::Get { key },
            ModelRequest::Change(_) => Op::Other,
        }
    }
    fn answer(reply: &ModelReply) -> Answer {
        match *reply {
            ModelReply::Ok => Answer::Written,
            ModelReply::Val(v) => Answer::Value(v),
            ModelReply::Later => Answer::TryLater,
            ModelReply::Wrong(config) => Answer::WrongServer { config },
            ModelReply::Changed => Answer::Reconfigured,
        }
    }
    fn config(&self) -> (u64, Vec<NodeId>) {
        (self.num, self.owners.clone())
    }
    fn serving(&self) -> Vec<usize> {
        self.data.keys().copied().collect()
    }
    fn holds(&self, key: u64) -> Option<u64> {
        let s = shard(key);
        let away = self.away.get(&s).map(|a| &a.2);
        self.data
            .get(&s)
            .and_then(|d| d.get(&key))
            .or_else(|| away.and_then(|d| d.get(&key)))
            .copied()
    }
    fn busy(&self) -> bool {
        !self.away.is_empty() || !self.awaiting.is_empty()
    }
}
