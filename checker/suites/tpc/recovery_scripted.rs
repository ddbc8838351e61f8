//! tpc_recovery: the pieces of recovery that a random run reaches only by
//! luck, written out: a participant that is down when the transaction
//! begins, prepared participants asking a silent coordinator, a client
//! asking again after the coordinator's crash, and a coordinator that
//! falls silent once everyone has the decision.

use super::observed::{Build, Observed, Outcome};
use super::properties::{of_sim, watch, ASKS, OUTCOME, QUIET, REPLIES, TIMES_OUT};
use super::recovery::{all_decide_the_same, start};
use dscheck::{ensure, ms, run, Failure};
use dsim::{Event, NodeId, RequestId, Sim};
use std::collections::BTreeSet;
use std::time::Duration;

const COORDINATOR: NodeId = NodeId(0);

/// Participant n3 is down when the client begins and stays down past the
/// vote timeout: its vote is missing, so the coordinator aborts and tells
/// the client. When n3 comes back (it never voted) it must learn the
/// abort too, and then the system falls silent.
pub fn participant_down_aborts<N: Observed>(seed: u64, build: Build<N>) -> Result<(), Failure> {
    let mut sim = start(seed, build, 3);
    let late = NodeId(3);
    run(&mut sim, |s| s.crash(late))?;
    let begin = sim.request(COORDINATOR, N::begin());
    run(&mut sim, |s| s.run_for(ms(400)))?;
    let decided = of_sim(&sim)[0].decision;
    ensure(decided == Some(Outcome::Abort), TIMES_OUT, || {
        format!(
            "{late} was down from before the Begin, so its vote never came; 400 ms later the \
             coordinator has decided {}",
            decided.map_or("nothing".to_string(), |d| format!("{d:?}"))
        )
    })?;
    told_client(&sim, begin, Outcome::Abort)?;
    run(&mut sim, |s| s.restart(late))?;
    run(&mut sim, |s| s.run_for(ms(1_000)))?;
    all_decide_the_same(&of_sim(&sim), "1 s after the late participant came back")?;
    quiet(&mut sim)
}

/// Three participants, the last of which votes no, on a network that
/// loses nothing (the rules of [`super::prompt`] watched: the no voter
/// and the coordinator abort at once): everyone aborts and the client is
/// told. `sim` is built by `start` from the participants' abilities.
pub fn no_vote<N: Observed>(
    seed: u64,
    build: Build<N>,
    start: fn(u64, Build<N>, Vec<bool>) -> Sim<N>,
) -> Result<(), Failure> {
    let mut sim = start(seed, build, vec![true, true, true, false]);
    let begin = sim.request(COORDINATOR, N::begin());
    run(&mut sim, |s| s.run_for(ms(300)))?;
    told_client(&sim, begin, Outcome::Abort)?;
    let outcome = all_decide_the_same(&of_sim(&sim), "300 ms after a no vote")?;
    ensure(outcome == Outcome::Abort, OUTCOME, || {
        format!("a participant voted no, yet the participants decided {outcome:?}")
    })
}

/// A `tpc_basic` run: the safety properties and the rules of
/// [`super::prompt`] watched.
pub fn start_basic<N: Observed>(seed: u64, build: Build<N>, can_commit: Vec<bool>) -> Sim<N> {
    let votes = can_commit.clone();
    let mut sim = Sim::new(seed, can_commit.len(), move |id| build(id, votes[id.0]));
    watch(&mut sim, can_commit);
    sim
}

/// n1 votes yes and is then cut off from the coordinator both ways, so it
/// learns nothing while the coordinator decides. Then only its link to the
/// coordinator comes back: its repeated yes votes reach a coordinator that
/// has decided, and each must be answered with the decision (the answers
/// are lost until the other link heals too).
pub fn late_vote_answered<N: Observed>(seed: u64, build: Build<N>) -> Result<(), Failure> {
    let mut sim = start(seed, build, 3);
    let n1 = NodeId(1);
    sim.request(COORDINATOR, N::begin());
    run(&mut sim, |s| {
        s.run_until(ms(500), |s| of_sim(s)[1].vote == Some(true))
    })?;
    run(&mut sim, |s| s.cut(n1, COORDINATOR))?;
    run(&mut sim, |s| s.cut(COORDINATOR, n1))?;
    run(&mut sim, |s| {
        s.run_until(ms(500), |s| of_sim(s)[0].decision.is_some())
    })?;
    run(&mut sim, |s| s.heal())?;
    run(&mut sim, |s| s.cut(COORDINATOR, n1))?;
    run(&mut sim, |s| s.run_for(ms(100)))?;
    run(&mut sim, |s| s.heal())?;
    run(&mut sim, |s| s.run_for(ms(500)))?;
    all_decide_the_same(&of_sim(&sim), "after the links to n1 healed")?;
    quiet(&mut sim)
}

/// The client that sent `begin` was told `outcome`.
pub fn told_client<N: Observed>(
    sim: &Sim<N>,
    begin: RequestId,
    outcome: Outcome,
) -> Result<(), Failure> {
    let told = sim.operation(begin).reply().map(N::outcome);
    ensure(told == Some(outcome), REPLIES, || {
        format!(
            "the coordinator decided {outcome:?}, and the client was told {}",
            told.map_or("nothing".to_string(), |t| format!("{t:?}"))
        )
    })
}

/// A client asks the coordinator again, after the decision and a crash
/// that lost the first client: it must be told `outcome` at once.
pub fn ask_again<N: Observed>(sim: &mut Sim<N>, outcome: Outcome) -> Result<(), Failure> {
    let again = sim.request(COORDINATOR, N::begin());
    run(sim, |s| s.run_for(ms(50)))?;
    let told = sim.operation(again).reply().map(N::outcome);
    ensure(told == Some(outcome), REPLIES, || {
        format!(
            "a client asked the restarted coordinator, which had logged {outcome:?}, for the \
             outcome; 50 ms later it had been told {}",
            told.map_or("nothing".to_string(), |t| format!("{t:?}"))
        )
    })
}

/// Runs `window` with the coordinator down, then requires that every
/// participant that is up, voted yes and is undecided asked the
/// coordinator (sent it a yes vote) during that window.
pub fn keep_asking<N: Observed>(sim: &mut Sim<N>, window: Duration) -> Result<(), Failure> {
    let from = sim.trace().total();
    run(sim, |s| s.run_for(window))?;
    let asked: BTreeSet<NodeId> = sim
        .trace()
        .entries()
        .filter(|e| e.index >= from)
        .filter_map(|e| match &e.event {
            Event::Send { from, to, msg, .. }
                if *to == COORDINATOR && N::vote_in(msg) == Some(true) =>
            {
                Some(*from)
            }
            _ => None,
        })
        .collect();
    let silent: Vec<String> = of_sim(sim)[1..]
        .iter()
        .filter(|n| n.up && n.vote == Some(true) && n.decision.is_none())
        .filter(|n| !asked.contains(&n.id))
        .map(|n| n.id.to_string())
        .collect();
    ensure(silent.is_empty(), ASKS, || {
        format!(
            "the coordinator has been down a while; in the last {} ms, {} voted yes, knew no \
             decision and did not ask it again",
            window.as_millis(),
            silent.join(", ")
        )
    })
}

/// Every participant has decided: after 500 ms for the last messages to
/// settle, nothing more may be sent for 500 ms.
pub fn quiet<N: Observed>(sim: &mut Sim<N>) -> Result<(), Failure> {
    run(sim, |s| s.run_for(ms(500)))?;
    let from = sim.trace().total();
    run(sim, |s| s.run_for(ms(500)))?;
    let sent: Vec<String> = sim
        .trace()
        .entries()
        .filter(|e| e.index >= from)
        .filter_map(|e| match &e.event {
            Event::Send { from, to, msg, .. } => Some(format!("{from} → {to}: {msg:?}")),
            _ => None,
        })
        .collect();
    ensure(sent.is_empty(), QUIET, || {
        format!(
            "every participant had decided, yet in 500 ms the nodes sent {} message(s), such as \
             {}",
            sent.len(),
            sent.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
        )
    })
}
