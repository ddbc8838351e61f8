//! The short runs of three acceptors and two proposers (one also the
//! learner), all of them, breadth first: any order of delivery, one lost
//! message, any message delivered again, timers firing when nothing is in
//! flight, each proposer making one attempt (`max_round` 1).
//!
//! The whole space is millions of states (minutes in the dev profile), so
//! the search stops after [`STATES`] states: every run of up to eight
//! steps is checked (and some of nine), and longer ones are left to the
//! random runs. An
//! exploration sees only the present state, so "chosen" here is what the
//! acceptors' current votes show (a majority in one ballot), together with
//! what the learners learned: two different values chosen, two learners
//! learning different values, or a learner learning other than a value
//! chosen now, all break agreement.

use super::properties::{seen, Observed, Seen, AGREEMENT, VALIDITY};
use super::single_decree::config;
use crate::subject::paxos::single_decree::{Ballot, Value};
use dscheck::{metric, Failure};
use dsim::explore::LIMIT_PROPERTY;
use dsim::{Broken, Explorer, View};
use std::collections::{BTreeMap, BTreeSet};

const ACCEPTORS: usize = 3;
const PROPOSERS: usize = 2;
/// The breadth-first search stops after this many states, at depth 9:
/// every run of up to eight steps (deliveries in every order, a loss,
/// redeliveries, timers when the network is quiet). The
/// whole space, even with one attempt per proposer, has millions of states,
/// minutes in the dev profile; 20,000 states reach one step further and
/// take twice as long (0.7 s instead of 0.35 s on two busy cores), more
/// than a save can afford.
const STATES: usize = 10_000;

fn snapshot<N: Observed>(view: &View<N>) -> Vec<Seen> {
    view.ids()
        .map(|id| seen(id, view.node(id), view.storage(id)))
        .collect()
}

fn agreement<N: Observed>(view: &View<N>) -> Result<(), Broken> {
    let s = snapshot(view);
    let mut per_ballot: BTreeMap<Ballot, (Value, usize)> = BTreeMap::new();
    for a in &s[..ACCEPTORS] {
        if let Some(v) = a.accepted {
            per_ballot.entry(v.ballot).or_insert((v.value, 0)).1 += 1;
        }
    }
    let chosen: BTreeSet<Value> = per_ballot
        .values()
        .filter(|(_, n)| *n > ACCEPTORS / 2)
        .map(|(v, _)| *v)
        .collect();
    let learned: BTreeSet<Value> = s.iter().filter_map(|n| n.learned).collect();
    let all: BTreeSet<Value> = chosen.union(&learned).copied().collect();
    if all.len() > 1 {
        return Err(Broken::new(format!(
            "chosen by the acceptors' votes: {chosen:?}; learned: {}",
            s.iter()
                .filter_map(|n| n.learned.map(|v| format!("{} learned {v}", n.id)))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(())
}

fn validity<N: Observed>(view: &View<N>, proposed: &BTreeSet<Value>) -> Result<(), Broken> {
    for n in snapshot(view) {
        let mut values = n.accepted.map(|v| v.value).into_iter().chain(n.learned);
        if let Some(v) = values.find(|v| !proposed.contains(v)) {
            return Err(Broken::new(format!(
                "{} accepted or learned {v}, which no proposer proposed",
                n.id
            ))
            .nodes([n.id]));
        }
    }
    Ok(())
}

/// Explores the short runs; agreement and validity in every state.
pub fn explore<N: Observed>() -> Result<(), Failure> {
    let mut config = config(ACCEPTORS, PROPOSERS, 0, false);
    config.max_round = 1;
    config.learners.truncate(1);
    let proposed: BTreeSet<Value> = config.proposals.values().copied().collect();
    let c = config.clone();
    let explorer = Explorer::new(ACCEPTORS + PROPOSERS, move |id| N::make(id, c.clone()))
        .with_loss(1)
        .timers_when_quiet()
        .max_states(STATES)
        .always(AGREEMENT, agreement::<N>)
        .always(VALIDITY, move |v| validity(v, &proposed));
    let started = std::time::Instant::now();
    match explorer.run() {
        Ok(explored) => {
            metric("states explored", explored.states);
            metric("search depth", explored.depth);
        }
        // The bound reached: every state up to that depth was checked.
        Err(found) if found.property == LIMIT_PROPERTY => {
            metric("states explored", STATES);
            metric("search depth reached", found.trace.len());
        }
        Err(found) => return Err(Failure::from_counterexample(found)),
    }
    metric("exploration time (ms)", started.elapsed().as_millis());
    Ok(())
}
