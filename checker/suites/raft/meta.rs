//! The `meta::` tests: each known-wrong node of [`super::wrong`] must be
//! caught by the property meant for its mistake, in the scenario that
//! exposes it; the copy without a bug must pass every scenario.

use super::cluster::{Build, AGREEMENT};
use super::kv::{sessionless::Sessionless, KvBuild, LINEARIZABLE};
use super::observe::{
    COMMIT_MONOTONE, IN_ORDER, LEADER_COMPLETENESS, LOG_MATCHING, ONE_VOTE, STATE_MACHINE_SAFETY,
};
use super::recorder::Recorder;
use super::wrong::{build, Bug, Wrong};
use super::{kv, persistence, replication, snapshots};
use crate::subject::raft::Raft;
use dscheck::{expect_accepted, expect_caught, Failure, Property, Suite};
use std::rc::Rc;

type Scenario = fn(u64, &Build<Wrong<Recorder>>) -> Result<(), Failure>;

/// How many seeds a wrong node gets to be caught in.
const SEEDS: u64 = 10;

fn caught(bug: Bug, scenario: Scenario, property: Property) -> Result<(), Failure> {
    let nodes = build(bug);
    expect_caught(property, SEEDS, |seed| scenario(seed, &nodes))
}

pub fn tests(suite: Suite, scenarios: &'static [(&'static str, Scenario)]) -> Suite {
    suite
        .test("meta::raft_reference_copy_passes", move || {
            let nodes = build(Bug::None);
            for (name, scenario) in scenarios {
                expect_accepted(name, 2, |seed| scenario(seed, &nodes))?;
            }
            Ok(())
        })
        .test("meta::raft_commit_by_counting_old_term_replicas", || {
            caught(
                Bug::CountsOldTermReplicas,
                replication::figure8_commit_rule,
                LEADER_COMPLETENESS,
            )
        })
        .test("meta::raft_vote_for_shorter_log", || {
            caught(
                Bug::VotesForShorterLog,
                replication::rejoin_of_partitioned_leader,
                LEADER_COMPLETENESS,
            )
        })
        .test("meta::raft_accept_append_entries_of_older_term", || {
            caught(
                Bug::AcceptsOlderTerm,
                replication::rejoin_of_partitioned_leader,
                LOG_MATCHING,
            )
        })
        .test("meta::raft_keep_conflicting_entries", || {
            caught(
                Bug::KeepsConflictingEntries,
                replication::rejoin_of_partitioned_leader,
                STATE_MACHINE_SAFETY,
            )
        })
        .test("meta::raft_commit_past_last_new_entry", || {
            caught(
                Bug::CommitsPastNewEntries,
                replication::fast_backup,
                STATE_MACHINE_SAFETY,
            )
        })
        .test("meta::raft_vote_not_persisted", || {
            caught(
                Bug::VoteNotPersisted,
                persistence::voters_crash_right_after_voting,
                ONE_VOTE,
            )
        })
        .test("meta::raft_snapshot_forgets_last_included_term", || {
            caught(
                Bug::SnapshotForgetsTerm,
                snapshots::install_to_lagging_follower,
                AGREEMENT,
            )
        })
        .test("meta::raft_kv_without_sessions", || {
            let nodes: KvBuild<Sessionless> = Rc::new(Raft::new);
            expect_caught(LINEARIZABLE, SEEDS, |seed| {
                kv::retries_take_effect_once(seed, &nodes)
            })
        })
        .test("meta::raft_install_stale_snapshot", || {
            caught(
                Bug::InstallsStaleSnapshot,
                snapshots::install_with_crashes_unreliable,
                COMMIT_MONOTONE,
            )
        })
        .test(
            "meta::raft_commit_by_counting_old_term_replicas_random_figure8",
            || {
                caught(
                    Bug::CountsOldTermReplicas,
                    persistence::figure8_unreliable,
                    LEADER_COMPLETENESS,
                )
            },
        )
        .test("meta::raft_apply_out_of_order", || {
            caught(
                Bug::AppliesOutOfOrder,
                replication::concurrent_starts,
                IN_ORDER,
            )
        })
}
