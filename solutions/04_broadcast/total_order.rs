//! # broadcast_total_order: one sequence for everyone
//!
//! Total order broadcast: every node delivers the same values in the same
//! order. Concurrent broadcasts from different nodes may go in either order,
//! but the same order everywhere, so at any moment the sequences delivered
//! by two nodes are one a prefix of the other.
//!
//! This exercise builds it without a leader, from Lamport clocks
//! (`clocks_lamport`):
//! - every message carries a stamp `(time, node)`; stamps are totally
//!   ordered: by time, and by node id when the times are equal. The id
//!   breaks ties the same way on every node, which arrival order would not;
//! - a node keeps its received but undelivered broadcasts in stamp order;
//! - the one with the smallest stamp may be delivered once no smaller stamp
//!   can still arrive. The links here are FIFO (in order, no loss, no
//!   copies), and a node's stamps only grow, so once a node has heard from
//!   every other node a stamp at least as large, nothing smaller will come;
//! - so that a quiet node does not hold everyone up, every node answers
//!   each broadcast with an `Ack` to all, stamped after the broadcast.
//!
//! The price: each broadcast costs a message from every node to every node,
//! and one crashed node stops every delivery. Fault-tolerant total order is
//! consensus, the subject of 05 raft.
//!
// exercise: begin
// stub: //! Read `exercises/04_broadcast/README.md` first. Then fill in each
// stub: //! `todo!()`: `deliver_ready` first, then the two handlers.
//! The reference solution: each handler is one rule of the protocol.
// exercise: end

use dsim::{Ctx, Node, NodeId, RequestId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A Lamport timestamp with the node id as tie-breaker. The derived order
/// compares `time` first, then `node`: the total order of the broadcast.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Stamp {
    pub time: u64,
    pub node: NodeId,
}

/// What a client asks a node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Broadcast `value` to every node (the test makes every value unique).
    Broadcast { value: u64 },
}

/// What the nodes send each other.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    /// A broadcast of `value`, stamped by its sender.
    Broadcast { stamp: Stamp, value: u64 },
    /// "My clock has passed `time`": sent to all on every broadcast received.
    Ack { time: u64 },
}

/// A node of total order broadcast.
#[derive(Debug, Default)]
pub struct TotalOrderNode {
    /// The values delivered to the application, in order. The test reads
    /// this; add to it only through [`TotalOrderNode::deliver`].
    pub delivered: Vec<u64>,
    /// This node's Lamport clock.
    pub clock: u64,
    /// Broadcasts received (this node's own included) and not yet
    /// delivered, smallest stamp first.
    pub pending: BTreeMap<Stamp, u64>,
    /// The largest stamp received from each other node.
    pub latest: BTreeMap<NodeId, Stamp>,
}

impl TotalOrderNode {
    /// A node before it has started.
    pub fn new() -> Self {
        TotalOrderNode::default()
    }

    /// Hands `value` to the application. Given: the test watches
    /// `delivered`, so every delivery goes through here.
    pub fn deliver(&mut self, value: u64) {
        self.delivered.push(value);
    }

    /// Delivers pending broadcasts in stamp order, for as long as the
    /// smallest is safe: every other node has sent a stamp at least as
    /// large, so no smaller one can arrive over the FIFO links.
    pub fn deliver_ready(&mut self, ctx: &Ctx<Self>) {
        // exercise: begin "while the smallest pending stamp is at most the latest stamp from every peer, deliver it"
        while let Some((&head, &value)) = self.pending.first_key_value() {
            let safe = ctx
                .peers()
                .iter()
                .all(|p| self.latest.get(p).is_some_and(|&s| s >= head));
            if !safe {
                break;
            }
            self.pending.remove(&head);
            self.deliver(value);
        }
        // exercise: end
    }
}

impl Node for TotalOrderNode {
    type Msg = Msg;
    type Timer = ();
    type Request = Request;
    type Reply = ();

    /// On a broadcast request: tick the clock, stamp the value, keep it as
    /// pending here and send it to every peer.
    fn on_request(&mut self, ctx: &mut Ctx<Self>, _id: RequestId, req: Request) {
        // exercise: begin "tick the clock, stamp the value, keep it pending, send it to every peer, then deliver what is ready"
        let Request::Broadcast { value } = req;
        self.clock += 1;
        let stamp = Stamp {
            time: self.clock,
            node: ctx.id(),
        };
        self.pending.insert(stamp, value);
        ctx.broadcast(Msg::Broadcast { stamp, value });
        self.deliver_ready(ctx);
        // exercise: end
    }

    /// On any message: move the clock past its time and note it as the
    /// latest stamp from `from`. A broadcast becomes pending and is
    /// acknowledged to everyone, with a stamp after it. Then deliver what
    /// has become safe.
    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        // exercise: begin "move the clock past the message's time and note it as the latest from `from`; keep a broadcast pending and ack it to all; then deliver what is ready"
        let time = match msg {
            Msg::Broadcast { stamp, .. } => stamp.time,
            Msg::Ack { time } => time,
        };
        self.clock = self.clock.max(time) + 1;
        self.latest.insert(from, Stamp { time, node: from });
        if let Msg::Broadcast { stamp, value } = msg {
            self.pending.insert(stamp, value);
            ctx.broadcast(Msg::Ack { time: self.clock });
        }
        self.deliver_ready(ctx);
        // exercise: end
    }
}
