//! broadcast_causal: every delivery respects happens-before among
//! broadcasts and deliveries, computed from the trace (never from the
//! vectors under test), on a network that reorders and duplicates.

use super::fifo::scenario;
use super::observe::{Bcast, Broadcaster, Load, Order, CAUSAL, VALIDITY};
use crate::expect_caught;
use crate::subject::broadcast::causal::{CausalNode, Request};
use dscheck::Suite;
use dsim::{Ctx, Node, NodeId, RequestId};
use serde::{Deserialize, Serialize};

const NODES: usize = 4;

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded(
            "causal::every_delivery_respects_happens_before",
            20,
            |seed| {
                scenario(
                    seed,
                    |_| CausalNode::new(NODES),
                    Order::Causal,
                    Load::Random,
                )
            },
        )
        .seeded("causal::answers_never_overtake_questions", 10, |seed| {
            scenario(seed, |_| CausalNode::new(NODES), Order::Causal, Load::Turns)
        })
        .test(
            "meta::causal_that_ignores_one_entry_of_the_vector_is_caught",
            || {
                expect_caught(CAUSAL, |seed| {
                    scenario(
                        seed,
                        |_| Model::new(Some(NODES - 1)),
                        Order::Causal,
                        Load::Turns,
                    )
                })
            },
        )
        .test(
            "meta::causal_that_scans_its_buffer_once_is_caught_as_holding_back",
            || {
                // The network loses nothing: the hint must not ask for resends.
                dscheck::expect_caught_saying(
                    VALIDITY,
                    10,
                    &[
                        "lost no message",
                        "look through the held-back messages again",
                    ],
                    &["sent again", "partition"],
                    |seed| {
                        scenario(
                            seed,
                            |_| Model::new(None).scans_once(),
                            Order::Causal,
                            Load::Random,
                        )
                    },
                )
            },
        )
        .test("meta::fifo_broadcast_is_caught_as_not_causal", || {
            expect_caught(CAUSAL, |seed| {
                scenario(
                    seed,
                    |_| Model::new(None).fifo_only(),
                    Order::Causal,
                    Load::Turns,
                )
            })
        })
        .test("meta::causal_model_is_accepted", || {
            dscheck::expect_accepted("the causal scenario", 10, |seed| {
                scenario(seed, |_| Model::new(None), Order::Causal, Load::Random)?;
                scenario(seed, |_| Model::new(None), Order::Causal, Load::Turns)
            })
        })
}

impl Broadcaster for CausalNode {
    fn broadcast(value: u64) -> Request {
        Request::Broadcast { value }
    }
    fn value_of(req: &Request) -> u64 {
        let Request::Broadcast { value } = req;
        *value
    }
    fn delivered(&self) -> &[u64] {
        &self.delivered
    }
}

/// Vector-clock causal broadcast written in the suite. It may skip one
/// entry of the vector when testing whether a message is deliverable (as a
/// loop over `0..n - 1` would), test only the sender's entry, which is
/// FIFO broadcast, or deliver at most one buffered message per arrival (an
/// `if let` where a `while let` belongs), leaving deliverable ones behind.
#[derive(Debug)]
struct Model {
    ignored: Option<usize>,
    fifo_only: bool,
    scans_once: bool,
    delivered: Vec<u64>,
    counts: Vec<u64>,
    buffer: Vec<(NodeId, Vec<u64>, u64)>,
}

impl Model {
    fn new(ignored: Option<usize>) -> Self {
        Model {
            ignored,
            fifo_only: false,
            scans_once: false,
            delivered: Vec::new(),
            counts: vec![0; NODES],
            buffer: Vec::new(),
        }
    }

    fn fifo_only(mut self) -> Self {
        self.fifo_only = true;
        self
    }

    fn scans_once(mut self) -> Self {
        self.scans_once = true;
        self
    }

    fn deliverable(&self, sender: NodeId, deps: &[u64]) -> bool {
        let s = sender.index();
        (0..NODES).all(|k| {
            if Some(k) == self.ignored {
                true
            } else if k == s {
                deps[k] == self.counts[k]
            } else {
                self.fifo_only || deps[k] <= self.counts[k]
            }
        })
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct ModelMsg {
    deps: Vec<u64>,
    value: u64,
}

impl Node for Model {
    type Msg = ModelMsg;
    type Timer = ();
    type Request = Bcast;
    type Reply = ();

    fn on_request(&mut self, ctx: &mut Ctx<Self>, _id: RequestId, req: Bcast) {
        ctx.broadcast(ModelMsg {
            deps: self.counts.clone(),
            value: req.0,
        });
        self.delivered.push(req.0);
        self.counts[ctx.id().index()] += 1;
    }

    fn on_message(&mut self, _ctx: &mut Ctx<Self>, from: NodeId, msg: ModelMsg) {
        let copy = msg.deps[from.index()] < self.counts[from.index()]
            || self
                .buffer
                .iter()
                .any(|(s, deps, _)| *s == from && *deps == msg.deps);
        if copy {
            return;
        }
        self.buffer.push((from, msg.deps, msg.value));
        while let Some(i) = self
            .buffer
            .iter()
            .position(|(s, deps, _)| self.deliverable(*s, deps))
        {
            let (sender, _, value) = self.buffer.remove(i);
            self.delivered.push(value);
            self.counts[sender.index()] += 1;
            if self.scans_once {
                break;
            }
        }
    }
}

impl Broadcaster for Model {
    fn broadcast(value: u64) -> Bcast {
        Bcast(value)
    }
    fn value_of(req: &Bcast) -> u64 {
        req.0
    }
    fn delivered(&self) -> &[u64] {
        &self.delivered
    }
}
