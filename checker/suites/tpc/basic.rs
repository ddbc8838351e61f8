//! tpc_basic: votes and a decision on a network that delays, reorders and
//! (in half the runs) loses messages, without crashes. Atomicity and its
//! companions are checked after every event; on a reliable network every
//! participant must decide, and decide commit exactly when all can.

use super::exhaustive::{explore, Model};
use super::observed::{self, Build, Observed, Outcome};
use super::properties::{of_sim, watch, DECIDES, OUTCOME, REACHES, REPLIES};
use super::recovery_scripted::{no_vote, start_basic};
use dscheck::{ensure, run, secs, Failure, Suite};
use dsim::{Network, NodeId, Sim, SimRng};

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded("basic::atomic_with_random_votes_and_loss", 40, |seed| {
            random_run(seed, observed::basic()).map(|_| ())
        })
        .seeded("basic::a_no_vote_aborts_at_once", 2, |seed| {
            no_vote(seed, observed::basic(), start_basic)
        })
        .test("basic::reaches_all_commit_and_all_abort", || {
            reaches_both(observed::basic())
        })
        .test("basic::every_run_of_three_participants_is_atomic", || {
            explore(observed::basic(), ALL_YES, true)?;
            explore(observed::basic(), ONE_NO, false)
        })
}

/// How many messages an exhaustive run may lose.
const LOSSES: usize = 2;

/// Three participants that can all commit.
pub const ALL_YES: Model = Model {
    name: "three yes votes, two losses",
    can_commit: &[true, true, true, true],
    crashes: 0,
    losses: LOSSES,
};

/// Three participants, the last of which votes no.
pub const ONE_NO: Model = Model {
    name: "two yes votes and a no, two losses",
    can_commit: &[true, true, true, false],
    crashes: 0,
    losses: LOSSES,
};

/// One transaction among 3 to 5 participants, each able to commit with
/// probability 0.8; even seeds run on a reliable network, odd seeds lose
/// 15% of messages. Returns the outcome if every participant decided it.
pub fn random_run<N: Observed>(seed: u64, build: Build<N>) -> Result<Option<Outcome>, Failure> {
    let mut rng = SimRng::new(seed);
    let participants = 3 + rng.below(3) as usize;
    let can_commit: Vec<bool> = (0..=participants)
        .map(|i| i == 0 || rng.chance(0.8))
        .collect();
    let reliable = seed.is_multiple_of(2);
    let votes = can_commit.clone();
    let mut sim = Sim::new(seed, participants + 1, move |id| build(id, votes[id.0]));
    if !reliable {
        sim.set_network(Network::default().with_loss(0.15));
    }
    watch(&mut sim, can_commit.clone());
    let begin = sim.request(NodeId(0), N::begin());
    run(&mut sim, |s| s.run_for(secs(2)))?;

    let snapshot = of_sim(&sim);
    let coordinator = snapshot[0].decision;
    let told = sim.operation(begin).reply().map(N::outcome);
    ensure(told.is_none() || told == coordinator, REPLIES, || {
        format!("the client was told {told:?}, the coordinator decided {coordinator:?}")
    })?;
    if reliable {
        let undecided: Vec<String> = snapshot[1..]
            .iter()
            .filter(|n| n.decision.is_none())
            .map(|n| n.id.to_string())
            .collect();
        ensure(undecided.is_empty(), DECIDES, || {
            format!(
                "on a network that lost nothing, {} still undecided after 2 s",
                undecided.join(", ")
            )
        })?;
        ensure(told.is_some(), REPLIES, || {
            "the client never got an answer on a reliable network".to_string()
        })?;
        let expected = if can_commit.iter().all(|&c| c) {
            Outcome::Commit
        } else {
            Outcome::Abort
        };
        ensure(coordinator == Some(expected), OUTCOME, || {
            format!(
                "participants able to commit: {:?}; expected {expected:?}, the coordinator decided {coordinator:?}",
                &can_commit[1..]
            )
        })?;
    }
    let first = snapshot[1].decision;
    Ok(first.filter(|_| snapshot[1..].iter().all(|n| n.decision == first)))
}

/// Over 20 random runs, some end with every participant committed and
/// some with every participant aborted.
pub fn reaches_both<N: Observed>(build: Build<N>) -> Result<(), Failure> {
    let mut outcomes = Vec::new();
    for seed in 1..=20 {
        outcomes.push(random_run(seed, build.clone())?);
    }
    let commits = outcomes
        .iter()
        .filter(|o| **o == Some(Outcome::Commit))
        .count();
    let aborts = outcomes
        .iter()
        .filter(|o| **o == Some(Outcome::Abort))
        .count();
    dscheck::metric("runs all committed", commits);
    dscheck::metric("runs all aborted", aborts);
    ensure(commits > 0 && aborts > 0, REACHES, || {
        format!("of 20 runs, {commits} ended all committed and {aborts} all aborted")
    })
}
