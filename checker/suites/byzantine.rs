//! The suite of topic 02, Byzantine generals: `byzantine_oral_messages`,
//! `byzantine_three_is_not_enough` and `byzantine_signed_messages`. The
//! generals run in synchronous rounds driven by the suite, which plays the
//! traitors (silent, two-faced, lying, random, forging). Tests in the `meta`
//! group run the checks on known-wrong lieutenants written here and pass
//! only if the intended property finds the bug; they grade no exercise.

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

mod byzantine {
    pub mod model;
    #[cfg(exercise = "byzantine_oral_messages")]
    pub mod oral_messages;
    pub mod rounds;
    #[cfg(exercise = "byzantine_signed_messages")]
    pub mod signed;
    #[cfg(exercise = "byzantine_signed_messages")]
    pub mod signed_messages;
    #[cfg(exercise = "byzantine_three_is_not_enough")]
    pub mod three;
}

fn main() {
    let suite = dscheck::Suite::new("byzantine");
    #[cfg(exercise = "byzantine_oral_messages")]
    let suite = byzantine::oral_messages::tests(suite);
    #[cfg(exercise = "byzantine_three_is_not_enough")]
    let suite = byzantine::three::tests(suite);
    #[cfg(exercise = "byzantine_signed_messages")]
    let suite = byzantine::signed_messages::tests(suite);
    suite.run()
}
