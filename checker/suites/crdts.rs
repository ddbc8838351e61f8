//! The suite of topic 08, CRDTs: `crdt_g_counter`, `crdt_pn_counter`,
//! `crdt_lww_register` and `crdt_or_set`. Each data type is held to the
//! same properties (`crdts/properties.rs`): the laws of merge and updates as
//! inflations, as property tests over generated runs (proptest, through
//! `crdts/laws.rs`); its own spec after every step; convergence of random
//! interleavings on 2 to 10 replicas, and of replicas gossiping in the
//! simulator (`crdts/gossip.rs`, whose replica node is the suite's, not the
//! learner's). Tests in the `meta` group feed known-wrong types written
//! here to the same checks; they grade no exercise.

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

mod crdts {
    #[cfg(exercise = "crdt_g_counter")]
    pub mod g_counter;
    pub mod gossip;
    pub mod history;
    pub mod laws;
    #[cfg(exercise = "crdt_lww_register")]
    pub mod lww_register;
    #[cfg(exercise = "crdt_or_set")]
    pub mod or_set;
    #[cfg(exercise = "crdt_pn_counter")]
    pub mod pn_counter;
    pub mod properties;
}

fn main() {
    let suite = dscheck::Suite::new("crdts");
    #[cfg(exercise = "crdt_g_counter")]
    let suite = crdts::g_counter::tests(suite);
    #[cfg(exercise = "crdt_pn_counter")]
    let suite = crdts::pn_counter::tests(suite);
    #[cfg(exercise = "crdt_lww_register")]
    let suite = crdts::lww_register::tests(suite);
    #[cfg(exercise = "crdt_or_set")]
    let suite = crdts::or_set::tests(suite);
    suite.run()
}

/// A meta test: `broken` runs a check on a known-wrong type; the check
/// must report `property` in one of seeds 1 to 5.
fn expect_caught(
    property: dscheck::Property,
    broken: impl Fn(u64) -> Result<(), Failure>,
) -> Result<(), Failure> {
    dscheck::expect_caught(property, 5, broken)
}
