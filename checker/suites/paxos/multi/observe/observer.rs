//! The observer: everything seen of a run (every vote ever cast, the value
//! chosen at each slot, each node's promise, votes and applied prefix as
//! last seen), and the rule of each safety property, judged on one step.

use super::Observed;
use crate::subject::paxos::multi::{
    vote_key, Ballot, Command, Msg, Slot, Value, Vote, PROMISED_KEY, TOP_SLOT_KEY,
};
use dsim::{Broken, Event, NodeId, Sim, Step, Storage};
use std::collections::{BTreeMap, BTreeSet};

/// A node's votes, in slot order.
type Votes = Vec<(Slot, Vote)>;

/// Everything the observer has seen of a run.
pub struct Observer {
    nodes: usize,
    /// Every command that reached a node.
    pub proposed: BTreeSet<Command>,
    seen_requests: usize,
    /// Every vote ever cast: per slot and ballot, its value and voters.
    votes: BTreeMap<(Slot, Ballot), (Value, BTreeSet<NodeId>)>,
    /// The value chosen at each slot, with the first ballot that chose it.
    pub chosen: BTreeMap<Slot, (Value, Ballot)>,
    /// Each node's promise and votes (in slot order) as last seen up (or
    /// read back).
    last: Vec<(Option<Ballot>, Votes)>,
    /// Each node's promise as its storage holds it, read again only when
    /// the storage changed (`Storage::changes`).
    stored: Vec<(Option<u64>, Option<Ballot>)>,
    /// Each node's applied index as last seen.
    applied: Vec<Slot>,
    /// The slots whose vote changed in the step being checked, and whose.
    pub(super) changed: Vec<(NodeId, Slot)>,
    /// The promise of the step's node before the step.
    prior: Option<Ballot>,
    /// The nodes that ever promised each ballot.
    promisers: BTreeMap<Ballot, BTreeSet<NodeId>>,
    /// Each node's own ballot and whether it led, as last seen.
    pub(super) led: Vec<(Option<Ballot>, bool)>,
    /// The highest round in a Nack each node got since it last started.
    pub(super) nacked: Vec<u64>,
}

impl Observer {
    pub(super) fn new(nodes: usize) -> Self {
        Observer {
            nodes,
            proposed: BTreeSet::new(),
            seen_requests: 0,
            votes: BTreeMap::new(),
            chosen: BTreeMap::new(),
            last: vec![(None, Vec::new()); nodes],
            stored: vec![(None, None); nodes],
            applied: vec![0; nodes],
            changed: Vec::new(),
            prior: None,
            promisers: BTreeMap::new(),
            led: vec![(None, false); nodes],
            nacked: vec![0; nodes],
        }
    }

    fn majority(&self) -> usize {
        self.nodes / 2 + 1
    }

    /// The acceptor rule for `id`, seen up now; records its changed votes.
    pub(super) fn acceptor_rule<N: Observed>(
        &mut self,
        id: NodeId,
        node: &N,
    ) -> Result<(), Broken> {
        let (promised, votes) = &self.last[id.0];
        self.prior = *promised;
        if let Some(b) = node.promised() {
            self.promisers.entry(b).or_default().insert(id);
        }
        if node.promised() < *promised {
            let detail = format!(
                "{id} had promised {promised:?}, and now its promise is {:?}",
                node.promised()
            );
            return Err(Broken::new(detail).nodes([id]));
        }
        // Both are in slot order: walk them side by side (a lookup per slot,
        // after every event, was most of a long run's time; so was walking a
        // second map).
        let mut i = 0;
        for (&slot, vote) in node.accepted() {
            while i < votes.len() && votes[i].0 < slot {
                i += 1;
            }
            if i < votes.len() && votes[i].0 == slot && votes[i].1 == *vote {
                continue;
            }
            if Some(vote.ballot) < *promised {
                let detail = format!(
                    "{id} accepted {:?} at slot {slot} in ballot {:?} after promising {promised:?}",
                    vote.value, vote.ballot
                );
                return Err(Broken::new(detail).nodes([id]));
            }
            if node.promised() < Some(vote.ballot) {
                let detail = format!(
                    "{id} accepted a vote in ballot {:?} at slot {slot}, but its promise is only \
                     {:?}",
                    vote.ballot,
                    node.promised()
                );
                return Err(Broken::new(detail).nodes([id]));
            }
            self.changed.push((id, slot));
        }
        Ok(())
    }

    /// REFUSES: a Prepare or Accept below the promise the node held before
    /// the step is answered with a Nack in the same step.
    pub(super) fn refuses<N: Observed>(&self, step: &Step<'_, N>) -> Result<(), Broken> {
        let Some(Event::Deliver { from, to, msg, .. }) = step.trigger_event() else {
            return Ok(());
        };
        let (Msg::Prepare { ballot, .. } | Msg::Accept { ballot, .. }) = msg else {
            return Ok(());
        };
        let Some(promised) = self.prior.filter(|&p| *ballot < p && from != to) else {
            return Ok(());
        };
        let nacked = step.caused().iter().any(|e| {
            matches!(&e.event, Event::Send { from: f, to: t, msg: Msg::Nack { ballot: b, .. }, .. }
                if f == to && t == from && b == ballot)
        });
        if nacked {
            return Ok(());
        }
        let detail = format!(
            "{to} had promised {promised:?} and got {msg:?} from {from}, and sent no Nack for \
             ballot {ballot:?}"
        );
        Err(Broken::new(detail).nodes([*to]))
    }

    /// BALLOTS: a Prepare the step's node sends is for a round above every
    /// round it has seen: its promise before the step, and the promises
    /// named in the Nacks it got since it last started.
    pub(super) fn campaigns<N: Observed>(
        &mut self,
        id: NodeId,
        step: &Step<'_, N>,
    ) -> Result<(), Broken> {
        if let Some(Event::Deliver {
            to,
            msg: Msg::Nack { promised, .. },
            ..
        }) = step.trigger_event()
        {
            let seen = &mut self.nacked[to.0];
            *seen = (*seen).max(promised.round);
        }
        let seen = self.prior.map_or(0, |p| p.round).max(self.nacked[id.0]);
        for e in step.iter() {
            let Event::Send {
                from,
                msg: Msg::Prepare { ballot, .. },
                ..
            } = &e.event
            else {
                continue;
            };
            if *from == id && ballot.round <= seen {
                let detail = format!(
                    "{id} campaigned with ballot {ballot:?}, but it had seen round {seen} (in \
                     its promise {:?} or a Nack): its round must be above",
                    self.prior
                );
                return Err(Broken::new(detail).nodes([id]).events([e.index]));
            }
        }
        Ok(())
    }

    /// PHASE_ONE: a node that starts leading a ballot has a majority's
    /// promises for it; then remembers what the node leads.
    pub(super) fn leads<N: Observed>(&mut self, id: NodeId, node: &N) -> Result<(), Broken> {
        let (before, led) = self.led[id.0];
        let ballot = node.ballot();
        self.led[id.0] = (ballot, node.leading());
        let Some(b) = ballot.filter(|_| node.leading() && (!led || ballot != before)) else {
            return Ok(());
        };
        let promisers = self.promisers.get(&b).cloned().unwrap_or_default();
        if promisers.len() < self.majority() {
            let detail = format!(
                "{id} leads ballot {b:?}, but only {promisers:?} ever promised it (a majority is \
                 {})",
                self.majority()
            );
            return Err(Broken::new(detail).nodes([id]));
        }
        Ok(())
    }

    /// Records the step's new votes; checks that each slot chooses one value.
    pub(super) fn agreement<N: Observed>(&mut self, node: &N) -> Result<(), Broken> {
        let majority = self.majority();
        for &(id, slot) in &self.changed {
            let vote = &node.accepted()[&slot];
            let (value, voters) = (self.votes)
                .entry((slot, vote.ballot))
                .or_insert_with(|| (vote.value.clone(), BTreeSet::new()));
            if *value != vote.value {
                let detail = format!(
                    "at slot {slot}, ballot {:?} carries two values: {value:?} and {:?}",
                    vote.ballot, vote.value
                );
                return Err(Broken::new(detail).nodes([id]));
            }
            voters.insert(id);
            if voters.len() < majority {
                continue;
            }
            let (first, ballot) = (self.chosen)
                .entry(slot)
                .or_insert_with(|| (vote.value.clone(), vote.ballot));
            if *first != vote.value {
                let detail = format!(
                    "slot {slot} chose {first:?} in ballot {ballot:?}, and then {:?} in ballot \
                     {:?}: each was accepted by a majority",
                    vote.value, vote.ballot
                );
                return Err(Broken::new(detail).nodes(voters.iter().copied()));
            }
        }
        Ok(())
    }

    pub(super) fn validity<N: Observed>(&mut self, sim: &Sim<N>, node: &N) -> Result<(), Broken> {
        for op in &sim.history()[self.seen_requests..] {
            self.proposed.insert(op.request.clone());
        }
        self.seen_requests = sim.history().len();
        for &(id, slot) in &self.changed {
            let value = &node.accepted()[&slot].value;
            if let Value::Command(c) = value {
                if !self.proposed.contains(c) {
                    let detail =
                        format!("{id} accepted {c:?} at slot {slot}, which no client sent");
                    return Err(Broken::new(detail).nodes([id]));
                }
            }
        }
        Ok(())
    }

    pub(super) fn in_order<N: Observed>(
        &mut self,
        id: NodeId,
        node: &N,
        restarted: bool,
    ) -> Result<(), Broken> {
        let before = if restarted { 0 } else { self.applied[id.0] };
        let applied = node.applied();
        if applied < before {
            let detail = format!("{id} had applied slot {before}, and now only up to {applied}");
            return Err(Broken::new(detail).nodes([id]));
        }
        for slot in before + 1..=applied {
            let Some(value) = node.log().get(&slot) else {
                let detail = format!(
                    "{id} applied up to slot {applied}, but its log has nothing at slot {slot}: \
                     it applied past a hole"
                );
                return Err(Broken::new(detail).nodes([id]));
            };
            match self.chosen.get(&slot) {
                Some((chosen, _)) if chosen == value => {}
                Some((chosen, ballot)) => {
                    let detail = format!(
                        "{id} applied {value:?} at slot {slot}, where {chosen:?} was chosen \
                         (ballot {ballot:?})"
                    );
                    return Err(Broken::new(detail).nodes([id]));
                }
                None => {
                    let detail = format!(
                        "{id} applied {value:?} at slot {slot}, where no majority has accepted \
                         anything in one ballot"
                    );
                    return Err(Broken::new(detail).nodes([id]));
                }
            }
        }
        self.applied[id.0] = applied;
        Ok(())
    }

    /// The node's memory and its disk agree (a restarted node read back
    /// every vote it had stored); then remembers its state.
    pub(super) fn durable<N: Observed>(
        &mut self,
        id: NodeId,
        node: &N,
        storage: &Storage,
    ) -> Result<(), Broken> {
        let (seen, promise) = &mut self.stored[id.0];
        if *seen != Some(storage.changes()) {
            *seen = Some(storage.changes());
            *promise = storage.get(PROMISED_KEY);
        }
        let stored = *promise;
        if stored != node.promised() {
            let detail = format!(
                "{id} holds promise {:?}, but its storage has {stored:?}",
                node.promised()
            );
            return Err(Broken::new(detail).nodes([id]));
        }
        let top: Slot = storage.get(TOP_SLOT_KEY).unwrap_or(0);
        for &(_, slot) in &self.changed {
            let on_disk: Option<Vote> = storage.get(&vote_key(slot));
            if on_disk.as_ref() != node.accepted().get(&slot) || slot > top {
                let detail = format!(
                    "{id} accepted {:?} at slot {slot}, but its storage has {on_disk:?} there \
                     (and {top} as its top slot)",
                    node.accepted().get(&slot)
                );
                return Err(Broken::new(detail).nodes([id]));
            }
        }
        let (promised, votes) = &mut self.last[id.0];
        if node.accepted().len() < votes.len() + self.changed.len() {
            let lost = votes.iter().find(|(s, _)| !node.accepted().contains_key(s));
            if let Some((slot, vote)) = lost {
                let detail =
                    format!("{id} had accepted {vote:?} at slot {slot}, and no longer holds it");
                return Err(Broken::new(detail).nodes([id]));
            }
        }
        *promised = node.promised();
        for &(_, slot) in &self.changed {
            let vote = node.accepted()[&slot].clone();
            match votes.binary_search_by_key(&slot, |(s, _)| *s) {
                Ok(i) => votes[i].1 = vote,
                Err(i) => votes.insert(i, (slot, vote)),
            }
        }
        Ok(())
    }
}
