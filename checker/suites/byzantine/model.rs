//! OM(m) written independently of the subject, with one [`Flaw`] built in
//! (or none): the meta tests run it through the very same checks, and
//! `three_is_not_enough` runs the learner's traitor against its correct
//! form.

use super::rounds::{well_formed, Loyal};
use crate::subject::byzantine::oral_messages::{OralMessage, Order, Outbox, COMMANDER, DEFAULT};
use dsim::NodeId;
use std::collections::BTreeMap;

/// One mistake a learner could make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flaw {
    None,
    /// Runs one round too few: relays only paths shorter than `m` and
    /// decides as OM(m - 1).
    RoundTooFew,
    /// Counts its own value once more in every majority, as if it had
    /// relayed it to itself.
    CountsItselfTwice,
    /// Counts a message that never arrived as Attack, not DEFAULT.
    MissingIsAttack,
}

/// The flaw of [`Model`]; a `const` parameter keeps `Loyal::new` free of it.
pub struct Model<const FLAW: u8> {
    id: NodeId,
    n: usize,
    m: usize,
    received: BTreeMap<Vec<NodeId>, Order>,
}

pub const CORRECT: u8 = 0;
pub const ROUND_TOO_FEW: u8 = 1;
pub const COUNTS_ITSELF_TWICE: u8 = 2;
pub const MISSING_IS_ATTACK: u8 = 3;

impl<const FLAW: u8> Model<FLAW> {
    fn flaw() -> Flaw {
        match FLAW {
            ROUND_TOO_FEW => Flaw::RoundTooFew,
            COUNTS_ITSELF_TWICE => Flaw::CountsItselfTwice,
            MISSING_IS_ATTACK => Flaw::MissingIsAttack,
            _ => Flaw::None,
        }
    }

    /// The depth the model believes in.
    fn depth(&self) -> usize {
        if Self::flaw() == Flaw::RoundTooFew {
            self.m.saturating_sub(1)
        } else {
            self.m
        }
    }

    fn value(&self, path: &[NodeId]) -> Order {
        let missing = if Self::flaw() == Flaw::MissingIsAttack {
            Order::Attack
        } else {
            DEFAULT
        };
        let direct = self.received.get(path).copied().unwrap_or(missing);
        if path.len() > self.depth() {
            return direct;
        }
        let mut orders = vec![direct];
        if Self::flaw() == Flaw::CountsItselfTwice {
            orders.push(direct);
        }
        for g in (0..self.n).map(NodeId) {
            if g != self.id && !path.contains(&g) {
                let mut longer = path.to_vec();
                longer.push(g);
                orders.push(self.value(&longer));
            }
        }
        let attacks = orders.iter().filter(|&&o| o == Order::Attack).count();
        if 2 * attacks > orders.len() {
            Order::Attack
        } else if 2 * attacks < orders.len() {
            Order::Retreat
        } else {
            DEFAULT
        }
    }
}

impl<const FLAW: u8> Loyal for Model<FLAW> {
    fn command(n: usize, order: Order) -> Outbox {
        (1..n)
            .map(|i| {
                (
                    NodeId(i),
                    OralMessage {
                        path: vec![COMMANDER],
                        order,
                    },
                )
            })
            .collect()
    }

    fn new(id: NodeId, n: usize, m: usize) -> Self {
        Model {
            id,
            n,
            m,
            received: BTreeMap::new(),
        }
    }

    fn receive(&mut self, from: NodeId, msg: OralMessage) -> Outbox {
        if !well_formed(self.id, from, &msg, self.n, self.m)
            || self.received.contains_key(&msg.path)
        {
            return Vec::new();
        }
        self.received.insert(msg.path.clone(), msg.order);
        if msg.path.len() > self.depth() {
            return Vec::new();
        }
        let mut path = msg.path;
        path.push(self.id);
        (0..self.n)
            .map(NodeId)
            .filter(|g| !path.contains(g))
            .map(|g| {
                (
                    g,
                    OralMessage {
                        path: path.clone(),
                        order: msg.order,
                    },
                )
            })
            .collect()
    }

    fn decide(&self) -> Order {
        self.value(&[COMMANDER])
    }
}
