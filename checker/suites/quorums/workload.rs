//! Clients against a replicated store, under loss, delay, partitions and a
//! crash: the scenario shared by quorum_rw and quorum_abd, generic over
//! [`Observed`] so that the suite's known-wrong stores run it too.

use dscheck::{ms, run, Failure, Property};
use dsim::{Broken, Event, Network, Node, NodeId, RequestId, Sim, SimRng};
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
    /// The requests this node still coordinates, where its state says that
    /// it keeps a request only until it has answered it (empty where a
    /// request may outlive its answer, as a read-repair read does).
    fn open_requests(&self) -> Vec<RequestId>;
}

/// Implements [`Observed`] for each node type given (the subject's node,
/// and the known-wrong variants of it, which speak the same requests),
/// with the functions `request`, `op` and `answer` of the module it is
/// called in. With `open |node| expr;` first, `expr` lists the requests
/// the node still coordinates.
macro_rules! observed {
    (open |$n:ident| $open:expr; $($node:ty),* $(,)?) => {$(
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
            fn open_requests(&self) -> Vec<dsim::RequestId> {
                let $n = self;
                $open
            }
        }
    )*};
    ($($node:ty),* $(,)?) => {
        observed!(open |_n| Vec::new(); $($node),*);
    };
}
pub(crate) use observed;

/// What a run is like.
#[derive(Clone, Copy, Debug)]
pub struct Profile {
    /// How many replicas (an even number tests that a majority is more
    /// than half, not half).
    pub nodes: usize,
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
    let nodes = profile.nodes;
    let mut sim = Sim::new(seed, nodes, factory);
    sim.set_network((profile.network)());
    forget_answered(&mut sim);
    setup(&mut sim);
    let mut rng = sim.scenario_rng();
    let mut clients = Clients::new();
    let mut current: Vec<Option<(RequestId, u64)>> = vec![None; profile.clients];
    let mut ts = 0;
    let mut faults = FaultPlan::new(&mut rng, nodes, profile.faults);
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
            let node = NodeId(rng.below(nodes as u64) as usize);
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
    nodes: usize,
    /// (from, to, isolated nodes), in ms.
    cuts: Vec<(u64, u64, Vec<NodeId>)>,
    crash: Option<(u64, NodeId)>,
    cut: bool,
}

impl FaultPlan {
    fn new(rng: &mut SimRng, nodes: usize, on: bool) -> Self {
        if !on {
            return FaultPlan {
                nodes,
                cuts: Vec::new(),
                crash: None,
                cut: false,
            };
        }
        let mut cuts = Vec::new();
        let mut t = 100 + rng.below(200);
        for _ in 0..3 {
            let len = 150 + rng.below(250);
            // A minority: one or two of five, one of four, up to two of six.
            let size = 1 + rng.below(((nodes - 1) / 2) as u64) as usize;
            let mut cut: Vec<NodeId> = (0..nodes).map(NodeId).collect();
            rng.shuffle(&mut cut);
            cut.truncate(size);
            cuts.push((t, t + len, cut));
            t += len + 100 + rng.below(300);
        }
        let crash = Some((
            200 + rng.below(1_000),
            NodeId(rng.below(nodes as u64) as usize),
        ));
        FaultPlan {
            nodes,
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
            let rest: Vec<NodeId> = (0..self.nodes)
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

pub const FORGETS: Property = Property {
    name: "a coordinator forgets each request once it has answered it",
    hint: "when the quorum is reached, remove the request from the requests this node \
           coordinates (self.coordinating in quorum_rw, self.operations in quorum_abd) as you \
           answer the client: answers that come later must find nothing to count",
    when: &[],
};

/// Checks after every step that no node still coordinates a request it
/// has answered.
pub fn forget_answered<N: Observed>(sim: &mut Sim<N>) {
    sim.check(FORGETS, |sim, _| {
        for id in sim.ids() {
            let Some(node) = sim.node(id) else { continue };
            for request in node.open_requests() {
                if sim.operation(request).is_complete() {
                    return Err(Broken::new(format!(
                        "{id} answered {request} but still keeps it among the requests it \
                         coordinates"
                    ))
                    .nodes([id]));
                }
            }
        }
        Ok(())
    });
}

pub const QUIET: Property = Property {
    name: "once every request is answered, the replicas fall silent",
    hint: "stop resending a request once it is finished: remove it from the requests this node \
           coordinates and cancel its Resend timer (a read of quorum_read_repair finishes once \
           every replica answered or REPAIR_WINDOW passed)",
    when: &[],
};

/// Every request at a running replica is answered, and then, for 500 ms,
/// nothing is sent: a finished request is not resent forever.
pub fn finished<N: Observed>(sim: &mut Sim<N>) -> Result<(), Failure> {
    check_answered(sim)?;
    let from = sim.trace().total();
    run(sim, |s| s.run_for(ms(500)))?;
    let sent: Vec<String> = sim
        .trace()
        .entries()
        .filter(|e| e.index >= from)
        .filter_map(|e| match &e.event {
            Event::Send { from, to, msg, .. } => Some(format!("{from} → {to}: {msg:?}")),
            _ => None,
        })
        .collect();
    if sent.is_empty() {
        return Ok(());
    }
    Err(Failure::after_run(
        sim,
        QUIET,
        format!(
            "every request had been answered, yet in the next 500 ms the replicas sent {} \
             message(s), such as {}",
            sent.len(),
            sent.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
        ),
    ))
}

/// Nothing completes without a majority: the replicas are split in two,
/// clients ask the smaller side (either side, when the halves are equal),
/// and no answer may come while the split lasts.
pub const MINORITY: Property = Property {
    name: "no operation completes in a minority partition",
    hint: "wait for a quorum of distinct replicas (a BTreeSet of NodeId), this node included; \
           a majority is more than half of all the replicas (n / 2 + 1: 3 of 4, 4 of 6), so \
           that two halves of an even cluster cannot both complete operations",
    when: &[],
};

/// [`split`] five replicas: n0 and n1 cut off from the other three.
pub fn minority<N: Observed>(
    seed: u64,
    factory: impl FnMut(NodeId) -> N + 'static,
) -> Result<(), Failure> {
    split(seed, NODES, 2, factory)
}

/// [`split`] `nodes` replicas (an even number) into two equal halves,
/// neither of them a majority.
pub fn minority_of<N: Observed>(
    seed: u64,
    nodes: usize,
    factory: impl FnMut(NodeId) -> N + 'static,
) -> Result<(), Failure> {
    split(seed, nodes, nodes / 2, factory)
}

pub const MAJORITY_LIVE: Property = Property {
    name: "operations complete while a bare majority is reachable",
    hint: "answer as soon as a majority has answered (n / 2 + 1 distinct replicas, this node \
           included: it answers itself at once), not after more; a majority must be enough",
    when: &[],
};

/// `nodes` replicas split into the first `small` and the rest. Clients ask
/// both sides. Nothing may complete on a side that is no majority while
/// the split lasts; everything asked of a side that is a bare majority
/// must; and everything must once it heals.
pub fn split<N: Observed>(
    seed: u64,
    nodes: usize,
    small: usize,
    factory: impl FnMut(NodeId) -> N + 'static,
) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, nodes, factory);
    sim.set_network(Network::reliable(ms(1), ms(10)));
    forget_answered(&mut sim);
    let all: Vec<NodeId> = (0..nodes).map(NodeId).collect();
    let (small, large) = all.split_at(small);
    run(&mut sim, |s| s.partition(&[small, large]))?;
    let mut rng = sim.scenario_rng();
    for i in 0..6 {
        let write = (i % 2 == 0).then_some((i + 1, i + 1));
        for side in [small, large] {
            let node = *rng.pick(side);
            sim.request(node, N::request(ClientOp { key: 0, write }));
        }
    }
    run(&mut sim, |s| s.run_for(ms(1_000)))?;
    let majority = |side: &[NodeId]| 2 * side.len() > nodes;
    let names = |side: &[NodeId]| side.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    for op in sim.history() {
        let side = if small.contains(&op.node) {
            small
        } else {
            large
        };
        let reach = format!(
            "{} could reach only {}, {} of {nodes} replicas",
            op.node,
            names(side).join(", "),
            side.len()
        );
        if op.is_complete() && !majority(side) {
            return Err(Failure::after_run(
                &sim,
                MINORITY,
                format!(
                    "{} ({:?}) completed although {reach}",
                    op.id,
                    N::op(&op.request)
                ),
            ));
        }
        if !op.is_complete() && majority(side) {
            return Err(Failure::after_run(
                &sim,
                MAJORITY_LIVE,
                format!(
                    "{} ({:?}) at {} has no answer after 1 s on a reliable network, and {reach}: \
                     a majority",
                    op.id,
                    N::op(&op.request),
                    op.node
                ),
            ));
        }
    }
    run(&mut sim, |s| s.heal())?;
    run(&mut sim, |s| s.run_for(ms(2_000)))?;
    finished(&mut sim)
}
