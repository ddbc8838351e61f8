//! The suite of topic 07, two-phase commit: `tpc_basic` and `tpc_recovery`.
//! Random runs in the simulator and exhaustive explorations of small cases
//! (every ordering, loss and crash) check the same properties. Tests in the
//! `meta` group run the checks on a known-wrong implementation written here
//! and pass only if the intended property finds the bug; they grade no
//! exercise.

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

mod tpc {
    pub mod basic;
    pub mod exhaustive;
    pub mod model;
    pub mod observed;
    pub mod prompt;
    pub mod properties;
    pub mod recovery;
    pub mod recovery_scripted;
    pub mod wrong;
}

fn main() {
    let suite = dscheck::Suite::new("tpc");
    let suite = tpc::basic::tests(suite);
    let suite = tpc::recovery::tests(suite);
    let suite = tpc::wrong::tests(suite);
    suite.run()
}
