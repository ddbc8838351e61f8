//! coord_lease: at most one node believes it holds the lease at any true
//! instant, and only while a majority of grantors still keep their promise
//! to it; a lease is acquired on a calm network, kept by renewal, and taken
//! over after the holder crashes.
//!
//! Every node's clock is skewed and drifts at the bound (±MAX_DRIFT), and
//! the safety properties are checked after every event against true time:
//! each node is asked `holds_lease` with its own clock's reading at that
//! true instant. Holding begins only at an event (a grant arriving) and
//! ends with time, so two holders at any true instant would be two holders
//! at the event just before it.

use crate::subject::coord::lease::{Lease, Msg, Promise, LEASE, MARGIN, MAX_DRIFT};
use dscheck::{ms, run, Failure, Property, Suite};
use dsim::{Broken, Clock, Event, Network, Node, NodeId, Sim, SimRng, Time};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// Nodes per run.
const NODES: usize = 5;
/// How long after the start some node must hold the lease on a calm network.
const ACQUIRE: Duration = Duration::from_millis(3_000);

/// A node of the exercise: the reference, the learner's, or one from `bugs/`.
pub trait Leasing: Node<Msg = Msg, Request = (), Reply = ()> {
    fn fresh() -> Self;
    fn holds(&self, now: Time) -> bool;
    fn promised(&self) -> Option<Promise>;
    fn quiet(&self, now: Time) -> bool;
}

macro_rules! leasing {
    ($($node:ty),* $(,)?) => {$(
        impl Leasing for $node {
            fn fresh() -> Self {
                <$node>::new()
            }
            fn holds(&self, now: Time) -> bool {
                self.holds_lease(now)
            }
            fn promised(&self) -> Option<Promise> {
                self.promise
            }
            fn quiet(&self, now: Time) -> bool {
                self.quiet_until.is_some_and(|q| now < q)
            }
        }
    )*};
}

leasing!(Lease);
#[cfg(bugs)]
leasing!(
    crate::bugs::counts_from_arrival::lease::Lease,
    crate::bugs::ignores_drift::lease::Lease,
    crate::bugs::grants_over_a_promise::lease::Lease,
);

pub const ONE_HOLDER: Property = Property {
    name: "at no true instant do two nodes both believe they hold the lease",
    hint: "a grantor refuses while its unexpired promise names another node, and a candidate \
           needs a majority of grants: two majorities share a grantor",
    when: &[],
};
pub const PROMISED: Property = Property {
    name: "a node believes it holds the lease only while a majority of the nodes still keep \
           their promise to it (by their own clocks)",
    hint: "count the lease from when the request was SENT, not from when the grants arrived, \
           and end it at sent + LEASE × (1 − MAX_DRIFT) by your clock; a grantor keeps its \
           promise for LEASE × (1 + MAX_DRIFT) + MARGIN by its clock, granting no other node \
           meanwhile",
    when: &[],
};
pub const ACQUIRED: Property = Property {
    name: "on a calm network with no crash, some node holds the lease within 3 s",
    hint: "a node with no live promise to another asks every peer for the lease (after a \
           random backoff) and holds it once a majority, itself included, granted",
    when: &[],
};
pub const KEPT: Property = Property {
    name: "on a calm network with no crash, a holder keeps the lease by renewing it",
    hint: "a holder asks again once half its lease is gone; a grantor grants again to the node \
           its promise already names, and the renewed lease counts from the new request's sent",
    when: &[],
};
pub const FRUGAL: Property = Property {
    name: "on a calm network, a holder renews at most once every quarter of a lease",
    hint: "a holder asks again only once half its lease is gone (lease_until - now <= \
           held_length() / 2), not at every tick",
    when: &[],
};
pub const TAKEN_OVER: Property = Property {
    name: "after the holder crashes, another node holds the lease within LEASE × (1 + \
           MAX_DRIFT) / (1 − MAX_DRIFT) + MARGIN + 1.2 s (one lost race and a backoff)",
    hint: "once its promise to the crashed holder has expired by its clock, a node asks for the \
           lease itself, and asks again every RETRY until a majority grants; a candidate that gives \
           up releases the promises made for its request",
    when: &[],
};

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

const NONE: Faults = Faults {
    lossy: false,
    slow: false,
    promised: true,
    partitions: false,
    crashes: false,
};
const LOSSY: Faults = Faults {
    lossy: true,
    ..NONE
};
const SLOW: Faults = Faults { slow: true, ..NONE };
const SLOW_CUT: Faults = Faults {
    slow: true,
    partitions: true,
    ..NONE
};
const PARTITIONS: Faults = Faults {
    partitions: true,
    ..NONE
};
const CRASHES: Faults = Faults {
    crashes: true,
    ..NONE
};
const ALL: Faults = Faults {
    lossy: true,
    partitions: true,
    crashes: true,
    ..NONE
};

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded("lease::one_holder_on_a_lossy_network", 4, |seed| {
            faulty::<Lease>(seed, LOSSY)
        })
        .seeded("lease::one_holder_on_a_slow_network", 4, |seed| {
            faulty::<Lease>(seed, SLOW)
        })
        .seeded(
            "lease::one_holder_when_the_holder_is_cut_off_on_a_slow_network",
            4,
            |seed| faulty::<Lease>(seed, SLOW_CUT),
        )
        .seeded("lease::one_holder_when_the_holder_is_cut_off", 4, |seed| {
            faulty::<Lease>(seed, PARTITIONS)
        })
        .seeded("lease::one_holder_across_crashes", 4, |seed| {
            faulty::<Lease>(seed, CRASHES)
        })
        .seeded("lease::one_holder_under_every_fault", 4, |seed| {
            faulty::<Lease>(seed, ALL)
        })
        .seeded(
            "lease::a_slow_holder_cut_off_among_fast_grantors",
            4,
            |seed| worst_clocks::<Lease>(seed, ms(1)),
        )
        .seeded(
            "lease::a_slow_holder_cut_off_among_fast_grantors_on_a_slow_network",
            4,
            |seed| worst_clocks::<Lease>(seed, ms(75)),
        )
        .seeded(
            "lease::acquired_and_kept_on_a_calm_network",
            4,
            calm::<Lease>,
        )
        .seeded("lease::a_group_of_one_takes_the_lease", 2, alone::<Lease>)
        .seeded(
            "lease::taken_over_after_the_holder_crashes",
            8,
            takeover::<Lease>,
        )
}

/// The checks, run on the reference with one bug each (`bugs/`).
#[cfg(bugs)]
pub fn meta(suite: Suite) -> Suite {
    use crate::bugs::counts_from_arrival::lease::Lease as FromArrival;
    use crate::bugs::grants_over_a_promise::lease::Lease as OverPromise;
    use crate::bugs::ignores_drift::lease::Lease as IgnoresDrift;
    use dscheck::expect_caught;
    suite
        .test(
            "meta::a_lease_counted_from_the_grants_arrival_is_caught",
            || {
                expect_caught(PROMISED, 10, |seed| {
                    worst_clocks::<FromArrival>(seed, ms(75))
                })
            },
        )
        .test("meta::a_holder_that_ignores_drift_is_caught", || {
            expect_caught(PROMISED, 10, |seed| {
                worst_clocks::<IgnoresDrift>(seed, ms(1))
            })
        })
        .test(
            "meta::a_grantor_that_grants_over_a_live_promise_is_caught",
            || expect_caught(PROMISED, 10, |seed| faulty::<OverPromise>(seed, LOSSY)),
        )
        .test("meta::two_holders_at_once_are_caught", || {
            let alone = Faults {
                promised: false,
                ..LOSSY
            };
            expect_caught(ONE_HOLDER, 10, |seed| faulty::<OverPromise>(seed, alone))
        })
}

/// The nodes that believe they hold the lease now, by their own clocks.
fn holders<N: Leasing>(sim: &Sim<N>) -> Vec<NodeId> {
    sim.ids()
        .filter(|&id| sim.node(id).is_some_and(|n| n.holds(sim.local_time(id))))
        .collect()
}

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

/// Registers PROMISED and ONE_HOLDER, checked after every event. PROMISED
/// comes first: when both break at one event (a node completing its
/// majority with grants whose grantors have since promised the lease to
/// the node that already holds it), the broken promise is the cause.
pub fn watch<N: Leasing>(sim: &mut Sim<N>, promised: bool) {
    if promised {
        sim.check(PROMISED, |sim, _| {
            let majority = sim.len() / 2 + 1;
            for h in holders(sim) {
                // A grantor that is down, or sitting out after a restart,
                // grants nobody: it keeps every promise it gave.
                let keeping: Vec<NodeId> = sim
                    .ids()
                    .filter(|&g| {
                        let local = sim.local_time(g);
                        sim.node(g).is_none_or(|n| {
                            n.quiet(local)
                                || n.promised()
                                    .is_some_and(|p| p.holder == h && local < p.until)
                        })
                    })
                    .collect();
                if keeping.len() < majority {
                    return Err(Broken::new(format!(
                        "at {} (true time) {h} believes it holds the lease, but only {} of the {} \
                         nodes still keep a promise to it ({:?}): the others may grant it to \
                         someone else",
                        sim.now(),
                        keeping.len(),
                        sim.len(),
                        keeping
                    ))
                    .nodes([h]));
                }
            }
            Ok(())
        });
    }
    sim.check(ONE_HOLDER, |sim, _| {
        let now = holders(sim);
        if now.len() > 1 {
            return Err(Broken::new(format!(
                "at {} (true time) {} all believe they hold the lease",
                sim.now(),
                now.iter()
                    .map(|id| id.to_string())
                    .collect::<Vec<_>>()
                    .join(" and ")
            ))
            .nodes(now));
        }
        Ok(())
    });
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
