//! The runs: Kleppmann's paused holder, seconds of pauses and crashes,
//! lock service restarts, a crashed holder taken over, clients taking
//! turns, and a lone client whose writes must all be applied.

use super::watch::{grants, release_of, watch, Grant};
use super::{Fenced, ACCEPTED, RELEASED, RESUMED, STALE_SENT, TAKEN_OVER, TURNS};
use crate::subject::coord::fencing::{Msg, BACKOFF, LEASE, LOCK, STORAGE, TICK};
use dscheck::{ms, run, Failure};
use dsim::{Broken, Clock, Event, Network, Node, NodeId, Sim, SimRng, Time};
use std::time::Duration;

/// Nodes per run: the lock service, storage and three clients.
const NODES: usize = 5;
/// The clocks' drift in the runs that skew them (5%).
const DRIFT_PPM: f64 = 50_000.0;
/// How long the scenario pauses a holder: three leases.
const PAUSE: Duration = Duration::from_millis(900);
/// How long after the start a client must hold the lock on a calm network.
const ACQUIRE: Duration = Duration::from_millis(2_000);

/// Every clock skewed by up to ±50 ms and drifting by up to 5%.
fn set_clocks<N: Node>(sim: &mut Sim<N>, rng: &mut SimRng) {
    for id in sim.ids().collect::<Vec<_>>() {
        let clock = Clock {
            skew_nanos: rng.range(0..=100_000_000) as i64 - 50_000_000,
            drift_ppm: (rng.unit() * 2.0 - 1.0) * DRIFT_PPM,
        };
        sim.set_clock(id, clock);
    }
}

/// A run with the checks on, its clocks skewed and drifting, on a calm
/// network (1–10 ms).
fn start<N: Fenced>(seed: u64) -> (Sim<N>, SimRng) {
    let mut sim = Sim::new(seed, NODES, |_| N::fresh());
    let mut rng = sim.scenario_rng();
    set_clocks(&mut sim, &mut rng);
    sim.set_network(Network::reliable(ms(1), ms(10)));
    watch(&mut sim);
    (sim, rng)
}

/// The clients.
fn clients() -> impl Iterator<Item = NodeId> {
    (2..NODES).map(NodeId)
}

/// Steps `sim` until `found` gives something, for at most `limit`.
fn step_until<N: Fenced, T>(
    sim: &mut Sim<N>,
    limit: Duration,
    mut found: impl FnMut(&Sim<N>) -> Option<T>,
) -> Result<Option<T>, Failure> {
    let end = sim.now() + limit;
    while sim.now() < end {
        if let Some(t) = found(sim) {
            return Ok(Some(t));
        }
        if !run(sim, |s| s.step())? {
            break;
        }
    }
    Ok(None)
}

/// The lock service's last grant in the trace since event `since`.
fn last_grant<N: Fenced>(sim: &Sim<N>, since: u64) -> Option<Grant> {
    grants(sim.trace().entries().filter(|e| e.index >= since)).pop()
}

/// The next trace index.
fn next_index<N: Fenced>(sim: &Sim<N>) -> u64 {
    sim.trace().total()
}

/// Kleppmann's scenario: after a random while, a client holds the lock and is preparing a write
/// when it pauses for three leases (a long garbage collection). Its lease
/// runs out, another client takes the lock and writes; the paused client
/// wakes and sends its write with its old token, which storage must reject.
pub fn paused_holder<N: Fenced>(seed: u64) -> Result<(), Failure> {
    let (mut sim, mut rng) = start::<N>(seed);
    let before = rng.duration(ms(0)..=LEASE * 2);
    run(&mut sim, |s| s.run_for(before))?;
    let writing = step_until(&mut sim, ACQUIRE, |sim| {
        clients().find_map(|c| sim.node(c)?.pending().map(|w| (c, w)))
    })?;
    let Some((paused, old)) = writing else {
        return Err(Failure::after_run(
            &sim,
            TAKEN_OVER,
            "no client held the lock and started a write within 2 s",
        ));
    };
    run(&mut sim, |s| s.pause(paused, PAUSE))?;
    let paused_at = next_index(&sim);
    run(&mut sim, |s| s.run_for(PAUSE + ms(500)))?;
    let trace: Vec<&dsim::Entry<N>> = sim
        .trace()
        .entries()
        .filter(|e| e.index >= paused_at)
        .collect();
    let resumed = trace
        .iter()
        .position(|e| matches!(e.event, Event::Resume { node } if node == paused));
    let resumed = resumed.expect("the pause ends within the run");
    let newer = grants(trace[..resumed].iter().copied())
        .into_iter()
        .find(|g| g.client != paused && g.token > old.token);
    let overtaken = newer.is_some_and(|_| {
        let store = sim.node(STORAGE).expect("storage does not crash here");
        store.applied().iter().any(|w| w.token > old.token)
    });
    if !overtaken {
        return Err(Failure::after_run(
            &sim,
            TAKEN_OVER,
            format!(
                "{paused} held the lock with token {} and paused for {} ms, and no other client \
                 got a newer token and had a write applied",
                old.token,
                PAUSE.as_millis()
            ),
        ));
    }
    let stale_sent = trace[resumed..].iter().any(|e| {
        matches!(&e.event, Event::Send { from, msg: Msg::Write(w), .. }
            if *from == paused && *w == old)
    });
    if !stale_sent {
        return Err(Failure::after_run(
            &sim,
            STALE_SENT,
            format!(
                "{paused} was preparing write #{} with token {} when it paused, and did not \
                 send it when it woke",
                old.seq, old.token
            ),
        ));
    }
    Ok(())
}

/// Six seconds of faults drawn from the seed, every 50 to 400 ms: a client
/// paused for up to two leases, a client crashed (then restarted), the lock
/// service crashed and restarted; on a calm network, or one that loses,
/// duplicates and delays.
pub fn faulty<N: Fenced>(seed: u64, lossy: bool) -> Result<(), Failure> {
    let (mut sim, mut rng) = start::<N>(seed);
    if lossy {
        let network = Network::reliable(ms(1), ms(10))
            .with_loss(0.05 + 0.15 * rng.unit())
            .with_duplication(0.1)
            .with_long_delays(0.1, ms(200));
        sim.set_network(network);
    }
    let end = sim.now() + Duration::from_secs(6);
    let mut down: Option<NodeId> = None;
    while sim.now() < end {
        let wait = rng.duration(ms(50)..=ms(400));
        run(&mut sim, |s| s.run_for(wait))?;
        let client = NodeId(2 + rng.below(NODES as u64 - 2) as usize);
        if let Some(back) = down.take() {
            run(&mut sim, |s| s.restart(back))?;
        } else if rng.chance(0.5) {
            let pause = rng.duration(ms(50)..=LEASE * 2);
            run(&mut sim, |s| s.pause(client, pause))?;
        } else if rng.chance(0.5) {
            run(&mut sim, |s| s.crash(client))?;
            down = Some(client);
        } else {
            run(&mut sim, |s| s.crash(LOCK))?;
            down = Some(LOCK);
        }
    }
    Ok(())
}

/// The lock service crashes four times, each time just after a grant or a
/// random moment of a lease later, and comes back within 100 ms: some
/// client must hold the lock within 2 × LEASE of each restart.
pub fn lock_restarts<N: Fenced>(seed: u64) -> Result<(), Failure> {
    let (mut sim, mut rng) = start::<N>(seed);
    let mut since = 0;
    for round in 0..=4 {
        let limit = if round == 0 { ACQUIRE } else { LEASE * 2 };
        if step_until(&mut sim, limit, |sim| last_grant(sim, since))?.is_none() {
            let property = if round == 0 { TAKEN_OVER } else { RESUMED };
            return Err(Failure::after_run(
                &sim,
                property,
                format!(
                    "no client was granted the lock within {} ms{}",
                    limit.as_millis(),
                    if round == 0 {
                        " of the start"
                    } else {
                        " of the lock service's restart"
                    }
                ),
            ));
        }
        if round == 4 {
            break;
        }
        if rng.chance(0.5) {
            let wait = rng.duration(ms(0)..=LEASE);
            run(&mut sim, |s| s.run_for(wait))?;
        }
        run(&mut sim, |s| s.crash(LOCK))?;
        let down = rng.duration(ms(0)..=ms(100));
        run(&mut sim, |s| s.run_for(down))?;
        run(&mut sim, |s| s.restart(LOCK))?;
        since = next_index(&sim);
    }
    Ok(())
}

/// Once a client holds the lock, at a random moment of its lease the
/// client of the last grant crashes; another client must be granted the
/// lock within 2 × LEASE.
pub fn takeover<N: Fenced>(seed: u64) -> Result<(), Failure> {
    let (mut sim, mut rng) = start::<N>(seed);
    if step_until(&mut sim, ACQUIRE, |sim| last_grant(sim, 0))?.is_none() {
        return Err(Failure::after_run(
            &sim,
            TAKEN_OVER,
            "no client was granted the lock within 2 s of the start",
        ));
    }
    let wait = rng.duration(ms(0)..=LEASE);
    run(&mut sim, |s| s.run_for(wait))?;
    let holder = last_grant(&sim, 0).expect("granted").client;
    run(&mut sim, |s| s.crash(holder))?;
    let crashed = sim.now();
    let since = next_index(&sim);
    let other = |sim: &Sim<N>| {
        let since_crash = sim.trace().entries().filter(|e| e.index >= since);
        grants(since_crash).into_iter().find(|g| g.client != holder)
    };
    if step_until(&mut sim, LEASE * 2, other)?.is_none() {
        return Err(Failure::after_run(
            &sim,
            TAKEN_OVER,
            format!(
                "{holder} crashed at {crashed} (true time) and no other client was granted the \
                 lock by {}",
                sim.now()
            ),
        ));
    }
    Ok(())
}

/// A calm network and clocks that keep true time, for 4 s: a lock released
/// by its holder is granted again within 120 ms (a client asks every TICK,
/// or after at most BACKOFF once it has released), and every client has
/// writes applied.
pub fn turns<N: Fenced>(seed: u64) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, NODES, |_| N::fresh());
    sim.set_network(Network::reliable(ms(1), ms(10)));
    watch(&mut sim);
    let within = ms(120);
    debug_assert!(BACKOFF + TICK + ms(2 * 10) < within);
    let mut current: Option<Grant> = None;
    let mut released: Option<(Time, u64)> = None;
    sim.check(RELEASED, move |sim, step| {
        if let Some(e) = current.and_then(|g| release_of(step, g)) {
            released = Some((e.at, e.index));
        }
        if let Some(g) = grants(step).pop() {
            current = Some(g);
            released = None;
        }
        match released {
            Some((at, event)) if sim.now() > at + within => Err(Broken::new(format!(
                "the holder's release reached the lock service at {at} and no client was \
                 granted the lock by {}",
                sim.now()
            ))
            .nodes([LOCK])
            .events([event])),
            _ => Ok(()),
        }
    });
    run(&mut sim, |s| s.run_for(Duration::from_secs(4)))?;
    let store = sim.node(STORAGE).expect("storage does not crash here");
    if let Some(idle) = clients().find(|&c| store.applied().iter().all(|w| w.client != c)) {
        return Err(Failure::after_run(
            &sim,
            TURNS,
            format!("in 4 s, storage applied no write of {idle}"),
        ));
    }
    Ok(())
}

/// One client alone with the lock service and storage, on a calm network,
/// for 3 s: it holds the lock, writes up to MAX_WRITES times under each
/// token, renews and releases; its writes are 25 ms apart and never
/// overtake each other, so storage must apply every one it receives.
pub fn lone_client<N: Fenced>(seed: u64) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, 3, |_| N::fresh());
    sim.set_network(Network::reliable(ms(1), ms(10)));
    watch(&mut sim);
    run(&mut sim, |s| s.run_for(Duration::from_secs(3)))?;
    let received = sim
        .trace()
        .entries()
        .filter(|e| {
            matches!(
                e.event,
                Event::Deliver {
                    to: STORAGE,
                    msg: Msg::Write(_),
                    ..
                }
            )
        })
        .count();
    let store = sim.node(STORAGE).expect("storage does not crash here");
    let applied = store.applied().len();
    let same_token = store.applied().windows(2).any(|w| w[0].token == w[1].token);
    if applied < received || !same_token {
        return Err(Failure::after_run(
            &sim,
            ACCEPTED,
            format!(
                "storage received {received} writes from the one client and applied {applied}{}",
                if same_token {
                    ""
                } else {
                    ", never two under the same token"
                }
            ),
        ));
    }
    Ok(())
}
