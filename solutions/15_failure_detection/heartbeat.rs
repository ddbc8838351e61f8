//! # fd_heartbeat: suspect a peer that has been silent too long
//!
//! Every node is both monitored and a monitor. No node can see whether a
//! peer has crashed; all it can see is that the peer has gone quiet. So:
//!
//! - Every node sends a `Heartbeat` to every peer at once when it starts,
//!   and again every [`INTERVAL`] of its own clock.
//! - For each peer, a node keeps one timer, `Timer::Silent(peer)`, set to
//!   [`TIMEOUT`] when it starts and set again (which restarts it) by every
//!   heartbeat that arrives from that peer.
//! - When a peer's timer fires, the peer has been silent for a whole
//!   [`TIMEOUT`]: the node suspects it.
//! - A heartbeat from a suspected peer proves it is alive after all: the
//!   node stops suspecting it at once.
//!
//! The timeout is the whole trade-off: shorter finds a crash sooner and
//! suspects live nodes whose heartbeats were late or lost more often.
//!
// exercise: begin
// stub: //! Read `exercises/15_failure_detection/README.md` first. Then fill in
// stub: //! the handlers below: each `todo!()` is one step of the detector.
//! The reference solution.
// exercise: end

use dsim::{Ctx, Node, NodeId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::time::Duration;

/// How often a node sends heartbeats, by its own clock.
pub const INTERVAL: Duration = Duration::from_millis(100);
/// How long a peer may stay silent, by the monitor's clock, before the
/// monitor suspects it: four heartbeats in a row lost or late.
pub const TIMEOUT: Duration = Duration::from_millis(450);
/// Every clock runs between 1 − MAX_DRIFT and 1 + MAX_DRIFT times as fast
/// as true time, so a [`TIMEOUT`] lasts at most TIMEOUT / (1 − MAX_DRIFT)
/// of true time.
pub const MAX_DRIFT: f64 = 0.02;

/// Between the nodes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    /// "I am alive."
    Heartbeat,
}

/// The timers of a node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Timer {
    /// Time to send the next round of heartbeats.
    Beat,
    /// This peer has been silent for a whole [`TIMEOUT`].
    Silent(NodeId),
}

/// A node of fd_heartbeat: a heartbeat sender and a monitor of every peer.
#[derive(Debug, Default)]
pub struct Heartbeat {
    /// The peers this node suspects of having crashed.
    pub suspected: BTreeSet<NodeId>,
}

impl Heartbeat {
    /// A node before it has started.
    pub fn new() -> Self {
        Heartbeat::default()
    }

    /// Whether this node suspects `peer` now.
    pub fn suspects(&self, peer: NodeId) -> bool {
        // exercise: begin "is peer in the suspected set?"
        self.suspected.contains(&peer)
        // exercise: end
    }

    /// Send a heartbeat to every peer and schedule the next round.
    pub fn beat(&mut self, ctx: &mut Ctx<Self>) {
        // exercise: begin "broadcast a Heartbeat, then set Timer::Beat for INTERVAL"
        ctx.broadcast(Msg::Heartbeat);
        ctx.set_timer(Timer::Beat, INTERVAL);
        // exercise: end
    }

    /// `peer` was heard from: it is alive, and its silence starts over.
    pub fn heard(&mut self, ctx: &mut Ctx<Self>, peer: NodeId) {
        // exercise: begin "stop suspecting peer, and set its Timer::Silent to TIMEOUT again"
        self.suspected.remove(&peer);
        ctx.set_timer(Timer::Silent(peer), TIMEOUT);
        // exercise: end
    }
}

impl Node for Heartbeat {
    type Msg = Msg;
    type Timer = Timer;
    type Request = ();
    type Reply = ();

    /// On start: beat at once, and give every peer one [`TIMEOUT`] to be
    /// heard from (a peer that never speaks is suspected too).
    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        // exercise: begin "set Timer::Silent(peer) to TIMEOUT for every peer, then beat"
        for peer in ctx.peers().to_vec() {
            ctx.set_timer(Timer::Silent(peer), TIMEOUT);
        }
        self.beat(ctx);
        // exercise: end
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        match timer {
            Timer::Beat => self.beat(ctx),
            Timer::Silent(peer) => {
                // exercise: begin "the peer was silent for a whole TIMEOUT: suspect it"
                self.suspected.insert(peer);
                // exercise: end
            }
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Heartbeat => self.heard(ctx, from),
        }
    }
}
