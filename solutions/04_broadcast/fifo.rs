//! # broadcast_fifo: each sender's values in the order it sent them
//!
//! FIFO broadcast adds one rule to reliable broadcast: if a node broadcasts
//! `m1` and then `m2`, no node delivers `m2` before `m1`. The network here
//! never loses a message, but it delivers some twice and lets later ones
//! overtake earlier ones, so arrival order is no guide.
//!
//! The idea is the hold-back queue:
//! - each sender numbers its broadcasts 1, 2, 3, … and every copy carries
//!   its number;
//! - each receiver remembers, per sender, the number of the next message it
//!   may deliver from that sender;
//! - a message that arrives early waits in the hold-back queue; when the
//!   expected one arrives, it is delivered, and then every waiting message
//!   that has become next in line, one after the other;
//! - a message whose number is below the expected one was delivered
//!   already: it is a copy, and is dropped.
//!
//! (Relaying and retransmission, from `broadcast_reliable`, would go
//! underneath; here the sender's own copies always arrive, so they are left
//! out to keep the exercise about order.)
//!
// exercise: begin
// stub: //! Read `exercises/04_broadcast/README.md` first. Then fill in each
// stub: //! `todo!()`: the broadcast request, then the receipt.
//! The reference solution: each handler is one rule of the protocol.
// exercise: end

use dsim::{Ctx, Node, NodeId, RequestId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a client asks a node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Broadcast `value` to every node (the test makes every value unique).
    Broadcast { value: u64 },
}

/// A broadcast message: the sender's `seq`-th broadcast, carrying `value`.
/// The sender is the node it comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Msg {
    pub seq: u64,
    pub value: u64,
}

/// A node of FIFO broadcast.
#[derive(Debug, Default)]
pub struct FifoNode {
    /// The values delivered to the application, in order. The test reads
    /// this; add to it only through [`FifoNode::deliver`].
    pub delivered: Vec<u64>,
    /// The number of this node's last broadcast (0 before the first).
    pub last_seq: u64,
    /// For each sender, the number of the next message to deliver from it
    /// (a sender not in the map: 1).
    pub next_expected: BTreeMap<NodeId, u64>,
    /// Messages that arrived before their turn, by (sender, number).
    pub hold_back: BTreeMap<(NodeId, u64), u64>,
}

impl FifoNode {
    /// A node before it has started.
    pub fn new() -> Self {
        FifoNode::default()
    }

    /// Hands `value` to the application. Given: the test watches
    /// `delivered`, so every delivery goes through here.
    pub fn deliver(&mut self, value: u64) {
        self.delivered.push(value);
    }
}

impl Node for FifoNode {
    type Msg = Msg;
    type Timer = ();
    type Request = Request;
    type Reply = ();

    /// On a broadcast request: number the message, deliver it here (it is
    /// next in line from this node by construction), and send it to every
    /// peer.
    fn on_request(&mut self, ctx: &mut Ctx<Self>, _id: RequestId, req: Request) {
        // exercise: begin "number the message, deliver it here, and send it to every peer"
        let Request::Broadcast { value } = req;
        self.last_seq += 1;
        self.deliver(value);
        ctx.broadcast(Msg {
            seq: self.last_seq,
            value,
        });
        // exercise: end
    }

    /// On a message from `from`: drop it if it is a copy of one delivered
    /// already; otherwise hold it back, then deliver from `from` for as long
    /// as the next expected number is waiting.
    fn on_message(&mut self, _ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        // exercise: begin "drop copies; hold the message back, then deliver from this sender while the next expected number is waiting"
        let next = self.next_expected.entry(from).or_insert(1);
        if msg.seq < *next {
            return;
        }
        self.hold_back.insert((from, msg.seq), msg.value);
        loop {
            let next = self.next_expected.entry(from).or_insert(1);
            let Some(value) = self.hold_back.remove(&(from, *next)) else {
                break;
            };
            *next += 1;
            self.deliver(value);
        }
        // exercise: end
    }
}
