//! The simulated scenarios of clocks_physical: a time server (n0) and
//! clients with skewed, drifting clocks, and the properties checked while
//! they run.

use super::{
    millis, ACCURATE, AT_ONCE, BOUND, EPOCH, GENTLE, MONOTONIC, ONCE, QUICK, SERVER, SLEWED_AWAY,
};
use crate::subject::clocks::physical::{Msg, TimeSync, POLL_INTERVAL, SLEW_PPM, STEP_THRESHOLD};
use dscheck::{ms, run, secs, Failure, Property};
use dsim::{Broken, Clock, Event, Network, Node, NodeId, Sim, SimRng, Time};
use std::time::Duration;

/// A node the suite can read the synchronised clock of: the learner's, or
/// a model.
pub trait Synced: Node {
    fn server() -> Self;
    fn client(server: NodeId) -> Self;
    fn reading(&self, local: Time) -> Time;
    /// Whether `msg` asks the server for the time.
    fn asks(msg: &Self::Msg) -> bool;
}

impl Synced for TimeSync {
    fn server() -> Self {
        TimeSync::server()
    }
    fn client(server: NodeId) -> Self {
        TimeSync::client(server)
    }
    fn reading(&self, local: Time) -> Time {
        self.clock.read(local)
    }
    fn asks(msg: &Msg) -> bool {
        matches!(msg, Msg::Request { .. })
    }
}

/// A server (n0) and one client per clock in `clients`.
fn system<N: Synced>(seed: u64, clients: &[Clock], network: Network) -> Sim<N> {
    let mut sim = Sim::new(seed, clients.len() + 1, |id| {
        if id == SERVER {
            N::server()
        } else {
            N::client(SERVER)
        }
    });
    sim.set_network(network);
    check_asks_at_once(&mut sim);
    sim.set_clock(
        SERVER,
        Clock {
            skew_nanos: EPOCH,
            drift_ppm: 0.0,
        },
    );
    for (i, clock) in clients.iter().enumerate() {
        sim.set_clock(
            NodeId(i + 1),
            Clock {
                skew_nanos: EPOCH + clock.skew_nanos,
                drift_ppm: clock.drift_ppm,
            },
        );
    }
    sim
}

/// Checks after every event that a client that starts (or restarts) asks
/// the server for the time in that same step.
fn check_asks_at_once<N: Synced>(sim: &mut Sim<N>) {
    sim.check(AT_ONCE, |_, step| {
        let entries = step.entries();
        for (i, entry) in entries.iter().enumerate() {
            let Event::Start { node } = &entry.event else {
                continue;
            };
            let asked = entries[i + 1..].iter().any(|e| {
                matches!(&e.event, Event::Send { from, to, msg, .. }
                    if from == node && *to == SERVER && N::asks(msg))
            });
            if *node != SERVER && !asked {
                let detail = format!("{node} started and sent the server no request");
                return Err(Broken::new(detail).nodes([*node]));
            }
        }
        Ok(())
    });
}

/// Client `id`'s synchronised clock now.
fn reading<N: Synced>(sim: &Sim<N>, id: NodeId) -> Option<Time> {
    sim.node(id).map(|n| n.reading(sim.local_time(id)))
}

/// How far client `id` is ahead of the server now.
fn error<N: Synced>(sim: &Sim<N>, id: NodeId) -> Option<i64> {
    reading(sim, id).map(|t| t.signed_nanos_since(sim.local_time(SERVER)))
}

fn clients<N: Node>(sim: &Sim<N>) -> impl Iterator<Item = NodeId> {
    sim.ids().filter(|&id| id != SERVER)
}

fn random_drift(rng: &mut SimRng) -> f64 {
    rng.range(0..=200) as f64 - 100.0
}

fn between(rng: &mut SimRng, lo: i64, hi: i64) -> i64 {
    lo + rng.range(0..=(hi - lo) as u64) as i64
}

/// Checks after every event that no client's synchronised clock goes back.
fn check_monotonic<N: Synced>(sim: &mut Sim<N>) {
    let mut last: Vec<Option<Time>> = vec![None; sim.len()];
    sim.check(MONOTONIC, move |sim, _| {
        for id in clients(sim) {
            let Some(now) = reading(sim, id) else {
                continue;
            };
            if let Some(before) = last[id.index()].filter(|&before| now < before) {
                let back = millis(now.signed_nanos_since(before));
                return Err(Broken::new(format!(
                    "{id}'s synchronised clock read {before} and then {now} ({back})"
                ))
                .nodes([id]));
            }
            last[id.index()] = Some(now);
        }
        Ok(())
    });
}

/// The first client off the server by more than `BOUND` now, if its
/// deadline (true time) has passed.
fn inaccurate<N: Synced>(sim: &Sim<N>, deadlines: &[Time]) -> Option<Broken> {
    clients(sim)
        .filter(|id| sim.now() >= deadlines[id.index()])
        .find_map(|id| {
            let e = error(sim, id).filter(|e| e.abs() > BOUND)?;
            let detail = format!(
                "at {} (true time), {id}'s synchronised clock is {} off the server's",
                sim.now(),
                millis(e)
            );
            Some(Broken::new(detail).nodes([id]))
        })
}

/// Runs for `duration`, checking that each client is within `BOUND` of the
/// server once true time passes its deadline: after every event, and every
/// 100 ms in between (a client that stops polling makes no events).
fn run_accurate<N: Synced>(
    sim: &mut Sim<N>,
    property: Property,
    deadlines: Vec<Time>,
    duration: Duration,
) -> Result<(), Failure> {
    let watched = deadlines.clone();
    sim.check(property, move |sim, _| {
        inaccurate(sim, &watched).map_or(Ok(()), Err)
    });
    let end = sim.now() + duration;
    while sim.now() < end {
        let slice = end.saturating_since(sim.now()).min(ms(100));
        run(sim, |s| s.run_for(slice))?;
        if let Some(broken) = inaccurate(sim, &deadlines) {
            return Err(Failure::after_run(sim, property, broken.detail));
        }
    }
    Ok(())
}

pub fn never_goes_back<N: Synced>(seed: u64) -> Result<(), Failure> {
    let mut rng = SimRng::new(seed);
    let clients: Vec<Clock> = (0..5)
        .map(|i| {
            let size = if rng.chance(0.5) {
                between(&mut rng, 0, 100_000_000)
            } else {
                between(&mut rng, 100_000_000, 10_000_000_000)
            };
            Clock {
                skew_nanos: if i % 2 == 0 { size } else { -size },
                drift_ppm: random_drift(&mut rng),
            }
        })
        .collect();
    let network = Network::reliable(ms(1), ms(20))
        .with_loss(0.15)
        .with_duplication(0.15)
        .with_long_delays(0.1, ms(500));
    let mut sim = system::<N>(seed, &clients, network);
    check_monotonic(&mut sim);
    run(&mut sim, |s| s.run_for(secs(30)))
}

pub fn bounded_error<N: Synced>(seed: u64) -> Result<(), Failure> {
    let mut rng = SimRng::new(seed);
    let skews = [
        -between(&mut rng, 500_000_000, 10_000_000_000),
        between(&mut rng, 500_000_000, 10_000_000_000),
        between(&mut rng, -10_000_000, 10_000_000),
        0,
    ];
    let mut clients: Vec<Clock> = skews
        .iter()
        .map(|&skew_nanos| Clock {
            skew_nanos,
            drift_ppm: random_drift(&mut rng),
        })
        .collect();
    // The last client drifts by 100 ppm, 10 ms every 100 s: it must keep polling.
    clients[3].drift_ppm = if rng.chance(0.5) { 100.0 } else { -100.0 };
    let network = Network::reliable(ms(1), ms(10))
        .with_loss(0.1)
        .with_duplication(0.1);
    let mut sim = system::<N>(seed, &clients, network);
    let warm_up = Time::ZERO + secs(60);
    run_accurate(
        &mut sim,
        ACCURATE,
        vec![warm_up; clients.len() + 1],
        secs(180),
    )
}

pub fn large_offset<N: Synced>(seed: u64) -> Result<(), Failure> {
    let mut rng = SimRng::new(seed);
    let behind = between(&mut rng, 1_000_000_000, 10_000_000_000);
    let ahead = between(&mut rng, 1_000_000_000, 5_000_000_000);
    let clients = [
        Clock {
            skew_nanos: -behind,
            drift_ppm: 0.0,
        },
        Clock {
            skew_nanos: ahead,
            drift_ppm: 0.0,
        },
    ];
    let mut sim = system::<N>(seed, &clients, Network::reliable(ms(1), ms(10)));
    // Behind: stepped at the first answer, which comes a round trip after
    // the start (AT_ONCE); half a poll is ample, and a client that misses
    // that answer (it forgot which request it awaits) is a poll late. Ahead:
    // at half speed, the gap closes in twice its size, but the last part,
    // once under the step threshold, may be slewed at SLEW_PPM. Allow a poll
    // and a half more.
    let grace = POLL_INTERVAL + ms(500);
    let tail = Duration::from_nanos(STEP_THRESHOLD.as_nanos() as u64 / SLEW_PPM * 1_000_000);
    let deadlines = vec![
        Time::ZERO,
        Time::ZERO + POLL_INTERVAL / 2,
        Time::from_nanos(2 * ahead as u64) + tail + grace,
    ];
    run_accurate(&mut sim, QUICK, deadlines, secs(10) + tail + secs(3))
}

pub fn small_offset<N: Synced>(seed: u64) -> Result<(), Failure> {
    let mut rng = SimRng::new(seed);
    let size = between(&mut rng, 30_000_000, 120_000_000);
    let skew = if rng.chance(0.5) { size } else { -size };
    let mut sim = system::<N>(
        seed,
        &[Clock {
            skew_nanos: skew,
            drift_ppm: 0.0,
        }],
        Network::reliable(ms(1), ms(10)),
    );
    let mut last: Option<(Time, Time)> = None;
    sim.check(GENTLE, move |sim, _| {
        let id = NodeId(1);
        let (Some(now), local) = (reading(sim, id), sim.local_time(id)) else { return Ok(()) };
        if let Some((was, was_local)) = last {
            let (moved, moved_local) = (now.signed_nanos_since(was), local.signed_nanos_since(was_local));
            let allowed = moved_local * SLEW_PPM as i64 / 1_000_000 + 1_000;
            if (moved - moved_local).abs() > allowed {
                return Err(Broken::new(format!(
                    "{id} started {} off; its synchronised clock moved {} while its hardware clock moved {}",
                    millis(skew), millis(moved), millis(moved_local)
                ))
                .nodes([id]));
            }
        }
        last = Some((now, local));
        Ok(())
    });
    // At SLEW_PPM, the offset is gone after |skew| / SLEW_PPM; allow 10% more.
    let done = Time::from_nanos(size as u64 / SLEW_PPM * 1_100_000);
    let duration = Duration::from_nanos(done.as_nanos()) + secs(10);
    run_accurate(&mut sim, SLEWED_AWAY, vec![done; 2], duration)
}

pub fn duplicates<N: Synced>(seed: u64) -> Result<(), Failure> {
    let mut rng = SimRng::new(seed);
    let behind = between(&mut rng, 1_000_000_000, 10_000_000_000);
    // Every message arrives twice: the second copy of the first answer comes
    // after the clock was stepped.
    let network = Network::reliable(ms(1), ms(10)).with_duplication(1.0);
    let mut sim = system::<N>(
        seed,
        &[Clock {
            skew_nanos: -behind,
            drift_ppm: 0.0,
        }],
        network,
    );
    run_accurate(
        &mut sim,
        ONCE,
        vec![Time::ZERO + POLL_INTERVAL + ms(500); 2],
        secs(5),
    )
}
