//! # byzantine_oral_messages: OM(m)
//!
//! A commander sends an order to `n - 1` lieutenants; up to `m` of the `n`
//! generals, the commander included, are traitors who may say anything to
//! anyone. The loyal lieutenants must
//!
//! - **IC1**: all decide the same order, and
//! - **IC2**: obey the commander's order if the commander is loyal.
//!
//! With oral messages (a receiver knows who sent a message, but not whether
//! what it says about others is true) Lamport, Shostak and Pease's algorithm
//! OM(m) achieves both when `n > 3m`. It runs in `m + 1` synchronous rounds:
//!
//! 1. the commander sends its order to every lieutenant;
//! 2. every lieutenant that receives a value along a *path* of `k ≤ m`
//!    generals (the commander, then the lieutenants who relayed it) relays
//!    it, with itself added to the path, to every general not yet on the
//!    path: "I say that `path.last()` says that … the commander said v";
//! 3. after round `m + 1` a lieutenant decides bottom-up: the value of a
//!    path of length `m + 1` is what arrived along it; the value of a
//!    shorter path is the [`majority`] of what arrived along it and of the
//!    values of its extensions by every other general. The decision is the
//!    value of the path `[COMMANDER]`.
//!
//! A message that should have arrived and did not (a silent traitor) counts
//! as [`DEFAULT`]: in a synchronous round its absence is noticed.
//!
//! Rounds are run by the caller: it hands each lieutenant the messages of a
//! round one at a time ([`Lieutenant::receive`]) and delivers what comes
//! back in the next round.
//!
// exercise: begin
// stub: //! Read `exercises/02_byzantine/README.md` first. The types, `Lieutenant::new`,
// stub: //! `is_well_formed` and `decide` are given; the four `todo!()`s are the
// stub: //! algorithm.
//! The reference solution.
// exercise: end

use dsim::NodeId;
use std::collections::BTreeMap;

/// The general who gives the order.
pub const COMMANDER: NodeId = NodeId(0);

/// What the generals can be told to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Order {
    Attack,
    Retreat,
}

/// What a missing message, or a tie, counts as.
pub const DEFAULT: Order = Order::Retreat;

/// "`path.last()` says that `path[len - 2]` says that … the commander
/// (`path[0]`) said `order`".
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OralMessage {
    pub path: Vec<NodeId>,
    pub order: Order,
}

/// Messages to send: each to its general.
pub type Outbox = Vec<(NodeId, OralMessage)>;

/// The loyal commander's round: `order` to every lieutenant (`n1` to
/// `n{n-1}`), along the path `[COMMANDER]`.
pub fn command(n: usize, order: Order) -> Outbox {
    // exercise: begin "one OralMessage with path [COMMANDER] and the order to each lieutenant, n1 to the last"
    (1..n)
        .map(|i| {
            let msg = OralMessage {
                path: vec![COMMANDER],
                order,
            };
            (NodeId(i), msg)
        })
        .collect()
    // exercise: end
}

/// The order held by more than half of `orders`, or [`DEFAULT`] if none is.
pub fn majority(orders: &[Order]) -> Order {
    // exercise: begin "the order held by more than half of orders, else DEFAULT (ties included)"
    let attacks = orders.iter().filter(|&&o| o == Order::Attack).count();
    let retreats = orders.len() - attacks;
    if attacks > retreats {
        Order::Attack
    } else if retreats > attacks {
        Order::Retreat
    } else {
        DEFAULT
    }
    // exercise: end
}

/// A loyal lieutenant running OM(m) among `n` generals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lieutenant {
    pub id: NodeId,
    pub n: usize,
    pub m: usize,
    /// What arrived along each path.
    pub received: BTreeMap<Vec<NodeId>, Order>,
}

impl Lieutenant {
    /// Lieutenant `id` of `n` generals, tolerating `m` traitors.
    pub fn new(id: NodeId, n: usize, m: usize) -> Self {
        Lieutenant {
            id,
            n,
            m,
            received: BTreeMap::new(),
        }
    }

    /// Whether `msg` from `from` can be a message of OM(m) to this
    /// lieutenant: its path starts at the commander, ends at the sender,
    /// names no general twice, does not name this lieutenant, and is at most
    /// `m + 1` long. Anything else is a traitor's invention: ignore it.
    pub fn is_well_formed(&self, from: NodeId, msg: &OralMessage) -> bool {
        let path = &msg.path;
        let distinct = path
            .iter()
            .enumerate()
            .all(|(i, g)| !path[..i].contains(g) && g.0 < self.n);
        path.first() == Some(&COMMANDER)
            && path.last() == Some(&from)
            && distinct
            && !path.contains(&self.id)
            && path.len() <= self.m + 1
    }

    /// On a message of the current round: keep the first value to arrive
    /// along each well-formed path, and if the path has room for another
    /// relay (`len ≤ m`), relay it to every general not on the path, with
    /// this lieutenant added.
    pub fn receive(&mut self, from: NodeId, msg: OralMessage) -> Outbox {
        // exercise: begin "ignore ill-formed messages and paths already received; record the order; if path.len() <= m, relay it with yourself appended to every general not on the path"
        if !self.is_well_formed(from, &msg) || self.received.contains_key(&msg.path) {
            return Vec::new();
        }
        self.received.insert(msg.path.clone(), msg.order);
        if msg.path.len() > self.m {
            return Vec::new();
        }
        let mut path = msg.path;
        path.push(self.id);
        (0..self.n)
            .map(NodeId)
            .filter(|g| !path.contains(g))
            .map(|g| {
                let relay = OralMessage {
                    path: path.clone(),
                    order: msg.order,
                };
                (g, relay)
            })
            .collect()
        // exercise: end
    }

    /// The value of `path`: what arrived along it (or [`DEFAULT`]) for a
    /// path of `m + 1` generals; for a shorter one, the majority of that
    /// and of the values of `path + [g]` for every other general `g` not on
    /// the path.
    pub fn value(&self, path: &[NodeId]) -> Order {
        // exercise: begin "a path of m + 1 generals: what arrived (or DEFAULT); shorter: majority of that and value(path + [g]) for every other g not on the path"
        let direct = self.received.get(path).copied().unwrap_or(DEFAULT);
        if path.len() > self.m {
            return direct;
        }
        let mut orders = vec![direct];
        for g in (0..self.n).map(NodeId) {
            if g != self.id && !path.contains(&g) {
                let mut longer = path.to_vec();
                longer.push(g);
                orders.push(self.value(&longer));
            }
        }
        majority(&orders)
        // exercise: end
    }

    /// The decision after round `m + 1`.
    pub fn decide(&self) -> Order {
        self.value(&[COMMANDER])
    }
}
