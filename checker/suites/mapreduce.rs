//! The suite of topic 18, mapreduce: `mapreduce_coordinator` and
//! `mapreduce_stragglers`. A coordinator, a shared file store and workers
//! run a job in the simulator; its outputs are checked against a sequential
//! run after every event, across worker crashes, a lossy network and a slow
//! worker (`stragglers` reuses the runs and checks of `coordinator`). Tests in the `meta` group run the checks on
//! the reference with one bug from `mapreduce/bugs/` (see `checker/build.rs`).

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

mod mapreduce {
    #[cfg(any(exercise = "mapreduce_coordinator", exercise = "mapreduce_stragglers"))]
    pub mod coordinator;
    #[cfg(exercise = "mapreduce_stragglers")]
    pub mod stragglers;
}

/// The reference with one bug each, made by `build.rs` from `mapreduce/bugs/`.
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
    include!(concat!(env!("OUT_DIR"), "/bugs_mapreduce.rs"));
}

fn main() {
    let suite = dscheck::Suite::new("mapreduce");
    #[cfg(exercise = "mapreduce_coordinator")]
    let suite = mapreduce::coordinator::tests(suite);
    #[cfg(exercise = "mapreduce_stragglers")]
    let suite = mapreduce::stragglers::tests(suite);
    #[cfg(bugs)]
    let suite = mapreduce::coordinator::meta(suite);
    #[cfg(bugs)]
    let suite = mapreduce::stragglers::meta(suite);
    suite.run()
}
