//! The checks, run on the reference with one bug each (`bugs/`): each
//! known-wrong variant must be caught by the property it breaks.

use super::clients::NONE;
use super::scenarios::{failovers, laggard_elected, split_brain};
use super::watch::{self, AGREES, HIGH_WATERMARK, KEPT, READS};
use dscheck::Suite;

pub fn meta(suite: Suite) -> Suite {
    use crate::bugs::elects_out_of_sync::partition_leader::PartitionLeader as Unclean;
    use crate::bugs::hw_at_log_end::partition_leader::PartitionLeader as Eager;
    use crate::bugs::no_log_check::partition_leader::PartitionLeader as Unchecked;
    use crate::bugs::reads_the_log_end::partition_leader::PartitionLeader as Uncommitted;
    use dscheck::expect_caught;
    suite
        .test("meta::a_high_watermark_at_the_log_end_is_caught", || {
            expect_caught(HIGH_WATERMARK, 3, |seed| failovers::<Eager>(seed, NONE))
        })
        .test("meta::an_out_of_sync_replica_elected_is_caught", || {
            expect_caught(KEPT, 3, laggard_elected::<Unclean>)
        })
        .test(
            "meta::a_leader_not_checking_a_follower_log_is_caught",
            || dscheck::expect_caught_by_any(&[AGREES, KEPT], 3, split_brain::<Unchecked>),
        )
        .test("meta::a_read_up_to_the_log_end_is_caught", || {
            expect_caught(READS, 3, |seed| failovers::<Uncommitted>(seed, NONE))
        })
}

watch::partition!(
    crate::bugs::elects_out_of_sync::partition_leader::PartitionLeader,
    crate::bugs::hw_at_log_end::partition_leader::PartitionLeader,
    crate::bugs::no_log_check::partition_leader::PartitionLeader,
    crate::bugs::reads_the_log_end::partition_leader::PartitionLeader,
);
