//! The properties of Multi-Paxos, each declared once, and the observer that
//! checks the safety properties after every event. "Chosen" comes from the
//! acceptors' own votes (a value is chosen at a slot once a majority of the
//! nodes accepted it there in one ballot), every vote ever cast is
//! remembered, and each node's applied prefix is compared with it: what a
//! node claims to have learned is never taken on trust.

mod observer;

use crate::subject::paxos::multi::{Ballot, Command, Msg, Reply, Slot, Timer, Value, Vote};
use dscheck::{Fact, Property};
use dsim::{Broken, Event, NodeId, Sim, Step};
pub use observer::Observer;
use std::cell::RefCell;
use std::collections::BTreeMap;
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
