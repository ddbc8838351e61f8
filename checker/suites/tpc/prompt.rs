//! The rules about *when* the coordinator speaks, checked after every
//! event of a simulation: each step a handler takes must do what the
//! protocol says that handler does, not leave it to a later resend. A
//! coordinator that only resends still ends up right, but every message it
//! holds back costs a retry interval, and on a network that loses nothing
//! it should never need one.

use super::observed::{Observed, Outcome};
use dscheck::Property;
use dsim::{Broken, Event, NodeId, Sim, Step};
use std::collections::BTreeSet;

const COORDINATOR: NodeId = NodeId(0);

pub const PREPARES: Property = Property {
    name: "the coordinator asks every participant to prepare as soon as the client begins",
    hint: "on the client's Begin, broadcast Prepare in the same handler (ctx.broadcast), then \
           start the timers: a resend is for a Prepare that was lost, not the first one",
    when: &[],
};
pub const TELLS: Property = Property {
    name: "the coordinator sends its decision to every participant as soon as it has one",
    hint: "in decide, after logging and recording the decision, broadcast Decide(decision); in \
           on_start, a decision reloaded from the log is broadcast again at once (the \
           participants may never have heard it)",
    when: &[],
};
pub const NO_ABORTS: Property = Property {
    name: "a no vote makes the coordinator abort at once",
    hint: "a single no vote settles the transaction: decide Abort when it arrives, without \
           waiting for the other votes or the timeout",
    when: &[],
};
pub const VOTER_ABORTS: Property = Property {
    name: "a participant that votes no aborts at once",
    hint: "a no vote settles the transaction: the participant that sends it knows the outcome \
           already, so it applies Abort when it votes, before the coordinator's Decide (which \
           may be lost)",
    when: &[],
};
pub const ANSWERS: Property = Property {
    name: "the coordinator answers a vote that comes after its decision with the decision",
    hint: "a vote that arrives once the coordinator has decided is a prepared participant \
           asking for the outcome: send it Decide(decision) at once",
    when: &[],
};

/// The coordinator's decision while it is up (`None` while down).
fn coordinator_decision<N: Observed>(sim: &Sim<N>) -> Option<Outcome> {
    sim.node(COORDINATOR).and_then(N::decision)
}

/// The participants the coordinator sent a message matching `wanted` to
/// in `step`.
fn sent_to<N: Observed>(step: Step<'_, N>, wanted: impl Fn(&N::Msg) -> bool) -> BTreeSet<NodeId> {
    step.iter()
        .filter_map(|e| match &e.event {
            Event::Send { from, to, msg, .. } if *from == COORDINATOR && wanted(msg) => Some(*to),
            _ => None,
        })
        .collect()
}

/// The participants of `sim` missing from `reached`, named.
fn missing<N: Observed>(sim: &Sim<N>, reached: &BTreeSet<NodeId>) -> Vec<String> {
    sim.ids()
        .filter(|id| *id != COORDINATOR && !reached.contains(id))
        .map(|id| id.to_string())
        .collect()
}

/// The votes delivered to the coordinator in `step`: (voter, yes, event).
fn votes_delivered<N: Observed>(step: Step<'_, N>) -> Vec<(NodeId, bool, u64)> {
    step.iter()
        .filter_map(|e| match &e.event {
            Event::Deliver { from, to, msg, .. } if *to == COORDINATOR => {
                N::vote_in(msg).map(|yes| (*from, yes, e.index))
            }
            _ => None,
        })
        .collect()
}

/// Registers [`PREPARES`], [`TELLS`], [`NO_ABORTS`] and
/// [`VOTER_ABORTS`]: rules of both exercises.
pub fn watch_prompt<N: Observed>(sim: &mut Sim<N>) {
    sim.check(VOTER_ABORTS, |sim, step| {
        for e in step {
            let Event::Send { from, msg, .. } = &e.event else {
                continue;
            };
            if *from == COORDINATOR || N::vote_in(msg) != Some(false) {
                continue;
            }
            let decision = sim.node(*from).and_then(N::decision);
            if decision != Some(Outcome::Abort) {
                return Err(Broken::new(format!(
                    "{from} sent a no vote and is {}",
                    decision.map_or("undecided".to_string(), |d| format!("decided {d:?}"))
                ))
                .nodes([*from])
                .events([e.index]));
            }
        }
        Ok(())
    });
    let mut begun = false;
    sim.check(PREPARES, move |sim, step| {
        let begin = step.iter().find(|e| {
            matches!(&e.event, Event::Request { node, refused: false, .. } if *node == COORDINATOR)
        });
        let Some(begin) = begin.filter(|_| !begun) else {
            return Ok(());
        };
        begun = true;
        let left = missing(sim, &sent_to(step, N::is_prepare));
        if left.is_empty() {
            return Ok(());
        }
        Err(Broken::new(format!(
            "the client's Begin reached n0, which did not send Prepare to {} in that step",
            left.join(", ")
        ))
        .nodes([COORDINATOR])
        .events([begin.index]))
    });
    let mut before: Option<Outcome> = None;
    sim.check(TELLS, move |sim, step| {
        let now = coordinator_decision(sim);
        let fresh = before.is_none();
        before = now;
        let Some(decision) = now.filter(|_| fresh) else {
            return Ok(());
        };
        let told = sent_to(step, |m| N::decision_in(m) == Some(decision));
        let left = missing(sim, &told);
        if left.is_empty() {
            return Ok(());
        }
        let how = if step
            .iter()
            .any(|e| matches!(&e.event, Event::Restart { node } if *node == COORDINATOR))
        {
            "restarted with the decision"
        } else {
            "decided"
        };
        Err(Broken::new(format!(
            "n0 {how} {decision:?} but did not send it to {} in that step",
            left.join(", ")
        ))
        .nodes([COORDINATOR]))
    });
    let mut before: Option<Outcome> = None;
    sim.check(NO_ABORTS, move |sim, step| {
        let was = before;
        let now = coordinator_decision(sim);
        before = now;
        if was.is_some() || sim.node(COORDINATOR).is_none() {
            return Ok(());
        }
        let Some((voter, _, at)) = votes_delivered(step).into_iter().find(|v| !v.1) else {
            return Ok(());
        };
        if now == Some(Outcome::Abort) {
            return Ok(());
        }
        Err(Broken::new(format!(
            "n0 received {voter}'s no vote while undecided, and is now {}",
            now.map_or("still undecided".to_string(), |d| format!("decided {d:?}"))
        ))
        .nodes([COORDINATOR, voter])
        .events([at]))
    });
}

/// Registers [`ANSWERS`]: a rule of `tpc_recovery`, whose participants
/// ask for the outcome by voting again.
pub fn watch_answers<N: Observed>(sim: &mut Sim<N>) {
    let mut before: Option<Outcome> = None;
    sim.check(ANSWERS, move |sim, step| {
        let was = before;
        before = coordinator_decision(sim);
        let Some(decision) = was else {
            return Ok(());
        };
        if sim.node(COORDINATOR).is_none() {
            return Ok(());
        }
        let told = sent_to(step, |m| N::decision_in(m) == Some(decision));
        for (voter, _, at) in votes_delivered(step) {
            if !told.contains(&voter) {
                return Err(Broken::new(format!(
                    "{voter}'s vote reached n0 after it had decided {decision:?}, and n0 did not \
                     answer it with the decision"
                ))
                .nodes([COORDINATOR, voter])
                .events([at]));
            }
        }
        Ok(())
    });
}
