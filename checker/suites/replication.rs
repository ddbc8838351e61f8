//! The suite of topic 13, replication with a leader: `replication_log_shipping`
//! and `replication_read_guarantees`. A leader's log is copied to followers
//! over a faulty network; the tests check after every step that each
//! follower holds a prefix of the leader's log and acknowledges only what
//! it stored, and after the faults stop that every follower caught up.
//! Clients read from any node through sessions; every read reply is
//! checked for read-your-writes, monotonic reads and its value, and a
//! waiting read must be answered once its node catches up. Tests in the `meta` group run the
//! checks on the reference with one bug from `replication/bugs/` (see
//! `checker/build.rs`), and pass only if the intended check finds it; they
//! grade no exercise, and exist only where the references are the subject.

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

mod replication {
    #[cfg(exercise = "replication_failover")]
    pub mod failover;
    pub mod guard;
    pub mod log_shipping;
    #[cfg(exercise = "replication_read_guarantees")]
    pub mod read_guarantees;
    pub mod reads;
    pub mod watch;
}

/// The reference with one bug each, made by `build.rs` from `replication/bugs/`.
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
    include!(concat!(env!("OUT_DIR"), "/bugs_replication.rs"));
}

fn main() {
    let suite = dscheck::Suite::new("replication");
    #[cfg(exercise = "replication_log_shipping")]
    let suite = replication::log_shipping::tests(suite);
    #[cfg(exercise = "replication_read_guarantees")]
    let suite = replication::read_guarantees::tests(suite);
    #[cfg(exercise = "replication_failover")]
    let suite = replication::failover::tests(suite);
    #[cfg(bugs)]
    let suite = replication::log_shipping::meta(suite);
    #[cfg(bugs)]
    let suite = replication::read_guarantees::meta(suite);
    #[cfg(bugs)]
    let suite = replication::failover::meta(suite);
    suite.run()
}
