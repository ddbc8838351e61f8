//! OM(m) in synchronous rounds: the suite delivers each round's messages
//! in a seeded random order, plays the traitors, and checks every relay of
//! a loyal lieutenant against the algorithm as it happens.

use super::model::{Model, CORRECT};
use crate::subject::byzantine::oral_messages::{OralMessage, Order, Outbox, COMMANDER};
use dscheck::{Failure, Property};
use dsim::{NodeId, SimRng};
use std::collections::{BTreeMap, BTreeSet};

pub const IC1: Property = Property {
    name: "loyal lieutenants agree (IC1)",
    hint: "every loyal lieutenant must compute the same value for every path: relay every well-formed new message to every general not on its path, and take the majority of the direct value and the values of all extensions, with DEFAULT for anything missing and for ties",
    when: &[],
};
pub const IC2: Property = Property {
    name: "loyal lieutenants obey a loyal commander (IC2)",
    hint: "with a loyal commander, the direct value and the values relayed by the loyal majority agree; check that value() recurses down to paths of length m + 1 and that majority() needs more than half",
    when: &[],
};
pub const RELAY: Property = Property {
    name: "a loyal lieutenant relays each new message to exactly the generals OM(m) prescribes",
    hint: "relay only well-formed messages you have not seen along that path before, only while the path has at most m generals, to every general not on it (not to yourself), with yourself appended",
    when: &[],
};
pub const DECIDES: Property = Property {
    name: "a loyal lieutenant decides what OM(m) computes from the messages it received",
    hint: "a message that never arrived counts as DEFAULT, at every depth (the commander's order too), and so does a tie; the decision is value([commander]), the majority of the direct value and the values of every extension by a general not on the path and not yourself",
    when: &[],
};
pub const COUNT: Property = Property {
    name: "a run without traitors sends exactly the messages of OM(m)",
    hint: "each lieutenant relays each message it receives along a path of k ≤ m generals to the n - 1 - k generals not on the path and not itself",
    when: &[],
};

/// A loyal general's side of OM(m), as the rounds drive it.
pub trait Loyal {
    fn command(n: usize, order: Order) -> Outbox;
    fn new(id: NodeId, n: usize, m: usize) -> Self;
    fn receive(&mut self, from: NodeId, msg: OralMessage) -> Outbox;
    fn decide(&self) -> Order;
}

/// A traitor's side: anything it likes, in answer to what it receives.
pub trait Traitor {
    /// As the commander, in round one.
    fn commands(&mut self, n: usize, rng: &mut SimRng) -> Outbox;
    /// As lieutenant `me`, on `msg` from `from`.
    fn relays(
        &mut self,
        me: NodeId,
        from: NodeId,
        msg: &OralMessage,
        n: usize,
        m: usize,
        rng: &mut SimRng,
    ) -> Outbox;
}

/// One run: `n` generals, OM(`m`), these traitors, this order from the
/// commander (obeyed only if it is loyal).
pub struct Setup {
    pub n: usize,
    pub m: usize,
    pub traitors: BTreeSet<NodeId>,
    pub order: Order,
    pub seed: u64,
}

/// What a run produced.
pub struct Run {
    /// Each loyal lieutenant's decision.
    pub decisions: BTreeMap<NodeId, Order>,
    /// Messages sent by loyal generals.
    pub loyal_messages: usize,
    /// The first relay that broke the algorithm, if any.
    pub relay_error: Option<String>,
    /// The first loyal lieutenant whose decision differs from what a
    /// correct lieutenant decides on the same messages, if any.
    pub decision_error: Option<String>,
    /// Every delivery, one line each.
    pub trace: Vec<String>,
}

/// Whether `msg` from `from` is a message OM(m) can send to `me`.
pub fn well_formed(me: NodeId, from: NodeId, msg: &OralMessage, n: usize, m: usize) -> bool {
    let path = &msg.path;
    path.first() == Some(&COMMANDER)
        && path.last() == Some(&from)
        && path
            .iter()
            .enumerate()
            .all(|(i, g)| !path[..i].contains(g) && g.0 < n)
        && !path.contains(&me)
        && path.len() <= m + 1
}

fn key(out: &Outbox) -> Vec<(NodeId, Vec<NodeId>, Order)> {
    let mut k: Vec<_> = out
        .iter()
        .map(|(to, m)| (*to, m.path.clone(), m.order))
        .collect();
    k.sort();
    k
}

fn show_path(path: &[NodeId]) -> String {
    path.iter()
        .map(|g| g.to_string())
        .collect::<Vec<_>>()
        .join("→")
}

/// Runs OM(m) for rounds `1..=m+1`.
pub fn run<L: Loyal>(setup: &Setup, traitor: &mut dyn Traitor) -> Run {
    let (n, m) = (setup.n, setup.m);
    let mut rng = SimRng::new(setup.seed);
    let loyal = |g: NodeId| !setup.traitors.contains(&g);
    let mut lieutenants: BTreeMap<NodeId, L> = (1..n)
        .map(NodeId)
        .filter(|&g| loyal(g))
        .map(|g| (g, L::new(g, n, m)))
        .collect();
    // A correct lieutenant beside each loyal one, fed the same messages.
    let mut shadows: BTreeMap<NodeId, Model<CORRECT>> = lieutenants
        .keys()
        .map(|&g| (g, <Model<CORRECT> as Loyal>::new(g, n, m)))
        .collect();
    let mut seen: BTreeMap<NodeId, BTreeSet<Vec<NodeId>>> = BTreeMap::new();
    let mut out = Run {
        decisions: BTreeMap::new(),
        loyal_messages: 0,
        relay_error: None,
        decision_error: None,
        trace: Vec::new(),
    };
    let first = if loyal(COMMANDER) {
        L::command(n, setup.order)
    } else {
        traitor.commands(n, &mut rng)
    };
    if loyal(COMMANDER) {
        out.loyal_messages += first.len();
    }
    let mut round: Vec<(NodeId, NodeId, OralMessage)> = first
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
            out.trace.push(format!(
                "round {r}: {from} → {to}: {} says {:?}",
                show_path(&msg.path),
                msg.order
            ));
            let sent = match lieutenants.get_mut(&to) {
                Some(lieutenant) => {
                    let sent = lieutenant.receive(from, msg.clone());
                    if let Some(shadow) = shadows.get_mut(&to) {
                        shadow.receive(from, msg.clone());
                    }
                    let fresh = well_formed(to, from, &msg, n, m)
                        && seen.entry(to).or_default().insert(msg.path.clone());
                    let expected: Outbox = if fresh && msg.path.len() <= m {
                        let mut path = msg.path.clone();
                        path.push(to);
                        (0..n)
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
                    } else {
                        Vec::new()
                    };
                    if out.relay_error.is_none() && key(&sent) != key(&expected) {
                        out.relay_error = Some(format!(
                            "in round {r}, {to} received {} says {:?} from {from} and sent {:?}; OM({m}) sends {:?}",
                            show_path(&msg.path),
                            msg.order,
                            key(&sent),
                            key(&expected)
                        ));
                    }
                    out.loyal_messages += sent.len();
                    sent
                }
                None => traitor.relays(to, from, &msg, n, m, &mut rng),
            };
            next.extend(sent.into_iter().map(|(dest, relay)| (to, dest, relay)));
        }
        round = next;
    }
    out.decisions = lieutenants.iter().map(|(&g, l)| (g, l.decide())).collect();
    out.decision_error = out.decisions.iter().find_map(|(g, &decided)| {
        let due = shadows[g].decide();
        (decided != due).then(|| {
            format!("{g} decided {decided:?}; on the messages it received OM({m}) decides {due:?}")
        })
    });
    out
}

/// Checks IC1, IC2 and the relays of a run.
pub fn judge(setup: &Setup, run: &Run, what: &str) -> Result<(), Failure> {
    let decisions = run
        .decisions
        .iter()
        .map(|(g, o)| format!("{g}: {o:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let traitors = setup
        .traitors
        .iter()
        .map(|g| g.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let context = format!(
        "{what}; n = {}, OM({}), traitors: {traitors}; loyal lieutenants decided {decisions}",
        setup.n, setup.m
    );
    let trace: Vec<String> = run.trace.iter().take(60).cloned().collect();
    let first = run.decisions.values().next().copied();
    if run.decisions.values().any(|&d| Some(d) != first) {
        return Err(Failure::new(IC1, context).with_trace(trace));
    }
    if !setup.traitors.contains(&COMMANDER) {
        if let Some((g, d)) = run.decisions.iter().find(|(_, &d)| d != setup.order) {
            return Err(Failure::new(
                IC2,
                format!(
                    "the loyal commander ordered {:?}, but {g} decided {d:?}; {context}",
                    setup.order
                ),
            )
            .with_trace(trace));
        }
    }
    if let Some(error) = &run.relay_error {
        return Err(Failure::new(RELAY, format!("{error}; {context}")).with_trace(trace));
    }
    if let Some(error) = &run.decision_error {
        return Err(Failure::new(DECIDES, format!("{error}; {context}")).with_trace(trace));
    }
    Ok(())
}

/// The messages OM(m) sends among `n` loyal generals:
/// (n-1) + (n-1)(n-2) + … + (n-1)(n-2)…(n-m-1).
pub fn om_messages(n: usize, m: usize) -> usize {
    let mut total = 0;
    let mut product = 1;
    for k in 1..=m + 1 {
        product *= n - k;
        total += product;
    }
    total
}

/// How the suite's traitors behave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Sends nothing at all.
    Silent,
    /// Tells the lower half of the generals Attack and the upper half
    /// Retreat, whatever it heard.
    TwoFaced,
    /// Passes on the opposite of what it heard, to everyone.
    Liar,
    /// Random orders to random generals, sometimes along invented paths.
    Random,
    /// Speaks to some and not to others: as the commander, Attack to the
    /// odd lieutenants and nothing to the even ones; as a lieutenant, the
    /// opposite of what it heard to the lower half and nothing to the
    /// upper half. Its silence is where a lieutenant's DEFAULT decides.
    Gaps,
}

pub const STRATEGIES: &[Strategy] = &[
    Strategy::Silent,
    Strategy::TwoFaced,
    Strategy::Liar,
    Strategy::Random,
];

/// The suite's traitors, all playing one strategy.
pub struct Suite(pub Strategy);

fn flip(o: Order) -> Order {
    match o {
        Order::Attack => Order::Retreat,
        Order::Retreat => Order::Attack,
    }
}

fn random_order(rng: &mut SimRng) -> Order {
    if rng.chance(0.5) {
        Order::Attack
    } else {
        Order::Retreat
    }
}

impl Traitor for Suite {
    fn commands(&mut self, n: usize, rng: &mut SimRng) -> Outbox {
        (1..n)
            .filter_map(|i| {
                let order = match self.0 {
                    Strategy::Silent => return None,
                    Strategy::TwoFaced => {
                        if i <= n / 2 {
                            Order::Attack
                        } else {
                            Order::Retreat
                        }
                    }
                    Strategy::Liar => {
                        if i % 2 == 0 {
                            Order::Attack
                        } else {
                            Order::Retreat
                        }
                    }
                    Strategy::Random => random_order(rng),
                    Strategy::Gaps if i % 2 == 1 => Order::Attack,
                    Strategy::Gaps => return None,
                };
                Some((
                    NodeId(i),
                    OralMessage {
                        path: vec![COMMANDER],
                        order,
                    },
                ))
            })
            .collect()
    }

    fn relays(
        &mut self,
        me: NodeId,
        _from: NodeId,
        msg: &OralMessage,
        n: usize,
        m: usize,
        rng: &mut SimRng,
    ) -> Outbox {
        if self.0 == Strategy::Silent || msg.path.len() > m || msg.path.contains(&me) {
            return Vec::new();
        }
        let mut path = msg.path.clone();
        path.push(me);
        let mut out = Vec::new();
        for g in (1..n).map(NodeId).filter(|g| !path.contains(g)) {
            let (order, path) = match self.0 {
                Strategy::Silent => unreachable!("returned above"),
                Strategy::TwoFaced => {
                    let o = if g.0 <= n / 2 {
                        Order::Attack
                    } else {
                        Order::Retreat
                    };
                    (o, path.clone())
                }
                Strategy::Liar => (flip(msg.order), path.clone()),
                Strategy::Gaps if g.0 <= n / 2 => (flip(msg.order), path.clone()),
                Strategy::Gaps => continue,
                Strategy::Random => {
                    if rng.chance(0.2) {
                        continue;
                    }
                    let mut p = path.clone();
                    if rng.chance(0.1) {
                        p.pop();
                    }
                    (random_order(rng), p)
                }
            };
            out.push((g, OralMessage { path, order }));
        }
        out
    }
}

/// A random setup: `traitors` traitors among `n`, a random order.
pub fn random_setup(seed: u64, n: usize, m: usize, traitors: usize) -> (Setup, Strategy) {
    let mut rng = SimRng::new(seed ^ 0xB12A);
    let mut generals: Vec<NodeId> = (0..n).map(NodeId).collect();
    rng.shuffle(&mut generals);
    let strategy = STRATEGIES[rng.below(STRATEGIES.len() as u64) as usize];
    let setup = Setup {
        n,
        m,
        traitors: generals.into_iter().take(traitors).collect(),
        order: random_order(&mut rng),
        seed,
    };
    (setup, strategy)
}
