//! The suite of topic 11, event sourcing: `events_store`,
//! `events_projections`, `events_snapshots` and `events_temporal`. The
//! store is tested on real files, with a real writer process killed in the
//! middle of its appends (this binary, started again as a writer: see
//! `events/store/kill.rs`). Tests in the `meta` group feed known-wrong
//! implementations written here to the same checks; they grade no exercise.

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

mod events {
    #[cfg(exercise = "events_projections")]
    pub mod projections;
    #[cfg(exercise = "events_snapshots")]
    pub mod snapshots;
    #[cfg(exercise = "events_store")]
    pub mod store;
    #[cfg(exercise = "events_temporal")]
    pub mod temporal;
}

fn main() {
    #[cfg(exercise = "events_store")]
    if let Some(code) = events::store::kill::writer_main() {
        std::process::exit(code);
    }
    let suite = dscheck::Suite::new("events");
    #[cfg(exercise = "events_store")]
    let suite = events::store::tests(suite);
    #[cfg(exercise = "events_projections")]
    let suite = events::projections::tests(suite);
    #[cfg(exercise = "events_snapshots")]
    let suite = events::snapshots::tests(suite);
    #[cfg(exercise = "events_temporal")]
    let suite = events::temporal::tests(suite);
    suite.run()
}

/// A meta test: `broken` runs a check on a known-wrong implementation; the
/// check must report `property` in one of seeds 1 to 5.
fn expect_caught(
    property: dscheck::Property,
    broken: impl Fn(u64) -> Result<(), Failure>,
) -> Result<(), Failure> {
    dscheck::expect_caught(property, 5, broken)
}
