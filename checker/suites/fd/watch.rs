//! What every failure detector of the topic is held to, checked after
//! every step of a run against true time, and what is counted on the way.
//!
//! After each step the suite asks every live node, with its own clock's
//! reading at that true instant, whether it suspects each peer. From the
//! answers it checks Chandra and Toueg's two sides of a detector:
//! completeness (a node down for longer than the detection bound is
//! suspected by every live node) and accuracy (how often a live node is
//! suspected: never on a calm network, and at a rate per node-hour held to
//! a bound on the others); and that a node heard from again is no longer
//! suspected.

use dscheck::{ms, run, Failure, Property};
use dsim::{Broken, Clock, Event, Network, Node, NodeId, Sim, SimRng, Time};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// A detector of the topic: the reference, the learner's, or one from `bugs/`.
pub trait Detector: Node<Request = (), Reply = ()> {
    fn fresh() -> Self;
    /// Whether this node suspects `peer` when its own clock reads `now`.
    fn suspects_at(&self, peer: NodeId, now: Time) -> bool;
}

pub const COMPLETE: Property = Property {
    name: "once a node has been down for longer than the detection bound, every live node \
           suspects it",
    hint: "suspect a peer once nothing has arrived from it for as long as the detector allows \
           (TIMEOUT, or until φ reaches THRESHOLD), by your own clock, including a peer never \
           heard from since you started",
    when: &[],
};
pub const FORGIVEN: Property = Property {
    name: "a node that receives a newer heartbeat from a peer does not suspect that peer",
    hint: "a heartbeat from a suspected peer proves it is alive: stop suspecting it when it \
           arrives",
    when: &[],
};
pub const RESTORED: Property = Property {
    name: "on a network that loses nothing, a restarted node is no longer suspected by any \
           live node one heartbeat interval and one delay after it restarts",
    hint: "a node sends heartbeats as soon as it starts, and a heartbeat from a suspected peer \
           ends the suspicion",
    when: &[],
};
pub const QUIET: Property = Property {
    name: "on a network that delivers every heartbeat within 10 ms and loses none, no live node \
           is ever suspected",
    hint: "every heartbeat from a peer starts its silence over: a peer is suspected only after a \
           whole timeout with nothing from it, not a timeout after the first heartbeat",
    when: &[],
};
pub const RATE: Property = Property {
    name: "false suspicions (a live node suspected) per node-hour stay below the network's bound",
    hint: "only a whole timeout of silence since the LAST heartbeat makes a peer suspect; a \
           heartbeat that arrives starts the silence over",
    when: &[],
};

/// What a run remembers, one slot per node or per (monitor, peer) link.
#[derive(Debug)]
pub struct Tally {
    n: usize,
    /// Since when each node has been up, or down (true time).
    pub up_since: Vec<Option<Time>>,
    pub down_since: Vec<Option<Time>>,
    /// Whether each monitor suspected each peer after the last step.
    suspected: Vec<bool>,
    /// The newest message id delivered on each link.
    newest: Vec<Option<u64>>,
    /// Every suspicion of a live node: (monitor, peer, true time).
    pub false_suspicions: Vec<(NodeId, NodeId, Time)>,
    /// Node-time observed: the sum over nodes of the time each was up.
    observed: Duration,
    last: Time,
}

impl Tally {
    fn new(n: usize) -> Self {
        Tally {
            n,
            up_since: vec![None; n],
            down_since: vec![None; n],
            suspected: vec![false; n * n],
            newest: vec![None; n * n],
            false_suspicions: Vec::new(),
            observed: Duration::ZERO,
            last: Time::ZERO,
        }
    }

    /// False suspicions per node-hour of live nodes so far.
    pub fn rate(&self) -> f64 {
        let hours = self.observed.as_secs_f64() / 3600.0;
        if hours == 0.0 {
            0.0
        } else {
            self.false_suspicions.len() as f64 / hours
        }
    }

    pub fn node_hours(&self) -> f64 {
        self.observed.as_secs_f64() / 3600.0
    }
}

/// What to check in a run, beside FORGIVEN (always checked).
#[derive(Clone, Copy, Debug, Default)]
pub struct Checks {
    /// COMPLETE, with this detection bound (true time).
    pub complete: Option<Duration>,
    /// RESTORED, with this bound (true time).
    pub restored: Option<Duration>,
    /// QUIET.
    pub quiet: bool,
}

/// Every clock skewed by up to ±50 ms and drifting at up to `max_drift`.
pub fn set_clocks<N: Node>(sim: &mut Sim<N>, rng: &mut SimRng, max_drift: f64) {
    for id in sim.ids().collect::<Vec<_>>() {
        let clock = Clock {
            skew_nanos: rng.range(0..=100_000_000) as i64 - 50_000_000,
            // Just inside the bound, so that rounding cannot cross it.
            drift_ppm: (rng.unit() * 2.0 - 1.0) * max_drift * 1e6 * 0.999,
        };
        sim.set_clock(id, clock);
    }
}

/// The longest a message can take on `network`.
pub fn max_delay(network: &Network) -> Duration {
    *network.latency.end() + network.long_delay_max
}

/// Notes a node's start or crash at `at` (true time) in `up_since` and
/// `down_since`.
pub fn note_life<N: Node>(
    event: &Event<N>,
    at: Time,
    up_since: &mut [Option<Time>],
    down_since: &mut [Option<Time>],
) {
    match event {
        Event::Start { node } => {
            up_since[node.0] = Some(at);
            down_since[node.0] = None;
        }
        Event::Crash { node } => {
            up_since[node.0] = None;
            down_since[node.0] = Some(at);
        }
        _ => {}
    }
}

/// Every (down node p, since, live node q, since) in which p has been down
/// and q up for longer than `bound` at `now`: where a crash must have been
/// detected.
pub fn overdue<'a>(
    now: Time,
    bound: Duration,
    up_since: &'a [Option<Time>],
    down_since: &'a [Option<Time>],
) -> impl Iterator<Item = (NodeId, Time, NodeId, Time)> + 'a {
    let long = move |since: &Option<Time>| since.filter(|&s| now.saturating_since(s) > bound);
    let down = down_since.iter().enumerate();
    down.filter_map(move |(p, d)| long(d).map(|d| (NodeId(p), d)))
        .flat_map(move |(p, d)| {
            let up = up_since.iter().enumerate();
            up.filter_map(move |(q, u)| long(u).map(|u| (p, d, NodeId(q), u)))
        })
}

/// Registers the checks and the counting; the tally is shared with the test.
pub fn watch<N: Detector>(sim: &mut Sim<N>, checks: Checks) -> Rc<RefCell<Tally>> {
    let tally = Rc::new(RefCell::new(Tally::new(sim.len())));
    let t = tally.clone();
    sim.check(FORGIVEN, move |sim, step| {
        let mut guard = t.borrow_mut();
        let t = &mut *guard;
        let n = t.n;
        let now = sim.now();
        let up = (0..n).filter(|&i| t.up_since[i].is_some()).count() as u32;
        t.observed += now.saturating_since(t.last) * up;
        t.last = now;
        let mut heard: Option<(NodeId, NodeId)> = None;
        for e in step.iter() {
            match &e.event {
                Event::Start { .. } => {
                    note_life(&e.event, e.at, &mut t.up_since, &mut t.down_since)
                }
                Event::Crash { node } => {
                    note_life(&e.event, e.at, &mut t.up_since, &mut t.down_since);
                    for p in 0..n {
                        t.suspected[node.0 * n + p] = false;
                    }
                }
                Event::Deliver {
                    from, to, msg_id, ..
                } if step.trigger().is_some_and(|tr| tr.index == e.index) => {
                    let link = to.0 * n + from.0;
                    if t.newest[link].is_none_or(|m| *msg_id > m) {
                        t.newest[link] = Some(*msg_id);
                        heard = Some((*to, *from));
                    }
                }
                _ => {}
            }
        }
        for q in sim.ids() {
            let Some(node) = sim.node(q) else { continue };
            let local = sim.local_time(q);
            for p in sim.ids().filter(|&p| p != q) {
                let s = node.suspects_at(p, local);
                let link = q.0 * n + p.0;
                if s && !t.suspected[link] && t.up_since[p.0].is_some() {
                    t.false_suspicions.push((q, p, now));
                }
                t.suspected[link] = s;
            }
        }
        if let Some((q, p)) = heard {
            if sim.is_up(p) && t.suspected[q.0 * n + p.0] {
                return Err(Broken::new(format!(
                    "{q} received a heartbeat from {p} at {now} (true time), newer than any \
                     before it, and still suspects {p}"
                ))
                .nodes([q, p]));
            }
        }
        Ok(())
    });
    if let Some(bound) = checks.complete {
        let t = tally.clone();
        sim.check(COMPLETE, move |sim, _| {
            let t = t.borrow();
            let now = sim.now();
            for (p, down, q, up) in overdue(now, bound, &t.up_since, &t.down_since) {
                if !t.suspected[q.0 * t.n + p.0] {
                    return Err(Broken::new(format!(
                        "{p} has been down since {down} (true time) and at {now} {q}, up \
                         since {up}, still does not suspect it: the bound is {} ms",
                        bound.as_millis()
                    ))
                    .nodes([q, p]));
                }
            }
            Ok(())
        });
    }
    if let Some(bound) = checks.restored {
        let t = tally.clone();
        sim.check(RESTORED, move |sim, _| {
            let t = t.borrow();
            let now = sim.now();
            for p in sim.ids() {
                let Some(up) = t.up_since[p.0] else { continue };
                if now.saturating_since(up) <= bound {
                    continue;
                }
                if let Some(q) = sim
                    .ids()
                    .find(|&q| q != p && t.up_since[q.0].is_some() && t.suspected[q.0 * t.n + p.0])
                {
                    return Err(Broken::new(format!(
                        "{p} has been up since {up} (true time) and at {now} {q} still suspects \
                         it: the bound is {} ms",
                        bound.as_millis()
                    ))
                    .nodes([q, p]));
                }
            }
            Ok(())
        });
    }
    if checks.quiet {
        let t = tally.clone();
        sim.check(QUIET, move |_, _| {
            let t = t.borrow();
            match t.false_suspicions.first() {
                Some(&(q, p, at)) => Err(Broken::new(format!(
                    "at {at} (true time) {q} suspects {p}, which is up, on a network that \
                     delivers every message within 10 ms"
                ))
                .nodes([q, p])),
                None => Ok(()),
            }
        });
    }
    tally
}

/// The calm network: every message within 1 to 10 ms, none lost.
pub fn calm() -> Network {
    Network::reliable(ms(1), ms(10))
}

/// The network of the crash runs that loses messages: 10% lost, 10%
/// duplicated, 5% held back up to 300 ms.
pub fn lossy() -> Network {
    calm()
        .with_loss(0.1)
        .with_duplication(0.1)
        .with_long_delays(0.05, ms(300))
}

/// A run of `nodes` nodes of `N` with every clock skewed and drifting.
pub fn start<N: Detector>(seed: u64, nodes: usize, max_drift: f64, network: Network) -> Sim<N> {
    start_with(seed, nodes, max_drift, network, |_| N::fresh())
}

/// [`start`], for any node, each made by `fresh`.
pub fn start_with<N: Node>(
    seed: u64,
    nodes: usize,
    max_drift: f64,
    network: Network,
    fresh: impl FnMut(NodeId) -> N + 'static,
) -> Sim<N> {
    let mut sim = Sim::new(seed, nodes, fresh);
    let mut rng = sim.scenario_rng();
    set_clocks(&mut sim, &mut rng, max_drift);
    sim.set_network(network);
    sim.limit_trace(Some(5_000));
    sim
}

/// Ten seconds on the calm network, no crash: nobody is ever suspected
/// (and COMPLETE, with `bound`, has nothing to find).
pub fn quiet_run<N: Detector>(
    seed: u64,
    nodes: usize,
    max_drift: f64,
    bound: Duration,
) -> Result<(), Failure> {
    let mut sim = start::<N>(seed, nodes, max_drift, calm());
    let checks = Checks {
        complete: Some(bound),
        quiet: true,
        ..Checks::default()
    };
    watch(&mut sim, checks);
    run(&mut sim, |s| s.run_for(Duration::from_secs(10)))
}

/// Eight seconds of crashes and restarts on `network`, at most two nodes
/// down at once, a change every 0.3 to 1.5 s: every crash is suspected by
/// every live node within `detection`; on a network that loses nothing, a
/// restarted node (which beats within `interval` of its clock) is
/// unsuspected within that interval and the network's longest delay.
pub fn crash_run<N: Detector>(
    seed: u64,
    nodes: usize,
    max_drift: f64,
    network: Network,
    detection: Duration,
    interval: Duration,
) -> Result<(), Failure> {
    let restored = (network.loss == 0.0)
        .then(|| interval.mul_f64(1.0 / (1.0 - max_drift)) + max_delay(&network) + ms(1));
    let checks = Checks {
        complete: Some(detection),
        restored,
        quiet: false,
    };
    let mut sim = start::<N>(seed, nodes, max_drift, network);
    let mut rng = sim.scenario_rng();
    watch(&mut sim, checks);
    let end = sim.now() + Duration::from_secs(8);
    let mut down: Vec<NodeId> = Vec::new();
    while sim.now() < end {
        let pause = rng.duration(ms(300)..=ms(1_500));
        run(&mut sim, |s| s.run_for(pause))?;
        if !down.is_empty() && (down.len() == 2 || rng.chance(0.5)) {
            let back = down.remove(rng.below(down.len() as u64) as usize);
            run(&mut sim, |s| s.restart(back))?;
        } else {
            let up: Vec<NodeId> = sim.ids().filter(|&id| sim.is_up(id)).collect();
            let victim = up[rng.below(up.len() as u64) as usize];
            run(&mut sim, |s| s.crash(victim))?;
            down.push(victim);
        }
    }
    Ok(())
}
