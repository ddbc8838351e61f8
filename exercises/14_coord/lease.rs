//! # coord_lease: TODO a title
//!
//! TODO: what the learner builds, and the protocol as a few plain rules.
//! Until then this is a placeholder: every node greets its peers every
//! [`GREET_INTERVAL`] and remembers which peers greeted it.
//!
//! Read `exercises/14_coord/README.md` first. Then fill in the handlers
//! below: each `todo!()` is one step of the protocol.

use dsim::{Ctx, Node, NodeId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::time::Duration;

/// How often a node greets its peers.
pub const GREET_INTERVAL: Duration = Duration::from_millis(100);

/// What nodes send each other.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    /// "I am here."
    Hello,
}

/// The one kind of timer: time to greet the peers again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Timer {
    Greet,
}

/// A node of coord_lease.
#[derive(Debug, Default)]
pub struct Lease {
    /// Every peer whose greeting arrived.
    pub greeted_by: BTreeSet<NodeId>,
}

impl Lease {
    /// A node before it has started.
    pub fn new() -> Self {
        Lease::default()
    }
}

impl Node for Lease {
    type Msg = Msg;
    type Timer = Timer;
    type Request = ();
    type Reply = ();

    /// On initialisation: greet the peers after one [`GREET_INTERVAL`].
    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        todo!("set the Timer::Greet timer to fire after GREET_INTERVAL")
    }

    /// On the greeting timer: greet every peer, and set the timer again.
    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        todo!("greet every peer, then set the timer again")
    }

    /// On receiving a message from `from`: remember who greeted this node.
    fn on_message(&mut self, _ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        todo!("remember who greeted this node")
    }
}
