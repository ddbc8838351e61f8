//! The properties of Multi-Paxos, each declared once, and the observer that
//! checks the safety properties after every event. "Chosen" comes from the
//! acceptors' own votes (a value is chosen at a slot once a majority of the
//! nodes accepted it there in one ballot), every vote ever cast is
//! remembered, and each node's applied prefix is compared with it: what a
//! node claims to have learned is never taken on trust.

use crate::subject::paxos::multi::{
    Ballot, Command, Msg, Reply, Slot, Timer, Value, Vote, PROMISED_KEY, TOP_SLOT_KEY,
};
use dscheck::{Fact, Property};
use dsim::{Broken, Event, NodeId, Sim, Step, Storage};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// What the checks read of a node: the subject's `Multi`, or a known-wrong
/// variant's (the same fields, another type).
pub trait Observed: dsim::Node<Msg = Msg, Timer = Timer, Request = Command, Reply = Reply> {
    fn make(id: NodeId) -> Self;
    fn promised(&self) -> Option<Ballot>;
    fn accepted(&self) -> &BTreeMap<Slot, Vote>;
    fn log(&self) -> &BTreeMap<Slot, Value>;
    fn applied(&self) -> Slot;
    fn leading(&self) -> bool;
    fn ballot(&self) -> Option<Ballot>;
}

/// Implements [`Observed`] for a node type with the reference's fields.
#[macro_export]
macro_rules! observed_multi {
    ($t:ty) => {
        impl $crate::paxos::multi::observe::Observed for $t {
            fn make(id: dsim::NodeId) -> Self {
                <$t>::new(id)
            }
            fn promised(&self) -> Option<$crate::subject::paxos::multi::Ballot> {
                self.promised
            }
            fn accepted(
                &self,
            ) -> &std::collections::BTreeMap<u64, $crate::subject::paxos::multi::Vote> {
                &self.accepted
            }
            fn log(
                &self,
            ) -> &std::collections::BTreeMap<u64, $crate::subject::paxos::multi::Value> {
                &self.log
            }
            fn applied(&self) -> u64 {
                self.applied
            }
            fn leading(&self) -> bool {
                self.leading
            }
            fn ballot(&self) -> Option<$crate::subject::paxos::multi::Ballot> {
                self.ballot
            }
        }
    };
}

observed_multi!(crate::subject::paxos::multi::Multi);

pub const ACCEPTOR_RULE: Property = Property {
    name: "an acceptor never accepts a ballot below its promise, and its promise never decreases",
    hint: "on Prepare, Accept and Heartbeat compare the ballot with promised: refuse (Nack) a \
           lower one; accepting a ballot promises it too",
    when: &[(
        Fact::Restarted,
        "a restarted acceptor forgot its promise: put it under PROMISED_KEY before answering, and \
         read it back in recover()",
    )],
};
pub const REFUSES: Property = Property {
    name: "an acceptor answers a Prepare or an Accept below its promise with a Nack for that \
           ballot",
    hint: "on_prepare and on_accept: when ballot < promised, send Msg::Nack { ballot, promised } \
           back to the sender, so that it learns at once that a higher ballot exists",
    when: &[],
};
pub const BALLOTS: Property = Property {
    name: "a node campaigns with a ballot whose round is above every round it has seen (its \
           promise, and the Nacks it got), so that no ballot is ever used twice",
    hint: "campaign: round = 1 + the highest of highest_round (raised by every promise and Nack) \
           and the round of self.promised (after a restart the promise, on disk, is the record of \
           the rounds the node used)",
    when: &[],
};
pub const PHASE_ONE: Property = Property {
    name: "a node leads a ballot only once a majority of the nodes have promised that ballot",
    hint: "on_promise counts promises for the current ballot only: campaign clears the promises \
           of an earlier ballot, and a promise for another ballot is ignored",
    when: &[],
};
pub const AGREEMENT: Property = Property {
    name: "at most one value is ever chosen at each slot (accepted there by a majority in one \
           ballot)",
    hint: "a new leader must propose again, at every slot from its phase 1 on, the value of the \
           highest-ballot vote the promises carry for that slot; only where none voted may it \
           put a no-op (or, later, a new command)",
    when: &[(
        Fact::Restarted,
        "an acceptor that restarts must still know its promise and its votes: store them before \
         answering and read them all back in recover()",
    )],
};
pub const VALIDITY: Property = Property {
    name: "only a no-op or a command a client sent is ever accepted at a slot",
    hint: "a leader proposes a client's command, a vote found in the promises, or Value::Noop; \
           acceptors never make up a value",
    when: &[],
};
pub const IN_ORDER: Property = Property {
    name: "a node applies slots in order, with no gaps, and only the value chosen at each",
    hint: "apply_chosen applies slot applied + 1 only when the log holds it (a value some \
           majority accepted in one ballot, told by Decide or counted in on_accepted), and stops \
           at the first slot it does not know",
    when: &[],
};
pub const DURABLE: Property = Property {
    name: "an acceptor's promise and votes are on disk whenever it holds them, and read back on \
           restart",
    hint: "put the promise under PROMISED_KEY and each vote under vote_key(slot) (with \
           TOP_SLOT_KEY) before answering; recover() reads the promise and every vote back",
    when: &[],
};
pub const NO_HOLES: Property = Property {
    name: "once the network is calm, no slot below a chosen slot stays empty: a new leader fills \
           every hole with a no-op",
    hint: "in take_over, propose at every slot from self.from to the highest slot the promises \
           mention: the highest-ballot vote's value, or Value::Noop where no promise has a vote; a \
           slot left out is a hole nothing will ever fill, and nothing after it is applied",
    when: &[],
};
pub const LINEARIZABLE: Property = Property {
    name: "the store is linearizable: one order of all operations respects real time and gives \
           every answer the clients saw (no command lost, none applied twice)",
    hint: "a client retries a command with the same (client, seq), so it may be chosen in two \
           slots: Kv::apply must run it once, and answer a repeat with the session's output",
    when: &[],
};
pub const COMPLETES: Property = Property {
    name: "once the network is calm and every node up, every client command completes",
    hint: "a leader must be elected (a node that hears no leader campaigns after a random \
           timeout, and backs off when it hears one), the leader resends Accepts that got no \
           majority, and applies in order once every hole is filled",
    when: &[],
};
pub const PHASE_TWO_ONLY: Property = Property {
    name: "with a stable leader on a calm network, a command costs phase 2 only: no Prepare, and \
           a few messages per node per command",
    hint: "the leader runs phase 1 once for every slot from its first open one, then sends only \
           Accept per command (plus its heartbeats); followers back off while they hear it",
    when: &[],
};

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
    changed: Vec<(NodeId, Slot)>,
    /// The promise of the step's node before the step.
    prior: Option<Ballot>,
    /// The nodes that ever promised each ballot.
    promisers: BTreeMap<Ballot, BTreeSet<NodeId>>,
    /// Each node's own ballot and whether it led, as last seen.
    led: Vec<(Option<Ballot>, bool)>,
    /// The highest round in a Nack each node got since it last started.
    nacked: Vec<u64>,
}

impl Observer {
    fn new(nodes: usize) -> Self {
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
    fn acceptor_rule<N: Observed>(&mut self, id: NodeId, node: &N) -> Result<(), Broken> {
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
    fn refuses<N: Observed>(&self, step: &Step<'_, N>) -> Result<(), Broken> {
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
    fn campaigns<N: Observed>(&mut self, id: NodeId, step: &Step<'_, N>) -> Result<(), Broken> {
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
    fn leads<N: Observed>(&mut self, id: NodeId, node: &N) -> Result<(), Broken> {
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
    fn agreement<N: Observed>(&mut self, node: &N) -> Result<(), Broken> {
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

    fn validity<N: Observed>(&mut self, sim: &Sim<N>, node: &N) -> Result<(), Broken> {
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

    fn in_order<N: Observed>(
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
    fn durable<N: Observed>(
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

use crate::subject::paxos::multi::vote_key;

/// The node whose state the step may have changed, and whether it restarted.
fn touched<N: dsim::Node>(step: &Step<'_, N>) -> Option<(NodeId, bool)> {
    match step.trigger_event()? {
        Event::Start { node } | Event::Timer { node, .. } | Event::Request { node, .. } => {
            Some((*node, false))
        }
        Event::Restart { node } => Some((*node, true)),
        Event::Deliver { to, .. } => Some((*to, false)),
        _ => None,
    }
}

/// What a check of one step is given: the observer, the node the step
/// touched (up), whether it restarted, the simulation and the step.
type Rule<N> = fn(&mut Observer, NodeId, &N, bool, &Sim<N>, &Step<'_, N>) -> Result<(), Broken>;

/// Checks `property` with `rule` after every step that touched a node now up.
fn each_step<N: Observed>(
    sim: &mut Sim<N>,
    observer: &Rc<RefCell<Observer>>,
    property: Property,
    rule: Rule<N>,
) {
    let o = observer.clone();
    sim.check(property, move |sim, step| {
        let Some((id, restarted)) = touched(&step) else {
            return Ok(());
        };
        match sim.node(id) {
            Some(node) => rule(&mut o.borrow_mut(), id, node, restarted, sim, &step),
            None => Ok(()),
        }
    });
}

/// Checks every safety property after every event of `sim`.
pub fn watch<N: Observed>(sim: &mut Sim<N>) -> Rc<RefCell<Observer>> {
    let observer = Rc::new(RefCell::new(Observer::new(sim.len())));
    let o = observer.clone();
    sim.check(ACCEPTOR_RULE, move |sim, step| {
        o.borrow_mut().changed.clear();
        let Some((id, _)) = touched(&step) else {
            return Ok(());
        };
        match sim.node(id) {
            Some(node) => o.borrow_mut().acceptor_rule(id, node),
            None => Ok(()),
        }
    });
    let o = observer.clone();
    sim.check(REFUSES, move |_, step| o.borrow().refuses(&step));
    each_step(sim, &observer, BALLOTS, |o, id, _, restarted, _, step| {
        if restarted {
            o.led[id.0] = (None, false);
            o.nacked[id.0] = 0;
        }
        o.campaigns(id, step)
    });
    each_step(sim, &observer, PHASE_ONE, |o, id, node, _, _, _| {
        o.leads(id, node)
    });
    each_step(sim, &observer, DURABLE, |o, id, node, _, sim, _| {
        o.durable(id, node, sim.storage(id))
    });
    each_step(sim, &observer, VALIDITY, |o, _, node, _, sim, _| {
        o.validity(sim, node)
    });
    each_step(sim, &observer, AGREEMENT, |o, _, node, _, _, _| {
        o.agreement(node)
    });
    each_step(sim, &observer, IN_ORDER, |o, id, node, restarted, _, _| {
        o.in_order(id, node, restarted)
    });
    observer
}

/// NO_HOLES, at a calm moment: the slots below the highest chosen one that
/// no majority has chosen.
pub fn holes(observer: &Observer) -> Vec<Slot> {
    let top = observer.chosen.keys().last().copied().unwrap_or(0);
    (1..top)
        .filter(|s| !observer.chosen.contains_key(s))
        .collect()
}

/// The node that leads now, if exactly one does (the highest ballot's).
pub fn leader<N: Observed>(sim: &Sim<N>) -> Option<NodeId> {
    let leaders = sim.ids().filter(|&id| sim.node(id).is_some_and(N::leading));
    leaders.max_by_key(|&id| sim.node(id).and_then(N::promised))
}
