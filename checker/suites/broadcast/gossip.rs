//! broadcast_gossip: 25 nodes on links of 100 ms. Every value reaches every
//! node, with fewer than 30 messages per broadcast, a median latency under
//! 400 ms and a maximum under 600 ms (the bounds of the Gossip Glomers
//! efficient-broadcast challenge), and still reaches every node when the
//! network loses messages or splits for a while. After every event, each
//! node's gossip follows the rules of the exercise (`links`).

pub mod links;
#[cfg(bugs)]
mod meta;

use super::observe::{
    everyone_delivered, schedule, settle, watch, Bcast, Broadcaster, Order, VALIDITY,
};
use crate::expect_caught;
use crate::subject::broadcast::gossip::{neighbours, GossipNode};
use dscheck::{ensure, metric, ms, run, secs, Failure, Property, Suite};
use dsim::{Ctx, Network, Node, NodeId, RequestId, Sim};
use links::Rules;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::time::Duration;

const NODES: usize = 25;
/// Every link's latency.
const LINK: Duration = ms(100);
const LIVENESS: Duration = secs(10);
/// The workload of the efficiency test: 100 broadcasts over 2 s.
const BROADCASTS: usize = 100;

pub const MESSAGES: Property = Property {
    name: "fewer than 30 messages per broadcast",
    hint: "talk to a few neighbours, not to everyone, and batch: every 100 ms or so, send each neighbour one message with all the values it lacks",
    when: &[],
};
pub const MEDIAN: Property = Property {
    name: "the median broadcast reaches every node within 400 ms",
    hint: "count the hops between the farthest nodes of your overlay: each costs 100 ms plus the wait for the next gossip round",
    when: &[],
};
pub const SLOWEST: Property = Property {
    name: "every broadcast reaches every node within 600 ms",
    hint: "a value must cross the overlay in at most 600 ms: few hops (a star has two) and a short gossip interval",
    when: &[],
};
pub const OVERLAY: Property = Property {
    name: "the overlay is symmetric, has no node as its own neighbour, and connects every node",
    hint: "neighbours(a) contains b exactly when neighbours(b) contains a; a star (node 0 and everyone else) is the simplest choice",
    when: &[],
};

pub fn tests(suite: Suite) -> Suite {
    let suite = suite
        .test("gossip::the_overlay_is_symmetric_and_connected", overlay)
        .seeded(
            "gossip::reaches_every_node_fast_with_few_messages",
            3,
            |seed| efficient(seed, |_| GossipNode::new()),
        )
        .seeded("gossip::reaches_every_node_despite_loss", 4, |seed| {
            lossy(seed, |_| GossipNode::new())
        })
        .seeded(
            "gossip::reaches_every_node_after_a_partition_heals",
            4,
            |seed| partitioned(seed, |_| GossipNode::new()),
        )
        .test(
            "meta::gossip_forwarding_once_without_retry_is_caught",
            || expect_caught(VALIDITY, |seed| lossy(seed, |_| Eager::new(false))),
        )
        .test("meta::gossip_flooding_every_peer_is_caught", || {
            expect_caught(MESSAGES, |seed| efficient(seed, |_| Eager::new(true)))
        });
    #[cfg(bugs)]
    let suite = meta::tests(suite);
    suite
}

crate::gossiper!(GossipNode);

impl Rules for Eager {}

/// `neighbours` for 25 nodes: symmetric, no self-loops, connected; reports
/// the overlay's diameter (the most hops between two nodes).
fn overlay() -> Result<(), Failure> {
    let ids: Vec<NodeId> = (0..NODES).map(NodeId).collect();
    let lists: Vec<Vec<NodeId>> = ids.iter().map(|&id| neighbours(id, NODES)).collect();
    for (&a, list) in ids.iter().zip(&lists) {
        for &b in list {
            ensure(b.index() < NODES, OVERLAY, || {
                format!(
                    "neighbours({a}) contains {b}, but the nodes are n0 to n{}",
                    NODES - 1
                )
            })?;
            ensure(b != a, OVERLAY, || {
                format!("neighbours({a}) contains {a} itself")
            })?;
            ensure(lists[b.index()].contains(&a), OVERLAY, || {
                format!(
                    "neighbours({a}) contains {b}, but neighbours({b}) = {:?} does not contain {a}",
                    lists[b.index()]
                )
            })?;
        }
    }
    let mut diameter = 0;
    for &from in &ids {
        let mut hops = vec![usize::MAX; NODES];
        hops[from.index()] = 0;
        let mut frontier = vec![from];
        while let Some(node) = frontier.pop() {
            for &next in &lists[node.index()] {
                if hops[next.index()] > hops[node.index()] + 1 {
                    hops[next.index()] = hops[node.index()] + 1;
                    frontier.push(next);
                }
            }
        }
        if let Some(unreached) = ids.iter().find(|id| hops[id.index()] == usize::MAX) {
            return Err(Failure::new(
                OVERLAY,
                format!("no path of neighbours leads from {from} to {unreached}"),
            ));
        }
        diameter = diameter.max(hops.into_iter().max().unwrap_or(0));
    }
    metric("overlay diameter (hops)", diameter);
    Ok(())
}

/// Records a measurement of the first seed (or of the seed being replayed).
fn measure(seed: u64, name: &str, value: impl ToString) {
    if seed == 1 || dscheck::replaying() {
        metric(name, value);
    }
}

/// 100 broadcasts from random nodes over 2 s on a network that neither
/// loses nor reorders; then the message count and the latencies (from the
/// broadcast request to the delivery at the last node) against the bounds.
pub fn efficient<N: Rules>(
    seed: u64,
    make: impl FnMut(NodeId) -> N + 'static,
) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, NODES, make);
    sim.set_network(Network::reliable(LINK, LINK));
    let seen = watch(&mut sim, Order::Any);
    N::watch_rules(&mut sim);
    let all: Vec<NodeId> = sim.ids().collect();
    schedule(&mut sim, 1, BROADCASTS, secs(2), &all);
    run(&mut sim, |s| s.run_for(secs(2)))?;
    settle(&mut sim, &seen, LIVENESS)?;
    everyone_delivered(&sim, &seen, LIVENESS, "the last broadcast")?;
    let per_broadcast = sim.stats().sent as f64 / BROADCASTS as f64;
    let d = seen.borrow();
    let mut latencies: Vec<(Duration, u64)> = d
        .sent
        .iter()
        .map(|(&v, s)| (d.reached[&v].1.saturating_since(s.at), v))
        .collect();
    latencies.sort();
    let median = latencies[latencies.len() / 2].0;
    let (slowest, slowest_value) = latencies[latencies.len() - 1];
    measure(
        seed,
        "messages per broadcast",
        format!("{per_broadcast:.1}"),
    );
    measure(seed, "median latency", format!("{} ms", median.as_millis()));
    measure(
        seed,
        "maximum latency",
        format!("{} ms", slowest.as_millis()),
    );
    if per_broadcast >= 30.0 {
        let detail = format!(
            "{} messages for {BROADCASTS} broadcasts: {per_broadcast:.1} per broadcast",
            sim.stats().sent
        );
        return Err(Failure::after_run(&sim, MESSAGES, detail));
    }
    if median >= ms(400) {
        let detail = format!(
            "half the broadcasts took {} ms or more to reach the last node",
            median.as_millis()
        );
        return Err(Failure::after_run(&sim, MEDIAN, detail));
    }
    if slowest >= ms(600) {
        let origin = d.sent[&slowest_value].origin;
        let detail = format!(
            "{slowest_value}, broadcast by {origin}, took {} ms to reach the last node",
            slowest.as_millis()
        );
        return Err(Failure::after_run(&sim, SLOWEST, detail));
    }
    Ok(())
}

/// 60 broadcasts over 2 s on links that lose a fifth of the messages.
pub fn lossy<N: Rules>(seed: u64, make: impl FnMut(NodeId) -> N + 'static) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, NODES, make);
    sim.set_network(Network::reliable(LINK, LINK).with_loss(0.2));
    let seen = watch(&mut sim, Order::Any);
    N::watch_rules(&mut sim);
    let all: Vec<NodeId> = sim.ids().collect();
    schedule(&mut sim, 1, 60, secs(2), &all);
    run(&mut sim, |s| s.run_for(secs(2)))?;
    settle(&mut sim, &seen, LIVENESS)?;
    everyone_delivered(&sim, &seen, LIVENESS, "the last broadcast")
}

/// 60 broadcasts over 2 s; from 0.5 s to 1.5 s the nodes are split in two
/// random halves.
pub fn partitioned<N: Rules>(
    seed: u64,
    make: impl FnMut(NodeId) -> N + 'static,
) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, NODES, make);
    sim.set_network(Network::reliable(LINK, LINK));
    let seen = watch(&mut sim, Order::Any);
    N::watch_rules(&mut sim);
    let mut all: Vec<NodeId> = sim.ids().collect();
    schedule(&mut sim, 1, 60, secs(2), &all);
    sim.scenario_rng().shuffle(&mut all);
    run(&mut sim, |s| s.run_for(ms(500)))?;
    let (a, b) = all.split_at(NODES / 2);
    run(&mut sim, |s| s.partition(&[a, b]))?;
    run(&mut sim, |s| s.run_for(secs(1)))?;
    run(&mut sim, |s| s.heal())?;
    run(&mut sim, |s| s.run_for(ms(500)))?;
    settle(&mut sim, &seen, LIVENESS)?;
    everyone_delivered(&sim, &seen, LIVENESS, "the partition healed")
}

/// Forwards each new value at once, once, and never again: to the other
/// nodes of a star (node 0 in the middle), or to every peer.
#[derive(Debug)]
struct Eager {
    flood: bool,
    delivered: Vec<u64>,
    values: BTreeSet<u64>,
}

impl Eager {
    fn new(flood: bool) -> Self {
        Eager {
            flood,
            delivered: Vec::new(),
            values: BTreeSet::new(),
        }
    }

    fn learn(&mut self, ctx: &mut Ctx<Self>, from: Option<NodeId>, value: u64) {
        if !self.values.insert(value) {
            return;
        }
        self.delivered.push(value);
        let targets: Vec<NodeId> = if self.flood || ctx.id() == NodeId(0) {
            ctx.peers().to_vec()
        } else {
            vec![NodeId(0)]
        };
        for peer in targets.into_iter().filter(|&p| Some(p) != from) {
            ctx.send(peer, Values(value));
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Values(u64);

impl Node for Eager {
    type Msg = Values;
    type Timer = ();
    type Request = Bcast;
    type Reply = ();

    fn on_request(&mut self, ctx: &mut Ctx<Self>, _id: RequestId, req: Bcast) {
        self.learn(ctx, None, req.0);
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Values) {
        self.learn(ctx, Some(from), msg.0);
    }
}

impl Broadcaster for Eager {
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
