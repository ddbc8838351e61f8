//! SM(m) in synchronous rounds, with traitors that hold their own keys:
//! they may sign anything themselves, copy others' signatures, and choose
//! whom to tell what, but cannot make another general's signature.

use super::rounds::{IC1, IC2};
use crate::subject::byzantine::signed_messages::{
    Key, Keyring, Order, Outbox, SignedOrder, COMMANDER,
};
use dscheck::{Failure, Property};
use dsim::{NodeId, SimRng};
use std::collections::{BTreeMap, BTreeSet};

pub const SM_RELAY: Property = Property {
    name: "a loyal lieutenant relays each new valid order once, signed, to every lieutenant who has not signed it",
    hint: "accept only messages that verify, start with the commander's signature, end with the sender's, and name no signer twice (nor you); relay an order only the first time you see it, only while it has at most m signatures, signed with your key, to every lieutenant (n1 and up) who has not signed it",
    when: &[],
};
/// IC1 for SM(m): the same words as for OM(m), with the advice for signed
/// messages.
pub const SM_IC1: Property = Property {
    name: IC1.name,
    hint: "a loyal lieutenant must end with the same set of orders as every other: relay every new valid order while it has at most m signatures, and decide only from the set (one order: obey it; none or two: DEFAULT)",
    when: &[],
};
/// IC2 for SM(m).
pub const SM_IC2: Property = Property {
    name: IC2.name,
    hint: "with a loyal commander, only its order can verify: reject a message whose signatures do not verify (Keyring::verify) or that does not start with the commander's signature",
    when: &[],
};

/// A loyal general's side of SM(m).
pub trait SignedLoyal {
    fn command(key: &Key, n: usize, order: Order) -> Outbox;
    fn new(key: Key, keyring: Keyring, n: usize, m: usize) -> Self;
    fn receive(&mut self, from: NodeId, msg: SignedOrder) -> Outbox;
    fn decide(&self) -> Order;
}

/// How the traitors behave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    Silent,
    /// Signs both orders (as commander) and tells each half of the
    /// lieutenants a different one; relays only to the lower half.
    TwoFaced,
    /// Flips the order of what it relays, keeping the signatures.
    Forger,
    /// The commander tells the traitors Retreat and everyone else Attack;
    /// the traitors pass Retreat along among themselves and reveal it to one
    /// loyal lieutenant only at the last moment.
    Colluding,
}

pub const STRATEGIES: &[Strategy] = &[
    Strategy::Silent,
    Strategy::TwoFaced,
    Strategy::Forger,
    Strategy::Colluding,
];

pub struct Setup {
    pub n: usize,
    pub m: usize,
    pub traitors: BTreeSet<NodeId>,
    pub order: Order,
    pub strategy: Strategy,
    pub seed: u64,
}

fn other(o: Order) -> Order {
    match o {
        Order::Attack => Order::Retreat,
        Order::Retreat => Order::Attack,
    }
}

fn fresh(order: Order) -> SignedOrder {
    SignedOrder {
        order,
        signatures: Vec::new(),
    }
}

struct Traitors<'a> {
    setup: &'a Setup,
    keys: &'a [Key],
    relayed: BTreeMap<NodeId, BTreeSet<Order>>,
}

impl Traitors<'_> {
    fn commands(&mut self) -> Vec<(NodeId, SignedOrder)> {
        let (n, key) = (self.setup.n, &self.keys[0]);
        let attack = key.sign(&fresh(Order::Attack));
        let retreat = key.sign(&fresh(Order::Retreat));
        (1..n)
            .map(NodeId)
            .filter_map(|g| match self.setup.strategy {
                Strategy::Silent => None,
                Strategy::TwoFaced | Strategy::Forger => Some((
                    g,
                    if g.0 <= n / 2 {
                        attack.clone()
                    } else {
                        retreat.clone()
                    },
                )),
                Strategy::Colluding => Some((
                    g,
                    if self.setup.traitors.contains(&g) {
                        retreat.clone()
                    } else {
                        attack.clone()
                    },
                )),
            })
            .collect()
    }

    fn relays(&mut self, me: NodeId, msg: &SignedOrder) -> Vec<(NodeId, SignedOrder)> {
        let (n, m) = (self.setup.n, self.setup.m);
        let signers = msg.signers();
        if signers.contains(&me) || msg.signatures.len() > m {
            return Vec::new();
        }
        let others: Vec<NodeId> = (1..n)
            .map(NodeId)
            .filter(|g| *g != me && !signers.contains(g))
            .collect();
        match self.setup.strategy {
            Strategy::Silent => Vec::new(),
            Strategy::TwoFaced => {
                let signed = self.keys[me.0].sign(msg);
                others
                    .into_iter()
                    .filter(|g| g.0 <= n / 2)
                    .map(|g| (g, signed.clone()))
                    .collect()
            }
            Strategy::Forger => {
                let mut forged = msg.clone();
                forged.order = other(msg.order);
                let signed = self.keys[me.0].sign(&forged);
                others.into_iter().map(|g| (g, signed.clone())).collect()
            }
            Strategy::Colluding => {
                if !self.relayed.entry(me).or_default().insert(msg.order) {
                    return Vec::new();
                }
                let signed = self.keys[me.0].sign(msg);
                let accomplices: Vec<NodeId> = others
                    .iter()
                    .copied()
                    .filter(|g| self.setup.traitors.contains(g))
                    .collect();
                let targets = if accomplices.is_empty() {
                    others.into_iter().take(1).collect()
                } else {
                    accomplices
                };
                targets.into_iter().map(|g| (g, signed.clone())).collect()
            }
        }
    }
}

fn key(out: &Outbox) -> Vec<(NodeId, Order, Vec<NodeId>)> {
    let mut k: Vec<_> = out
        .iter()
        .map(|(to, m)| (*to, m.order, m.signers()))
        .collect();
    k.sort();
    k
}

fn show(msg: &SignedOrder) -> String {
    let signers: Vec<String> = msg.signers().iter().map(|g| g.to_string()).collect();
    format!("{:?} signed by {}", msg.order, signers.join(", "))
}

/// Runs SM(m) for rounds `1..=m+1` and checks IC1, IC2 and every relay.
pub fn run<L: SignedLoyal>(setup: &Setup) -> Result<(), Failure> {
    let (n, m) = (setup.n, setup.m);
    let (keyring, keys) = Keyring::generate(n, setup.seed);
    let mut rng = SimRng::new(setup.seed);
    let loyal = |g: NodeId| !setup.traitors.contains(&g);
    let mut lieutenants: BTreeMap<NodeId, L> = (1..n)
        .map(NodeId)
        .filter(|&g| loyal(g))
        .map(|g| (g, L::new(keys[g.0].clone(), keyring.clone(), n, m)))
        .collect();
    let mut traitors = Traitors {
        setup,
        keys: &keys,
        relayed: BTreeMap::new(),
    };
    let mut seen: BTreeMap<NodeId, BTreeSet<Order>> = BTreeMap::new();
    let mut trace = Vec::new();
    let mut relay_error = None;
    let first = if loyal(COMMANDER) {
        L::command(&keys[0], n, setup.order)
    } else {
        traitors.commands()
    };
    let mut round: Vec<(NodeId, NodeId, SignedOrder)> = first
        .into_iter()
        .map(|(to, msg)| (COMMANDER, to, msg))
        .collect();
    for r in 1..=m + 1 {
        rng.shuffle(&mut round);
        let mut next = Vec::new();
        for (from, to, msg) in round {
            if to == COMMANDER || to.0 >= n {
                continue;
            }
            trace.push(format!("round {r}: {from} → {to}: {}", show(&msg)));
            let sent = match lieutenants.get_mut(&to) {
                Some(lieutenant) => {
                    let sent = lieutenant.receive(from, msg.clone());
                    let signers = msg.signers();
                    let valid = signers.first() == Some(&COMMANDER)
                        && signers.last() == Some(&from)
                        && signers
                            .iter()
                            .enumerate()
                            .all(|(i, g)| !signers[..i].contains(g))
                        && !signers.contains(&to)
                        && keyring.verify(&msg);
                    let new = valid && seen.entry(to).or_default().insert(msg.order);
                    let expected: Outbox = if new && signers.len() <= m {
                        let signed = keys[to.0].sign(&msg);
                        (1..n)
                            .map(NodeId)
                            .filter(|g| *g != to && !signers.contains(g))
                            .map(|g| (g, signed.clone()))
                            .collect()
                    } else {
                        Vec::new()
                    };
                    if relay_error.is_none() && key(&sent) != key(&expected) {
                        relay_error = Some(format!(
                            "in round {r}, {to} received {} from {from} ({}) and sent {:?}; SM({m}) sends {:?}",
                            show(&msg),
                            if !valid { "not valid" } else if new { "a new order" } else { "an order it had seen" },
                            key(&sent),
                            key(&expected)
                        ));
                    }
                    if sent.iter().any(|(_, s)| !keyring.verify(s)) && relay_error.is_none() {
                        relay_error = Some(format!("in round {r}, {to} sent a message with a signature that does not verify"));
                    }
                    sent
                }
                None => traitors.relays(to, &msg),
            };
            next.extend(sent.into_iter().map(|(dest, relay)| (to, dest, relay)));
        }
        round = next;
    }
    let decisions: BTreeMap<NodeId, Order> =
        lieutenants.iter().map(|(&g, l)| (g, l.decide())).collect();
    let shown = decisions
        .iter()
        .map(|(g, o)| format!("{g}: {o:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let traitor_list = setup
        .traitors
        .iter()
        .map(|g| g.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let context = format!(
        "n = {n}, SM({m}), traitors {traitor_list} playing {:?}; loyal lieutenants decided {shown}",
        setup.strategy
    );
    let trace: Vec<String> = trace.into_iter().take(60).collect();
    let first = decisions.values().next().copied();
    if decisions.values().any(|&d| Some(d) != first) {
        return Err(Failure::new(SM_IC1, context).with_trace(trace));
    }
    if loyal(COMMANDER) {
        if let Some((g, d)) = decisions.iter().find(|(_, &d)| d != setup.order) {
            return Err(Failure::new(
                SM_IC2,
                format!(
                    "the loyal commander ordered {:?}, but {g} decided {d:?}; {context}",
                    setup.order
                ),
            )
            .with_trace(trace));
        }
    }
    if let Some(error) = relay_error {
        return Err(Failure::new(SM_RELAY, format!("{error}; {context}")).with_trace(trace));
    }
    Ok(())
}

/// A random setup: 4 to 6 generals, any number of traitors up to `n - 2`
/// (the commander possibly among them), `m` equal to that number.
pub fn random_setup(seed: u64) -> Setup {
    let mut rng = SimRng::new(seed ^ 0x51_6E);
    let n = 4 + rng.below(3) as usize;
    let t = 1 + rng.below(n as u64 - 2) as usize;
    let mut generals: Vec<NodeId> = (0..n).map(NodeId).collect();
    rng.shuffle(&mut generals);
    let strategy = STRATEGIES[rng.below(STRATEGIES.len() as u64) as usize];
    let mut traitors: BTreeSet<NodeId> = generals.into_iter().take(t).collect();
    if strategy == Strategy::Colluding && rng.chance(0.7) {
        // Colluding is the commander's plot: make it one of the traitors.
        let someone = *traitors.iter().next().expect("t ≥ 1");
        traitors.remove(&someone);
        traitors.insert(COMMANDER);
    }
    Setup {
        n,
        m: t,
        traitors,
        order: if rng.chance(0.5) {
            Order::Attack
        } else {
            Order::Retreat
        },
        strategy,
        seed,
    }
}
