//! The suite of topic 04, broadcast: `broadcast_reliable`, `broadcast_fifo`,
//! `broadcast_causal`, `broadcast_total_order` and `broadcast_gossip`. Every
//! node keeps the values it delivered in a `delivered` list; the suite reads
//! it after every event and checks the properties of each kind of broadcast.
//! Tests in the `meta` group run the checks on known-wrong implementations
//! written here and pass only if the intended property catches them; they
//! grade no exercise.

// A check of one exercise compiles only its part of the suite, and not
// every helper is used there.
#![cfg_attr(
    feature = "single-exercise",
    allow(dead_code, unused_imports, unused_macros)
)]

#[cfg(feature = "learner")]
use exercises as subject;
#[cfg(not(feature = "learner"))]
use solutions as subject;

use dscheck::Failure;

/// The references with one bug each, made by `build.rs` from
/// `broadcast/bugs/`.
#[cfg(bugs)]
#[allow(
    dead_code,
    unused_imports,
    unused_variables,
    unused_mut,
    unreachable_code,
    clippy::all
)]
mod bugs {
    include!(concat!(env!("OUT_DIR"), "/bugs_broadcast.rs"));
}

/// Happens-before from the trace, shared with the clocks suite (whose
/// workload helpers this suite does not use).
#[allow(dead_code)]
#[path = "clocks/happens_before.rs"]
mod happens_before;

mod broadcast {
    #[cfg(exercise = "broadcast_causal")]
    pub mod causal;
    #[cfg(any(exercise = "broadcast_fifo", exercise = "broadcast_causal"))]
    pub mod fifo;
    #[cfg(exercise = "broadcast_gossip")]
    pub mod gossip;
    pub mod observe;
    pub mod orders;
    #[cfg(exercise = "broadcast_reliable")]
    pub mod reliable;
    #[cfg(exercise = "broadcast_total_order")]
    pub mod total_order;
}

fn main() {
    let suite = dscheck::Suite::new("broadcast");
    #[cfg(exercise = "broadcast_reliable")]
    let suite = broadcast::reliable::tests(suite);
    #[cfg(exercise = "broadcast_fifo")]
    let suite = broadcast::fifo::tests(suite);
    #[cfg(exercise = "broadcast_causal")]
    let suite = broadcast::causal::tests(suite);
    #[cfg(exercise = "broadcast_total_order")]
    let suite = broadcast::total_order::tests(suite);
    #[cfg(exercise = "broadcast_gossip")]
    let suite = broadcast::gossip::tests(suite);
    suite.run()
}

/// A meta test: `broken` runs a scenario on a known-wrong implementation;
/// the check must report `property` in one of seeds 1 to 10.
fn expect_caught(
    property: dscheck::Property,
    broken: impl Fn(u64) -> Result<(), Failure>,
) -> Result<(), Failure> {
    dscheck::expect_caught(property, 10, broken)
}
