//! # clocks_vector: capturing causality exactly
//!
//! A Lamport timestamp cannot tell "a happened before b" from "a and b are
//! concurrent": both allow L(a) < L(b). A vector clock can. It keeps one
//! counter per node: entry `i` counts the events of node `i` that the clock's
//! owner has heard of, directly or through messages. The rules:
//! - on a local event, and before sending: add one to your own entry, and
//!   give the event (or the message) the whole vector;
//! - on receiving a message carrying vector `v`: take the entry-wise maximum
//!   of your vector and `v` (merge), then add one to your own entry.
//!
//! Then `a → b` exactly when V(a) < V(b): every entry of V(a) is at most the
//! same entry of V(b), and the two vectors differ. Two events whose vectors
//! are ordered neither way are concurrent.
//!
//! The test drives each node with requests: [`Request::Local`] is a local
//! event, [`Request::Send`] sends a message to another node.
//!
// exercise: begin
// stub: //! Read `exercises/03_clocks/README.md` first. Then fill in each `todo!()`:
// stub: //! the clock's three operations, then the node.
//! The reference solution.
// exercise: end

use dsim::{Ctx, Node, NodeId, RequestId};
use serde::{Deserialize, Serialize};

/// How two vector clocks, and so the events they stamp, are related.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Causality {
    /// The first happened before the second.
    Before,
    /// The second happened before the first.
    After,
    /// The two are the same.
    Equal,
    /// Neither happened before the other.
    Concurrent,
}

/// A vector clock: entry `i` counts the events of node `i` known to its
/// owner.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VectorClock {
    pub entries: Vec<u64>,
}

impl VectorClock {
    /// All zeros, one entry per node of a system of `nodes` nodes.
    pub fn new(nodes: usize) -> Self {
        VectorClock {
            entries: vec![0; nodes],
        }
    }

    /// On an event at `node`: one more event of `node` is known. Only that
    /// node's own entry changes.
    pub fn increment(&mut self, node: NodeId) {
        // exercise: begin "add one to the entry of node"
        self.entries[node.index()] += 1;
        // exercise: end
    }

    /// On learning `other`: afterwards this clock knows every event either
    /// clock knew, and no more, so each entry becomes the larger of the two.
    pub fn merge(&mut self, other: &VectorClock) {
        // exercise: begin "set each entry to the larger of the two clocks' entries"
        for (mine, theirs) in self.entries.iter_mut().zip(&other.entries) {
            *mine = (*mine).max(*theirs);
        }
        // exercise: end
    }

    /// How `self` relates to `other`:
    /// - `Equal` if every entry is the same;
    /// - `Before` if no entry of `self` is larger (and some is smaller):
    ///   everything `self` knew, `other` knew too;
    /// - `After` in the mirror case;
    /// - `Concurrent` if each has an entry larger than the other's: each
    ///   knew of an event the other did not.
    pub fn compare(&self, other: &VectorClock) -> Causality {
        // exercise: begin "find whether some entry is smaller and whether some entry is larger"
        let pairs = || self.entries.iter().zip(&other.entries);
        let some_smaller = pairs().any(|(a, b)| a < b);
        let some_larger = pairs().any(|(a, b)| a > b);
        match (some_smaller, some_larger) {
            (false, false) => Causality::Equal,
            (true, false) => Causality::Before,
            (false, true) => Causality::After,
            (true, true) => Causality::Concurrent,
        }
        // exercise: end
    }
}

/// A message between nodes, carrying the sender's vector clock at the send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Msg {
    pub clock: VectorClock,
}

/// What the test asks a node to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Something happens at this node that no one else sees.
    Local,
    /// Send a message to `to`.
    Send { to: NodeId },
}

/// A node that timestamps its events with a vector clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VectorNode {
    pub clock: VectorClock,
}

impl VectorNode {
    /// A node of a system of `nodes` nodes, before any event.
    pub fn new(nodes: usize) -> Self {
        VectorNode {
            clock: VectorClock::new(nodes),
        }
    }
}

impl Node for VectorNode {
    type Msg = Msg;
    type Timer = ();
    type Request = Request;
    type Reply = ();

    /// On a request:
    /// - `Local`: count the local event in your own entry;
    /// - `Send { to }`: count the send, then send `to` a copy of the clock.
    fn on_request(&mut self, ctx: &mut Ctx<Self>, _id: RequestId, req: Request) {
        // exercise: begin "increment your own entry; for a send, then send a copy of the clock"
        match req {
            Request::Local => self.clock.increment(ctx.id()),
            Request::Send { to } => {
                self.clock.increment(ctx.id());
                ctx.send(
                    to,
                    Msg {
                        clock: self.clock.clone(),
                    },
                );
            }
        }
        // exercise: end
    }

    /// On receiving a message: merge its clock into yours, then count the
    /// receipt in your own entry.
    fn on_message(&mut self, ctx: &mut Ctx<Self>, _from: NodeId, msg: Msg) {
        // exercise: begin "merge the message's clock into yours, then increment your own entry"
        self.clock.merge(&msg.clock);
        self.clock.increment(ctx.id());
        // exercise: end
    }
}
