//! broadcast_fifo: each sender's values in the order it broadcast them, on
//! a network that reorders and duplicates (but does not lose).

use super::observe::{everyone_delivered, settle, watch, Bcast, Broadcaster, Load, Order, FIFO};
use crate::expect_caught;
use crate::subject::broadcast::fifo::{FifoNode, Request};
use dscheck::{ms, run, secs, Failure, Suite};
use dsim::{Ctx, Network, Node, NodeId, RequestId, Sim};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::time::Duration;

const NODES: usize = 4;
const LIVENESS: Duration = secs(5);

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded("fifo::each_senders_values_in_order", 20, |seed| {
            scenario(seed, |_| FifoNode::new(), Order::Fifo, Load::Random)
        })
        .seeded("fifo::a_burst_from_one_sender_stays_in_order", 10, |seed| {
            scenario(seed, |_| FifoNode::new(), Order::Fifo, Load::Burst)
        })
        .test("meta::fifo_that_delivers_on_arrival_is_caught", || {
            expect_caught(FIFO, |seed| {
                scenario(seed, |_| ArrivalOrder::default(), Order::Fifo, Load::Random)
            })
        })
}

impl Broadcaster for FifoNode {
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

/// Links of 1–20 ms that never lose, but deliver a fifth of the messages
/// twice and hold a fifth back for up to 200 ms, so later messages overtake
/// earlier ones.
pub fn reordering() -> Network {
    Network::reliable(ms(1), ms(20))
        .with_duplication(0.2)
        .with_long_delays(0.2, ms(200))
}

/// Four nodes on the reordering network, the broadcasts of `load`; `order`
/// checked after every event, and at the end every node must have every
/// value.
pub fn scenario<N: Broadcaster>(
    seed: u64,
    make: impl FnMut(NodeId) -> N + 'static,
    order: Order,
    load: Load,
) -> Result<(), Failure> {
    scenario_watching(seed, make, order, load, |_| {})
}

/// [`scenario`], with more checks put on the run by `also`.
pub fn scenario_watching<N: Broadcaster>(
    seed: u64,
    make: impl FnMut(NodeId) -> N + 'static,
    order: Order,
    load: Load,
    also: impl FnOnce(&mut Sim<N>),
) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, NODES, make);
    sim.set_network(reordering());
    let seen = watch(&mut sim, order);
    also(&mut sim);
    load.schedule(&mut sim);
    run(&mut sim, |s| s.run_for(secs(1)))?;
    settle(&mut sim, &seen, LIVENESS)?;
    everyone_delivered(&sim, &seen, LIVENESS, "the last broadcast")
}

/// Sends each value straight to every peer and delivers a message the
/// moment it arrives (copies recognised), with no hold-back queue.
#[derive(Debug, Default)]
pub struct ArrivalOrder {
    delivered: Vec<u64>,
    seen: BTreeSet<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Value(u64);

impl Node for ArrivalOrder {
    type Msg = Value;
    type Timer = ();
    type Request = Bcast;
    type Reply = ();

    fn on_request(&mut self, ctx: &mut Ctx<Self>, _id: RequestId, req: Bcast) {
        self.seen.insert(req.0);
        self.delivered.push(req.0);
        ctx.broadcast(Value(req.0));
    }

    fn on_message(&mut self, _ctx: &mut Ctx<Self>, _from: NodeId, msg: Value) {
        if self.seen.insert(msg.0) {
            self.delivered.push(msg.0);
        }
    }
}

impl Broadcaster for ArrivalOrder {
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
