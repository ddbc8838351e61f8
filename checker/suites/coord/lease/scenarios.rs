//! The runs: seconds of faults drawn from the seed, a lone node, a calm
//! network where the lease is kept frugally, a holder's crash taken over,
//! and clocks drifting at the bound in the worst directions.

use super::watch::{holders, watch};
use super::{Leasing, ACQUIRED, FRUGAL, KEPT, TAKEN_OVER};
use crate::subject::coord::lease::{Msg, LEASE, MARGIN, MAX_DRIFT};
use dscheck::{ms, run, Failure};
use dsim::{Broken, Clock, Event, Network, Node, NodeId, Sim, SimRng, Time};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// Nodes per run.
const NODES: usize = 5;
/// How long after the start some node must hold the lease on a calm network.
const ACQUIRE: Duration = Duration::from_millis(3_000);

/// The longest takeover after a crash, in true time: the grantors'
/// promises run out (their clocks may run slow), then one race of two
/// candidates may split the grants and both wait once more.
fn takeover_bound() -> Duration {
    LEASE.mul_f64((1.0 + MAX_DRIFT) / (1.0 - MAX_DRIFT)) + MARGIN + ms(1_200)
}

/// What a run does.
#[derive(Clone, Copy, Debug)]
pub struct Faults {
    /// Loss, duplication and some long delays.
    pub lossy: bool,
    /// Every message takes 5 to 150 ms.
    pub slow: bool,
    /// Watch PROMISED too (a meta test turns it off to see ONE_HOLDER catch
    /// what PROMISED would catch first).
    pub promised: bool,
    pub partitions: bool,
    pub crashes: bool,
}

pub(super) const NONE: Faults = Faults {
    lossy: false,
    slow: false,
    promised: true,
    partitions: false,
    crashes: false,
};
pub(super) const LOSSY: Faults = Faults {
    lossy: true,
    ..NONE
};
pub(super) const SLOW: Faults = Faults { slow: true, ..NONE };
pub(super) const SLOW_CUT: Faults = Faults {
    slow: true,
    partitions: true,
    ..NONE
};
pub(super) const PARTITIONS: Faults = Faults {
    partitions: true,
    ..NONE
};
pub(super) const CRASHES: Faults = Faults {
    crashes: true,
    ..NONE
};
pub(super) const ALL: Faults = Faults {
    lossy: true,
    partitions: true,
    crashes: true,
    ..NONE
};

/// Every clock skewed by up to ±50 ms and drifting at the bound, fast or slow.
fn set_clocks<N: Node>(sim: &mut Sim<N>, rng: &mut SimRng) {
    for id in sim.ids().collect::<Vec<_>>() {
        let sign = if rng.chance(0.5) { 1.0 } else { -1.0 };
        let clock = Clock {
            skew_nanos: rng.range(0..=100_000_000) as i64 - 50_000_000,
            // Just inside the bound, so that rounding cannot cross it.
            drift_ppm: sign * MAX_DRIFT * 1e6 * 0.999,
        };
        sim.set_clock(id, clock);
    }
}

/// The network of a run: calm, slow, or lossy with duplicates and long delays.
fn network(faults: Faults, rng: &mut SimRng) -> Network {
    let calm = Network::reliable(ms(1), ms(10));
    if faults.slow {
        Network::reliable(ms(5), ms(150))
    } else if faults.lossy {
        calm.with_loss(0.05 + 0.15 * rng.unit())
            .with_duplication(0.1)
            .with_long_delays(0.1, ms(150))
    } else {
        calm
    }
}

/// Six seconds of faults drawn from the seed, every 100 to 600 ms: the
/// holder cut off from everyone (then healed), the holder or another node
/// crashed (then restarted), on a network that may lose, duplicate and delay.
pub fn faulty<N: Leasing>(seed: u64, faults: Faults) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, NODES, |_| N::fresh());
    let mut rng = sim.scenario_rng();
    set_clocks(&mut sim, &mut rng);
    sim.set_network(network(faults, &mut rng));
    watch(&mut sim, faults.promised);
    let end = sim.now() + Duration::from_secs(6);
    let mut cut = false;
    let mut down: Vec<NodeId> = Vec::new();
    while sim.now() < end {
        let pause = rng.duration(ms(100)..=ms(600));
        run(&mut sim, |s| s.run_for(pause))?;
        let holder = holders(&sim).first().copied();
        if faults.partitions && rng.chance(0.4) {
            if cut {
                run(&mut sim, |s| s.heal())?;
                cut = false;
            } else if let Some(h) = holder {
                let rest: Vec<NodeId> = sim.ids().filter(|&id| id != h).collect();
                run(&mut sim, |s| s.partition(&[&[h], &rest]))?;
                cut = true;
            }
        }
        if faults.crashes && rng.chance(0.4) {
            if let Some(back) = down.pop() {
                run(&mut sim, |s| s.restart(back))?;
            } else {
                let victim = holder.unwrap_or(NodeId(rng.below(NODES as u64) as usize));
                run(&mut sim, |s| s.crash(victim))?;
                down.push(victim);
            }
        }
    }
    Ok(())
}

/// A calm network, no crash: some node holds the lease within [`ACQUIRE`],
/// and from then on the same node holds it at every event for 6 s.
/// A group of one node: its own grant is a majority, so it takes the lease
/// as soon as it asks, with no one to hear from.
pub fn alone<N: Leasing>(seed: u64) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, 1, |_| N::fresh());
    watch(&mut sim, true);
    match first_holder(&mut sim, ACQUIRE, |_| true)? {
        Some(_) => Ok(()),
        None => Err(Failure::after_run(
            &sim,
            ACQUIRED,
            "a group of one node: it did not hold the lease within 3 s",
        )),
    }
}

pub fn calm<N: Leasing>(seed: u64) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, NODES, |_| N::fresh());
    let mut rng = sim.scenario_rng();
    set_clocks(&mut sim, &mut rng);
    sim.set_network(network(NONE, &mut rng));
    watch(&mut sim, true);
    let first = first_holder(&mut sim, ACQUIRE, |_| true)?
        .ok_or_else(|| Failure::after_run(&sim, ACQUIRED, "no node held the lease within 3 s"))?;
    let kept: Rc<RefCell<Option<Time>>> = Rc::new(RefCell::new(None));
    let lost = kept.clone();
    sim.check(KEPT, move |sim, _| {
        let holds = sim
            .node(first)
            .is_some_and(|n| n.holds(sim.local_time(first)));
        if !holds && lost.borrow().is_none() {
            *lost.borrow_mut() = Some(sim.now());
            return Err(Broken::new(format!(
                "{first} held the lease and, at {} (true time), no longer does, though the \
                 network is calm and nothing crashed",
                sim.now()
            ))
            .nodes([first]));
        }
        Ok(())
    });
    let requests = Rc::new(RefCell::new(0u64));
    let counted = requests.clone();
    sim.check(FRUGAL, move |_, step| {
        for e in step.iter() {
            if let Event::Send {
                from,
                msg: Msg::Request { .. },
                ..
            } = &e.event
            {
                if *from == first {
                    *counted.borrow_mut() += 1;
                }
            }
        }
        Ok(())
    });
    let watched = Duration::from_secs(6);
    run(&mut sim, |s| s.run_for(watched))?;
    let rounds = *requests.borrow() / (NODES as u64 - 1);
    let most = (watched.as_millis() / (LEASE / 4).as_millis()) as u64;
    if rounds > most {
        return Err(Failure::after_run(
            &sim,
            FRUGAL,
            format!("{first} asked its peers {rounds} times in 6 s, more than {most}"),
        ));
    }
    Ok(())
}

/// Runs `sim` until a node for which `counts` holds holds the lease, for at
/// most `limit`; that node.
fn first_holder<N: Leasing>(
    sim: &mut Sim<N>,
    limit: Duration,
    counts: impl Fn(NodeId) -> bool,
) -> Result<Option<NodeId>, Failure> {
    let end = sim.now() + limit;
    while sim.now() < end {
        if let Some(&h) = holders(sim).iter().find(|&&h| counts(h)) {
            return Ok(Some(h));
        }
        if !run(sim, |s| s.step())? {
            break;
        }
    }
    Ok(None)
}

/// A calm network: once a node holds the lease, it crashes at a random
/// moment of its lease, and another node must hold it within
/// [`takeover_bound`] of the crash (true time).
pub fn takeover<N: Leasing>(seed: u64) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, NODES, |_| N::fresh());
    let mut rng = sim.scenario_rng();
    set_clocks(&mut sim, &mut rng);
    sim.set_network(network(NONE, &mut rng));
    watch(&mut sim, true);
    let Some(old) = first_holder(&mut sim, ACQUIRE, |_| true)? else {
        return Err(Failure::after_run(
            &sim,
            ACQUIRED,
            "no node held the lease within 3 s",
        ));
    };
    let wait = rng.duration(ms(0)..=LEASE);
    run(&mut sim, |s| s.run_for(wait))?;
    run(&mut sim, |s| s.crash(old))?;
    let crashed = sim.now();
    if first_holder(&mut sim, takeover_bound(), |h| h != old)?.is_none() {
        return Err(Failure::after_run(
            &sim,
            TAKEN_OVER,
            format!(
                "{old} crashed at {crashed} (true time) and no other node held the lease by {}",
                sim.now()
            ),
        ));
    }
    Ok(())
}

/// The worst clocks: once a node acquires the lease, its clock turns slow
/// and every grantor's fast, at the bound (a clock's rate may change, with
/// temperature say, as long as it stays within MAX_DRIFT; no reading
/// jumps), on a network that delivers every message in `delay`; the holder
/// is cut off at that moment, so that it renews no more and its lease and
/// the grantors' promises end as close together as the rules allow.
///
/// With a 1 ms delay a lease kept for LEASE by the slow holder's clock
/// outlives the promises by some 40 ms of true time; with a 75 ms delay a
/// lease counted from the grants' arrival outlives them by some 60 ms (the
/// grants' way back): both longer than a tick, so an event falls in between.
pub fn worst_clocks<N: Leasing>(seed: u64, delay: Duration) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, NODES, |_| N::fresh());
    let mut rng = sim.scenario_rng();
    set_clocks(&mut sim, &mut rng);
    sim.set_network(Network::reliable(delay, delay));
    watch(&mut sim, true);
    let Some(h) = first_holder(&mut sim, ACQUIRE, |_| true)? else {
        return Err(Failure::after_run(
            &sim,
            ACQUIRED,
            "no node held the lease within 3 s",
        ));
    };
    for id in sim.ids().collect::<Vec<_>>() {
        let sign = if id == h { -1.0 } else { 1.0 };
        set_rate(&mut sim, id, sign * MAX_DRIFT * 1e6 * 0.999);
    }
    sim.note(format!(
        "{h}'s clock runs slow from now on, every other clock fast, at the drift bound"
    ));
    let rest: Vec<NodeId> = sim.ids().filter(|&id| id != h).collect();
    run(&mut sim, |s| s.partition(&[&[h], &rest]))?;
    run(&mut sim, |s| s.run_for(ms(1_500)))?;
    Ok(())
}

/// Node `id`'s clock drifts at `drift_ppm` from now on, reading what it
/// reads now.
fn set_rate<N: Node>(sim: &mut Sim<N>, id: NodeId, drift_ppm: f64) {
    let now = sim.now().0 as i64;
    let reading = sim.local_time(id).0 as i64;
    let drift = (now as f64 * drift_ppm * 1e-6) as i64;
    sim.set_clock(
        id,
        Clock {
            skew_nanos: reading - now - drift,
            drift_ppm,
        },
    );
    debug_assert_eq!(sim.local_time(id).0 as i64, reading);
}
