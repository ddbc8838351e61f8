//! The checks, run on the reference with one bug each (`bugs/`): each
//! known-wrong variant must be caught by the property it breaks.

use super::random_log::random_log;
use super::scenarios::{changes, turmoil};
use super::watch::{Checks, ALL};
use super::{AGREE, GONE, NO_HERD, ONE_LEADER, OWNED, WATCH_ONCE};
use dscheck::Suite;

pub fn meta(suite: Suite) -> Suite {
    use crate::bugs::expiry_by_own_clock::sessions::Member as OwnClock;
    use crate::bugs::expiry_keeps_ephemerals::sessions::Member as KeepsEphemerals;
    use crate::bugs::herd::sessions::Member as Herd;
    use crate::bugs::leads_past_its_session::sessions::Member as PastSession;
    use crate::bugs::watch_fires_twice::sessions::Member as FiresTwice;
    use dscheck::expect_caught;
    suite
        .test("meta::a_watch_that_fires_twice_is_caught", || {
            expect_caught(WATCH_ONCE, 10, random_log::<FiresTwice>)
        })
        .test(
            "meta::an_ephemeral_node_outliving_its_session_is_caught",
            || expect_caught(OWNED, 10, random_log::<KeepsEphemerals>),
        )
        .test(
            "meta::a_crashed_client_whose_nodes_remain_is_caught_in_true_time",
            || {
                let checks = Checks {
                    owned: false,
                    ..ALL
                };
                expect_caught(GONE, 10, |seed| changes::<KeepsEphemerals>(seed, 5, checks))
            },
        )
        .test("meta::a_herd_is_caught_per_deletion", || {
            expect_caught(NO_HERD, 10, |seed| changes::<Herd>(seed, 5, ALL))
        })
        .test("meta::a_herd_is_caught_by_the_message_count", || {
            let checks = Checks {
                per_deletion: false,
                ..ALL
            };
            expect_caught(NO_HERD, 10, |seed| changes::<Herd>(seed, 5, checks))
        })
        .test("meta::a_leader_cut_off_past_its_session_is_caught", || {
            expect_caught(ONE_LEADER, 10, |seed| {
                turmoil::<PastSession>(seed, false, true)
            })
        })
        .test("meta::expiry_by_each_replicas_own_clock_is_caught", || {
            expect_caught(AGREE, 10, |seed| turmoil::<OwnClock>(seed, false, false))
        })
}
