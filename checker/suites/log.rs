//! The suite of topic 17, a partitioned log: `log_partition_leader`,
//! `log_idempotent_producer` and `log_consumer_groups`. A partition's log
//! is replicated from a leader to followers that fetch it; producers
//! append to it with sequence numbers; a group of consumers shares a
//! topic's partitions. The tests check after every step that the replicas
//! agree below the high watermark and lose nothing committed, that no
//! record is in the log twice or out of its producer's order, and that a
//! partition has one owner per generation and no commit skips a record,
//! under loss, duplication, delay, partitions, crashes and skewed clocks.
//! Tests in the `meta` group run the checks on the reference with one bug
//! from `log/bugs/` (see `checker/build.rs`), and pass only if the intended
//! check finds it; they grade no exercise, and exist only where the
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

mod log {
    #[cfg(exercise = "log_consumer_groups")]
    pub mod consumer_groups;
    #[cfg(exercise = "log_idempotent_producer")]
    pub mod idempotent_producer;
    #[cfg(exercise = "log_partition_leader")]
    pub mod partition_leader;
}

/// The reference with one bug each, made by `build.rs` from `log/bugs/`.
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
    include!(concat!(env!("OUT_DIR"), "/bugs_log.rs"));
}

fn main() {
    let suite = dscheck::Suite::new("log");
    #[cfg(exercise = "log_partition_leader")]
    let suite = log::partition_leader::tests(suite);
    #[cfg(exercise = "log_idempotent_producer")]
    let suite = log::idempotent_producer::tests(suite);
    #[cfg(exercise = "log_consumer_groups")]
    let suite = log::consumer_groups::tests(suite);
    #[cfg(bugs)]
    let suite = log::partition_leader::meta(suite);
    #[cfg(bugs)]
    let suite = log::idempotent_producer::meta(suite);
    #[cfg(bugs)]
    let suite = log::consumer_groups::meta(suite);
    suite.run()
}
