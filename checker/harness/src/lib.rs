//! `dscheck`: the harness of the hidden suites.
//!
//! A suite is a test binary per topic (`checker/suites/<topic>.rs`) built
//! with [`Suite`]. A test is a scenario plus properties: simulation checks
//! registered with `Sim::check` run after every step, and the test returns a
//! [`Failure`] naming the property that broke, in plain words. Tests that run
//! over seeds report the failing seed; `DSCOURSE_SEED` replays it alone.
//! Every verdict goes to the runner through the result channel described in
//! [`protocol`].
//!
//! A suite declares each property once, as a [`Property`] constant with its
//! words and its hint, and uses that constant wherever the property is
//! checked (`Sim::check`, [`Failure::new`], [`ensure`], [`expect_caught`]):
//! every failure then carries the property's hint, with nothing to register
//! and nothing to forget.

mod failure;
pub mod linearizability;
mod meta;
pub mod protocol;
mod suite;

pub use failure::{
    ensure, run, Failure, EXCERPT_LINES, PANIC, PANIC_PROPERTY, TODO, TODO_PROPERTY,
};
pub use meta::{
    expect_accepted, expect_caught, expect_caught_by_any, expect_caught_saying, ACCEPTS_PROPERTY,
    META_PROPERTY,
};
pub use suite::{metric, Suite};

pub use dsim::{Fact, Property};

use std::time::Duration;

/// The seed being replayed, if `DSCOURSE_SEED` is set.
pub fn replay_seed() -> Option<u64> {
    std::env::var(protocol::SEED_VAR)
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

/// Whether one seed is being replayed (failures then keep the whole trace).
pub fn replaying() -> bool {
    replay_seed().is_some()
}

/// `n` milliseconds.
pub const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `n` seconds.
pub const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}
