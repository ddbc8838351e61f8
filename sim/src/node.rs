//! The node API: what a learner implements and what a handler may do.
//!
//! A node is a state machine driven by events, in the shape of the lecture
//! pseudocode: "on initialisation", "on receiving m from node", "on timeout",
//! "on request". Handlers never block and never see the network: they record
//! what they want done (send, set a timer, reply) on the [`Ctx`], and the
//! simulator carries it out, with delays, losses and crashes.

use crate::disk::Disk;
use crate::rng::SimRng;
use crate::storage::Storage;
use crate::time::Time;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt::{self, Debug};
use std::time::Duration;

/// A node's name in a run: `n0`, `n1`, …
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NodeId(pub usize);

impl NodeId {
    /// The id as an index, for a `Vec` with one slot per node.
    pub const fn index(self) -> usize {
        self.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

/// Names one client request, so that a reply can be matched to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RequestId(pub u64);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.0)
    }
}

/// A protocol participant, written as event handlers.
///
/// `Debug` lets replays and failure reports show a node's state.
///
/// Everything in `self` is volatile: a crash loses it, and a restart builds a
/// fresh node and calls [`Node::on_start`] again. What must survive goes into
/// [`Ctx::storage`].
pub trait Node: Sized + Debug + 'static {
    /// What nodes send each other.
    type Msg: Clone + Debug + Serialize + DeserializeOwned;
    /// The kinds of timer a node sets. Setting a timer equal to one already
    /// pending replaces it.
    type Timer: Clone + Debug + PartialEq + Serialize;
    /// What a client asks of the system.
    type Request: Clone + Debug + Serialize;
    /// What the client gets back.
    type Reply: Clone + Debug + Serialize;

    /// On initialisation: at boot, and again after each restart (read durable
    /// state from `ctx.storage()` here).
    fn on_start(&mut self, _ctx: &mut Ctx<Self>) {}

    /// On receiving `msg` from node `from`.
    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Self::Msg);

    /// On a timer firing.
    fn on_timer(&mut self, _ctx: &mut Ctx<Self>, _timer: Self::Timer) {}

    /// On a client request entering the system at this node. Answer with
    /// [`Ctx::reply`], now or in a later handler, from this node or another.
    fn on_request(&mut self, _ctx: &mut Ctx<Self>, _id: RequestId, _req: Self::Request) {}
}

/// Something a handler asked for, carried out by the simulator afterwards:
/// with a message of type `M`, a timer of type `T`, a reply of type `P`.
#[derive(Debug)]
pub(crate) enum Effect<M, T, P> {
    Send { to: NodeId, msg: M },
    SetTimer { timer: T, after: Duration },
    CancelTimer { timer: T },
    Reply { id: RequestId, reply: P },
}

/// The effects of node type `N`'s handlers.
pub(crate) type EffectOf<N> = Effect<<N as Node>::Msg, <N as Node>::Timer, <N as Node>::Reply>;

/// What a handler of node type `N` can see and do.
///
/// It is a [`Context`] over `N`'s message, timer and reply types, so two node
/// types with the same protocol types have the same `Ctx`: a node that wraps
/// another (a [`crate::Erased`] node, a suite's adapter) hands its own `Ctx`
/// on unchanged.
pub type Ctx<'a, N> = Context<'a, <N as Node>::Msg, <N as Node>::Timer, <N as Node>::Reply>;

/// What a handler can see and do, for messages of type `M`, timers of type
/// `T` and replies of type `P`. Handlers name it as [`Ctx<Self>`](Ctx).
pub struct Context<'a, M, T, P> {
    pub(crate) id: NodeId,
    pub(crate) now: Time,
    pub(crate) peers: &'a [NodeId],
    pub(crate) rng: &'a mut SimRng,
    /// The node's storage, which holds its disk.
    pub(crate) storage: &'a mut Storage,
    pub(crate) effects: &'a mut Vec<Effect<M, T, P>>,
}

impl<M: Clone, T, P> Context<'_, M, T, P> {
    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Every other node in the system.
    pub fn peers(&self) -> &[NodeId] {
        self.peers
    }

    /// The number of nodes in the system, this one included.
    pub fn cluster_size(&self) -> usize {
        self.peers.len() + 1
    }

    /// This node's own clock. It may be skewed and may drift from true time,
    /// and readings on different nodes are not comparable.
    pub fn now(&self) -> Time {
        self.now
    }

    /// This node's random generator, seeded from the run's seed.
    pub fn rng(&mut self) -> &mut SimRng {
        self.rng
    }

    /// Storage that survives a crash. Write here before replying whenever
    /// the reply promises something that must outlive a crash.
    pub fn storage(&mut self) -> &mut Storage {
        self.storage
    }

    /// This node's disk: files whose writes survive a crash of the node, but
    /// a power cut only once synced (see [`Disk`]). [`Ctx::storage`] keeps
    /// its files on this same disk, under names of its own (see
    /// [`Storage`]).
    pub fn disk(&mut self) -> &mut Disk {
        &mut self.storage.disk
    }

    /// Sends `msg` to `to`. It may be delayed, reordered, duplicated or lost.
    pub fn send(&mut self, to: NodeId, msg: M) {
        self.effects.push(Effect::Send { to, msg });
    }

    /// Sends `msg` to every peer (not to this node).
    pub fn broadcast(&mut self, msg: M) {
        for &to in self.peers {
            self.effects.push(Effect::Send {
                to,
                msg: msg.clone(),
            });
        }
    }

    /// Fires `timer` after `after` has passed on this node's clock. A pending
    /// timer equal to `timer` is replaced.
    pub fn set_timer(&mut self, timer: T, after: Duration) {
        self.effects.push(Effect::SetTimer { timer, after });
    }

    /// Cancels the pending timer equal to `timer`, if any.
    pub fn cancel_timer(&mut self, timer: T) {
        self.effects.push(Effect::CancelTimer { timer });
    }

    /// Answers client request `id`. Only the first reply to a request counts.
    pub fn reply(&mut self, id: RequestId, reply: P) {
        self.effects.push(Effect::Reply { id, reply });
    }
}
