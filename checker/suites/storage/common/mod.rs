//! What the three storage suites share: how a suite builds and reads an
//! engine (the [`Engine`] trait, implemented by [`engines!`]), the run's
//! history as the model (`history`), the check that a write is
//! acknowledged only once the disk is synced, and the sweep that cuts the
//! power before each disk operation of a handler in turn (`sweep`).
//!
//! It is compiled in every build of the suite, one exercise's or the whole
//! topic's; an item that only some engines use says so.

pub mod history;
pub mod sweep;

use dscheck::{run, Failure, Property};
use dsim::{Broken, Event, Node, NodeId, Sim};

/// The only node's id, in every storage run.
pub const NODE: NodeId = NodeId(0);

/// A store as every storage suite drives it: the reference, the learner's,
/// or one from `bugs/`.
pub trait Engine: Node {
    /// A node before it has started.
    fn fresh() -> Self;
    /// A write request's key and value (`None` for a delete); `None` for a
    /// read.
    fn write(request: &Self::Request) -> Option<(&str, Option<&str>)>;
    /// Whether `reply` acknowledges a write.
    fn acks(reply: &Self::Reply) -> bool;
}

/// Implements [`Engine`] and the suite's own trait `$store` (with the
/// methods in `$body`) for each node type listed, each with its own
/// attributes (`#[cfg(bugs)]` for the variants from `bugs/`). The engine's
/// `Request` (Put, Delete, …) and `Reply` (with `Done`) must be in scope
/// where it is invoked, as they are in each engine's suite.
macro_rules! engines {
    ($store:ident $body:tt for $($(#[$attr:meta])* $node:ty),+ $(,)?) => {$(
        $(#[$attr])*
        impl $crate::storage::common::Engine for $node {
            fn fresh() -> Self {
                <$node>::new()
            }
            fn write(request: &Request) -> Option<(&str, Option<&str>)> {
                match request {
                    Request::Put { key, value } => Some((key, Some(value))),
                    Request::Delete { key } => Some((key, None)),
                    _ => None,
                }
            }
            fn acks(reply: &Reply) -> bool {
                matches!(reply, Reply::Done)
            }
        }
        $(#[$attr])*
        impl $store for $node $body
    )+};
}
pub(crate) use engines;

/// What [`check_synced_ack`] says of a write acknowledged with unsynced
/// writes on the disk, in storage_wal's and storage_btree's suites
/// (storage_lsm's also names unsynced names), so unused in a build of
/// storage_lsm alone.
#[cfg_attr(
    not(any(exercise = "storage_wal", exercise = "storage_btree")),
    allow(dead_code)
)]
pub const UNSYNCED_ACK: &str =
    "a write was acknowledged while the disk still held unsynced writes: a power cut now could \
     lose it";

/// Registers `property`: a step that acknowledges a write leaves nothing
/// unsynced on the disk (`why` says what a failure means for this engine).
/// With `on` false it never fails: a meta test turns it off to see the
/// durability check catch, after a power cut, what it would catch first.
pub fn check_synced_ack<N: Engine>(
    sim: &mut Sim<N>,
    property: Property,
    on: bool,
    why: &'static str,
) {
    sim.check(property, move |sim, step| {
        let acked = step
            .caused()
            .iter()
            .any(|e| matches!(&e.event, Event::Reply { reply, .. } if N::acks(reply)));
        if on && acked && !sim.disk(NODE).is_synced() {
            return Err(Broken::new(why).nodes([NODE]));
        }
        Ok(())
    });
}

/// How the node goes down between two rounds of a run's requests.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cut {
    /// The power fails: the disk keeps only what was synced.
    Power,
    /// The node crashes: its memory is lost, its disk's cache is not.
    Crash,
}

/// The node goes down as `cut` says, and is restarted.
pub fn down_and_up<N: Engine>(sim: &mut Sim<N>, cut: Cut) -> Result<(), Failure> {
    match cut {
        Cut::Power => run(sim, |s| s.power_cut(NODE))?,
        Cut::Crash => run(sim, |s| s.crash(NODE))?,
    }
    run(sim, |s| s.restart(NODE))
}
