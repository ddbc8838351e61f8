//! # intro_pingpong: your first node
//!
//! Every node in this course is a state machine driven by events. You never
//! call the network yourself: a handler runs when something happens ("on
//! receiving a message", "on a timer") and asks the context `ctx` to act
//! (`ctx.send`, `ctx.set_timer`). The simulator then delivers, delays or loses
//! what you sent.
//!
//! The protocol:
//! - every node pings each of its peers every [`PING_INTERVAL`], numbering
//!   its pings 1, 2, 3, …;
//! - a node that receives `Ping { seq }` answers the sender with
//!   `Pong { seq }`, the same number;
//! - a node that receives `Pong { seq }` from a peer remembers that this peer
//!   answered ping `seq`.
//!
// exercise: begin
// stub: //! Read `exercises/00_intro/README.md` first. Then fill in the three handlers
// stub: //! below: each `todo!()` is one step of the protocol.
//! The reference solution: each handler is one step of the protocol.
// exercise: end

use dsim::{Ctx, Node, NodeId};
use std::collections::BTreeSet;

/// The protocol's types and constants, shared with the course's checks,
/// are in the `protocols` crate (`protocols/src/intro/pingpong.rs`).
pub use protocols::intro::pingpong::{Msg, Timer, PING_INTERVAL};

/// A node that pings its peers and answers their pings.
#[derive(Debug, Default)]
pub struct PingPong {
    /// The number of the last round of pings sent (0 before the first).
    pub seq: u64,
    /// Every `(peer, seq)` such that `peer` answered our ping number `seq`.
    pub pongs: BTreeSet<(NodeId, u64)>,
}

impl PingPong {
    /// A node before it has started.
    pub fn new() -> Self {
        PingPong::default()
    }
}

impl Node for PingPong {
    type Msg = Msg;
    type Timer = Timer;
    type Request = ();
    type Reply = ();

    /// On initialisation: start the ping timer, so the first round of pings
    /// goes out after one [`PING_INTERVAL`].
    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        // exercise: begin "set the Timer::Ping timer to fire after PING_INTERVAL"
        ctx.set_timer(Timer::Ping, PING_INTERVAL);
        // exercise: end
    }

    /// On the ping timer: count a new round, send `Ping { seq }` with its
    /// number to every peer, and set the timer again for the next round.
    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        // exercise: begin "send a numbered ping to every peer, then set the timer again"
        match timer {
            Timer::Ping => {
                self.seq += 1;
                ctx.broadcast(Msg::Ping { seq: self.seq });
                ctx.set_timer(Timer::Ping, PING_INTERVAL);
            }
        }
        // exercise: end
    }

    /// On receiving a message from `from`:
    /// - `Ping { seq }`: answer `from` with `Pong { seq }`;
    /// - `Pong { seq }`: remember that `from` answered ping `seq`.
    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        // exercise: begin "answer a ping with a pong; record a pong"
        match msg {
            Msg::Ping { seq } => ctx.send(from, Msg::Pong { seq }),
            Msg::Pong { seq } => {
                self.pongs.insert((from, seq));
            }
        }
        // exercise: end
    }
}
