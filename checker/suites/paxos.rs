//! The suite of topic 12, Paxos: `paxos_single_decree` and `paxos_multi`.
//! Random runs under every fault of the simulator (and, for a single
//! decree, an exhaustive exploration of a small system) check the safety
//! properties after every event; liveness is checked once the faults stop.
//! Tests in the `meta` group run the checks on the reference with one bug
//! from `paxos/bugs/` (see `checker/build.rs`) and pass only if the
//! intended property finds it; they grade no exercise, and exist only where
//! the references are the subject.

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

mod paxos {
    #[cfg(exercise = "paxos_single_decree")]
    pub mod exhaustive;
    #[cfg(bugs)]
    pub mod meta;
    #[cfg(exercise = "paxos_multi")]
    pub mod multi;
    #[cfg(exercise = "paxos_single_decree")]
    pub mod properties;
    #[cfg(exercise = "paxos_single_decree")]
    pub mod single_decree;
}

/// The reference with one bug each, made by `build.rs` from `paxos/bugs/`.
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
    include!(concat!(env!("OUT_DIR"), "/bugs_paxos.rs"));
}

fn main() {
    let suite = dscheck::Suite::new("paxos");
    #[cfg(exercise = "paxos_single_decree")]
    let suite = paxos::single_decree::tests(suite);
    #[cfg(exercise = "paxos_multi")]
    let suite = paxos::multi::tests(suite);
    #[cfg(bugs)]
    let suite = paxos::meta::tests(suite);
    #[cfg(bugs)]
    let suite = paxos::multi::meta::tests(suite);
    suite.run()
}
