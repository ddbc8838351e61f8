//! The suite of topic 09, sharding: `sharding_hash_ring`,
//! `sharding_rebalance` and `sharding_router`. Tests in the `meta` group run
//! each property check on a known-wrong implementation written here and pass
//! only if the check finds the bug; they grade no exercise.

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

mod sharding {
    #[cfg(exercise = "sharding_hash_ring")]
    pub mod hash_ring;
    #[cfg(any(exercise = "sharding_rebalance", exercise = "sharding_router"))]
    pub mod rebalance;
    #[cfg(exercise = "sharding_router")]
    pub mod router;
}

fn main() {
    let suite = dscheck::Suite::new("sharding");
    #[cfg(exercise = "sharding_hash_ring")]
    let suite = sharding::hash_ring::tests(suite);
    #[cfg(exercise = "sharding_rebalance")]
    let suite = sharding::rebalance::tests(suite);
    #[cfg(exercise = "sharding_router")]
    let suite = sharding::router::tests(suite);
    suite.run()
}
