//! # broadcast_reliable: every correct node delivers the same values
//!
//! A client asks one node to broadcast a value; every node must deliver it
//! to its application. The network loses, duplicates and reorders messages,
//! and nodes crash (a crashed node stays down). Reliable broadcast promises,
//! for the nodes that do not crash (the correct ones):
//! - **validity**: a value broadcast by a correct node is delivered by every
//!   correct node;
//! - **agreement**: a value delivered by one correct node is delivered by
//!   every correct node, even if its sender crashed halfway through sending;
//! - **no duplication**: a node delivers each value at most once;
//! - **no creation**: a node delivers only values that were broadcast.
//!
//! Eager reliable broadcast gets there with two ideas:
//! - **retransmission**: a copy is sent again and again until the receiver
//!   acknowledges it, so a lost message only costs time (as in
//!   `intro_retry`);
//! - **relaying**: the first time a node receives a message, it delivers it
//!   and then takes over its sending, to every other node. If the sender
//!   crashes after reaching one correct node, that node finishes its job.
//!
//! A message is known by its [`MessageId`]: the node that broadcast it and
//! that node's sequence number. Copies, relayed or retransmitted, carry the
//! same id, so a node recognises what it has already delivered.
//!
// exercise: begin
// stub: //! Read `exercises/04_broadcast/README.md` first. Then fill in each
// stub: //! `todo!()`: the helpers `send_to`, `on_data` and `on_ack` first,
// stub: //! then the handlers of the node.
//! The reference solution: each handler is one rule of the protocol.
// exercise: end

use dsim::{Ctx, Node, NodeId, RequestId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// How often unacknowledged copies are sent again: longer than a round trip
/// (two hops of 1–20 ms), so that a copy is rarely resent for nothing.
pub const RETRANSMIT_EVERY: Duration = Duration::from_millis(50);

/// Names one broadcast message everywhere: who broadcast it, and its number
/// among that node's broadcasts (1, 2, 3, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MessageId {
    pub origin: NodeId,
    pub seq: u64,
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
    /// A copy of broadcast message `id`, carrying `value`.
    Data { id: MessageId, value: u64 },
    /// The copy of `id` arrived: stop retransmitting it to me.
    Ack { id: MessageId },
}

/// The node's one timer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Timer {
    /// Time to send every unacknowledged copy again.
    Retransmit,
}

/// A copy still travelling: the value, and the peers that have not yet
/// acknowledged it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub value: u64,
    pub waiting_for: BTreeSet<NodeId>,
}

/// A node of eager reliable broadcast.
#[derive(Debug, Default)]
pub struct ReliableNode {
    /// The values delivered to the application, in order. The test reads
    /// this; add to it only through [`ReliableNode::deliver`].
    pub delivered: Vec<u64>,
    /// The number of this node's last broadcast (0 before the first).
    pub last_seq: u64,
    /// Every message this node has delivered, so a copy is recognised.
    pub seen: BTreeSet<MessageId>,
    /// The messages this node is still sending, and to whom.
    pub outgoing: BTreeMap<MessageId, Outgoing>,
}

impl ReliableNode {
    /// A node before it has started.
    pub fn new() -> Self {
        ReliableNode::default()
    }

    /// Hands `value` to the application. Given: the test watches
    /// `delivered`, so every delivery goes through here.
    pub fn deliver(&mut self, value: u64) {
        self.delivered.push(value);
    }

    /// Starts sending message `id` to `peers`: one copy each now, and more
    /// on every retransmission until each has acknowledged it.
    pub fn send_to(
        &mut self,
        ctx: &mut Ctx<Self>,
        id: MessageId,
        value: u64,
        peers: BTreeSet<NodeId>,
    ) {
        // exercise: begin "send a Data copy of id to each of peers, and keep the message in self.outgoing, waiting for those peers"
        for &peer in &peers {
            ctx.send(peer, Msg::Data { id, value });
        }
        if !peers.is_empty() {
            let waiting_for = peers;
            self.outgoing.insert(id, Outgoing { value, waiting_for });
        }
        // exercise: end
    }

    /// On receiving a copy of `id`: acknowledge it (every copy: the ack of
    /// an earlier one may have been lost). The first time: remember it,
    /// deliver it, and relay it to every node except the one it came from
    /// and the one that broadcast it, which both have it.
    pub fn on_data(&mut self, ctx: &mut Ctx<Self>, from: NodeId, id: MessageId, value: u64) {
        // exercise: begin "ack every copy; the first time, remember id, deliver the value and relay it to every peer except from and the origin"
        ctx.send(from, Msg::Ack { id });
        if !self.seen.insert(id) {
            return;
        }
        self.deliver(value);
        let others = ctx
            .peers()
            .iter()
            .copied()
            .filter(|&p| p != from && p != id.origin)
            .collect();
        self.send_to(ctx, id, value, others);
        // exercise: end
    }

    /// On an ack: `from` has the message; stop sending it there, and forget
    /// the message once every peer has it.
    pub fn on_ack(&mut self, from: NodeId, id: MessageId) {
        // exercise: begin "stop waiting for from; forget the message once nobody is left to wait for"
        if let Some(out) = self.outgoing.get_mut(&id) {
            out.waiting_for.remove(&from);
            if out.waiting_for.is_empty() {
                self.outgoing.remove(&id);
            }
        }
        // exercise: end
    }
}

impl Node for ReliableNode {
    type Msg = Msg;
    type Timer = Timer;
    type Request = Request;
    type Reply = ();

    /// On initialisation: start the retransmission timer.
    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        // exercise: begin "set the retransmission timer"
        ctx.set_timer(Timer::Retransmit, RETRANSMIT_EVERY);
        // exercise: end
    }

    /// On a broadcast request: give the message the next id, deliver it
    /// here, and start sending it to every peer.
    fn on_request(&mut self, ctx: &mut Ctx<Self>, _id: RequestId, req: Request) {
        // exercise: begin "take the next sequence number, remember and deliver the message here, and start sending it to every peer"
        let Request::Broadcast { value } = req;
        self.last_seq += 1;
        let id = MessageId {
            origin: ctx.id(),
            seq: self.last_seq,
        };
        self.seen.insert(id);
        self.deliver(value);
        let peers = ctx.peers().iter().copied().collect();
        self.send_to(ctx, id, value, peers);
        // exercise: end
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Data { id, value } => self.on_data(ctx, from, id, value),
            Msg::Ack { id } => self.on_ack(from, id),
        }
    }

    /// On the retransmission timer: send every unacknowledged copy again,
    /// and set the timer for the next round.
    fn on_timer(&mut self, ctx: &mut Ctx<Self>, _timer: Timer) {
        // exercise: begin "send every unacknowledged copy again, then set the timer again"
        for (&id, out) in &self.outgoing {
            for &peer in &out.waiting_for {
                ctx.send(
                    peer,
                    Msg::Data {
                        id,
                        value: out.value,
                    },
                );
            }
        }
        ctx.set_timer(Timer::Retransmit, RETRANSMIT_EVERY);
        // exercise: end
    }
}
