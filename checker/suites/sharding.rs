//! The suite of topic 09, sharding: `sharding_hash_ring`,
//! `sharding_rebalance` and `sharding_router`. Tests in the `meta` group run
//! each property check on a known-wrong implementation written here and pass
//! only if the check finds the bug; they grade no exercise.

#[cfg(feature = "learner")]
use exercises as subject;
#[cfg(not(feature = "learner"))]
use solutions as subject;

mod sharding {
    pub mod hash_ring;
    pub mod rebalance;
    pub mod router;
}

fn main() {
    let suite = dscheck::Suite::new("sharding");
    let suite = sharding::hash_ring::tests(suite);
    let suite = sharding::rebalance::tests(suite);
    let suite = sharding::router::tests(suite);
    suite.run()
}
