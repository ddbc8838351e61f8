//! The suite of topic 06, quorums and replication: `quorum_rw`,
//! `quorum_read_repair`, `quorum_anti_entropy`, `quorum_abd` and
//! `quorum_linearizability`. Tests in the `meta` group run each property
//! check on a known-wrong implementation, the reference with one bug from
//! `quorums/bugs/` (see `checker/build.rs`), and pass only if the check
//! finds the bug; they grade no exercise, and exist only where the
//! references are the subject.

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

mod quorums {
    #[cfg(exercise = "quorum_abd")]
    pub mod abd;
    #[cfg(exercise = "quorum_abd")]
    pub mod abd_schedules;
    #[cfg(exercise = "quorum_anti_entropy")]
    pub mod anti_entropy;
    #[cfg(exercise = "quorum_linearizability")]
    pub mod lin;
    #[cfg(exercise = "quorum_read_repair")]
    pub mod read_repair;
    #[cfg(any(exercise = "quorum_rw", exercise = "quorum_read_repair"))]
    pub mod rw;
    pub mod workload;
}

/// The reference with one bug each, made by `build.rs` from `quorums/bugs/`.
#[cfg(bugs)]
#[allow(
    dead_code,
    unused_imports,
    unused_variables,
    unused_mut,
    unreachable_code,
    clippy::all
)]
mod bugs {
    include!(concat!(env!("OUT_DIR"), "/bugs_quorums.rs"));
}

fn main() {
    let suite = dscheck::Suite::new("quorums");
    #[cfg(exercise = "quorum_rw")]
    let suite = quorums::rw::tests(suite);
    #[cfg(exercise = "quorum_read_repair")]
    let suite = quorums::read_repair::tests(suite);
    #[cfg(exercise = "quorum_anti_entropy")]
    let suite = quorums::anti_entropy::tests(suite);
    #[cfg(exercise = "quorum_abd")]
    let suite = quorums::abd::tests(suite);
    #[cfg(exercise = "quorum_linearizability")]
    let suite = quorums::lin::tests(suite);
    #[cfg(bugs)]
    let suite = {
        let suite = quorums::rw::meta(suite);
        let suite = quorums::read_repair::meta(suite);
        let suite = quorums::anti_entropy::meta(suite);
        quorums::abd::meta(suite)
    };
    suite.run()
}
