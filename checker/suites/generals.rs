//! The suite of topic 01, two generals: `generals_messengers` and
//! `generals_adversary`. Tests in the `meta` group run the checks on
//! known-wrong strategies and adversaries written here and pass only if the
//! intended property finds the flaw; they grade no exercise.

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

mod generals {
    #[cfg(exercise = "generals_adversary")]
    pub mod adversary;
    #[cfg(exercise = "generals_messengers")]
    pub mod messengers;
    #[cfg(exercise = "generals_adversary")]
    pub mod protocols;
}

fn main() {
    let suite = dscheck::Suite::new("generals");
    #[cfg(exercise = "generals_messengers")]
    let suite = generals::messengers::tests(suite);
    #[cfg(exercise = "generals_adversary")]
    let suite = generals::adversary::tests(suite);
    suite.run()
}
