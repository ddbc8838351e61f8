//! The suite of topic 14, leases and coordination: `coord_lease` and
//! `coord_fencing` (a lock service with fencing tokens, storage that turns
//! away old tokens, and a client paused past its lease). In `coord_lease`, nodes
//! whose clocks are skewed and drift at the stated bound elect one holder
//! of a time-bounded lease; after every event the tests ask each node, by
//! its own clock, whether it holds the lease, and compare the answers at
//! the same true instant. Tests in the `meta` group run the checks on the
//! reference with one bug from `coord/bugs/` (see `checker/build.rs`).

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

mod coord {
    #[cfg(exercise = "coord_fencing")]
    pub mod fencing;
    #[cfg(exercise = "coord_lease")]
    pub mod lease;
    #[cfg(exercise = "coord_sessions")]
    pub mod sessions;
}

/// The reference with one bug each, made by `build.rs` from `coord/bugs/`.
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
    include!(concat!(env!("OUT_DIR"), "/bugs_coord.rs"));
}

fn main() {
    let suite = dscheck::Suite::new("coord");
    #[cfg(exercise = "coord_lease")]
    let suite = coord::lease::tests(suite);
    #[cfg(exercise = "coord_fencing")]
    let suite = coord::fencing::tests(suite);
    #[cfg(exercise = "coord_sessions")]
    let suite = coord::sessions::tests(suite);
    #[cfg(bugs)]
    let suite = coord::lease::meta(suite);
    #[cfg(bugs)]
    let suite = coord::fencing::meta(suite);
    #[cfg(bugs)]
    let suite = coord::sessions::meta(suite);
    suite.run()
}
