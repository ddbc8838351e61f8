//! The suite of topic 05, Raft: `raft_election`, `raft_replication`,
//! `raft_persistence`, `raft_snapshots`, `raft_membership` and `raft_kv`,
//! one group each, all grading the same node (and, for `raft_kv`, the
//! store it drives). The node's scenarios run with the safety properties
//! of the Raft paper checked after every event (`raft/observe.rs`); the
//! store's check Election Safety after every event and linearizability of
//! the clients' history. Tests in the `meta` group run the same scenarios
//! on the reference with one bug (`raft/bugs/`, see `build.rs`) and on a store
//! without sessions (`raft/kv/sessionless.rs`), and pass only if the
//! intended property catches each; they grade no exercise.

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

mod raft {
    pub mod cluster;
    pub mod election;
    #[cfg(exercise = "raft_kv")]
    pub mod kv;
    #[cfg(any(exercise = "raft_replication", exercise = "raft_persistence"))]
    pub mod later;
    #[cfg(exercise = "raft_membership")]
    pub mod membership;
    #[cfg(bugs)]
    pub mod meta;
    pub mod node_state;
    pub mod observe;
    #[cfg(exercise = "raft_persistence")]
    pub mod persistence;
    pub mod recorder;
    #[cfg(any(
        exercise = "raft_replication",
        exercise = "raft_persistence",
        exercise = "raft_snapshots"
    ))]
    pub mod replication;
    pub mod rules;
    #[cfg(any(
        exercise = "raft_replication",
        exercise = "raft_persistence",
        exercise = "raft_snapshots"
    ))]
    pub mod snapshots;
    pub mod votes;
}

/// The reference with one bug each, made by `build.rs` from `raft/bugs/`.
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
    include!(concat!(env!("OUT_DIR"), "/bugs_raft.rs"));
}

use dscheck::{Failure, Suite};
use raft::cluster::Build;
#[cfg(exercise = "raft_kv")]
use raft::kv::{self, KvBuild};
#[cfg(any(exercise = "raft_replication", exercise = "raft_persistence"))]
use raft::later as l;
#[cfg(exercise = "raft_membership")]
use raft::membership as m;
#[cfg(exercise = "raft_persistence")]
use raft::persistence as p;
use raft::recorder::Subject;
#[cfg(exercise = "raft_replication")]
use raft::replication as r;
#[cfg(exercise = "raft_snapshots")]
use raft::snapshots as s;
use raft::{election as e, votes as v};
use std::rc::Rc;

/// Builds the graded node.
fn subject() -> Build<Subject> {
    Rc::new(Subject::new)
}

/// A scenario of the node, for any node the checks can observe.
type Scenario<N> = fn(u64, &Build<N>) -> Result<(), Failure>;
/// A scenario of the key-value store.
#[cfg(exercise = "raft_kv")]
type KvScenario = fn(u64, &KvBuild<subject::raft::kv::Kv>) -> Result<(), Failure>;

/// One exercise's tests of the node: name, seeds, scenario.
type NodeTests = &'static [(&'static str, u64, Scenario<Subject>)];

#[cfg(exercise = "raft_election")]
const ELECTION_TESTS: NodeTests = &[
    ("raft_election::initial_election", 20, e::initial_election),
    ("raft_election::reelection", 20, e::reelection),
    (
        "raft_election::many_elections_among_7",
        10,
        e::many_elections,
    ),
    ("raft_election::message_caps", 10, e::message_caps),
    ("raft_election::a_cluster_of_one_elects_itself", 3, e::alone),
    ("raft_election::up_to_date_votes", 5, v::up_to_date_votes),
    ("raft_election::leadership_moves", 5, v::leadership_moves),
    ("raft_election::even_splits", 5, v::even_splits),
    (
        "raft_election::colliding_candidates",
        5,
        v::colliding_candidates,
    ),
    (
        "raft_election::newer_term_in_replies",
        5,
        v::newer_term_in_replies,
    ),
];

#[cfg(exercise = "raft_replication")]
const REPLICATION_TESTS: NodeTests = &[
    ("raft_replication::basic_agreement", 5, r::basic_agreement),
    (
        "raft_replication::a_cluster_of_one_commits_alone",
        3,
        r::alone,
    ),
    ("raft_replication::follower_failure", 5, r::follower_failure),
    ("raft_replication::leader_failure", 5, r::leader_failure),
    (
        "raft_replication::no_agreement_without_majority",
        5,
        r::no_agreement_without_majority,
    ),
    (
        "raft_replication::concurrent_starts",
        5,
        r::concurrent_starts,
    ),
    (
        "raft_replication::rejoin_of_partitioned_leader",
        5,
        r::rejoin_of_partitioned_leader,
    ),
    ("raft_replication::fast_backup", 3, r::fast_backup),
    ("raft_replication::even_majorities", 3, r::even_majorities),
    (
        "raft_replication::catch_up_far_behind",
        3,
        r::catch_up_far_behind,
    ),
    ("raft_replication::message_caps", 5, r::message_caps),
    ("raft_replication::byte_cap", 3, r::byte_cap),
    (
        "raft_replication::entries_inside_the_snapshot",
        3,
        l::entries_inside_the_snapshot,
    ),
    (
        "raft_replication::membership_requests",
        2,
        l::membership_requests,
    ),
    (
        "raft_replication::figure8_commit_rule",
        10,
        r::figure8_commit_rule,
    ),
];

#[cfg(exercise = "raft_persistence")]
const PERSISTENCE_TESTS: NodeTests = &[
    ("raft_persistence::restart_all", 5, p::restart_all),
    ("raft_persistence::restart_leader", 5, p::restart_leader),
    (
        "raft_persistence::restart_followers",
        5,
        p::restart_followers,
    ),
    (
        "raft_persistence::restart_partitioned_leader_and_follower",
        5,
        p::restart_partitioned_leader_and_follower,
    ),
    (
        "raft_persistence::unreliable_agreement",
        3,
        p::unreliable_agreement,
    ),
    ("raft_persistence::figure8", 3, p::figure8),
    (
        "raft_persistence::figure8_unreliable",
        3,
        p::figure8_unreliable,
    ),
    (
        "raft_persistence::voters_crash_right_after_voting",
        5,
        p::voters_crash_right_after_voting,
    ),
    ("raft_persistence::churn", 5, p::churn),
    (
        "raft_persistence::restart_from_snapshot",
        2,
        l::restart_from_snapshot,
    ),
    ("raft_persistence::churn_unreliable", 5, p::churn_unreliable),
];

#[cfg(exercise = "raft_snapshots")]
const SNAPSHOT_TESTS: NodeTests = &[
    ("raft_snapshots::log_size_cap", 3, s::log_size_cap),
    (
        "raft_snapshots::install_over_conflicting_log",
        5,
        s::install_over_conflicting_log,
    ),
    (
        "raft_snapshots::install_to_lagging_follower",
        5,
        s::install_to_lagging_follower,
    ),
    (
        "raft_snapshots::install_to_crashed_follower",
        5,
        s::install_to_crashed_follower,
    ),
    (
        "raft_snapshots::lagging_follower_and_leader_crash",
        5,
        s::lagging_follower_and_leader_crash,
    ),
    (
        "raft_snapshots::install_with_crashes",
        3,
        s::install_with_crashes,
    ),
    (
        "raft_snapshots::install_with_crashes_unreliable",
        3,
        s::install_with_crashes_unreliable,
    ),
    ("raft_snapshots::stale_snapshots", 3, s::stale_snapshots),
    (
        "raft_snapshots::reload_after_full_restart",
        5,
        s::reload_after_full_restart,
    ),
];

#[cfg(exercise = "raft_membership")]
const MEMBERSHIP_TESTS: NodeTests = &[
    ("raft_membership::add_and_remove", 10, m::add_and_remove),
    (
        "raft_membership::back_to_back_changes",
        5,
        m::back_to_back_changes,
    ),
    (
        "raft_membership::changes_under_faults",
        20,
        m::changes_under_faults,
    ),
];

/// The node's tests of the exercises this build has.
// Each push is under its exercise's cfg, which `vec![…]` cannot take.
#[allow(clippy::vec_init_then_push)]
fn node_tests() -> Vec<NodeTests> {
    let mut tests = Vec::new();
    #[cfg(exercise = "raft_election")]
    tests.push(ELECTION_TESTS);
    #[cfg(exercise = "raft_replication")]
    tests.push(REPLICATION_TESTS);
    #[cfg(exercise = "raft_persistence")]
    tests.push(PERSISTENCE_TESTS);
    #[cfg(exercise = "raft_snapshots")]
    tests.push(SNAPSHOT_TESTS);
    #[cfg(exercise = "raft_membership")]
    tests.push(MEMBERSHIP_TESTS);
    tests
}

/// The store's tests: name, seeds, scenario.
#[cfg(exercise = "raft_kv")]
const KV_TESTS: &[(&str, u64, KvScenario)] = &[
    ("raft_kv::reliable", 5, kv::reliable),
    ("raft_kv::partitions", 5, kv::partitions),
    ("raft_kv::crashes", 5, kv::crashes),
    (
        "raft_kv::snapshots_crashes_and_partitions",
        5,
        kv::snapshots_crashes_and_partitions,
    ),
    (
        "raft_kv::retries_take_effect_once",
        5,
        kv::retries_take_effect_once,
    ),
    (
        "raft_kv::retries_while_committing",
        3,
        kv::retries_while_committing,
    ),
    (
        "raft_kv::minority_completes_nothing",
        5,
        kv::minority_completes_nothing,
    ),
];

fn main() {
    let mut suite = Suite::new("raft");
    for &(name, seeds, scenario) in node_tests().into_iter().flatten() {
        let election = name.starts_with("raft_election::");
        suite = suite.seeded(name, seeds, move |seed| {
            let result = scenario(seed, &subject());
            if election {
                v::explain_todo(result)
            } else {
                result
            }
        });
    }
    #[cfg(exercise = "raft_kv")]
    for &(name, seeds, scenario) in KV_TESTS {
        suite = suite.seeded(name, seeds, move |seed| scenario(seed, &kv::subject()));
    }
    #[cfg(bugs)]
    let suite = raft::meta::tests(suite);
    suite.run()
}
