//! # broadcast_causal: nothing before what it depends on
//!
//! Causal broadcast: if the broadcast of `m1` happened before the broadcast
//! of `m2`, every node delivers `m1` before `m2`. "Happened before" here is
//! about broadcasts and deliveries: `m1` precedes `m2` if the same node
//! broadcast `m1` first, or if the node that broadcast `m2` had delivered
//! `m1` by then, or through a chain of those. A reply is never delivered
//! before the question it answers. Broadcasts that are concurrent may be
//! delivered in either order, even in different orders on different nodes.
//!
//! The network never loses a message, but it delivers some twice and lets
//! later ones overtake earlier ones.
//!
//! The idea is a vector of delivery counts, a vector clock of broadcasts:
//! - each node keeps `delivered_from[i]`: how many of node `i`'s messages it
//!   has delivered;
//! - a broadcast carries a copy of its sender's vector at the time, its
//!   dependencies: "before this one, I had delivered these";
//! - a message from `s` with dependencies `deps` may be delivered when it is
//!   the next one from `s` (`deps[s] == delivered_from[s]`) and everything it
//!   depends on from the others is delivered (`deps[k] <= delivered_from[k]`
//!   for every other `k`); until then it waits in a buffer;
//! - each delivery can make buffered messages deliverable, so look again
//!   until nothing more can go;
//! - a message with `deps[s] < delivered_from[s]` is a copy of one already
//!   delivered, and is dropped.
//!
// exercise: begin
// stub: //! Read `exercises/04_broadcast/README.md` first. Then fill in each
// stub: //! `todo!()`: `deliverable` first, then the broadcast request and
// stub: //! the receipt.
//! The reference solution: each handler is one rule of the protocol.
// exercise: end

use dsim::{Ctx, Node, NodeId, RequestId};
use serde::{Deserialize, Serialize};

/// What a client asks a node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Broadcast `value` to every node (the test makes every value unique).
    Broadcast { value: u64 },
}

/// A broadcast message: `value`, and the sender's delivery counts when it
/// broadcast it. The sender is the node it comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Msg {
    pub deps: Vec<u64>,
    pub value: u64,
}

/// A message that arrived but may not be delivered yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiting {
    pub sender: NodeId,
    pub deps: Vec<u64>,
    pub value: u64,
}

/// A node of causal broadcast.
#[derive(Debug)]
pub struct CausalNode {
    /// The values delivered to the application, in order. The test reads
    /// this; add to it only through [`CausalNode::deliver`].
    pub delivered: Vec<u64>,
    /// Entry `i`: how many of node `i`'s broadcasts this node has delivered
    /// (its own included).
    pub delivered_from: Vec<u64>,
    /// Messages waiting for their dependencies, in order of arrival.
    pub buffer: Vec<Waiting>,
}

impl CausalNode {
    /// A node of a system of `nodes` nodes, before it has started.
    pub fn new(nodes: usize) -> Self {
        CausalNode {
            delivered: Vec::new(),
            delivered_from: vec![0; nodes],
            buffer: Vec::new(),
        }
    }

    /// Hands `value` to the application. Given: the test watches
    /// `delivered`, so every delivery goes through here.
    pub fn deliver(&mut self, value: u64) {
        self.delivered.push(value);
    }

    /// Whether a message from `sender` with dependencies `deps` may be
    /// delivered now: it is the next one from `sender`, and every message
    /// it depends on from the other nodes has been delivered.
    pub fn deliverable(&self, sender: NodeId, deps: &[u64]) -> bool {
        // exercise: begin "the next message from sender (deps[s] equals your count for s) whose other entries are all at most your counts"
        let s = sender.index();
        deps[s] == self.delivered_from[s]
            && (0..deps.len()).all(|k| k == s || deps[k] <= self.delivered_from[k])
        // exercise: end
    }
}

impl Node for CausalNode {
    type Msg = Msg;
    type Timer = ();
    type Request = Request;
    type Reply = ();

    /// On a broadcast request: the message depends on everything delivered
    /// here so far; send it with a copy of the vector, deliver it here, and
    /// count it in this node's own entry.
    fn on_request(&mut self, ctx: &mut Ctx<Self>, _id: RequestId, req: Request) {
        // exercise: begin "send the value with a copy of your counts, deliver it here, and count it in your own entry"
        let Request::Broadcast { value } = req;
        let deps = self.delivered_from.clone();
        ctx.broadcast(Msg { deps, value });
        self.deliver(value);
        self.delivered_from[ctx.id().index()] += 1;
        // exercise: end
    }

    /// On a message from `from`: drop it if it is a copy (delivered already,
    /// or waiting already); otherwise buffer it, then deliver every buffered
    /// message that has become deliverable, until none is.
    fn on_message(&mut self, _ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        // exercise: begin "drop copies; buffer the message, then deliver buffered messages while one is deliverable"
        let Msg { deps, value } = msg;
        let copy = deps[from.index()] < self.delivered_from[from.index()]
            || self
                .buffer
                .iter()
                .any(|w| w.sender == from && w.deps == deps);
        if copy {
            return;
        }
        self.buffer.push(Waiting {
            sender: from,
            deps,
            value,
        });
        while let Some(i) = self
            .buffer
            .iter()
            .position(|w| self.deliverable(w.sender, &w.deps))
        {
            let ready = self.buffer.remove(i);
            self.deliver(ready.value);
            self.delivered_from[ready.sender.index()] += 1;
        }
        // exercise: end
    }
}
