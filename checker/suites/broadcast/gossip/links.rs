//! The gossip rules of one node, checked after every event against the
//! suite's own record of what each node knows each neighbour has, kept by
//! the rules the exercise gives: a value is known to a neighbour once it
//! was gossiped to it or from it, and a `Sync` from the neighbour replaces
//! the record with what the neighbour says it has.

use crate::broadcast::observe::Broadcaster;
use crate::subject::broadcast::gossip::{neighbours, Msg, Timer};
use dscheck::Property;
use dsim::{Broken, Event, NodeId, Sim, Step};
use std::collections::{BTreeMap, BTreeSet};

pub const ROUND: Property = Property {
    name: "a gossip round sends each neighbour, in one message, exactly the values it is not known to have",
    hint: "in each gossip round, for each neighbour, send one Gossip with all your values it is not known to have, and none it is known to have: what you sent it and what it sent you count as known, and after a Sync from it, what it lacks is what its Sync did not list",
    when: &[],
};
pub const LEARNS: Property = Property {
    name: "a node delivers every value a gossip or sync brings it, at once",
    hint: "on Gossip and on Sync alike, learn every value the message carries: each new one is delivered",
    when: &[],
};

/// A node the gossip scenarios can run: its rules are watched if the suite
/// can read them (the learner's node and the bugs made from it), not for
/// the suite's own models.
pub trait Rules: Broadcaster + Sized {
    fn watch_rules(_sim: &mut Sim<Self>) {}
}

/// A gossip node whose values the suite can read.
pub trait Gossiper: Broadcaster<Msg = Msg, Timer = Timer> {
    /// Every value the node has.
    fn values(&self) -> &BTreeSet<u64>;
}

/// Implements [`Broadcaster`] and [`Gossiper`] for a node with the fields
/// of `GossipNode` (the subject's, or a bug's made from it).
#[macro_export]
macro_rules! gossiper {
    ($($node:ty),* $(,)?) => {$(
        impl $crate::broadcast::observe::Broadcaster for $node {
            fn broadcast(value: u64) -> $crate::subject::broadcast::gossip::Request {
                $crate::subject::broadcast::gossip::Request::Broadcast { value }
            }
            fn value_of(req: &$crate::subject::broadcast::gossip::Request) -> u64 {
                let $crate::subject::broadcast::gossip::Request::Broadcast { value } = req;
                *value
            }
            fn delivered(&self) -> &[u64] {
                &self.delivered
            }
        }

        impl $crate::broadcast::gossip::links::Gossiper for $node {
            fn values(&self) -> &std::collections::BTreeSet<u64> {
                &self.values
            }
        }

        impl $crate::broadcast::gossip::links::Rules for $node {
            fn watch_rules(sim: &mut dsim::Sim<Self>) {
                $crate::broadcast::gossip::links::watch_links(sim);
            }
        }
    )*};
}

/// For each (node, neighbour), the values the node is known to have told
/// or heard from the neighbour.
type Known = BTreeMap<(NodeId, NodeId), BTreeSet<u64>>;

/// The suite's record of the links, and what the step just taken broke.
#[derive(Default)]
struct Links {
    known: Known,
    broken: Option<Broken>,
}

impl Links {
    /// Reads the step just taken: judges a gossip round against the record
    /// as it was, then moves the record on event by event, judging each
    /// gossip sent outside a round (it may carry no value known to its
    /// receiver).
    fn update<N: Gossiper>(&mut self, sim: &Sim<N>, step: Step<'_, N>) {
        self.broken = None;
        let mut in_round = false;
        if let Some(Event::Timer {
            node,
            timer: Timer::Gossip,
        }) = step.trigger_event()
        {
            if let Some(state) = sim.node(*node) {
                in_round = true;
                self.broken = self
                    .judge_round(*node, state.values(), step, sim.len())
                    .err();
            }
        }
        for event in step.iter().map(|e| &e.event) {
            match event {
                Event::Send {
                    from,
                    to,
                    msg: Msg::Gossip { values },
                    ..
                } => {
                    let known = self.known.entry((*from, *to)).or_default();
                    if let Some(v) = values.iter().find(|v| known.contains(v)) {
                        if !in_round && self.broken.is_none() {
                            self.broken = Some(
                                Broken::new(format!(
                                    "{from} gossiped {v} to {to}, which is known to have it (sent by {from} before, or by {to} itself)"
                                ))
                                .nodes([*from, *to]),
                            );
                        }
                    }
                    known.extend(values);
                }
                Event::Deliver {
                    from,
                    to,
                    msg: Msg::Gossip { values },
                    ..
                } => self.known.entry((*to, *from)).or_default().extend(values),
                Event::Deliver {
                    from,
                    to,
                    msg: Msg::Sync { have },
                    ..
                } => {
                    self.known
                        .insert((*to, *from), have.iter().copied().collect());
                }
                _ => {}
            }
        }
    }

    /// A gossip round of `node`, holding `values`: each neighbour gets one
    /// gossip with exactly the values it is not known to have, or nothing
    /// if it lacks none.
    fn judge_round<N: Gossiper>(
        &self,
        node: NodeId,
        values: &BTreeSet<u64>,
        step: Step<'_, N>,
        nodes: usize,
    ) -> Result<(), Broken> {
        for peer in neighbours(node, nodes) {
            let known = self.known.get(&(node, peer));
            let due: BTreeSet<u64> = values
                .iter()
                .copied()
                .filter(|v| !known.is_some_and(|k| k.contains(v)))
                .collect();
            let sent: Vec<&Vec<u64>> = step
                .iter()
                .filter_map(|e| match &e.event {
                    Event::Send {
                        from,
                        to,
                        msg: Msg::Gossip { values },
                        ..
                    } if *from == node && *to == peer => Some(values),
                    _ => None,
                })
                .collect();
            let got: BTreeSet<u64> = sent.iter().flat_map(|v| v.iter().copied()).collect();
            let fine = if due.is_empty() {
                sent.is_empty()
            } else {
                sent.len() == 1 && got == due
            };
            if !fine {
                return Err(Broken::new(format!(
                    "in a gossip round, {node} sent {peer} {} gossip message(s) with {got:?}; {peer} is not known to have {due:?}",
                    sent.len()
                ))
                .nodes([node, peer]));
            }
        }
        Ok(())
    }
}

/// Checks the gossip rounds and that messages are learned, after every
/// event.
pub fn watch_links<N: Gossiper>(sim: &mut Sim<N>) {
    let mut links = Links::default();
    sim.check(ROUND, move |sim, step| {
        links.update(sim, step);
        links.broken.take().map_or(Ok(()), Err)
    });
    sim.check(LEARNS, |sim, step| {
        let Some(Event::Deliver { to, msg, .. }) = step.trigger_event() else {
            return Ok(());
        };
        let carried = match msg {
            Msg::Gossip { values } => values,
            Msg::Sync { have } => have,
        };
        let Some(node) = sim.node(*to) else {
            return Ok(());
        };
        let delivered: BTreeSet<u64> = node.delivered().iter().copied().collect();
        match carried.iter().find(|v| !delivered.contains(v)) {
            Some(v) => Err(
                Broken::new(format!("{to} received {msg:?} and has not delivered {v}"))
                    .nodes([*to]),
            ),
            None => Ok(()),
        }
    });
}
