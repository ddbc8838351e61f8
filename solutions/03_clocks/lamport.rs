//! # clocks_lamport: logical time
//!
//! Physical clocks cannot tell which of two events on different nodes came
//! first. Lamport clocks do not try: they only promise that if event `a`
//! happened before event `b` (`a → b`: `a` came first on the same node, or
//! `a` sent a message that `b` received, or a chain of those links them),
//! then `a`'s timestamp is smaller than `b`'s.
//!
//! The rules, for one counter per node starting at 0:
//! - on a local event, and before sending a message: add one to the counter,
//!   and give the event (or the message) the new value;
//! - on receiving a message stamped `t`: set the counter to the larger of
//!   its value and `t`, then add one.
//!
//! Pairing a timestamp with the node's id gives every event a distinct
//! [`Stamp`]; ordering stamps by timestamp, then by node id, is a total
//! order that never contradicts happens-before.
//!
//! The test drives each node with requests: [`Request::Local`] is a local
//! event, [`Request::Send`] sends a message to another node.
//!
// exercise: begin
// stub: //! Read `exercises/03_clocks/README.md` first. Then fill in each `todo!()`:
// stub: //! the clock, then the order of stamps, then the node.
//! The reference solution.
// exercise: end

use dsim::{Ctx, Node, NodeId, RequestId};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// One node's Lamport clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LamportClock {
    /// The timestamp of the node's latest event (0 before any).
    pub time: u64,
}

impl LamportClock {
    /// A clock before any event.
    pub fn new() -> Self {
        LamportClock::default()
    }

    /// On a local event or a send: the event comes after every earlier event
    /// of this node, so it gets the next timestamp. Returns it.
    pub fn tick(&mut self) -> u64 {
        // exercise: begin "add one to the counter and return the new value"
        self.time += 1;
        self.time
        // exercise: end
    }

    /// On receiving a message stamped `timestamp`: the receipt comes after
    /// the send and after every earlier event of this node, so its
    /// timestamp is one more than the larger of the two. Returns it.
    pub fn receive(&mut self, timestamp: u64) -> u64 {
        // exercise: begin "take the larger of the counter and the timestamp, add one, return it"
        self.time = self.time.max(timestamp) + 1;
        self.time
        // exercise: end
    }
}

/// An event's place in the total order: its Lamport timestamp and the node
/// it happened on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Stamp {
    pub time: u64,
    pub node: NodeId,
}

impl Ord for Stamp {
    /// The smaller timestamp comes first; two events with the same timestamp
    /// are on different nodes (one node's timestamps only grow), and the
    /// smaller node id comes first, so no two events are ever tied.
    fn cmp(&self, other: &Self) -> Ordering {
        // exercise: begin "compare the timestamps first, then the node ids"
        self.time.cmp(&other.time).then(self.node.cmp(&other.node))
        // exercise: end
    }
}

impl PartialOrd for Stamp {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A message between nodes, carrying the sender's timestamp of the send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Msg {
    pub timestamp: u64,
}

/// What the test asks a node to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Something happens at this node that no one else sees.
    Local,
    /// Send a message to `to`.
    Send { to: NodeId },
}

/// A node that timestamps its events with a Lamport clock.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LamportNode {
    pub clock: LamportClock,
}

impl LamportNode {
    /// A node before any event.
    pub fn new() -> Self {
        LamportNode::default()
    }
}

impl Node for LamportNode {
    type Msg = Msg;
    type Timer = ();
    type Request = Request;
    type Reply = ();

    /// On a request:
    /// - `Local`: tick the clock for the local event;
    /// - `Send { to }`: tick the clock and send `to` a message carrying the
    ///   new timestamp.
    fn on_request(&mut self, ctx: &mut Ctx<Self>, _id: RequestId, req: Request) {
        // exercise: begin "tick for a local event; tick and send the new timestamp for a send"
        match req {
            Request::Local => {
                self.clock.tick();
            }
            Request::Send { to } => {
                let timestamp = self.clock.tick();
                ctx.send(to, Msg { timestamp });
            }
        }
        // exercise: end
    }

    /// On receiving a message: advance the clock past the message's
    /// timestamp.
    fn on_message(&mut self, _ctx: &mut Ctx<Self>, _from: NodeId, msg: Msg) {
        // exercise: begin "advance the clock past the message's timestamp"
        self.clock.receive(msg.timestamp);
        // exercise: end
    }
}
