//! The `meta::` tests of the protocol checks: the reference with one bug
//! (`cache/bugs/`, made by `build.rs`) must be caught by the property meant
//! for that bug.

use super::holder::holder;
use super::protocol::{MOVED, ONCE};
use super::{scenario, QUIET};
use crate::bugs::{
    answers_waiting_clients_twice, down_moves_unchanged_keys, resends_after_the_ack,
};
use crate::subject::cache::cluster::Replication;
use dscheck::{expect_caught, Suite};

holder!(
    answers_waiting_clients_twice::cluster::CacheNode,
    down_moves_unchanged_keys::cluster::CacheNode,
    resends_after_the_ack::cluster::CacheNode,
);

/// How many seeds a wrong node gets to be caught in.
const SEEDS: u64 = 5;

pub fn tests(suite: Suite) -> Suite {
    use Replication::{Async, Sync};
    suite
        .test(
            "meta::cluster_moving_keys_whose_replica_did_not_change_is_caught",
            || {
                expect_caught(MOVED, SEEDS, |seed| {
                    scenario::<down_moves_unchanged_keys::cluster::CacheNode>(seed, Async, Async, 1)
                        .map(drop)
                })
            },
        )
        .test(
            "meta::cluster_answering_a_waiting_client_twice_is_caught",
            || {
                expect_caught(ONCE, SEEDS, |seed| {
                    scenario::<answers_waiting_clients_twice::cluster::CacheNode>(
                        seed, Sync, Sync, 1,
                    )
                    .map(drop)
                })
            },
        )
        .test("meta::cluster_resending_after_the_ack_is_caught", || {
            expect_caught(QUIET, SEEDS, |seed| {
                scenario::<resends_after_the_ack::cluster::CacheNode>(seed, Async, Async, 1)
                    .map(drop)
            })
        })
}
