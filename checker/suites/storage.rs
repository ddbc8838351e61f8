//! The suite of topic 16, storage: `storage_wal`, `storage_lsm`,
//! `storage_btree`. One node keeps a store on a `dsim::Disk` and is checked
//! at every event against the run's history, across crashes and power cuts.
//! Tests in the `meta` group run the checks
//! on the reference with one bug from `storage/bugs/` (see `checker/build.rs`).

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

mod storage {
    // Shared by the three engines' suites, so compiled in every build of
    // the topic, one exercise's or all of them.
    #[cfg(exercise = "storage_btree")]
    pub mod btree;
    pub mod common;
    #[cfg(exercise = "storage_lsm")]
    pub mod lsm;
    #[cfg(exercise = "storage_wal")]
    pub mod wal;
}

/// The reference with one bug each, made by `build.rs` from `storage/bugs/`.
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
    include!(concat!(env!("OUT_DIR"), "/bugs_storage.rs"));
}

fn main() {
    let suite = dscheck::Suite::new("storage");
    #[cfg(exercise = "storage_wal")]
    let suite = storage::wal::tests(suite);
    #[cfg(exercise = "storage_lsm")]
    let suite = storage::lsm::tests(suite);
    #[cfg(bugs)]
    let suite = storage::wal::meta(suite);
    #[cfg(bugs)]
    let suite = storage::lsm::meta(suite);
    #[cfg(exercise = "storage_btree")]
    let suite = storage::btree::tests(suite);
    #[cfg(bugs)]
    let suite = storage::btree::meta(suite);
    suite.run()
}
