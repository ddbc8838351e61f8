//! broadcast_total_order: every node delivers the same sequence, checked as
//! prefix agreement after every event, on FIFO links (fixed latency: in
//! order, no loss, no copies).

use super::observe::{everyone_delivered, settle, watch, Bcast, Broadcaster, Load, Order, TOTAL};
use crate::expect_caught;
use crate::subject::broadcast::total_order::{Request, TotalOrderNode};
use dscheck::{ms, run, secs, Failure, Suite};
use dsim::{Ctx, Network, Node, NodeId, RequestId, Sim};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

const NODES: usize = 4;
const LIVENESS: Duration = secs(5);

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded(
            "total_order::every_node_delivers_the_same_sequence",
            20,
            |seed| scenario(seed, |_| TotalOrderNode::new(), Load::Random),
        )
        .seeded(
            "total_order::simultaneous_broadcasts_from_every_node",
            10,
            |seed| scenario(seed, |_| TotalOrderNode::new(), Load::Rounds),
        )
        .seeded(
            "total_order::a_group_of_one_delivers_its_own_broadcasts",
            3,
            |seed| group_of(1, seed, |_| TotalOrderNode::new(), Load::Random),
        )
        .test(
            "meta::total_order_breaking_ties_by_arrival_is_caught",
            || {
                expect_caught(TOTAL, |seed| {
                    scenario(seed, |_| ByArrival::default(), Load::Random)
                })
            },
        )
}

impl Broadcaster for TotalOrderNode {
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

/// Four nodes on FIFO links of 10 ms, the broadcasts of `load` (many at the
/// same moment on different nodes); prefix agreement after every event, and
/// at the end every node must have every value.
fn scenario<N: Broadcaster>(
    seed: u64,
    make: impl FnMut(NodeId) -> N + 'static,
    load: Load,
) -> Result<(), Failure> {
    group_of(NODES, seed, make, load)
}

/// [`scenario`] with `nodes` nodes. A group of one hears from no one: it
/// must deliver its own broadcast as soon as nothing older can come.
fn group_of<N: Broadcaster>(
    nodes: usize,
    seed: u64,
    make: impl FnMut(NodeId) -> N + 'static,
    load: Load,
) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, nodes, make);
    sim.set_network(Network::reliable(ms(10), ms(10)));
    let seen = watch(&mut sim, Order::Total);
    load.schedule(&mut sim);
    run(&mut sim, |s| s.run_for(secs(1)))?;
    settle(&mut sim, &seen, LIVENESS)?;
    everyone_delivered(&sim, &seen, LIVENESS, "the last broadcast")
}

/// Lamport-clock total order written in the suite, except that broadcasts
/// with equal times go in the order they arrived instead of by node id.
#[derive(Debug, Default)]
struct ByArrival {
    delivered: Vec<u64>,
    clock: u64,
    /// (time, value), in time order, equal times in arrival order.
    pending: Vec<(u64, u64)>,
    latest: BTreeMap<NodeId, u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
enum ModelMsg {
    Broadcast { time: u64, value: u64 },
    Ack { time: u64 },
}

impl ByArrival {
    fn hold(&mut self, time: u64, value: u64) {
        let at = self.pending.partition_point(|&(t, _)| t <= time);
        self.pending.insert(at, (time, value));
    }

    fn deliver_ready(&mut self, ctx: &Ctx<Self>) {
        while let Some(&(time, value)) = self.pending.first() {
            let safe = ctx
                .peers()
                .iter()
                .all(|p| self.latest.get(p).is_some_and(|&t| t >= time));
            if !safe {
                break;
            }
            self.pending.remove(0);
            self.delivered.push(value);
        }
    }
}

impl Node for ByArrival {
    type Msg = ModelMsg;
    type Timer = ();
    type Request = Bcast;
    type Reply = ();

    fn on_request(&mut self, ctx: &mut Ctx<Self>, _id: RequestId, req: Bcast) {
        self.clock += 1;
        self.hold(self.clock, req.0);
        ctx.broadcast(ModelMsg::Broadcast {
            time: self.clock,
            value: req.0,
        });
        self.deliver_ready(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: ModelMsg) {
        let time = match msg {
            ModelMsg::Broadcast { time, .. } | ModelMsg::Ack { time } => time,
        };
        self.clock = self.clock.max(time) + 1;
        self.latest.insert(from, time);
        if let ModelMsg::Broadcast { time, value } = msg {
            self.hold(time, value);
            ctx.broadcast(ModelMsg::Ack { time: self.clock });
        }
        self.deliver_ready(ctx);
    }
}

impl Broadcaster for ByArrival {
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
