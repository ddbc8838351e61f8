//! Replicas of a CRDT in the simulator: a generic replica node (the
//! learner writes only the data types) that applies client updates to its
//! state and gossips the whole state to random peers, over a network that
//! loses, duplicates and delays messages and is partitioned now and then.
//!
//! Gossip is push-pull: a replica sends its state to a peer, which merges
//! it and answers with its own. A replica keeps gossiping, every 20 to 40
//! ms, until every peer is known to hold everything it holds (a state at or
//! above its own came back from that peer), and starts again whenever its
//! state changes; so once the clients stop writing and the partitions heal,
//! the run goes quiet, and then every replica must hold the same state.
//!
//! Besides its state, each replica carries what the suite needs to judge
//! it: which updates it has seen. After every event the suite checks that
//! the replica that handled it shows what the spec says for exactly those
//! updates.

use crate::crdts::history::{below, describe, Family, Kind, Op, Seen, Update};
use dscheck::{ms, secs, Failure, Property};
use dsim::{Broken, Clock, Ctx, Event, Network, Node, NodeId, RequestId, Sim, SimRng};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt::{self, Debug};
use std::rc::Rc;
use std::time::Duration;

pub const GOSSIP: Property = Property {
    name:
        "replicas gossiping over a lossy, partitioned network hold equal states once it goes quiet",
    hint: "",
    when: &[],
};

/// Every update of a run, shared by its replicas (they only append).
type Log<K> = Rc<RefCell<Vec<Update<Op<K>>>>>;

/// A replica of `K`.
pub struct Replica<K: Kind> {
    state: K,
    seen: Seen,
    /// The time of its last update: two of its updates never share one.
    time: u64,
    /// Peers known to hold everything this replica holds.
    current: BTreeSet<NodeId>,
    /// Whether its gossip timer is set.
    gossiping: bool,
    log: Log<K>,
}

impl<K: Kind> Debug for Replica<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.state)
    }
}

/// What replicas send each other: a whole state, and what it has seen.
#[derive(Clone, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum Gossip<K: Kind> {
    /// "Here is my state": the receiver merges it and answers.
    Push { state: K, seen: Seen },
    /// The answer to a push: the receiver's state after the merge.
    Answer { state: K, seen: Seen },
}

impl<K: Kind> Debug for Gossip<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Gossip::Push { state, .. } => write!(f, "push {state:?}"),
            Gossip::Answer { state, .. } => write!(f, "answer {state:?}"),
        }
    }
}

/// The gossip timer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GossipRound;

impl<K: Kind> Replica<K> {
    fn new(log: Log<K>) -> Self {
        Replica {
            state: K::empty(),
            seen: Seen::default(),
            time: 0,
            current: BTreeSet::new(),
            gossiping: false,
            log,
        }
    }

    /// After a change: no peer is known to hold this state yet.
    fn changed(&mut self, ctx: &mut Ctx<Self>) {
        self.current.clear();
        if !self.gossiping {
            self.gossiping = true;
            let after = ctx.rng().duration(ms(20)..=ms(40));
            ctx.set_timer(GossipRound, after);
        }
    }

    fn absorb(&mut self, ctx: &mut Ctx<Self>, from: NodeId, state: &K, seen: &Seen) {
        let before = self.state.clone();
        self.state.merge(state);
        self.seen.absorb(seen);
        if self.state != before {
            self.changed(ctx);
        }
        if below(&self.state, state) {
            self.current.insert(from);
        }
    }
}

impl<K: Kind> Node for Replica<K> {
    type Msg = Gossip<K>;
    type Timer = GossipRound;
    type Request = Op<K>;
    type Reply = ();

    fn on_request(&mut self, ctx: &mut Ctx<Self>, _id: RequestId, op: Op<K>) {
        self.time = ctx.now().as_millis().max(self.time + 1);
        let mut log = self.log.borrow_mut();
        let id = log.len();
        log.push(Update {
            replica: ctx.id(),
            time: self.time,
            op: op.clone(),
            past: self.seen.clone(),
        });
        drop(log);
        self.seen.insert(id);
        self.state.apply(ctx.id(), self.time, &op);
        self.changed(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, _timer: GossipRound) {
        let behind: Vec<NodeId> = ctx
            .peers()
            .iter()
            .copied()
            .filter(|p| !self.current.contains(p))
            .collect();
        if behind.is_empty() {
            self.gossiping = false;
            return;
        }
        let to = *ctx.rng().pick(&behind);
        let push = Gossip::Push {
            state: self.state.clone(),
            seen: self.seen.clone(),
        };
        ctx.send(to, push);
        let after = ctx.rng().duration(ms(20)..=ms(40));
        ctx.set_timer(GossipRound, after);
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Gossip<K>) {
        match msg {
            Gossip::Push { state, seen } => {
                self.absorb(ctx, from, &state, &seen);
                let answer = Gossip::Answer {
                    state: self.state.clone(),
                    seen: self.seen.clone(),
                };
                ctx.send(from, answer);
            }
            Gossip::Answer { state, seen } => self.absorb(ctx, from, &state, &seen),
        }
    }
}

/// The random stream of a seed that shapes its scenario.
const STREAM: u64 = 0x5EED_0000_0000_0088;
/// How many client updates.
const UPDATES: u64 = 80;
/// Clients write, and partitions come and go, for this long.
const ACTIVE: Duration = ms(2000);
/// The network changes (a new partition, or healed) this often.
const SLOT: Duration = ms(250);
/// How long the replicas may gossip after the last write.
const QUIET_LIMIT: Duration = secs(20);

/// The network of the whole run: 1 to 20 ms, 20% lost, 10% duplicated,
/// 5% held back up to 200 ms.
fn lossy() -> Network {
    Network::reliable(ms(1), ms(20))
        .with_loss(0.2)
        .with_duplication(0.1)
        .with_long_delays(0.05, ms(200))
}

/// 3 to 6 replicas with clocks up to 30 ms apart; 80 updates from clients
/// at random replicas over 2 s, while the network is split into two
/// random groups or healed every 250 ms; then the network heals, the
/// clients stop, and the replicas gossip on (over the same lossy network)
/// until the run goes quiet. After every event, the replica that handled it
/// must show what `semantic` says for the updates it has seen; once quiet,
/// all must hold the same state, showing every update.
pub fn run<K: Kind>(seed: u64, semantic: Property) -> Result<(), Failure> {
    let mut rng = SimRng::fork(seed, STREAM);
    let n = 3 + rng.below(4) as usize;
    let log: Log<K> = Rc::new(RefCell::new(Vec::new()));
    let shared = log.clone();
    let mut sim = Sim::new(seed, n, move |_| Replica::<K>::new(shared.clone()));
    sim.set_network(lossy());
    for id in 0..n {
        let skew = rng.range(0..=60_000_000) as i64 - 30_000_000;
        sim.set_clock(
            NodeId(id),
            Clock {
                skew_nanos: skew,
                drift_ppm: 0.0,
            },
        );
    }
    for value in 0..UPDATES {
        let at = rng.duration(Duration::ZERO..=ACTIVE);
        let replica = NodeId(rng.below(n as u64) as usize);
        let op = K::F::op(rng.below(256) as u8, value);
        sim.request_after(at, replica, op);
    }
    watch(&mut sim, semantic, log.clone());
    let slots = (ACTIVE.as_millis() / SLOT.as_millis()) as usize;
    for _ in 0..slots {
        dscheck::run(&mut sim, |s| s.run_for(SLOT))?;
        if rng.chance(0.6) {
            let mut ids: Vec<NodeId> = (0..n).map(NodeId).collect();
            rng.shuffle(&mut ids);
            let cut = 1 + rng.below(n as u64 - 1) as usize;
            let (left, right) = ids.split_at(cut);
            dscheck::run(&mut sim, |s| s.partition(&[left, right]))?;
        } else {
            dscheck::run(&mut sim, |s| s.heal())?;
        }
    }
    dscheck::run(&mut sim, |s| s.heal())?;
    sim.note("the clients stop writing; the replicas gossip on until the run goes quiet");
    let quiet = dscheck::run(&mut sim, |s| s.run_until_quiet(QUIET_LIMIT))?;
    if !quiet {
        return Err(Failure::after_run(
            &sim,
            GOSSIP,
            format!(
                "the replicas were still gossiping {} s after the network healed: some \
                 replica never received, from every peer, a state at or above its own",
                QUIET_LIMIT.as_secs()
            ),
        ));
    }
    let states: Vec<&K> = sim
        .ids()
        .filter_map(|id| sim.node(id))
        .map(|r| &r.state)
        .collect();
    if let Some(k) = (1..n).find(|&k| states[k] != states[0]) {
        return Err(Failure::after_run(
            &sim,
            GOSSIP,
            format!(
                "the run went quiet with n0 holding\n  {:?}\nbut n{k} holding\n  {:?}",
                states[0], states[k]
            ),
        ));
    }
    let log = log.borrow();
    let want = K::F::expected(&log, &Seen::all(log.len()));
    let got = states[0].view();
    if got != want {
        return Err(Failure::after_run(
            &sim,
            semantic,
            format!(
                "the run went quiet with every replica holding\n  {:?}\nwhich shows {got:?}, but \
                 {} should show {want:?}",
                states[0],
                crate::crdts::properties::updates(log.len())
            ),
        ));
    }
    Ok(())
}

/// Checks `semantic` after every event, on the replica that handled it.
fn watch<K: Kind>(sim: &mut Sim<Replica<K>>, semantic: Property, log: Log<K>) {
    sim.check(semantic, move |sim, step| {
        for entry in step {
            let node = match &entry.event {
                Event::Request { node, .. } => *node,
                Event::Deliver { to, .. } => *to,
                _ => continue,
            };
            let Some(replica) = sim.node(node) else {
                continue;
            };
            let log = log.borrow();
            let want = K::F::expected(&log, &replica.seen);
            let got = replica.state.view();
            if got != want {
                let seen = if replica.seen.len() <= 12 {
                    let lines: String = replica
                        .seen
                        .iter()
                        .map(|id| format!("\n  {}", describe::<K::F>(&log, id)))
                        .collect();
                    format!("the updates it has seen:{lines}")
                } else {
                    format!(
                        "it has seen {} of the {} updates made so far",
                        replica.seen.len(),
                        log.len()
                    )
                };
                return Err(Broken::new(format!(
                    "{node} shows {got:?}, but from the updates it has seen it should show \
                     {want:?}\n  its state: {:?}\n{seen}",
                    replica.state
                ))
                .nodes([node]));
            }
        }
        Ok(())
    });
}
