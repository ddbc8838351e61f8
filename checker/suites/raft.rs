//! The suite of topic 05, Raft: `raft_election`, `raft_replication`,
//! `raft_persistence`, `raft_snapshots`, `raft_membership` and `raft_kv`,
//! one group each, all grading the same node (and, for `raft_kv`, the
//! store it drives). The node's scenarios run with the safety properties
//! of the Raft paper checked after every event (`raft/observe.rs`); the
//! store's check Election Safety after every event and linearizability of
//! the clients' history. Tests in the `meta` group run the same scenarios
//! on known-wrong copies of the node (`raft/wrong/`) and on a store
//! without sessions (`raft/kv/sessionless.rs`), and pass only if the
//! intended property catches each; they grade no exercise.

#[cfg(feature = "learner")]
use exercises as subject;
#[cfg(not(feature = "learner"))]
use solutions as subject;

mod raft {
    pub mod cluster;
    pub mod election;
    pub mod kv;
    pub mod membership;
    pub mod meta;
    pub mod observe;
    pub mod persistence;
    pub mod recorder;
    pub mod replication;
    pub mod snapshots;
    pub mod wrong;
}

use dscheck::{Failure, Suite};
use raft::cluster::Build;
use raft::recorder::Subject;
use std::rc::Rc;

/// Builds the graded node.
fn subject() -> Build<Subject> {
    Rc::new(Subject::new)
}

/// A scenario of this suite, for any node the checks can observe.
type Scenario<N> = fn(u64, &Build<N>) -> Result<(), Failure>;

fn graded(suite: Suite, name: &str, seeds: u64, scenario: Scenario<Subject>) -> Suite {
    suite.seeded(name, seeds, move |seed| scenario(seed, &subject()))
}

/// The scenarios the bug-free copy of the reference must pass.
const REFERENCE_COPY_SCENARIOS: [(&str, Scenario<raft::wrong::Wrong<raft::recorder::Recorder>>);
    4] = [
    ("reelection", raft::election::reelection),
    (
        "figure8_commit_rule",
        raft::replication::figure8_commit_rule,
    ),
    (
        "rejoin_of_partitioned_leader",
        raft::replication::rejoin_of_partitioned_leader,
    ),
    ("fast_backup", raft::replication::fast_backup),
];

/// A scenario of the key-value store.
type KvScenario = fn(u64, &raft::kv::KvBuild<subject::raft::kv::Kv>) -> Result<(), Failure>;

fn kv(suite: Suite, name: &str, seeds: u64, scenario: KvScenario) -> Suite {
    suite.seeded(name, seeds, move |seed| {
        scenario(seed, &raft::kv::subject())
    })
}

fn main() {
    let mut suite = Suite::new("raft");
    for (property, hint) in raft::observe::HINTS
        .iter()
        .chain(&raft::cluster::HINTS)
        .chain(&raft::election::HINTS)
        .chain(&raft::replication::HINTS)
        .chain(&raft::persistence::HINTS)
        .chain(&raft::snapshots::HINTS)
        .chain(&raft::membership::HINTS)
        .chain(&raft::kv::HINTS)
    {
        suite = suite.hint(property, hint);
    }
    use raft::election as e;
    let suite = graded(
        suite,
        "raft_election::initial_election",
        5,
        e::initial_election,
    );
    let suite = graded(suite, "raft_election::reelection", 5, e::reelection);
    let suite = graded(
        suite,
        "raft_election::many_elections_among_7",
        3,
        e::many_elections,
    );
    let suite = graded(suite, "raft_election::message_caps", 5, e::message_caps);
    use raft::replication as r;
    let suite = graded(
        suite,
        "raft_replication::basic_agreement",
        3,
        r::basic_agreement,
    );
    let suite = graded(
        suite,
        "raft_replication::follower_failure",
        3,
        r::follower_failure,
    );
    let suite = graded(
        suite,
        "raft_replication::leader_failure",
        3,
        r::leader_failure,
    );
    let suite = graded(
        suite,
        "raft_replication::no_agreement_without_majority",
        3,
        r::no_agreement_without_majority,
    );
    let suite = graded(
        suite,
        "raft_replication::concurrent_starts",
        3,
        r::concurrent_starts,
    );
    let suite = graded(
        suite,
        "raft_replication::rejoin_of_partitioned_leader",
        3,
        r::rejoin_of_partitioned_leader,
    );
    let suite = graded(suite, "raft_replication::fast_backup", 2, r::fast_backup);
    let suite = graded(suite, "raft_replication::message_caps", 3, r::message_caps);
    let suite = graded(suite, "raft_replication::byte_cap", 2, r::byte_cap);
    let suite = graded(
        suite,
        "raft_replication::figure8_commit_rule",
        5,
        r::figure8_commit_rule,
    );
    use raft::persistence as p;
    let suite = graded(suite, "raft_persistence::restart_all", 3, p::restart_all);
    let suite = graded(
        suite,
        "raft_persistence::restart_leader",
        3,
        p::restart_leader,
    );
    let suite = graded(
        suite,
        "raft_persistence::restart_followers",
        3,
        p::restart_followers,
    );
    let suite = graded(
        suite,
        "raft_persistence::restart_partitioned_leader_and_follower",
        3,
        p::restart_partitioned_leader_and_follower,
    );
    let suite = graded(
        suite,
        "raft_persistence::unreliable_agreement",
        3,
        p::unreliable_agreement,
    );
    let suite = graded(suite, "raft_persistence::figure8", 2, p::figure8);
    let suite = graded(
        suite,
        "raft_persistence::figure8_unreliable",
        2,
        p::figure8_unreliable,
    );
    let suite = graded(
        suite,
        "raft_persistence::voters_crash_right_after_voting",
        3,
        p::voters_crash_right_after_voting,
    );
    let suite = graded(suite, "raft_persistence::churn", 3, p::churn);
    let suite = graded(
        suite,
        "raft_persistence::churn_unreliable",
        3,
        p::churn_unreliable,
    );
    use raft::snapshots as s;
    let suite = graded(suite, "raft_snapshots::log_size_cap", 2, s::log_size_cap);
    let suite = graded(
        suite,
        "raft_snapshots::install_to_lagging_follower",
        3,
        s::install_to_lagging_follower,
    );
    let suite = graded(
        suite,
        "raft_snapshots::install_to_crashed_follower",
        3,
        s::install_to_crashed_follower,
    );
    let suite = graded(
        suite,
        "raft_snapshots::lagging_follower_and_leader_crash",
        5,
        s::lagging_follower_and_leader_crash,
    );
    let suite = graded(
        suite,
        "raft_snapshots::install_with_crashes",
        2,
        s::install_with_crashes,
    );
    let suite = graded(
        suite,
        "raft_snapshots::install_with_crashes_unreliable",
        2,
        s::install_with_crashes_unreliable,
    );
    let suite = graded(
        suite,
        "raft_snapshots::reload_after_full_restart",
        3,
        s::reload_after_full_restart,
    );
    use raft::membership as m;
    let suite = graded(
        suite,
        "raft_membership::add_and_remove",
        3,
        m::add_and_remove,
    );
    let suite = graded(
        suite,
        "raft_membership::changes_under_faults",
        5,
        m::changes_under_faults,
    );
    let suite = kv(suite, "raft_kv::reliable", 3, raft::kv::reliable);
    let suite = kv(suite, "raft_kv::partitions", 3, raft::kv::partitions);
    let suite = kv(suite, "raft_kv::crashes", 3, raft::kv::crashes);
    let suite = kv(
        suite,
        "raft_kv::snapshots_crashes_and_partitions",
        3,
        raft::kv::snapshots_crashes_and_partitions,
    );
    let suite = kv(
        suite,
        "raft_kv::retries_take_effect_once",
        3,
        raft::kv::retries_take_effect_once,
    );
    let suite = kv(
        suite,
        "raft_kv::minority_completes_nothing",
        3,
        raft::kv::minority_completes_nothing,
    );
    let suite = raft::meta::tests(suite, &REFERENCE_COPY_SCENARIOS);
    suite.run()
}
