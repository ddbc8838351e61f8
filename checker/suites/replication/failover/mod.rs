//! replication_failover: the suite plays the failover manager. It crashes
//! or cuts off the leader, asks the followers where they stand, promotes
//! the most up-to-date one to the next epoch, and goes on writing; the
//! properties of `guard.rs` are checked after every step, the promoted
//! leader must hold every write acknowledged in `Majority` mode, and once
//! the network is calm every node must hold the last leader's log. Two
//! scripted runs show the other side: in `Async` mode a crash loses
//! acknowledged writes (counted), and an old leader cut off by a partition
//! (split brain) steps down and drops its own writes when it heals. A third
//! restarts every follower right after it adopted a new epoch.

mod manager;
#[cfg(bugs)]
mod meta;
mod scenarios;

use super::log_shipping::{ALL, LOSSY, NONE};
use crate::subject::replication::{AckMode, LogShipping};
use dscheck::{Property, Suite};
#[cfg(bugs)]
pub use meta::meta;
use scenarios::{async_loses, calm, failovers, restarted, split_brain};

const PROMOTES: Property = Property {
    name: "a node answers Position at once, and a promotion with Promoted at once if its epoch \
           is newer than the node's, never if not",
    hint: "on Request::Position reply Reply::Position { index, last_epoch, epoch }; on \
           Request::Promote { epoch } with a newer epoch, adopt it, lead, ship to every \
           follower and reply Reply::Promoted { epoch }",
    when: &[],
};

const QUICK: Property = Property {
    name: "on a calm network, a promoted leader brings every live follower to its log within \
           30 ms, and then each write costs a batch and an acknowledgement per follower",
    hint: "on promotion ship to every follower at once; on Mismatch move next_index back and \
           ship at once; take a batch whose prev_index is your last index (matches: \
           prev_index <= last_index())",
    when: &[],
};

const ANSWERS: Property = Property {
    name: "with Majority acknowledgement, the leader answers every write once a majority has it",
    hint: "call release_writes after every acknowledgement: answer each waiting write whose \
           index is at most majority_index(), and only those",
    when: &[],
};

pub fn tests(suite: Suite) -> Suite {
    use AckMode::{Async, Majority};
    suite
        .seeded("failover::majority_keeps_acknowledged_writes", 6, |seed| {
            failovers::<LogShipping>(seed, Majority, NONE)
        })
        .seeded("failover::on_a_lossy_network", 6, |seed| {
            failovers::<LogShipping>(seed, Majority, LOSSY)
        })
        .seeded("failover::with_restarts_and_skewed_clocks", 6, |seed| {
            failovers::<LogShipping>(seed, Majority, ALL)
        })
        .seeded("failover::async_mode_under_faults", 4, |seed| {
            failovers::<LogShipping>(seed, Async, ALL)
        })
        .test("failover::async_acknowledgement_loses_writes", || {
            async_loses::<LogShipping>(1)
        })
        .seeded("failover::split_brain_old_leader_steps_down", 3, |seed| {
            split_brain::<LogShipping>(seed, true)
        })
        .test(
            "failover::a_new_leader_announces_itself_without_writes",
            || split_brain::<LogShipping>(1, false),
        )
        .seeded("failover::a_calm_failover_is_quick_and_frugal", 2, |seed| {
            calm::<LogShipping>(seed)
        })
        .seeded(
            "failover::followers_restarted_in_a_new_epoch_keep_it",
            1,
            restarted::<LogShipping>,
        )
}

#[cfg(bugs)]
super::guard::failing!(
    crate::bugs::acknowledges_early::log_shipping::LogShipping,
    crate::bugs::epoch_not_stored::log_shipping::LogShipping,
    crate::bugs::keeps_conflicts::log_shipping::LogShipping,
    crate::bugs::no_fencing::log_shipping::LogShipping,
);
