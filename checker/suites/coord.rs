//! The suite of topic 14, leases and coordination: `coord_lease` and
//! `coord_fencing` (a lock service with fencing tokens, storage that turns
//! away old tokens, and a client paused past its lease). In `coord_lease`, nodes
//! whose clocks are skewed and drift at the stated bound elect one holder
//! of a time-bounded lease; after every event the tests ask each node, by
//! its own clock, whether it holds the lease, and compare the answers at
//! the same true instant. Tests in the `meta` group run the checks on the
//! reference with one bug from `coord/bugs/` (see `checker/build.rs`).

#[cfg(feature = "learner")]
use exercises as subject;
#[cfg(not(feature = "learner"))]
use solutions as subject;

mod coord {
    pub mod fencing;
    pub mod lease;
    pub mod sessions;
}

/// The reference with one bug each, made by `build.rs` from `coord/bugs/`.
#[cfg(bugs)]
#[allow(
    dead_code,
    unused_imports,
    unused_variables,
    unreachable_code,
    clippy::all
)]
mod bugs {
    include!(concat!(env!("OUT_DIR"), "/bugs_coord.rs"));
}

fn main() {
    let suite = dscheck::Suite::new("coord");
    let suite = coord::lease::tests(suite);
    let suite = coord::fencing::tests(suite);
    let suite = coord::sessions::tests(suite);
    #[cfg(bugs)]
    let suite = coord::lease::meta(suite);
    #[cfg(bugs)]
    let suite = coord::fencing::meta(suite);
    #[cfg(bugs)]
    let suite = coord::sessions::meta(suite);
    suite.run()
}
