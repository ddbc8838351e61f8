//! Clients against a replicated store, under loss, delay, partitions and a
//! crash: the scenario shared by quorum_rw and quorum_abd, generic over
//! [`Observed`] so that the suite's known-wrong stores run it too.

use dscheck::{ms, run, Failure, Property};
use dsim::{Network, Node, NodeId, RequestId, Sim, SimRng};
use std::collections::BTreeMap;

/// How many replicas a run has.
pub const NODES: usize = 5;
/// A client gives up on a request after this long; the request stays in the
/// history as never completed.
pub const GIVE_UP_MS: u64 = 400;

/// One client operation, as the checks see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientOp {
    pub key: u64,
    /// `Some((value, ts))` for a write; `ts` orders writes by when clients
    /// issued them.
    pub write: Option<(u64, u64)>,
}

/// A reply, as the checks see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Value(Option<u64>),
    Written,
}

/// What the checks need from a store.
pub trait Observed: Node {
    fn request(op: ClientOp) -> Self::Request;
    fn op(request: &Self::Request) -> ClientOp;
    fn answer(reply: &Self::Reply) -> Answer;
}

/// Implements [`Observed`] for each node type given (the subject's node,
/// and the known-wrong variants of it, which speak the same requests),
/// with the functions `request`, `op` and `answer` of the module it is
/// called in.
macro_rules! observed {
    ($($node:ty),* $(,)?) => {$(
        impl Observed for $node {
            fn request(op: ClientOp) -> Request {
                request(op)
            }
            fn op(request: &Request) -> ClientOp {
                op(request)
            }
            fn answer(reply: &Reply) -> Answer {
                answer(reply)
            }
        }
    )*};
}
pub(crate) use observed;

/// What a run is like.
#[derive(Clone, Copy, Debug)]
pub struct Profile {
    /// How many clients; each waits for its reply (or gives up) before the
    /// next request.
    pub clients: usize,
    /// The share of writes among the requests.
    pub writes: f64,
    pub keys: u64,
    pub duration_ms: u64,
    /// Isolate minorities and crash a replica along the way.
    pub faults: bool,
    pub network: fn() -> Network,
}

pub fn lossy() -> Network {
    Network::reliable(ms(1), ms(20))
        .with_loss(0.1)
        .with_duplication(0.02)
        .with_long_delays(0.05, ms(150))
}

/// Who issued each request.
pub type Clients = BTreeMap<RequestId, usize>;

/// Runs `profile.clients` clients for `profile.duration_ms`, then heals the network
/// and lets every request at a live node finish. Returns the simulation and
/// who issued what. `setup` registers the continuous checks.
pub fn drive<N: Observed>(
    seed: u64,
    profile: Profile,
    factory: impl FnMut(NodeId) -> N + 'static,
    setup: impl FnOnce(&mut Sim<N>),
) -> Result<(Sim<N>, Clients), Failure> {
    let mut sim = Sim::new(seed, NODES, factory);
    sim.set_network((profile.network)());
    setup(&mut sim);
    let mut rng = sim.scenario_rng();
    let mut clients = Clients::new();
    let mut current: Vec<Option<(RequestId, u64)>> = vec![None; profile.clients];
    let mut ts = 0;
    let mut faults = FaultPlan::new(&mut rng, profile.faults);
    let end = profile.duration_ms;
    let mut now = 0;
    while now < end {
        faults.apply(&mut sim, now)?;
        for (client, slot) in current.iter_mut().enumerate() {
            let busy =
                slot.is_some_and(|(id, since)| now < since + GIVE_UP_MS && !is_complete(&sim, id));
            if busy || !rng.chance(0.4) {
                continue;
            }
            let key = rng.below(profile.keys);
            let write = rng.chance(profile.writes).then(|| {
                ts += 1;
                (ts, ts)
            });
            let node = NodeId(rng.below(NODES as u64) as usize);
            let id = sim.request(node, N::request(ClientOp { key, write }));
            clients.insert(id, client);
            *slot = Some((id, now));
        }
        run(&mut sim, |s| s.run_for(ms(5)))?;
        now += 5;
    }
    run(&mut sim, |s| s.heal())?;
    run(&mut sim, |s| s.run_for(ms(2_000)))?;
    Ok((sim, clients))
}

fn is_complete<N: Node>(sim: &Sim<N>, id: RequestId) -> bool {
    sim.history()
        .iter()
        .rev()
        .find(|op| op.id == id)
        .is_some_and(|op| op.is_complete())
}

/// When to cut off minorities and which replica crashes for good.
struct FaultPlan {
    /// (from, to, isolated nodes), in ms.
    cuts: Vec<(u64, u64, Vec<NodeId>)>,
    crash: Option<(u64, NodeId)>,
    cut: bool,
}

impl FaultPlan {
    fn new(rng: &mut SimRng, on: bool) -> Self {
        if !on {
            return FaultPlan {
                cuts: Vec::new(),
                crash: None,
                cut: false,
            };
        }
        let mut cuts = Vec::new();
        let mut t = 100 + rng.below(200);
        for _ in 0..3 {
            let len = 150 + rng.below(250);
            let size = 1 + rng.below(2) as usize;
            let mut nodes: Vec<NodeId> = (0..NODES).map(NodeId).collect();
            rng.shuffle(&mut nodes);
            nodes.truncate(size);
            cuts.push((t, t + len, nodes));
            t += len + 100 + rng.below(300);
        }
        let crash = Some((
            200 + rng.below(1_000),
            NodeId(rng.below(NODES as u64) as usize),
        ));
        FaultPlan {
            cuts,
            crash,
            cut: false,
        }
    }

    fn apply<N: Node>(&mut self, sim: &mut Sim<N>, now: u64) -> Result<(), Failure> {
        if let Some((at, node)) = self.crash {
            if now >= at {
                run(sim, |s| s.crash(node))?;
                self.crash = None;
            }
        }
        let Some((from, to, nodes)) = self.cuts.first().cloned() else {
            return Ok(());
        };
        if !self.cut && now >= from {
            let rest: Vec<NodeId> = (0..NODES)
                .map(NodeId)
                .filter(|n| !nodes.contains(n))
                .collect();
            run(sim, |s| s.partition(&[&nodes, &rest]))?;
            self.cut = true;
        } else if self.cut && now >= to {
            run(sim, |s| s.heal())?;
            self.cut = false;
            self.cuts.remove(0);
        }
        Ok(())
    }
}

/// Every request that reached a live node has an answer (after the network
/// healed and went quiet).
pub const ANSWERED: Property = Property {
    name: "every request at a live replica is answered once a majority is reachable",
    hint: "resend the current phase to the replicas that have not answered it until a \
           majority has; ignore answers that belong to a phase already finished",
    when: &[],
};

pub fn check_answered<N: Observed>(sim: &Sim<N>) -> Result<(), Failure> {
    let open: Vec<String> = sim
        .history()
        .iter()
        .filter(|op| !op.is_complete() && sim.is_up(op.node))
        .map(|op| format!("{} at {} ({:?})", op.id, op.node, N::op(&op.request)))
        .collect();
    if open.is_empty() {
        return Ok(());
    }
    Err(Failure::after_run(
        sim,
        ANSWERED,
        format!(
            "2 s after the network healed, {} request(s) at running replicas still have no \
             answer: {}",
            open.len(),
            open.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
        ),
    ))
}

/// Nothing completes in a minority: n0 and n1 are cut off from the other
/// three, clients ask n0 and n1, and no answer may come while the cut lasts.
pub const MINORITY: Property = Property {
    name: "no operation completes in a minority partition",
    hint: "both phases wait for a majority of distinct replicas (a BTreeSet of NodeId), \
           this node included",
    when: &[],
};

pub fn minority<N: Observed>(
    seed: u64,
    factory: impl FnMut(NodeId) -> N + 'static,
) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, NODES, factory);
    sim.set_network(Network::reliable(ms(1), ms(10)));
    let (small, large) = ([NodeId(0), NodeId(1)], [NodeId(2), NodeId(3), NodeId(4)]);
    run(&mut sim, |s| s.partition(&[&small, &large]))?;
    let mut rng = sim.scenario_rng();
    for i in 0..6 {
        let write = (i % 2 == 0).then_some((i + 1, i + 1));
        let node = *rng.pick(&small);
        sim.request(node, N::request(ClientOp { key: 0, write }));
    }
    run(&mut sim, |s| s.run_for(ms(1_000)))?;
    if let Some(op) = sim.history().iter().find(|op| op.is_complete()) {
        return Err(Failure::after_run(
            &sim,
            MINORITY,
            format!(
                "{} ({:?}) at {} completed although {} could reach only n0 and n1, two of five \
                 replicas",
                op.id,
                N::op(&op.request),
                op.node,
                op.node
            ),
        ));
    }
    run(&mut sim, |s| s.heal())?;
    run(&mut sim, |s| s.run_for(ms(2_000)))?;
    check_answered(&sim)
}
