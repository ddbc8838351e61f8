//! replication_log_shipping: followers copy the leader's log in order,
//! acknowledge only what they applied and stored, and catch up once the
//! network lets them, whatever the network and the crashes did before.
//!
//! Every run checks the safety properties of `watch.rs` after every step;
//! the runs differ in the faults they bring: loss, duplication and
//! reordering, partitions between the leader and some followers, follower
//! crashes and restarts, skewed and drifting clocks. Two runs on a calm and
//! a lossy network measure the replication lag (metrics), and the calm one
//! bounds it and the messages each write costs.

use super::watch::{watch, Lag, Shipping, CONVERGED, POSITION, PREFIX};
use crate::subject::replication::log_shipping::{
    LogShipping, Msg, Request, LEADER, RETRANSMIT_AFTER,
};
use dscheck::{ms, run, Failure, Property, Suite};
use dsim::{Broken, Clock, Network, Node, NodeId, Sim, SimRng};
use std::time::Duration;

/// Nodes per run: the leader and four followers.
const NODES: usize = 5;
/// How long a run goes on after the last write and the last fault.
const SETTLE: Duration = Duration::from_millis(1_500);

const IDLE: Property = Property {
    name: "once every follower has the whole log and no write comes, the leader sends nothing",
    hint: "when a follower's next_index is past the leader's last entry, send it nothing: clear \
           in_flight and cancel its retransmission timer",
    when: &[],
};
const ONCE: Property = Property {
    name: "on a network that loses nothing and delivers within 10 ms, the leader sends each \
           entry to each follower once",
    hint: "send from next_index, the first entry the follower has not acknowledged (applied + \
           1), and ship again only on an acknowledgement that moves next_index forward: a \
           duplicated acknowledgement shows no progress and must not trigger a batch",
    when: &[],
};
const CALM_LAG: Property = Property {
    name: "on a calm network, a follower applies each entry within 80 ms of the leader \
           appending it",
    hint: "ship to an idle follower as soon as a write is appended, and ship the next batch as \
           soon as an acknowledgement advances its next_index, without waiting for a timer",
    when: &[],
};
const FRUGAL: Property = Property {
    name: "on a calm network, a write costs at most one batch and one acknowledgement per \
           follower",
    hint: "send a follower nothing new while its batch is in flight, answer only an \
           acknowledgement that advances next_index, and set the retransmission timer only \
           when a batch is sent",
    when: &[],
};

/// What a run does to the network and the followers.
#[derive(Clone, Copy, Debug)]
pub struct Faults {
    /// Loss, duplication and long delays (reordering).
    pub lossy: bool,
    /// Followers crash and restart.
    pub crashes: bool,
    /// The leader is cut off from some followers, then healed.
    pub partitions: bool,
    /// Every node's clock is skewed and drifts.
    pub skew: bool,
}

pub const NONE: Faults = Faults {
    lossy: false,
    crashes: false,
    partitions: false,
    skew: false,
};
/// Loss, duplication and reordering only.
pub const LOSSY: Faults = Faults {
    lossy: true,
    ..NONE
};
/// Follower crashes and restarts only.
pub const CRASHES: Faults = Faults {
    crashes: true,
    ..NONE
};
/// Partitions between the leader and some followers only.
pub const PARTITIONS: Faults = Faults {
    partitions: true,
    ..NONE
};
/// Everything at once.
pub const ALL: Faults = Faults {
    lossy: true,
    crashes: true,
    partitions: true,
    skew: true,
};

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded(
            "log_shipping::followers_copy_the_log_on_a_lossy_network",
            6,
            |seed| faulty::<LogShipping>(seed, LOSSY),
        )
        .seeded(
            "log_shipping::followers_resume_after_a_restart",
            6,
            |seed| faulty::<LogShipping>(seed, CRASHES),
        )
        .seeded("log_shipping::cut_off_followers_catch_up", 6, |seed| {
            faulty::<LogShipping>(seed, PARTITIONS)
        })
        .seeded(
            "log_shipping::every_fault_at_once_with_skewed_clocks",
            8,
            |seed| faulty::<LogShipping>(seed, ALL),
        )
        .test(
            "log_shipping::a_follower_restarts_from_its_stored_position",
            || restart_written_out::<LogShipping>(1),
        )
        .seeded(
            "log_shipping::no_entry_is_sent_twice_when_nothing_is_lost",
            3,
            sent_once::<LogShipping>,
        )
        .test("log_shipping::lag_on_a_calm_network", || {
            calm::<LogShipping>(1)
        })
        .test("log_shipping::lag_on_a_lossy_network", || {
            lossy_lag::<LogShipping>(1)
        })
}

/// The checks, run on the reference with one bug each (`bugs/`).
#[cfg(bugs)]
pub fn meta(suite: Suite) -> Suite {
    use crate::bugs::applies_whatever_arrives::log_shipping::LogShipping as WhateverArrives;
    use crate::bugs::never_retransmits::log_shipping::LogShipping as NeverRetransmits;
    use crate::bugs::position_not_stored::log_shipping::LogShipping as NotStored;
    use dscheck::expect_caught;
    suite
        .test(
            "meta::a_follower_applying_whatever_arrives_is_caught",
            || expect_caught(PREFIX, 3, |seed| faulty::<WhateverArrives>(seed, LOSSY)),
        )
        .test(
            "meta::a_follower_whose_position_is_not_stored_is_caught",
            || expect_caught(POSITION, 3, |seed| faulty::<NotStored>(seed, CRASHES)),
        )
        .test("meta::a_leader_that_never_retransmits_is_caught", || {
            expect_caught(CONVERGED, 3, |seed| faulty::<NeverRetransmits>(seed, LOSSY))
        })
}

#[cfg(bugs)]
super::watch::shipping!(
    crate::bugs::applies_whatever_arrives::log_shipping::LogShipping,
    crate::bugs::never_retransmits::log_shipping::LogShipping,
    crate::bugs::position_not_stored::log_shipping::LogShipping,
);

/// A write of `value` to the leader.
fn write(value: u64) -> Request {
    Request::Write { value }
}

/// Two seconds of writes, every 2 to 20 ms, under `faults` drawn from the
/// seed; then the faults stop (network calm and whole, every follower up)
/// and the followers must catch up within [`SETTLE`].
pub fn faulty<N: Shipping>(seed: u64, faults: Faults) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, NODES, |_| N::fresh());
    let mut rng = sim.scenario_rng();
    set_up(&mut sim, &mut rng, faults);
    let _lag = watch(&mut sim);
    let mut value = 0;
    let end = sim.now() + Duration::from_secs(2);
    while sim.now() < end {
        value += 1;
        sim.request(LEADER, write(value));
        strike(&mut sim, &mut rng, faults)?;
        let pause = rng.duration(ms(2)..=ms(20));
        run(&mut sim, |s| s.run_for(pause))?;
    }
    sim.set_network(Network::reliable(ms(1), ms(10)));
    run(&mut sim, |s| s.heal())?;
    for f in (1..NODES).map(NodeId) {
        run(&mut sim, |s| s.restart(f))?;
    }
    settle(&mut sim, SETTLE)
}

/// The network (lossy or calm) and the clocks (skewed or true) of a run
/// under `faults`, drawn from `rng`.
pub fn set_up<N: Node>(sim: &mut Sim<N>, rng: &mut SimRng, faults: Faults) {
    let calm = Network::reliable(ms(1), ms(10));
    if faults.lossy {
        sim.set_network(
            calm.with_loss(0.05 + 0.15 * rng.unit())
                .with_duplication(0.1)
                .with_long_delays(0.05, ms(150)),
        );
    } else {
        sim.set_network(calm);
    }
    if faults.skew {
        for id in sim.ids().collect::<Vec<_>>() {
            let clock = Clock {
                skew_nanos: rng.range(0..=100_000_000) as i64 - 50_000_000,
                drift_ppm: 400.0 * rng.unit() - 200.0,
            };
            sim.set_clock(id, clock);
        }
    }
}

/// One roll of the dice for `faults`: a follower may crash (or come back),
/// the leader may be cut off from one or two followers, or a partition
/// may heal.
pub fn strike<N: Node>(sim: &mut Sim<N>, rng: &mut SimRng, faults: Faults) -> Result<(), Failure> {
    let followers: Vec<NodeId> = (1..sim.len()).map(NodeId).collect();
    let roll = rng.below(100);
    let f = *rng.pick(&followers);
    if faults.crashes && roll < 4 {
        if sim.is_up(f) {
            run(sim, |s| s.crash(f))?;
        } else {
            run(sim, |s| s.restart(f))?;
        }
    }
    if faults.partitions && (4..7).contains(&roll) {
        let cut = rng.range(1..=2) as usize;
        let (away, near) = followers.split_at(cut);
        let near: Vec<NodeId> = [LEADER].into_iter().chain(near.iter().copied()).collect();
        run(sim, |s| s.partition(&[&near, away]))?;
    } else if faults.partitions && roll == 7 {
        run(sim, |s| s.heal())?;
    }
    Ok(())
}

/// Runs `within` more, then requires every follower to hold the leader's
/// whole log.
fn settle<N: Shipping>(sim: &mut Sim<N>, within: Duration) -> Result<(), Failure> {
    let since = sim.now();
    run(sim, |s| s.run_for(within))?;
    let whole = sim.node(LEADER).map_or(0, |n| n.log().len());
    for f in sim.ids().filter(|&f| f != LEADER) {
        let has = sim.node(f).map_or(0, |n| n.log().len());
        if has < whole {
            let detail = format!(
                "{} ms after the faults and the writes stopped, {f} has applied {has} of the \
                 leader's {whole} entries",
                sim.now().saturating_since(since).as_millis()
            );
            return Err(Failure::after_run(
                sim,
                CONVERGED,
                Broken::new(detail).nodes([f, LEADER]),
            ));
        }
    }
    Ok(())
}

/// Written out: n1 applies the first 20 writes, crashes, misses 20 more
/// while down, restarts, and must acknowledge at least its stored position
/// and then catch up, on a network that loses nothing.
fn restart_written_out<N: Shipping>(seed: u64) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, 3, |_| N::fresh());
    sim.set_network(Network::reliable(ms(1), ms(5)));
    let _lag = watch(&mut sim);
    let n1 = NodeId(1);
    for value in 1..=40 {
        if value == 21 {
            run(&mut sim, |s| s.crash(n1))?;
        }
        sim.request(LEADER, write(value));
        run(&mut sim, |s| s.run_for(ms(10)))?;
    }
    run(&mut sim, |s| s.restart(n1))?;
    settle(&mut sim, RETRANSMIT_AFTER * 4)
}

/// Writes every 2 to 20 ms for two seconds on `network`, with every
/// property checked; returns the run and the lag measured.
fn measured<N: Shipping>(seed: u64, network: Network) -> Result<Measured<N>, Failure> {
    let mut sim = Sim::new(seed, NODES, |_| N::fresh());
    sim.set_network(network);
    measured_on(sim)
}

/// A run, the lag measured in it, and how many writes it had.
type Measured<N> = (Sim<N>, std::rc::Rc<std::cell::RefCell<Lag>>, u64);

/// [`measured`] on a simulation already set up.
fn measured_on<N: Shipping>(mut sim: Sim<N>) -> Result<Measured<N>, Failure> {
    let lag = watch(&mut sim);
    let mut rng = sim.scenario_rng();
    let mut writes = 0;
    while sim.now().as_millis() < 2_000 {
        writes += 1;
        sim.request(LEADER, write(writes));
        let pause = rng.duration(ms(2)..=ms(20));
        run(&mut sim, |s| s.run_for(pause))?;
    }
    Ok((sim, lag, writes))
}

/// Reports the lag of a run as metrics: the most entries a follower was
/// behind, and the median and the maximum time from append to apply.
fn report(lag: &Lag) -> f64 {
    let delays = lag.delays_ms();
    let median = delays.get(delays.len() / 2).copied().unwrap_or(0.0);
    let max = delays.last().copied().unwrap_or(0.0);
    dscheck::metric("most entries a follower was behind", lag.max_entries_behind);
    dscheck::metric("median append-to-apply lag (ms)", format!("{median:.1}"));
    dscheck::metric("maximum append-to-apply lag (ms)", format!("{max:.1}"));
    max
}

/// A calm network (1 to 10 ms, nothing lost): the lag stays within two
/// round trips and a batch's wait, and no write costs more than a batch
/// and an acknowledgement per follower.
fn calm<N: Shipping>(seed: u64) -> Result<(), Failure> {
    let (mut sim, lag, writes) = measured::<N>(seed, Network::reliable(ms(1), ms(10)))?;
    let sent = sim.stats().sent;
    settle(&mut sim, SETTLE)?;
    let max = report(&lag.borrow());
    let per_write = sent as f64 / writes as f64;
    dscheck::metric("messages per write", format!("{per_write:.2}"));
    let cap = 2 * (NODES as u64 - 1) * writes;
    if sent > cap {
        let detail = format!(
            "{writes} writes cost {sent} messages on a network that lost nothing: more than one \
             batch and one acknowledgement per follower per write ({cap})"
        );
        return Err(Failure::after_run(&sim, FRUGAL, detail));
    }
    let before = sim.stats().sent;
    run(&mut sim, |s| s.run_for(Duration::from_secs(1)))?;
    let idle = sim.stats().sent - before;
    if idle > 0 {
        let detail = format!(
            "every follower had the leader's {writes} entries, no write came for a second, and \
             {idle} messages were sent in it"
        );
        return Err(Failure::after_run(&sim, IDLE, detail));
    }
    if max > 80.0 {
        let detail = format!("an entry reached a follower {max:.1} ms after it was appended");
        return Err(Failure::after_run(&sim, CALM_LAG, detail));
    }
    Ok(())
}

/// Writes on a network that duplicates a fifth of the messages but loses
/// none and delivers within 10 ms, well inside RETRANSMIT_AFTER: no batch
/// may carry an entry already sent to that follower.
fn sent_once<N: Shipping>(seed: u64) -> Result<(), Failure> {
    let network = Network::reliable(ms(1), ms(10)).with_duplication(0.2);
    let mut sim = Sim::<N>::new(seed, NODES, |_| N::fresh());
    sim.set_network(network.clone());
    let mut highest: std::collections::BTreeMap<NodeId, u64> = Default::default();
    sim.check(ONCE, move |_, step| {
        for e in step.iter() {
            let dsim::Event::Send {
                to,
                msg: Msg::Entries { entries, .. },
                ..
            } = &e.event
            else {
                continue;
            };
            let sent = highest.entry(*to).or_default();
            if let Some(first) = entries.first().filter(|first| first.index <= *sent) {
                return Err(Broken::new(format!(
                    "the leader sent {to} entry {} again, after it had sent up to {sent}",
                    first.index
                ))
                .nodes([LEADER, *to])
                .events([e.index]));
            }
            *sent = entries.last().map_or(*sent, |last| last.index);
        }
        Ok(())
    });
    let (mut sim, _, _) = measured_on(sim)?;
    settle(&mut sim, SETTLE)
}

/// A lossy network (10% loss, duplicates, long delays): the lag is
/// measured, and the followers must still catch up.
fn lossy_lag<N: Shipping>(seed: u64) -> Result<(), Failure> {
    let network = Network::reliable(ms(1), ms(10))
        .with_loss(0.1)
        .with_duplication(0.05)
        .with_long_delays(0.05, ms(100));
    let (mut sim, lag, _) = measured::<N>(seed, network)?;
    settle(&mut sim, SETTLE)?;
    report(&lag.borrow());
    Ok(())
}
