//! The properties of single-decree Paxos, each declared once, and the
//! observer that checks the safety properties after every event of a
//! simulation. "Chosen" is computed from the acceptors' own votes (a value
//! is chosen once a majority of acceptors accepted it in one ballot), never
//! from what learners claim, and every value ever chosen is remembered.

use crate::subject::paxos::single_decree::{
    Ballot, Config, Msg, Timer, Value, Vote, ACCEPTED_KEY, PROMISED_KEY, ROUND_KEY,
};
use dscheck::{Fact, Property};
use dsim::{Broken, Event, NodeId, Sim, Step, Storage};
use std::collections::{BTreeMap, BTreeSet};
use std::hash::Hash;

/// What the checks read of a node: the subject's `Paxos`, or a known-wrong
/// variant's (the same fields, another type).
pub trait Observed: dsim::Node<Msg = Msg, Timer = Timer> + Clone + Eq + Hash {
    fn make(id: NodeId, config: Config) -> Self;
    fn promised(&self) -> Option<Ballot>;
    fn accepted(&self) -> Option<Vote>;
    fn learned(&self) -> Option<Value>;
    fn highest_round(&self) -> u64;
    fn ballot(&self) -> Option<Ballot>;
}

/// Implements [`Observed`] for a node type with the reference's fields.
#[macro_export]
macro_rules! observed {
    ($t:ty) => {
        impl $crate::paxos::properties::Observed for $t {
            fn make(
                id: dsim::NodeId,
                config: $crate::subject::paxos::single_decree::Config,
            ) -> Self {
                <$t>::new(id, config)
            }
            fn promised(&self) -> Option<$crate::subject::paxos::single_decree::Ballot> {
                self.promised
            }
            fn accepted(&self) -> Option<$crate::subject::paxos::single_decree::Vote> {
                self.accepted
            }
            fn learned(&self) -> Option<$crate::subject::paxos::single_decree::Value> {
                self.learned
            }
            fn highest_round(&self) -> u64 {
                self.highest_round
            }
            fn ballot(&self) -> Option<$crate::subject::paxos::single_decree::Ballot> {
                self.ballot
            }
        }
    };
}

observed!(crate::subject::paxos::single_decree::Paxos);

pub const VALIDITY: Property = Property {
    name: "only a value some proposer proposed is ever accepted, chosen or learned",
    hint: "a proposer sends in phase 2 either the value of a vote found in the promises or its \
           own proposal(); acceptors and learners never make up a value",
    when: &[],
};
pub const AGREEMENT: Property = Property {
    name: "at most one value is ever chosen (accepted by a majority of acceptors in one ballot)",
    hint: "with a majority of promises, a proposer must propose the value of the highest-ballot \
           vote among them (choose_value), and only its own value when no promise carries a vote",
    when: &[(
        Fact::Restarted,
        "an acceptor that restarts must still know its promise and its vote: store them in \
         ctx.storage() before answering, and read them back in on_start",
    )],
};
pub const LEARNS_CHOSEN: Property = Property {
    name: "a learner learns only a value that was chosen",
    hint:
        "count Accepted messages per ballot (votes from distinct acceptors in the same ballot) \
           and learn only when one ballot has a majority; votes from different ballots never add up",
    when: &[],
};
pub const ACCEPTOR_RULE: Property = Property {
    name: "an acceptor never accepts a ballot below its promise, and its promise never decreases",
    hint: "on Prepare and on Accept, compare the ballot with promised: refuse (Nack) a lower one; \
           a ballot equal or higher is promised (and, on Accept, accepted)",
    when: &[(
        Fact::Restarted,
        "a restarted acceptor forgot its promise: put promised (and accepted) in ctx.storage() \
         before sending the answer, and read them back in on_start",
    )],
};
pub const DURABLE: Property = Property {
    name: "what a node promised or used is on disk before it acts on it, and read back on restart",
    hint: "an acceptor puts promised (PROMISED_KEY) and its vote (ACCEPTED_KEY) in ctx.storage() \
           before answering; a proposer puts its round (ROUND_KEY) before sending Prepare; \
           recover() reads all three back",
    when: &[],
};
pub const ANSWERS: Property = Property {
    name: "an acceptor answers every Prepare: a Promise when the ballot is at or above its \
           promise, a Nack below it",
    hint: "on_prepare: if ballot < promised, send Nack { ballot, promised } back; otherwise \
           store the promise and send Promise { ballot, accepted } (a repeated Prepare of the \
           promised ballot is promised again)",
    when: &[],
};
pub const RETRIES: Property = Property {
    name: "a refused proposer tries again at once, above the ballot that refused it",
    hint: "a Nack for the current ballot means a higher ballot exists: on_nack records its round \
           and sets the Retry timer to backoff() (zero without backoff), not ROUND_TIMEOUT",
    when: &[],
};
pub const DECIDES: Property = Property {
    name: "once faults stop, with one proposer left, a value is chosen and every live learner learns it",
    hint: "a proposer retries with a higher ballot (above every round it has seen) when its \
           attempt times out or is refused; learners learn once a majority accepted one ballot",
    when: &[],
};
pub const LIVELOCK: Property = Property {
    name: "two proposers without backoff duel forever; with backoff, a value is chosen",
    hint: "without config.backoff, backoff() waits Duration::ZERO, so the proposers keep cutting \
           each other off; with it, a random wait up to BACKOFF_MAX from ctx.rng() lets one finish",
    when: &[],
};

/// What the checks see of one node: its durable state read from its storage
/// while it is down.
#[derive(Clone, Debug)]
pub struct Seen {
    pub id: NodeId,
    pub promised: Option<Ballot>,
    pub accepted: Option<Vote>,
    pub learned: Option<Value>,
}

pub fn seen<N: Observed>(id: NodeId, node: Option<&N>, storage: &Storage) -> Seen {
    match node {
        Some(n) => Seen {
            id,
            promised: n.promised(),
            accepted: n.accepted(),
            learned: n.learned(),
        },
        None => Seen {
            id,
            promised: storage.get(PROMISED_KEY),
            accepted: storage.get(ACCEPTED_KEY),
            learned: None,
        },
    }
}

/// Everything the observer has seen of a run so far.
#[derive(Default)]
pub struct Observer {
    pub acceptors: Vec<NodeId>,
    pub proposed: BTreeSet<Value>,
    /// Every vote each acceptor ever cast.
    pub votes: BTreeMap<Ballot, (Value, BTreeSet<NodeId>)>,
    /// Every value ever chosen, with the first ballot that chose it.
    pub chosen: BTreeMap<Value, Ballot>,
    /// Each acceptor's last promise and vote, as last seen while up.
    pub last: BTreeMap<NodeId, (Option<Ballot>, Option<Vote>)>,
}

impl Observer {
    pub fn new(acceptors: &[NodeId], proposed: impl IntoIterator<Item = Value>) -> Self {
        Observer {
            acceptors: acceptors.to_vec(),
            proposed: proposed.into_iter().collect(),
            ..Observer::default()
        }
    }

    fn majority(&self) -> usize {
        self.acceptors.len() / 2 + 1
    }

    /// The acceptor rule, for one acceptor seen up now.
    fn acceptor_rule(&mut self, s: &Seen) -> Result<(), Broken> {
        let (promised, accepted) = self.last.get(&s.id).copied().unwrap_or((None, None));
        if s.promised < promised {
            return Err(Broken::new(format!(
                "{} had promised {promised:?}, and now its promise is {:?}",
                s.id, s.promised
            ))
            .nodes([s.id]));
        }
        if let Some(vote) = s.accepted.filter(|v| Some(*v) != accepted) {
            if Some(vote.ballot) < promised {
                return Err(Broken::new(format!(
                    "{} accepted {vote:?} after promising {promised:?}",
                    s.id
                ))
                .nodes([s.id]));
            }
            if s.promised < Some(vote.ballot) {
                return Err(Broken::new(format!(
                    "{} accepted {vote:?} but its promise is only {:?}",
                    s.id, s.promised
                ))
                .nodes([s.id]));
            }
        }
        self.last.insert(s.id, (s.promised, s.accepted));
        Ok(())
    }

    /// Records the acceptors' new votes; checks validity and agreement.
    fn chosen(&mut self, seen: &[Seen]) -> Result<(), Broken> {
        let majority = self.majority();
        for s in seen.iter().filter(|s| self.acceptors.contains(&s.id)) {
            let Some(vote) = s.accepted else { continue };
            let (value, voters) = self
                .votes
                .entry(vote.ballot)
                .or_insert((vote.value, BTreeSet::new()));
            if *value != vote.value {
                return Err(Broken::new(format!(
                    "ballot {:?} carries two values, {value} and {}",
                    vote.ballot, vote.value
                )));
            }
            voters.insert(s.id);
            if voters.len() >= majority {
                self.chosen.entry(vote.value).or_insert(vote.ballot);
            }
        }
        if self.chosen.len() > 1 {
            let all: Vec<String> = self
                .chosen
                .iter()
                .map(|(v, b)| format!("{v} (in ballot {:?})", b))
                .collect();
            return Err(Broken::new(format!(
                "two values were chosen, each accepted by a majority of acceptors in one ballot: {}",
                all.join(" and ")
            )));
        }
        Ok(())
    }

    fn learned(&self, seen: &[Seen]) -> Result<(), Broken> {
        for s in seen {
            if let Some(v) = s.learned {
                if !self.chosen.contains_key(&v) {
                    return Err(Broken::new(format!(
                        "{} learned {v}, but no majority of acceptors accepted {v} in one ballot \
                         (chosen so far: {:?})",
                        s.id,
                        self.chosen.keys().collect::<Vec<_>>()
                    ))
                    .nodes([s.id]));
                }
            }
        }
        Ok(())
    }
}

fn snapshot<N: Observed>(sim: &Sim<N>) -> Vec<Seen> {
    sim.ids()
        .map(|id| seen(id, sim.node(id), sim.storage(id)))
        .collect()
}

/// Checks every safety property after every event of `sim`.
pub fn watch<N: Observed>(sim: &mut Sim<N>, acceptors: &[NodeId], proposed: &[Value]) {
    use std::cell::RefCell;
    use std::rc::Rc;
    let observer = Rc::new(RefCell::new(Observer::new(
        acceptors,
        proposed.iter().copied(),
    )));
    let o = observer.clone();
    sim.check(ACCEPTOR_RULE, move |sim, _| {
        let mut o = o.borrow_mut();
        let acceptors = o.acceptors.clone();
        for id in acceptors {
            if let Some(node) = sim.node(id) {
                o.acceptor_rule(&seen(id, Some(node), sim.storage(id)))?;
            }
        }
        Ok(())
    });
    let answering = acceptors.to_vec();
    let mut promises: BTreeMap<NodeId, Option<Ballot>> = BTreeMap::new();
    sim.check(ANSWERS, move |sim, step| {
        // Judged by the promises as they were before the step; then
        // remembered as the step left them.
        let answered = answers_prepare(&answering, &promises, &step);
        for &id in &answering {
            promises.insert(id, seen(id, sim.node(id), sim.storage(id)).promised);
        }
        answered
    });
    let o = observer.clone();
    sim.check(VALIDITY, move |sim, _| {
        let o = o.borrow();
        for s in snapshot(sim) {
            let mut values = s.accepted.map(|v| v.value).into_iter().chain(s.learned);
            if let Some(v) = values.find(|v| !o.proposed.contains(v)) {
                return Err(Broken::new(format!(
                    "{} accepted or learned {v}, which no proposer proposed (proposed: {:?})",
                    s.id, o.proposed
                ))
                .nodes([s.id]));
            }
        }
        Ok(())
    });
    let o = observer.clone();
    sim.check(AGREEMENT, move |sim, _| {
        o.borrow_mut().chosen(&snapshot(sim))
    });
    let acceptors = acceptors.to_vec();
    // Each node's last ballot and the highest round it ever used.
    let mut used: BTreeMap<NodeId, (Option<Ballot>, u64)> = BTreeMap::new();
    sim.check(DURABLE, move |sim, step| {
        let restarted = match step.trigger_event() {
            Some(dsim::Event::Restart { node }) => Some(*node),
            _ => None,
        };
        for id in sim.ids() {
            let (Some(node), storage) = (sim.node(id), sim.storage(id)) else {
                continue;
            };
            let (last, highest) = used.get(&id).copied().unwrap_or((None, 0));
            if let Some(b) = node.ballot() {
                let new = restarted == Some(id) || Some(b) != last;
                if new && b.round <= highest {
                    return Err(Broken::new(format!(
                        "{id} starts ballot {b:?}, but it already used round {highest}: a \
                         restarted proposer must go above the round it stored"
                    ))
                    .nodes([id]));
                }
            }
            let round = node.ballot().map_or(0, |b| b.round);
            used.insert(id, (node.ballot(), highest.max(round)));
            let stored_round: u64 = storage.get(ROUND_KEY).unwrap_or(0);
            if let Some(b) = node.ballot().filter(|b| b.round > stored_round) {
                return Err(Broken::new(format!(
                    "{id} uses ballot {b:?}, but its stored round is {stored_round}"
                ))
                .nodes([id]));
            }
            if node.highest_round() < stored_round {
                return Err(Broken::new(format!(
                    "{id} stored round {stored_round}, but after its restart its highest round \
                     is {}",
                    node.highest_round()
                ))
                .nodes([id]));
            }
            if !acceptors.contains(&id) {
                continue;
            }
            let promised: Option<Ballot> = storage.get(PROMISED_KEY);
            let accepted: Option<Vote> = storage.get(ACCEPTED_KEY);
            if promised != node.promised() || accepted != node.accepted() {
                return Err(Broken::new(format!(
                    "{id} holds promise {:?} and vote {:?}, but its storage has {promised:?} \
                     and {accepted:?}",
                    node.promised(),
                    node.accepted()
                ))
                .nodes([id]));
            }
        }
        Ok(())
    });
    sim.check(LEARNS_CHOSEN, move |sim, _| {
        observer.borrow().learned(&snapshot(sim))
    });
}

/// ANSWERS, for a step that delivered a Prepare to an acceptor (from
/// another node): the step sends back a Nack for that ballot if it is below
/// the promise the acceptor held before the step, else a Promise for it.
fn answers_prepare<N: Observed>(
    acceptors: &[NodeId],
    before: &BTreeMap<NodeId, Option<Ballot>>,
    step: &Step<'_, N>,
) -> Result<(), Broken> {
    let Some(Event::Deliver {
        from,
        to,
        msg: Msg::Prepare { ballot },
        ..
    }) = step.trigger_event()
    else {
        return Ok(());
    };
    if from == to || !acceptors.contains(to) {
        return Ok(());
    }
    let prior = before.get(to).copied().flatten();
    let refused = prior.is_some_and(|p| *ballot < p);
    let answered = step.caused().iter().any(|e| match &e.event {
        Event::Send {
            from: f,
            to: t,
            msg: Msg::Nack { ballot: b, .. },
            ..
        } => refused && f == to && t == from && b == ballot,
        Event::Send {
            from: f,
            to: t,
            msg: Msg::Promise { ballot: b, .. },
            ..
        } => !refused && f == to && t == from && b == ballot,
        _ => false,
    });
    if answered {
        return Ok(());
    }
    let expected = if refused { "a Nack" } else { "a Promise" };
    Err(Broken::new(format!(
        "{to} had promised {prior:?} and got Prepare({ballot:?}) from {from}; it should have \
         answered with {expected} for that ballot"
    ))
    .nodes([*to]))
}

/// The values chosen in `sim`'s acceptors' current votes (for the
/// liveness checks; safety uses the [`Observer`]'s full memory).
pub fn chosen_now<N: Observed>(sim: &Sim<N>, acceptors: &[NodeId]) -> BTreeSet<Value> {
    let mut per_ballot: BTreeMap<Ballot, (Value, usize)> = BTreeMap::new();
    for s in snapshot(sim).iter().filter(|s| acceptors.contains(&s.id)) {
        if let Some(v) = s.accepted {
            per_ballot.entry(v.ballot).or_insert((v.value, 0)).1 += 1;
        }
    }
    let majority = acceptors.len() / 2 + 1;
    per_ballot
        .values()
        .filter(|(_, n)| *n >= majority)
        .map(|(v, _)| *v)
        .collect()
}
