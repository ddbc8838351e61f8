//! `dsim`: the node API and a deterministic network simulator.
//!
//! A protocol is written as a [`Node`]: event handlers that read like the
//! lecture pseudocode. A [`Sim`] runs several nodes on a simulated network
//! that delays, reorders, duplicates and loses messages, partitions, crashes,
//! restarts and pauses nodes, and skews their clocks, every choice drawn from one
//! `u64` seed. The same seed gives the same run, event for event, so a failure
//! found once can be replayed and studied.
//!
//! A node keeps what must outlive a crash on its [`Disk`]: files behind a
//! volatile cache, which a crash of the node leaves alone and a power cut
//! ([`Sim::power_cut`]) cuts back to what was synced, tearing the last
//! write as the seed picks. [`Storage`] is a key-value store in files on
//! that disk, durable at once: each put replaces its key's file
//! atomically and syncs it, so every put survives a power cut.
//!
//! ```
//! use dsim::{Ctx, Node, NodeId, Sim};
//! use serde::{Deserialize, Serialize};
//!
//! /// Replies to every ping with a pong.
//! #[derive(Debug)]
//! struct Echo;
//!
//! #[derive(Clone, Debug, Serialize, Deserialize)]
//! enum Msg { Ping, Pong }
//!
//! impl Node for Echo {
//!     type Msg = Msg;
//!     type Timer = ();
//!     type Request = ();
//!     type Reply = ();
//!
//!     fn on_start(&mut self, ctx: &mut Ctx<Self>) {
//!         if ctx.id() == NodeId(0) {
//!             ctx.broadcast(Msg::Ping);
//!         }
//!     }
//!
//!     fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
//!         if let Msg::Ping = msg {
//!             ctx.send(from, Msg::Pong);
//!         }
//!     }
//! }
//!
//! let mut sim = Sim::new(7, 3, |_| Echo);
//! sim.run_until_quiet(std::time::Duration::from_secs(1)).unwrap();
//! assert_eq!(sim.stats().delivered, 4);
//! ```

mod checksum;
mod disk;
pub mod dump;
mod erased;
pub mod explore;
mod history;
mod net;
mod node;
pub mod panics;
mod rng;
mod sim;
mod step;
mod storage;
mod time;
pub mod trace;
mod violation;

pub use checksum::crc32;
pub use disk::{Disk, DiskError, PowerLoss, SECTOR};
pub use dump::{capture, Dump, DumpEvent, DumpState, DumpViolation, EventKind};
pub use erased::{DynNode, Erased};
pub use explore::{Counterexample, Explorable, Explored, Explorer, View};
pub use history::Operation;
pub use net::Network;
pub use node::{Context, Ctx, Node, NodeId, RequestId};
pub use rng::SimRng;
pub use sim::Sim;
pub use step::Step;
pub use storage::Storage;
pub use time::{Clock, Time};
pub use trace::{DropReason, Entry, Event, Trace};
pub use violation::{Broken, Fact, Property, Stats, Violation};

pub use rand;
pub use serde;
