//! The suite of topic 15, failure detection: `fd_heartbeat`,
//! `fd_phi_accrual` and `fd_swim`. For the first two every node monitors
//! every other; after every event the tests ask each live node, by its own
//! clock, which peers it suspects, and compare the answers with which nodes
//! are really down (true time): completeness (every crash suspected within
//! a bound), accuracy (false suspicions counted per node-hour and held to a
//! bound) and forgiveness (a node heard from again is not suspected); and
//! φ's false suspicions are compared with those of a fixed timeout of the
//! same mean detection time on the same arrivals. For `fd_swim` the tests
//! read each member's view after every event: its changes against SWIM's
//! precedence, its incarnations, crashes confirmed within a bound, live
//! members never confirmed and suspicions refuted, and the load per member
//! at 25, 50 and 100 members. Tests in the `meta` group run the checks on
//! the reference with one bug from `fd/bugs/` (see `checker/build.rs`).

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

mod fd {
    #[cfg(exercise = "fd_heartbeat")]
    pub mod heartbeat;
    #[cfg(exercise = "fd_phi_accrual")]
    pub mod phi_accrual;
    #[cfg(exercise = "fd_swim")]
    pub mod swim;
    pub mod watch;
}

/// The reference with one bug each, made by `build.rs` from `fd/bugs/`.
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
    include!(concat!(env!("OUT_DIR"), "/bugs_fd.rs"));
}

fn main() {
    let suite = dscheck::Suite::new("fd");
    #[cfg(exercise = "fd_heartbeat")]
    let suite = fd::heartbeat::tests(suite);
    #[cfg(exercise = "fd_phi_accrual")]
    let suite = fd::phi_accrual::tests(suite);
    #[cfg(exercise = "fd_swim")]
    let suite = fd::swim::tests(suite);
    #[cfg(bugs)]
    let suite = fd::heartbeat::meta(suite);
    #[cfg(bugs)]
    let suite = fd::phi_accrual::meta(suite);
    #[cfg(bugs)]
    let suite = fd::swim::meta(suite);
    suite.run()
}
