//! The `meta::` tests: the reference with one bug (`raft/bugs/`, made by
//! `build.rs`) must be caught by the property meant for that bug, in the
//! scenario that exposes it.

use super::cluster::{Build, AGREEMENT};
use super::kv::{sessionless::Sessionless, KvBuild, LINEARIZABLE};
use super::node_state::{INDICES_IN_ORDER, SAVED_BEFORE_ANSWERING};
use super::observe::{
    observed, Observed, COMMITTED_ENTRIES, COMMIT_MONOTONE, IN_ORDER, LOG_MATCHING, ONE_VOTE,
    STATE_MACHINE_SAFETY,
};
use super::recorder::Recorder;
use super::rules::{
    FOLLOWS_LEADER, LEADER_BACKS_UP, LEADER_COMMIT, NEWER_TERM, REFUSES_ONLY_CONFLICTS, VOTE_RULE,
};
use super::{election, kv, later, persistence, replication, snapshots, votes};
use crate::bugs;
use crate::subject::raft::Raft;
use dscheck::{expect_caught, expect_caught_saying, Failure, Property, Suite};
use std::rc::Rc;

observed!(
    bugs::accepts_older_term::Raft<Recorder>,
    bugs::applies_out_of_order::Raft<Recorder>,
    bugs::commits_past_new_entries::Raft<Recorder>,
    bugs::counts_old_term_replicas::Raft<Recorder>,
    bugs::ignores_prev_log_term::Raft<Recorder>,
    bugs::installs_stale_snapshot::Raft<Recorder>,
    bugs::keeps_conflicting_entries::Raft<Recorder>,
    bugs::snapshot_forgets_term::Raft<Recorder>,
    bugs::vote_not_persisted::Raft<Recorder>,
    bugs::votes_for_shorter_log::Raft<Recorder>,
    bugs::votes_twice_in_a_term::Raft<Recorder>,
    bugs::vote_request_ignores_newer_term::Raft<Recorder>,
    bugs::vote_reply_ignores_newer_term::Raft<Recorder>,
    bugs::install_keeps_conflicting_suffix::Raft<Recorder>,
    bugs::refuses_entries_inside_snapshot::Raft<Recorder>,
    bugs::backs_up_one_entry::Raft<Recorder>,
    bugs::candidate_ignores_leader::Raft<Recorder>,
);

/// How many seeds a wrong node gets to be caught in.
const SEEDS: u64 = 10;

/// `nodes` must break `property` in `scenario` within [`SEEDS`] seeds.
fn caught<N: Observed>(
    nodes: Build<N>,
    scenario: fn(u64, &Build<N>) -> Result<(), Failure>,
    property: Property,
) -> Result<(), Failure> {
    expect_caught(property, SEEDS, |seed| scenario(seed, &nodes))
}

/// [`caught`], with a failure whose detail and hint say each of `says` and
/// none of `never`: the words are true of the bug.
fn caught_saying<N: Observed>(
    nodes: Build<N>,
    scenario: fn(u64, &Build<N>) -> Result<(), Failure>,
    property: Property,
    says: &[&str],
    never: &[&str],
) -> Result<(), Failure> {
    expect_caught_saying(property, SEEDS, says, never, |seed| scenario(seed, &nodes))
}

pub fn tests(suite: Suite) -> Suite {
    suite
        .test("meta::raft_commit_by_counting_old_term_replicas", || {
            caught(
                Rc::new(bugs::counts_old_term_replicas::Raft::new),
                replication::figure8_commit_rule,
                LEADER_COMMIT,
            )
        })
        .test("meta::raft_vote_for_shorter_log", || {
            caught(
                Rc::new(bugs::votes_for_shorter_log::Raft::new),
                votes::up_to_date_votes,
                VOTE_RULE,
            )
        })
        .test("meta::raft_accept_append_entries_of_older_term", || {
            caught(
                Rc::new(bugs::accepts_older_term::Raft::new),
                replication::rejoin_of_partitioned_leader,
                COMMITTED_ENTRIES,
            )
        })
        .test("meta::raft_keep_conflicting_entries", || {
            caught(
                Rc::new(bugs::keeps_conflicting_entries::Raft::new),
                replication::rejoin_of_partitioned_leader,
                STATE_MACHINE_SAFETY,
            )
        })
        .test("meta::raft_commit_past_last_new_entry", || {
            caught(
                Rc::new(bugs::commits_past_new_entries::Raft::new),
                replication::fast_backup,
                STATE_MACHINE_SAFETY,
            )
        })
        .test("meta::raft_vote_not_persisted", || {
            caught_saying(
                Rc::new(bugs::vote_not_persisted::Raft::new),
                persistence::voters_crash_right_after_voting,
                SAVED_BEFORE_ANSWERING,
                &["but its storage says"],
                &[],
            )
        })
        .test("meta::raft_vote_twice_in_a_term", || {
            caught_saying(
                Rc::new(bugs::votes_twice_in_a_term::Raft::new),
                votes::colliding_candidates,
                ONE_VOTE,
                &["without a restart in between", "voted_for is None"],
                &["after a restart", "storage"],
            )
        })
        .test("meta::raft_consistency_check_ignores_the_term", || {
            caught_saying(
                Rc::new(bugs::ignores_prev_log_term::Raft::new),
                replication::rejoin_of_partitioned_leader,
                LOG_MATCHING,
                &["prev_log_term", "is of term", "log.term_at(prev_log_index)"],
                &[],
            )
        })
        .test("meta::raft_snapshot_forgets_last_included_term", || {
            caught(
                Rc::new(bugs::snapshot_forgets_term::Raft::new),
                snapshots::install_to_lagging_follower,
                AGREEMENT,
            )
        })
        .test("meta::raft_kv_without_sessions", || {
            let nodes: KvBuild<Sessionless> = Rc::new(Raft::new);
            expect_caught(LINEARIZABLE, SEEDS, |seed| {
                kv::retries_while_committing(seed, &nodes)
            })
        })
        .test("meta::raft_install_stale_snapshot", || {
            caught(
                Rc::new(bugs::installs_stale_snapshot::Raft::new),
                snapshots::stale_snapshots,
                COMMIT_MONOTONE,
            )
        })
        .test(
            "meta::raft_commit_by_counting_old_term_replicas_random_figure8",
            || {
                caught(
                    Rc::new(bugs::counts_old_term_replicas::Raft::new),
                    persistence::figure8_unreliable,
                    LEADER_COMMIT,
                )
            },
        )
        .test("meta::raft_vote_request_ignores_newer_term", || {
            caught(
                Rc::new(bugs::vote_request_ignores_newer_term::Raft::new),
                election::initial_election,
                NEWER_TERM,
            )
        })
        .test("meta::raft_vote_reply_ignores_newer_term", || {
            caught(
                Rc::new(bugs::vote_reply_ignores_newer_term::Raft::new),
                votes::newer_term_in_replies,
                NEWER_TERM,
            )
        })
        .test("meta::raft_install_keeps_conflicting_suffix", || {
            caught(
                Rc::new(bugs::install_keeps_conflicting_suffix::Raft::new),
                snapshots::install_over_conflicting_log,
                INDICES_IN_ORDER,
            )
        })
        .test("meta::raft_refuse_entries_inside_the_snapshot", || {
            caught(
                Rc::new(bugs::refuses_entries_inside_snapshot::Raft::new),
                later::entries_inside_the_snapshot,
                REFUSES_ONLY_CONFLICTS,
            )
        })
        .test("meta::raft_back_up_one_entry_per_round_trip", || {
            caught(
                Rc::new(bugs::backs_up_one_entry::Raft::new),
                replication::fast_backup,
                LEADER_BACKS_UP,
            )
        })
        .test("meta::raft_candidate_ignores_leader_of_its_term", || {
            caught(
                Rc::new(bugs::candidate_ignores_leader::Raft::new),
                votes::colliding_candidates,
                FOLLOWS_LEADER,
            )
        })
        .test("meta::raft_apply_out_of_order", || {
            caught(
                Rc::new(bugs::applies_out_of_order::Raft::new),
                replication::concurrent_starts,
                IN_ORDER,
            )
        })
}
