//! broadcast_causal: every delivery respects happens-before among
//! broadcasts and deliveries, computed from the trace (never from the
//! vectors under test), on a network that reorders and duplicates.

use super::fifo::{scenario, scenario_watching};
use super::observe::{
    everyone_delivered, settle, watch, Bcast, Broadcaster, Load, Order, CAUSAL, VALIDITY,
};
use crate::expect_caught;
use crate::subject::broadcast::causal::{CausalNode, Request, Waiting};
use dscheck::{ms, run, secs, Failure, Property, Suite};
use dsim::{Broken, Ctx, Network, Node, NodeId, RequestId, Sim};
use serde::{Deserialize, Serialize};

const NODES: usize = 4;

pub const HOLDS_BACK: Property = Property {
    name: "a node holds back only messages it has not delivered, each once",
    hint: "drop a copy before buffering it: a message whose sender's entry is below your count for that sender was delivered already, and one equal to a buffered message (same sender, same vector) is waiting already",
    when: &[],
};

/// The buffer of a causal node, as the suite can read it.
pub trait HoldBack: Broadcaster {
    fn held(&self) -> (&[Waiting], &[u64]);
}

impl HoldBack for CausalNode {
    fn held(&self) -> (&[Waiting], &[u64]) {
        (&self.buffer, &self.delivered_from)
    }
}

/// Checks after every event: each buffered message is still to be
/// delivered (its sender's entry is at least this node's count of that
/// sender's deliveries), and no two are the same message.
pub fn watch_buffer<N: HoldBack>(sim: &mut Sim<N>) {
    sim.check(HOLDS_BACK, |sim, step| {
        let Some(node) = step.trigger().and_then(|e| e.event.handled_by()) else {
            return Ok(());
        };
        let Some(state) = sim.node(node) else {
            return Ok(());
        };
        let (buffer, counts) = state.held();
        for (i, w) in buffer.iter().enumerate() {
            let s = w.sender.index();
            if w.deps[s] < counts[s] {
                return Err(Broken::new(format!(
                    "{node} holds back {} from {} (its entry for {} is {}), but has delivered {} messages from {} already",
                    w.value, w.sender, w.sender, w.deps[s], counts[s], w.sender
                ))
                .nodes([node]));
            }
            if buffer[..i].iter().any(|o| o.sender == w.sender && o.deps == w.deps) {
                return Err(Broken::new(format!(
                    "{node} holds back two copies of {} from {}",
                    w.value, w.sender
                ))
                .nodes([node]));
            }
        }
        Ok(())
    });
}

/// Twelve questions and answers, each node asking three times in turn.
/// A question goes out on slow links (30–100 ms); the first node to
/// deliver it answers at once, on links of 1 ms, so the answer reaches the
/// two others before the question: they must hold it back. Whichever
/// entry of the vector a node fails to check, some answer overtakes a
/// question from that node.
pub fn answers_overtake<N: Broadcaster>(
    seed: u64,
    make: impl FnMut(NodeId) -> N + 'static,
) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, NODES, make);
    let seen = watch(&mut sim, Order::Causal);
    let slow = Network::reliable(ms(30), ms(100));
    let fast = Network::reliable(ms(1), ms(1));
    for round in 0..12u64 {
        let asker = NodeId(round as usize % NODES);
        let (question, answer) = (2 * round + 1, 2 * round + 2);
        sim.set_network(slow.clone());
        sim.request(asker, N::broadcast(question));
        let first = |sim: &Sim<N>| {
            let d = seen.borrow();
            sim.ids().find(|&id| id != asker && d.has(id, question))
        };
        run(&mut sim, |s| s.run_until(ms(200), |s| first(s).is_some()))?;
        let Some(answerer) = first(&sim) else {
            continue;
        };
        sim.note(format!(
            "{answerer} delivered {question} first and answers it with {answer} on fast links"
        ));
        sim.set_network(fast.clone());
        sim.request(answerer, N::broadcast(answer));
        run(&mut sim, |s| s.run_for(ms(150)))?;
    }
    settle(&mut sim, &seen, secs(5))?;
    everyone_delivered(&sim, &seen, secs(5), "the last answer")
}

pub fn tests(suite: Suite) -> Suite {
    let suite = suite
        .seeded(
            "causal::holds_back_only_what_it_has_not_delivered",
            5,
            |seed| {
                scenario_watching(
                    seed,
                    |_| CausalNode::new(NODES),
                    Order::Causal,
                    Load::Random,
                    watch_buffer,
                )
            },
        )
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
        .seeded(
            "causal::an_answer_that_overtakes_its_question_waits",
            5,
            |seed| answers_overtake(seed, |_| CausalNode::new(NODES)),
        )
        .test(
            "meta::causal_that_ignores_one_entry_of_the_vector_is_caught",
            || {
                expect_caught(CAUSAL, |seed| {
                    answers_overtake(seed, |_| Model::new(Some(NODES - 1)))
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
                scenario(seed, |_| Model::new(None), Order::Causal, Load::Turns)?;
                answers_overtake(seed, |_| Model::new(None))
            })
        });
    #[cfg(bugs)]
    let suite = suite.test("meta::causal_buffering_copies_is_caught", || {
        expect_caught(HOLDS_BACK, |seed| {
            scenario_watching(
                seed,
                |_| crate::bugs::buffers_copies::causal::CausalNode::new(NODES),
                Order::Causal,
                Load::Random,
                watch_buffer,
            )
        })
    });
    suite
}

#[cfg(bugs)]
impl Broadcaster for crate::bugs::buffers_copies::causal::CausalNode {
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

#[cfg(bugs)]
impl HoldBack for crate::bugs::buffers_copies::causal::CausalNode {
    fn held(&self) -> (&[Waiting], &[u64]) {
        (&self.buffer, &self.delivered_from)
    }
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
