//! broadcast_reliable: validity, agreement, no duplication and no creation
//! over links that lose, duplicate and reorder, with crash-stop nodes and a
//! partition that heals; each node's records and copies checked after every
//! event (`records`); and the rare schedules that break a relay written
//! only half right, played on purpose (`scripted`).

#[cfg(bugs)]
mod meta;
pub mod records;
pub mod scripted;

use super::observe::{
    everyone_delivered, schedule, settle, watch, Bcast, Broadcaster, Order, AGREEMENT,
    NO_DUPLICATION,
};
use crate::expect_caught;
use crate::subject::broadcast::reliable::ReliableNode;
use dscheck::{ms, run, secs, Failure, Property, Suite};
use dsim::{Ctx, Network, Node, NodeId, RequestId, Sim};
use records::{falls_silent, watch_records, Records};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const NODES: usize = 5;
/// How long the correct nodes have to catch up once the faults stop.
const LIVENESS: Duration = secs(10);

pub fn tests(suite: Suite) -> Suite {
    let suite = suite
        .seeded(
            "reliable::every_value_reaches_every_node_over_lossy_links",
            10,
            |seed| lossy_links(seed, |_| ReliableNode::new()),
        )
        .seeded(
            "reliable::agreement_when_the_sender_crashes_mid_broadcast",
            10,
            |seed| sender_crashes(seed, |_| ReliableNode::new()),
        )
        .seeded("reliable::crashes_and_a_healed_partition", 10, |seed| {
            crashes_and_partition(seed, |_| ReliableNode::new())
        })
        .seeded(
            "reliable::agreement_when_the_origin_and_its_only_receiver_crash",
            3,
            |seed| scripted::origin_and_first_receiver_crash(seed, |_| ReliableNode::new()),
        )
        .seeded(
            "reliable::relays_are_retransmitted_after_the_origin_crashes",
            3,
            |seed| scripted::relays_lost_after_the_origin_crashes(seed, |_| ReliableNode::new()),
        )
        .seeded(
            "reliable::a_node_cut_off_during_a_broadcast_still_gets_it",
            3,
            |seed| {
                scripted::one_node_cut_off_while_a_message_spreads(seed, |_| ReliableNode::new())
            },
        )
        .seeded("reliable::prompt_and_then_silent_without_loss", 3, |seed| {
            scripted::prompt_without_loss(seed, |_| ReliableNode::new())
        })
        .test("meta::reliable_without_relaying_is_caught", || {
            expect_caught(AGREEMENT, |seed| {
                scripted::relays_lost_after_the_origin_crashes(seed, |_| Model::new(false, true))
            })
        })
        .test("meta::reliable_that_delivers_copies_is_caught", || {
            expect_caught(NO_DUPLICATION, |seed| {
                lossy_links(seed, |_| Model::new(true, false))
            })
        })
        .test("meta::reliable_model_is_accepted", || {
            dscheck::expect_accepted("the scenarios", 5, |seed| {
                lossy_links(seed, |_| Model::new(true, true))?;
                sender_crashes(seed, |_| Model::new(true, true))?;
                crashes_and_partition(seed, |_| Model::new(true, true))?;
                scripted::origin_and_first_receiver_crash(seed, |_| Model::new(true, true))?;
                scripted::relays_lost_after_the_origin_crashes(seed, |_| Model::new(true, true))?;
                scripted::one_node_cut_off_while_a_message_spreads(seed, |_| {
                    Model::new(true, true)
                })?;
                scripted::prompt_without_loss(seed, |_| Model::new(true, true))
            })
        });
    #[cfg(bugs)]
    let suite = meta::tests(suite);
    suite
}

crate::reliable_records!(ReliableNode);

/// Links of 1–20 ms that lose a fifth of the messages, duplicate a tenth,
/// and hold some back for up to 100 ms.
fn lossy() -> Network {
    Network::reliable(ms(1), ms(20))
        .with_loss(0.2)
        .with_duplication(0.1)
        .with_long_delays(0.05, ms(100))
}

/// No crashes: 30 broadcasts from random nodes over half a second; a
/// second after every node has them all, the nodes have stopped sending.
pub fn lossy_links<N: Records>(
    seed: u64,
    make: impl FnMut(NodeId) -> N + 'static,
) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, NODES, make);
    sim.set_network(lossy());
    let seen = watch(&mut sim, Order::Any);
    watch_records(&mut sim);
    let all: Vec<NodeId> = sim.ids().collect();
    schedule(&mut sim, 1, 30, ms(500), &all);
    run(&mut sim, |s| s.run_for(ms(600)))?;
    settle(&mut sim, &seen, LIVENESS)?;
    everyone_delivered(&sim, &seen, LIVENESS, "the last broadcast")?;
    falls_silent(&mut sim, secs(1), ms(500))
}

/// A sender cut off from half the others broadcasts, reaches only the near
/// half, and crashes; the links come back. Other nodes broadcast meanwhile.
pub fn sender_crashes<N: Records>(
    seed: u64,
    make: impl FnMut(NodeId) -> N + 'static,
) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, NODES, make);
    sim.set_network(lossy());
    let seen = watch(&mut sim, Order::Any);
    watch_records(&mut sim);
    let mut rng = sim.scenario_rng();
    let sender = NodeId(rng.below(NODES as u64) as usize);
    let mut others: Vec<NodeId> = sim.ids().filter(|&id| id != sender).collect();
    rng.shuffle(&mut others);
    let far = others[..NODES / 2].to_vec();
    for &node in &far {
        run(&mut sim, |s| s.cut(sender, node))?;
    }
    let next = schedule(&mut sim, 1, 10, ms(300), &others);
    sim.note(format!(
        "{sender} broadcasts {next} while cut off from {}, and crashes 80 ms later",
        far.iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    ));
    sim.request(sender, N::broadcast(next));
    run(&mut sim, |s| s.run_for(ms(80)))?;
    run(&mut sim, |s| s.crash(sender))?;
    run(&mut sim, |s| s.heal())?;
    run(&mut sim, |s| s.run_for(ms(300)))?;
    settle(&mut sim, &seen, LIVENESS)?;
    everyone_delivered(&sim, &seen, LIVENESS, "the links came back")
}

/// 40 broadcasts over a second; meanwhile two nodes crash for good at
/// random moments, and the nodes are split in two for 300 ms.
pub fn crashes_and_partition<N: Records>(
    seed: u64,
    make: impl FnMut(NodeId) -> N + 'static,
) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, NODES, make);
    sim.set_network(lossy());
    let seen = watch(&mut sim, Order::Any);
    watch_records(&mut sim);
    let all: Vec<NodeId> = sim.ids().collect();
    schedule(&mut sim, 1, 40, secs(1), &all);
    let mut rng = sim.scenario_rng();
    let mut order = all.clone();
    rng.shuffle(&mut order);
    let split = 1 + rng.below(NODES as u64 - 1) as usize;
    let partition_at = rng.range(100..=500);
    // (time in ms, what happens): two crashes, a partition and its healing.
    let mut faults: Vec<(u64, Fault)> = vec![
        (rng.range(0..=900), Fault::Crash(order[0])),
        (rng.range(0..=900), Fault::Crash(order[1])),
        (partition_at, Fault::Split),
        (partition_at + 300, Fault::Heal),
    ];
    faults.sort_by_key(|(at, _)| *at);
    let mut now = 0;
    for (at, fault) in faults {
        run(&mut sim, |s| s.run_for(ms(at - now)))?;
        now = at;
        match fault {
            Fault::Crash(node) => run(&mut sim, |s| s.crash(node))?,
            Fault::Split => {
                let (a, b) = order.split_at(split);
                run(&mut sim, |s| s.partition(&[a, b]))?
            }
            Fault::Heal => run(&mut sim, |s| s.heal())?,
        }
    }
    run(&mut sim, |s| s.run_for(ms(1100 - now)))?;
    settle(&mut sim, &seen, LIVENESS)?;
    everyone_delivered(
        &sim,
        &seen,
        LIVENESS,
        "the partition healed and the last broadcast",
    )
}

enum Fault {
    Crash(NodeId),
    Split,
    Heal,
}

/// Eager reliable broadcast written in the suite, with retransmission; it
/// may skip relaying, or deliver every copy it receives.
#[derive(Debug)]
struct Model {
    relay: bool,
    dedup: bool,
    delivered: Vec<u64>,
    seq: u64,
    seen: BTreeSet<(NodeId, u64)>,
    /// Unacknowledged copies: value and the peers still to confirm.
    outgoing: BTreeMap<(NodeId, u64), (u64, BTreeSet<NodeId>)>,
}

impl Model {
    fn new(relay: bool, dedup: bool) -> Self {
        Model {
            relay,
            dedup,
            delivered: Vec::new(),
            seq: 0,
            seen: BTreeSet::new(),
            outgoing: BTreeMap::new(),
        }
    }

    fn send(&mut self, ctx: &mut Ctx<Self>, id: (NodeId, u64), value: u64, to: BTreeSet<NodeId>) {
        for &peer in &to {
            ctx.send(peer, ModelMsg::Data { id, value });
        }
        self.outgoing.insert(id, (value, to));
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
enum ModelMsg {
    Data { id: (NodeId, u64), value: u64 },
    Ack { id: (NodeId, u64) },
}

impl Node for Model {
    type Msg = ModelMsg;
    type Timer = ();
    type Request = Bcast;
    type Reply = ();

    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        ctx.set_timer((), ms(50));
    }

    fn on_request(&mut self, ctx: &mut Ctx<Self>, _id: RequestId, req: Bcast) {
        self.seq += 1;
        let id = (ctx.id(), self.seq);
        self.seen.insert(id);
        self.delivered.push(req.0);
        let peers = ctx.peers().iter().copied().collect();
        self.send(ctx, id, req.0, peers);
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: ModelMsg) {
        match msg {
            ModelMsg::Data { id, value } => {
                ctx.send(from, ModelMsg::Ack { id });
                let first = self.seen.insert(id);
                if first || !self.dedup {
                    self.delivered.push(value);
                }
                if first && self.relay {
                    let others = ctx
                        .peers()
                        .iter()
                        .copied()
                        .filter(|&p| p != from && p != id.0)
                        .collect();
                    self.send(ctx, id, value, others);
                }
            }
            ModelMsg::Ack { id } => {
                if let Some((_, waiting)) = self.outgoing.get_mut(&id) {
                    waiting.remove(&from);
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, _timer: ()) {
        for (&id, (value, waiting)) in &self.outgoing {
            for &peer in waiting {
                ctx.send(peer, ModelMsg::Data { id, value: *value });
            }
        }
        ctx.set_timer((), ms(50));
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

impl Records for Model {
    fn records(&self) -> Result<(), (Property, String)> {
        Ok(())
    }
    fn copy_origin(msg: &ModelMsg) -> Option<NodeId> {
        match msg {
            ModelMsg::Data { id, .. } => Some(id.0),
            ModelMsg::Ack { .. } => None,
        }
    }
}
