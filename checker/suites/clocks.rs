//! The suite of topic 03, clocks: `clocks_physical`, `clocks_lamport` and
//! `clocks_vector`. Tests in the `meta` group run each property check on a
//! known-wrong implementation written here and pass only if the check finds
//! the bug; they grade no exercise.

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

mod clocks {
    pub mod happens_before;
    #[cfg(exercise = "clocks_lamport")]
    pub mod lamport;
    #[cfg(exercise = "clocks_physical")]
    pub mod physical;
    #[cfg(exercise = "clocks_vector")]
    pub mod vector;
}

fn main() {
    let suite = dscheck::Suite::new("clocks");
    #[cfg(exercise = "clocks_physical")]
    let suite = clocks::physical::tests(suite);
    #[cfg(exercise = "clocks_lamport")]
    let suite = clocks::lamport::tests(suite);
    #[cfg(exercise = "clocks_vector")]
    let suite = clocks::vector::tests(suite);
    suite.run()
}

/// A meta test: `broken` runs a property check on a known-wrong
/// implementation; the check must report `property` in one of seeds 1 to 10.
fn expect_caught(
    property: dscheck::Property,
    broken: impl Fn(u64) -> Result<(), Failure>,
) -> Result<(), Failure> {
    dscheck::expect_caught(property, 10, broken)
}
