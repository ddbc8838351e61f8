//! # broadcast_gossip: many nodes, few messages, and no message lost for good
//!
//! Twenty-five nodes, links of 100 ms. A value broadcast at any node must
//! reach every node, within 600 ms at most and 400 ms for the median, with
//! fewer than 30 messages per broadcast on average, and still reach every
//! node when the network loses messages or splits for a while.
//!
//! Sending every value to every node costs 24 messages per value from its
//! origin alone, and each receiver relaying it as reliable broadcast does
//! costs hundreds. Three ideas bring it down:
//! - **an overlay**: each node talks only to a few neighbours, chosen so
//!   that every node is a few hops from every other (two hops of 100 ms fit
//!   the latency bound with room to spare; five do not);
//! - **batching**: a node does not forward each value at once, but every
//!   [`GOSSIP_EVERY`] sends each neighbour, in one message, all the values
//!   that neighbour is not known to have. Under load, one message carries
//!   many values;
//! - **anti-entropy**: forwarding assumes that what was sent arrived. To
//!   repair losses, every [`SYNC_EVERY`] a node tells its neighbours every
//!   value it has; a neighbour then knows exactly what it is missing from
//!   it, and the next gossip round fills the gap.
//!
// exercise: begin
// stub: //! Read `exercises/04_broadcast/README.md` first. Then fill in each
// stub: //! `todo!()`: `neighbours`, `learn` and `gossip` first, then the
// stub: //! handlers.
//! The reference solution: each handler is one rule of the protocol.
// exercise: end

use dsim::{Ctx, Node, NodeId, RequestId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// How often a node forwards new values to its neighbours.
pub const GOSSIP_EVERY: Duration = Duration::from_millis(100);
/// How often a node tells its neighbours everything it has.
pub const SYNC_EVERY: Duration = Duration::from_millis(1000);

/// The overlay: the neighbours of node `me` in a system of `nodes` nodes.
/// The relation must be symmetric (if `b` is a neighbour of `a`, `a` is one
/// of `b`), never include `me`, and connect every node to every other in
/// few hops: each hop costs a link's 100 ms plus the wait for the next
/// gossip round.
pub fn neighbours(me: NodeId, nodes: usize) -> Vec<NodeId> {
    // exercise: begin "choose each node's neighbours: symmetric, connected, and few hops between any two nodes"
    // A star, node 0 in the middle: any node is two hops from any other.
    if me == NodeId(0) {
        (1..nodes).map(NodeId).collect()
    } else {
        vec![NodeId(0)]
    }
    // exercise: end
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
    /// Values the receiver may not have yet.
    Gossip { values: Vec<u64> },
    /// Every value the sender has (anti-entropy).
    Sync { have: Vec<u64> },
}

/// The node's timers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Timer {
    /// Time to forward new values.
    Gossip,
    /// Time to tell the neighbours everything.
    Sync,
}

/// A node of the gossip broadcast.
#[derive(Debug, Default)]
pub struct GossipNode {
    /// The values delivered to the application, in order. The test reads
    /// this; add to it only through [`GossipNode::deliver`].
    pub delivered: Vec<u64>,
    /// Every value this node has.
    pub values: BTreeSet<u64>,
    /// For each neighbour, the values it is known to have: it sent them to
    /// us, we sent them to it, or it said so in a `Sync`.
    pub known: BTreeMap<NodeId, BTreeSet<u64>>,
}

impl GossipNode {
    /// A node before it has started.
    pub fn new() -> Self {
        GossipNode::default()
    }

    /// Hands `value` to the application. Given: the test watches
    /// `delivered`, so every delivery goes through here.
    pub fn deliver(&mut self, value: u64) {
        self.delivered.push(value);
    }

    /// Takes in values from anywhere: each one new here is delivered.
    pub fn learn(&mut self, values: impl IntoIterator<Item = u64>) {
        // exercise: begin "add each value to self.values, and deliver the ones that are new here"
        for value in values {
            if self.values.insert(value) {
                self.deliver(value);
            }
        }
        // exercise: end
    }

    /// One gossip round: send each neighbour, in one message, the values it
    /// is not known to have (nothing if there are none), and count them as
    /// known to it from now on.
    pub fn gossip(&mut self, ctx: &mut Ctx<Self>) {
        // exercise: begin "send each neighbour, in one message, the values it is not known to have, and count them as known to it"
        for peer in neighbours(ctx.id(), ctx.cluster_size()) {
            let known = self.known.entry(peer).or_default();
            let missing: Vec<u64> = self.values.difference(known).copied().collect();
            if !missing.is_empty() {
                known.extend(&missing);
                ctx.send(peer, Msg::Gossip { values: missing });
            }
        }
        // exercise: end
    }
}

impl Node for GossipNode {
    type Msg = Msg;
    type Timer = Timer;
    type Request = Request;
    type Reply = ();

    /// On initialisation: start both timers.
    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        // exercise: begin "set the gossip and sync timers"
        ctx.set_timer(Timer::Gossip, GOSSIP_EVERY);
        ctx.set_timer(Timer::Sync, SYNC_EVERY);
        // exercise: end
    }

    /// On a broadcast request: the value is new here; the next gossip round
    /// forwards it.
    fn on_request(&mut self, _ctx: &mut Ctx<Self>, _id: RequestId, req: Request) {
        // exercise: begin "learn the value: the next gossip round forwards it"
        let Request::Broadcast { value } = req;
        self.learn([value]);
        // exercise: end
    }

    /// On gossip: learn the values, and note that the sender has them. On a
    /// sync: learn them too, and replace what the sender is known to have
    /// with what it says (a value counted as sent but lost is then missing,
    /// and goes out again).
    fn on_message(&mut self, _ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        // exercise: begin "Gossip: note the values as known to from, and learn them; Sync: replace what from is known to have, and learn them"
        match msg {
            Msg::Gossip { values } => {
                self.known.entry(from).or_default().extend(&values);
                self.learn(values);
            }
            Msg::Sync { have } => {
                self.known.insert(from, have.iter().copied().collect());
                self.learn(have);
            }
        }
        // exercise: end
    }

    /// On the gossip timer: a gossip round. On the sync timer: send every
    /// neighbour all the values this node has. Either way, set it again.
    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        // exercise: begin "Gossip: a gossip round; Sync: send every neighbour all your values; then set the timer again"
        match timer {
            Timer::Gossip => {
                self.gossip(ctx);
                ctx.set_timer(Timer::Gossip, GOSSIP_EVERY);
            }
            Timer::Sync => {
                let have: Vec<u64> = self.values.iter().copied().collect();
                for peer in neighbours(ctx.id(), ctx.cluster_size()) {
                    ctx.send(peer, Msg::Sync { have: have.clone() });
                }
                ctx.set_timer(Timer::Sync, SYNC_EVERY);
            }
        }
        // exercise: end
    }
}
