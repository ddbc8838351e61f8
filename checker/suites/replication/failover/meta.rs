//! The checks, run on the reference with one bug each (`bugs/`): each
//! known-wrong variant must be caught by the property it breaks.

use super::scenarios::{failovers, restarted, split_brain};
use crate::replication::guard::{AGREES, EPOCHS, FENCED, KEPT};
use crate::replication::log_shipping::{ALL, NONE};
use crate::subject::replication::AckMode;
use dscheck::Suite;

pub fn meta(suite: Suite) -> Suite {
    use crate::bugs::acknowledges_early::log_shipping::LogShipping as Early;
    use crate::bugs::epoch_not_stored::log_shipping::LogShipping as Forgets;
    use crate::bugs::keeps_conflicts::log_shipping::LogShipping as Keeps;
    use crate::bugs::no_fencing::log_shipping::LogShipping as Unfenced;
    use dscheck::expect_caught;
    suite
        .test("meta::an_old_leader_without_a_fence_is_caught", || {
            expect_caught(FENCED, 3, |seed| split_brain::<Unfenced>(seed, true))
        })
        .test(
            "meta::a_follower_keeping_conflicting_entries_is_caught",
            || expect_caught(AGREES, 3, |seed| split_brain::<Keeps>(seed, true)),
        )
        .test("meta::an_epoch_not_stored_is_caught", || {
            expect_caught(EPOCHS, 6, |seed| {
                restarted::<Forgets>(seed)?;
                failovers::<Forgets>(seed, AckMode::Majority, ALL)
            })
        })
        .test(
            "meta::a_leader_acknowledging_before_a_majority_is_caught",
            || {
                expect_caught(KEPT, 6, |seed| {
                    failovers::<Early>(seed, AckMode::Majority, NONE)
                })
            },
        )
}
