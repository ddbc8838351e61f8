//! Meta tests: the checks of cache_single_flight catch known-wrong
//! replicas. [`Model`] is the suite's own store and replica (the store as
//! the exercise gives it, the replica written here), with one planted
//! mistake in the replica, or none.

use super::{scenario, Observed, Traffic, CACHES, INVALIDATED, ONE_FILL};
use crate::subject::cache::single_flight::{Msg, Reply, Request, LOAD_TIME, STORE};
use dscheck::{expect_accepted, expect_caught, Suite};
use dsim::{Ctx, Node, NodeId, RequestId};
use std::collections::{BTreeMap, BTreeSet};

/// One mistake a learner could make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flaw {
    /// Every miss sends its own load: one fill per request.
    FillPerRequest,
    /// Acknowledges an invalidation without dropping the key.
    IgnoresInvalidation,
    /// Caches whatever a load brings, however old.
    CachesStaleFills,
    /// Answers the waiting reads but never caches.
    NeverCaches,
}

#[derive(Debug, Default)]
struct Store {
    data: BTreeMap<u64, (u64, u64)>,
    loads: BTreeMap<(NodeId, u64), u64>,
    serving: BTreeMap<u64, (NodeId, u64, Option<u64>, u64)>,
    next: u64,
    writes: Vec<(RequestId, u64, u64, BTreeSet<NodeId>)>,
}

#[derive(Debug, Default)]
struct Cache {
    cache: BTreeMap<u64, (Option<u64>, u64)>,
    waiting: BTreeMap<u64, Vec<RequestId>>,
    invalidated: BTreeMap<u64, u64>,
}

#[derive(Debug)]
enum Model {
    Store(Store),
    Replica(Option<Flaw>, Cache),
}

impl Model {
    fn with(flaw: Option<Flaw>) -> super::Factory<Model> {
        Box::new(move |id| {
            if id == STORE {
                Model::Store(Store::default())
            } else {
                Model::Replica(flaw, Cache::default())
            }
        })
    }
}

impl Observed for Model {
    fn cached(&self, key: u64) -> Option<u64> {
        match self {
            Model::Replica(_, c) => c.cache.get(&key).map(|e| e.1),
            Model::Store(_) => None,
        }
    }
    fn loads(&self) -> Option<BTreeMap<(NodeId, u64), u64>> {
        match self {
            Model::Store(s) => Some(s.loads.clone()),
            Model::Replica(..) => None,
        }
    }
}

impl Node for Model {
    type Msg = Msg;
    type Timer = u64;
    type Request = Request;
    type Reply = Reply;

    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, req: Request) {
        match (self, req) {
            (Model::Replica(flaw, c), Request::Get { key }) => {
                if let Some(&(value, _)) = c.cache.get(&key) {
                    ctx.reply(id, Reply::Value(value));
                    return;
                }
                let waiting = c.waiting.entry(key).or_default();
                waiting.push(id);
                if waiting.len() == 1 || *flaw == Some(Flaw::FillPerRequest) {
                    ctx.send(STORE, Msg::Load { key });
                }
            }
            (Model::Store(s), Request::Put { key, value }) => {
                let version = s.data.get(&key).map_or(1, |e| e.1 + 1);
                s.data.insert(key, (value, version));
                let all: BTreeSet<NodeId> = ctx.peers().iter().copied().collect();
                for &r in &all {
                    ctx.send(r, Msg::Invalidate { key, version });
                }
                s.writes.push((id, key, version, all));
            }
            _ => {}
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        match (self, msg) {
            (Model::Store(s), Msg::Load { key }) => {
                *s.loads.entry((from, key)).or_insert(0) += 1;
                let (value, version) = s.data.get(&key).map_or((None, 0), |e| (Some(e.0), e.1));
                s.serving.insert(s.next, (from, key, value, version));
                ctx.set_timer(s.next, LOAD_TIME);
                s.next += 1;
            }
            (Model::Store(s), Msg::InvalidateAck { key, version }) => {
                s.writes.retain_mut(|(id, k, v, unconfirmed)| {
                    if *k == key && *v <= version {
                        unconfirmed.remove(&from);
                    }
                    if unconfirmed.is_empty() {
                        ctx.reply(*id, Reply::Written { version: *v });
                    }
                    !unconfirmed.is_empty()
                });
            }
            (
                Model::Replica(flaw, c),
                Msg::Loaded {
                    key,
                    value,
                    version,
                },
            ) => {
                let stale = version < c.invalidated.get(&key).copied().unwrap_or(0);
                if stale && *flaw != Some(Flaw::CachesStaleFills) {
                    ctx.send(STORE, Msg::Load { key });
                    return;
                }
                if *flaw != Some(Flaw::NeverCaches) {
                    c.cache.insert(key, (value, version));
                }
                let waiting = c.waiting.remove(&key).unwrap_or_default();
                for id in waiting {
                    ctx.reply(id, Reply::Value(value));
                }
            }
            (Model::Replica(flaw, c), Msg::Invalidate { key, version }) => {
                if *flaw != Some(Flaw::IgnoresInvalidation) {
                    c.cache.remove(&key);
                    let newest = c.invalidated.entry(key).or_insert(0);
                    *newest = (*newest).max(version);
                }
                ctx.send(STORE, Msg::InvalidateAck { key, version });
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, n: u64) {
        if let Model::Store(s) = self {
            if let Some((to, key, value, version)) = s.serving.remove(&n) {
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
    }
}

pub(super) fn tests(suite: Suite) -> Suite {
    suite
        .test(
            "meta::single_flight_filling_once_per_request_is_caught",
            || {
                expect_caught(ONE_FILL, 10, |seed| {
                    scenario(
                        seed,
                        Model::with(Some(Flaw::FillPerRequest)),
                        Traffic::ReadsOnly,
                    )
                })
            },
        )
        .test(
            "meta::single_flight_ignoring_invalidation_is_caught",
            || {
                expect_caught(INVALIDATED, 10, |seed| {
                    scenario(
                        seed,
                        Model::with(Some(Flaw::IgnoresInvalidation)),
                        Traffic::ReadsAndWrites,
                    )
                })
            },
        )
        .test("meta::single_flight_caching_stale_fills_is_caught", || {
            expect_caught(INVALIDATED, 20, |seed| {
                scenario(
                    seed,
                    Model::with(Some(Flaw::CachesStaleFills)),
                    Traffic::ReadsAndWrites,
                )
            })
        })
        .test("meta::single_flight_that_never_caches_is_caught", || {
            expect_caught(CACHES, 10, |seed| {
                scenario(
                    seed,
                    Model::with(Some(Flaw::NeverCaches)),
                    Traffic::ReadsOnly,
                )
            })
        })
        .test("meta::single_flight_correct_model_passes", || {
            expect_accepted("the single_flight checks", 10, |seed| {
                scenario(seed, Model::with(None), Traffic::ReadsAndWrites)
            })
        })
}
