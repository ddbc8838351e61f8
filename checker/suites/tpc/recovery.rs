//! tpc_recovery: crashes of the coordinator and of participants at every
//! step, lost messages, and recovery from the durable log. The safety
//! properties are checked after every event (and in every state of the
//! exhaustive runs); after recovery every participant must decide, and
//! decide the same.

use super::exhaustive::{explore, Model};
use super::observed::{self, Build, Observed, Outcome};
use super::prompt::watch_answers;
use super::properties::{
    of_sim, watch, Snapshot, BLOCKS, DECIDES, PRESUMED_ABORT, RESENDS_PREPARE,
};
use super::recovery_scripted::{
    ask_again, keep_asking, late_vote_answered, no_vote, participant_down_aborts, quiet,
    told_client,
};
use dscheck::{ensure, ms, run, secs, Failure, Suite};
use dsim::{Network, NodeId, Sim, SimRng};

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded(
            "recovery::coordinator_crash_after_prepare_blocks",
            10,
            |seed| crash_after_prepare(seed, observed::recovery()),
        )
        .seeded(
            "recovery::coordinator_crash_after_commit_commits_everywhere",
            10,
            |seed| crash_after_decision(seed, observed::recovery()),
        )
        .seeded("recovery::lost_acks_do_not_undo_the_commit", 10, |seed| {
            lost_acks(seed, observed::recovery())
        })
        .seeded(
            "recovery::a_missing_vote_aborts_and_the_late_participant_learns_it",
            3,
            |seed| participant_down_aborts(seed, observed::recovery()),
        )
        .seeded("recovery::a_lost_prepare_is_sent_again", 3, |seed| {
            lost_prepare(seed, observed::recovery())
        })
        .seeded("recovery::a_no_vote_aborts_at_once", 2, |seed| {
            no_vote(seed, observed::recovery(), start_with)
        })
        .seeded(
            "recovery::a_vote_after_the_decision_is_answered",
            2,
            |seed| late_vote_answered(seed, observed::recovery()),
        )
        .seeded("recovery::random_crashes_and_loss", 30, |seed| {
            random_crashes(seed, observed::recovery())
        })
        .test("recovery::every_run_with_a_crash_is_atomic", || {
            explore(observed::recovery(), ONE_CRASH, true)
        })
}

/// How many messages an exhaustive run may lose.
const LOSSES: usize = 1;

/// Three participants that can all commit; any one node may crash once.
pub const ONE_CRASH: Model = Model {
    name: "three yes votes, one loss, one crash",
    can_commit: &[true, true, true, true],
    crashes: 1,
    losses: LOSSES,
};

const COORDINATOR: NodeId = NodeId(0);

/// A run of three participants that can all commit, on a network with
/// 1–10 ms latency, every safety property watched.
pub fn start<N: Observed>(seed: u64, build: Build<N>, participants: usize) -> Sim<N> {
    start_with(seed, build, vec![true; participants + 1])
}

/// A run where participant `i` can commit when `can_commit[i]`, every
/// safety property watched.
pub fn start_with<N: Observed>(seed: u64, build: Build<N>, can_commit: Vec<bool>) -> Sim<N> {
    let votes = can_commit.clone();
    let mut sim = Sim::new(seed, can_commit.len(), move |id| build(id, votes[id.0]));
    watch(&mut sim, can_commit);
    watch_answers(&mut sim);
    sim
}

/// Every participant decided, and all the same.
pub fn all_decide_the_same(s: &Snapshot, after: &str) -> Result<Outcome, Failure> {
    let decisions: Vec<String> = s[1..]
        .iter()
        .map(|n| format!("{}: {:?}", n.id, n.decision))
        .collect();
    let first = s[1].decision;
    ensure(
        first.is_some() && s[1..].iter().all(|n| n.decision == first),
        DECIDES,
        || format!("{after}: {}", decisions.join(", ")),
    )?;
    Ok(first.expect("checked"))
}

/// The coordinator crashes once every participant has voted yes, before
/// the last vote reaches it: the participants must stay undecided while it
/// is down and keep asking it for the outcome (one of them crashes and
/// restarts meanwhile, and must remember its vote and ask again); once it
/// is back, presumed abort: it logged no decision, so all abort.
pub fn crash_after_prepare<N: Observed>(seed: u64, build: Build<N>) -> Result<(), Failure> {
    let mut sim = start(seed, build, 3);
    sim.request(COORDINATOR, N::begin());
    let prepared = run(&mut sim, |s| {
        s.run_until(secs(1), |s| {
            of_sim(s)[1..].iter().all(|n| n.vote == Some(true))
        })
    })?;
    ensure(prepared, BLOCKS, || {
        "the participants did not all vote yes within 1 s of a reliable run".to_string()
    })?;
    ensure(of_sim(&sim)[0].decision.is_none(), BLOCKS, || {
        "the coordinator decided before the last vote reached it".to_string()
    })?;
    run(&mut sim, |s| s.crash(COORDINATOR))?;
    run(&mut sim, |s| s.run_for(ms(300)))?;
    let victim = NodeId(1 + SimRng::new(seed).below(3) as usize);
    run(&mut sim, |s| s.crash(victim))?;
    run(&mut sim, |s| s.run_for(ms(100)))?;
    run(&mut sim, |s| s.restart(victim))?;
    run(&mut sim, |s| s.run_for(ms(1_100)))?;
    keep_asking(&mut sim, ms(500))?;
    let decided: Vec<String> = of_sim(&sim)[1..]
        .iter()
        .filter_map(|n| n.decision.map(|d| format!("{} decided {d:?}", n.id)))
        .collect();
    ensure(decided.is_empty(), BLOCKS, || {
        format!(
            "the coordinator crashed before deciding and has been down for 2 s, yet {}",
            decided.join(", ")
        )
    })?;
    run(&mut sim, |s| s.restart(COORDINATOR))?;
    run(&mut sim, |s| s.run_for(secs(2)))?;
    let outcome = all_decide_the_same(&of_sim(&sim), "2 s after the coordinator came back")?;
    ensure(outcome == Outcome::Abort, PRESUMED_ABORT, || {
        format!(
            "the coordinator crashed before logging a decision; after its restart the \
             participants decided {outcome:?}"
        )
    })
}

/// The coordinator crashes right after it decides commit (and logs it),
/// before any participant hears of it; after its restart every participant
/// must commit, and a client that asks again is told Commit.
pub fn crash_after_decision<N: Observed>(seed: u64, build: Build<N>) -> Result<(), Failure> {
    let mut sim = start(seed, build, 3);
    sim.request(COORDINATOR, N::begin());
    let decided = run(&mut sim, |s| {
        s.run_until(secs(1), |s| of_sim(s)[0].decision.is_some())
    })?;
    ensure(decided, DECIDES, || {
        "the coordinator did not decide within 1 s of a reliable run".to_string()
    })?;
    run(&mut sim, |s| s.crash(COORDINATOR))?;
    let pause = 100 + SimRng::new(seed).below(400);
    run(&mut sim, |s| s.run_for(ms(pause)))?;
    run(&mut sim, |s| s.restart(COORDINATOR))?;
    run(&mut sim, |s| s.run_for(secs(2)))?;
    let outcome = all_decide_the_same(&of_sim(&sim), "2 s after the coordinator came back")?;
    ensure(outcome == Outcome::Commit, DECIDES, || {
        format!(
            "every participant voted yes and the coordinator decided, yet they decided {outcome:?}"
        )
    })?;
    // The first client's answer was lost in the crash: it asks again.
    ask_again(&mut sim, Outcome::Commit)
}

/// Once the coordinator has decided commit, every message from the
/// participants to it is lost for a while (their acks and any repeated
/// votes), and a participant crashes and restarts: nobody undoes the
/// commit, the client is told, and once the links heal the coordinator
/// learns that all applied it and falls silent.
pub fn lost_acks<N: Observed>(seed: u64, build: Build<N>) -> Result<(), Failure> {
    let mut sim = start(seed, build, 3);
    let begin = sim.request(COORDINATOR, N::begin());
    run(&mut sim, |s| {
        s.run_until(secs(1), |s| of_sim(s)[0].decision == Some(Outcome::Commit))
    })?;
    told_client(&sim, begin, Outcome::Commit)?;
    for p in 1..=3 {
        run(&mut sim, |s| s.cut(NodeId(p), COORDINATOR))?;
    }
    run(&mut sim, |s| s.run_for(ms(300)))?;
    let victim = NodeId(1 + SimRng::new(seed).below(3) as usize);
    run(&mut sim, |s| s.crash(victim))?;
    run(&mut sim, |s| s.run_for(ms(100)))?;
    run(&mut sim, |s| s.restart(victim))?;
    run(&mut sim, |s| s.run_for(ms(300)))?;
    run(&mut sim, |s| s.heal())?;
    run(&mut sim, |s| s.run_for(secs(1)))?;
    let outcome = all_decide_the_same(&of_sim(&sim), "after the links healed")?;
    ensure(outcome == Outcome::Commit, DECIDES, || {
        format!("the coordinator had decided commit, yet the participants ended {outcome:?}")
    })?;
    quiet(&mut sim)
}

/// The link to one participant is cut as the transaction begins, so its
/// Prepare is lost, and healed 10 ms later, long before the vote timeout:
/// the coordinator's resend reaches it, and everyone commits.
pub fn lost_prepare<N: Observed>(seed: u64, build: Build<N>) -> Result<(), Failure> {
    let mut sim = start(seed, build, 3);
    let cut_off = NodeId(1 + SimRng::new(seed).below(3) as usize);
    run(&mut sim, |s| s.cut(COORDINATOR, cut_off))?;
    let begin = sim.request(COORDINATOR, N::begin());
    run(&mut sim, |s| s.run_for(ms(10)))?;
    run(&mut sim, |s| s.heal())?;
    run(&mut sim, |s| s.run_for(secs(1)))?;
    let decision = of_sim(&sim)[0].decision;
    ensure(decision == Some(Outcome::Commit), RESENDS_PREPARE, || {
        format!(
            "{cut_off} missed the first Prepare (its link was healed 10 ms later) and the \
             coordinator decided {decision:?}"
        )
    })?;
    told_client(&sim, begin, Outcome::Commit)
}

/// 20% loss, and for the first 600 ms random crashes and restarts of any
/// node; then everyone is up and the network heals: every participant
/// must decide, all the same. Participants vote no with probability 0.2.
pub fn random_crashes<N: Observed>(seed: u64, build: Build<N>) -> Result<(), Failure> {
    let mut rng = SimRng::new(seed);
    let participants = 3 + rng.below(2) as usize;
    let can_commit: Vec<bool> = (0..=participants)
        .map(|i| i == 0 || rng.chance(0.8))
        .collect();
    let mut sim = start_with(seed, build, can_commit);
    sim.set_network(Network::default().with_loss(0.2));
    sim.request(COORDINATOR, N::begin());
    for _ in 0..12 {
        run(&mut sim, |s| s.run_for(ms(10 + rng.below(40))))?;
        let id = NodeId(rng.below(participants as u64 + 1) as usize);
        if sim.is_up(id) {
            run(&mut sim, |s| s.crash(id))?;
        } else {
            run(&mut sim, |s| s.restart(id))?;
        }
    }
    for id in 0..=participants {
        run(&mut sim, |s| s.restart(NodeId(id)))?;
    }
    sim.set_network(Network::default());
    run(&mut sim, |s| s.run_for(secs(3)))?;
    all_decide_the_same(
        &of_sim(&sim),
        "3 s after every node was back on a reliable network",
    )
    .map(|_| ())
}
