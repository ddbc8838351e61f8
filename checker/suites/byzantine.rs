//! The suite of topic 02, Byzantine generals: `byzantine_oral_messages`,
//! `byzantine_three_is_not_enough` and `byzantine_signed_messages`. The
//! generals run in synchronous rounds driven by the suite, which plays the
//! traitors (silent, two-faced, lying, random, forging). Tests in the `meta`
//! group run the checks on known-wrong lieutenants written here and pass
//! only if the intended property finds the bug; they grade no exercise.

#[cfg(feature = "learner")]
use exercises as subject;
#[cfg(not(feature = "learner"))]
use solutions as subject;

mod byzantine {
    pub mod model;
    pub mod oral_messages;
    pub mod rounds;
    pub mod signed;
    pub mod signed_messages;
    pub mod three;
}

fn main() {
    let suite = dscheck::Suite::new("byzantine");
    let suite = byzantine::oral_messages::tests(suite);
    let suite = byzantine::three::tests(suite);
    let suite = byzantine::signed_messages::tests(suite);
    suite.run()
}
