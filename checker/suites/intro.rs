//! The suite of topic 00, the node API: `intro_pingpong` and `intro_retry`.

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

mod intro {
    #[cfg(exercise = "intro_pingpong")]
    pub mod pingpong;
    #[cfg(exercise = "intro_retry")]
    pub mod retry;
}

fn main() {
    let suite = dscheck::Suite::new("intro");
    #[cfg(exercise = "intro_pingpong")]
    let suite = intro::pingpong::tests(suite);
    #[cfg(exercise = "intro_retry")]
    let suite = intro::retry::tests(suite);
    suite.run()
}
