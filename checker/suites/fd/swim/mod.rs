//! fd_swim: every crash is confirmed by every live member within the
//! detection bound; a live member is never confirmed dead, and one that is
//! suspected refutes in time; every change of a view obeys SWIM's
//! precedence, incarnations only rise and only at their member; indirect
//! probes keep false suspicions rare under loss; and the messages a member
//! sends per protocol period stay flat from 25 to 100 members.
//!
//! Every clock is skewed and drifts (within MAX_DRIFT); the checks run
//! after every event against true time (see `watch.rs`).

mod watch;

use super::watch::{calm, max_delay, start_with};
use crate::subject::fd::swim::{
    overrides, rounds, suspicion_timeout, Status, Swim, Update, MAX_DRIFT, PERIOD,
};
use dscheck::{ensure, metric, ms, run, Failure, Property, Suite};
use dsim::{Broken, Network, NodeId, Sim};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
pub use watch::{
    Checks, Member, Tally, DETECTED, INCARNATION, NEVER_CONFIRMED_LIVE, PIGGYBACK, PRECEDENCE,
    REFUTED,
};

macro_rules! member {
    ($($node:ty),* $(,)?) => {$(
        impl Member for $node {
            fn fresh() -> Self {
                <$node>::new()
            }
            fn view(&self, member: NodeId) -> Option<Update> {
                self.members.get(member.0).copied()
            }
            fn own_incarnation(&self) -> u64 {
                self.incarnation
            }
            fn probe_seq(&self) -> Option<u64> {
                self.probe.map(|p| p.seq)
            }
        }
    )*};
}

member!(Swim);
#[cfg(bugs)]
member!(
    crate::bugs::no_indirect_probe::swim::Swim,
    crate::bugs::no_refutation::swim::Swim,
    crate::bugs::no_piggyback::swim::Swim,
    crate::bugs::pings_everyone::swim::Swim,
    crate::bugs::suspects_a_newer_incarnation::swim::Swim,
    crate::bugs::piggybacks_everything::swim::Swim,
);

pub const QUIET: Property = Property {
    name: "on a network that delivers every message within 10 ms and loses none, no member \
           that is up is ever suspected",
    hint: "a probe fails only if no Ack with its own seq came back by the end of the period: \
           mark the probe acked when the Ack's seq matches, relayed or not",
    when: &[],
};
pub const CUT_OFF: Property = Property {
    name: "members cut off from the rest for three periods are suspected",
    hint: "a probe with no Ack by the end of the period, direct or relayed, makes its target \
           Suspect",
    when: &[],
};
pub const RARE: Property = Property {
    name: "on a network that loses 10% of messages and holds 5% back, at most one probe in \
           12 ends in suspecting a member that is up",
    hint: "a missing Ack is not enough to suspect: after PING_TIMEOUT, ask K other members to \
           ping the target for you (PingReq) and relay its Ack; only if none comes back by the \
           end of the period suspect it",
    when: &[],
};
pub const LOAD: Property = Property {
    name: "the messages a member sends per protocol period stay under a constant bound as the \
           group grows: at most 6 at any size, and the busiest member at 100 members sends at \
           most 1.5 times as many as the busiest at 25",
    hint: "probe ONE member per period, the next in the round-robin order, and send PingReq \
           to only K members; news travels piggybacked on these messages, never in messages of \
           its own",
    when: &[],
};

/// Members per run, but for the crash runs that need more members to tell
/// an epidemic from members finding a crash each on their own, and the
/// load runs.
const MEMBERS: usize = 25;
const MANY: usize = 50;
/// The periods a crashed member may go unprobed by everyone: each period
/// some member probes it with a chance of about 1 − 1/e, so ten periods
/// unprobed happen about once in 20,000 crashes (and round-robin makes it
/// rarer still).
const UNPROBED_PERIODS: u32 = 10;
/// The most false suspicions per probe allowed on the lossy network. A
/// message lost or held back past its deadline fails its path: about 27%
/// of direct probes fail, and a false suspicion needs all K relayed paths
/// (four messages each) to fail too, about 3% of probes. Without indirect
/// probes the 27% all become suspicions.
const RARE_BOUND: f64 = 1.0 / 12.0;
/// The most messages a member may send per period, on average over a run.
const LOAD_BOUND: f64 = 6.0;
/// How much more the busiest member may send at 100 members than at 25.
const LOAD_GROWTH: f64 = 1.5;

/// Stretches a duration of a member's clock to the longest it may last in
/// true time.
fn slow(d: Duration) -> Duration {
    d.mul_f64(1.0 / (1.0 - MAX_DRIFT))
}

/// The longest a crash may go without every live member holding it
/// Confirmed (true time): the crash may go unprobed for UNPROBED_PERIODS,
/// then one period for the failed probe, the suspicion timeout at its
/// member, then the Confirm's epidemic, λ·log n periods (λ = 3), each
/// message of it delayed at most the network's longest delay.
pub fn detection_bound(n: usize, network: &Network) -> Duration {
    let periods = UNPROBED_PERIODS + 1 + 3 * rounds(n);
    slow(PERIOD * periods + suspicion_timeout(n)) + max_delay(network) * 2
}

/// The longest a member that is up may stay suspected once the network is
/// whole: a viewer's suspicion timer runs at most the suspicion timeout
/// (and then it would be confirmed), one period more for the timer to be
/// looked at on a slow clock.
pub fn refutation_bound(n: usize) -> Duration {
    slow(suspicion_timeout(n) + PERIOD)
}

/// Loss: 10% of messages lost, 5% duplicated, 5% held back up to 200 ms.
pub fn lossy() -> Network {
    calm()
        .with_loss(0.1)
        .with_duplication(0.05)
        .with_long_delays(0.05, ms(200))
}

pub fn tests(suite: Suite) -> Suite {
    suite
        .test("swim::overrides_follows_the_precedence_rules", || {
            precedence(overrides)
        })
        .seeded(
            "swim::no_member_suspected_on_a_calm_network",
            3,
            quiet::<Swim>,
        )
        .seeded(
            "swim::crashes_confirmed_by_every_member_within_the_bound",
            3,
            |seed| crashes::<Swim>(seed, MANY, calm()),
        )
        .seeded(
            "swim::crashes_confirmed_under_loss_and_false_suspicions_rare",
            3,
            |seed| crashes::<Swim>(seed, MEMBERS, lossy()),
        )
        .seeded(
            "swim::twenty_crashes_at_once_confirmed_within_the_bound",
            2,
            rack::<Swim>,
        )
        .seeded(
            "swim::a_cut_off_minority_is_suspected_then_refutes",
            5,
            minority::<Swim>,
        )
        .seeded(
            "swim::a_flapping_member_refutes_every_time",
            4,
            flapping::<Swim>,
        )
        .seeded(
            "swim::load_per_member_stays_flat_from_25_to_100_members",
            2,
            load::<Swim>,
        )
}

/// The checks, run on the reference with one bug each (`bugs/`).
#[cfg(bugs)]
pub fn meta(suite: Suite) -> Suite {
    use crate::bugs::no_indirect_probe::swim::Swim as NoIndirectProbe;
    use crate::bugs::no_piggyback::swim::Swim as NoPiggyback;
    use crate::bugs::no_refutation::swim::Swim as NoRefutation;
    use crate::bugs::piggybacks_everything::swim::Swim as PiggybacksEverything;
    use crate::bugs::pings_everyone::swim::Swim as PingsEveryone;
    use crate::bugs::suspects_a_newer_incarnation::swim::Swim as SuspectsNewer;
    use dscheck::{expect_caught, expect_caught_by_any};
    suite
        .test("meta::no_indirect_probe_is_caught_under_loss", || {
            expect_caught_by_any(&[RARE, NEVER_CONFIRMED_LIVE, REFUTED], 2, |seed| {
                crashes::<NoIndirectProbe>(seed, MEMBERS, lossy())
            })
        })
        .test("meta::a_member_that_never_refutes_is_caught", || {
            expect_caught(NEVER_CONFIRMED_LIVE, 3, minority::<NoRefutation>)
        })
        .test(
            "meta::a_stale_alive_that_clears_a_suspicion_is_caught",
            || {
                // In a run the bug needs a stale copy of a refutation to
                // arrive after a newer suspicion at the same incarnation,
                // which only about half the flapping runs produce; asking
                // overrides directly forces that case every time.
                let overrides = crate::bugs::stale_alive_wins::swim::overrides;
                expect_caught(PRECEDENCE, 1, |_| precedence(overrides))
            },
        )
        .test("meta::news_not_piggybacked_is_caught_at_50_members", || {
            expect_caught(DETECTED, 2, |seed| {
                crashes::<NoPiggyback>(seed, MANY, calm())
            })
        })
        .test("meta::pinging_every_member_each_period_is_caught", || {
            expect_caught(LOAD, 1, load::<PingsEveryone>)
        })
        .test(
            "meta::a_suspicion_at_a_newer_incarnation_than_known_is_caught",
            || expect_caught(INCARNATION, 2, minority::<SuspectsNewer>),
        )
        .test("meta::piggybacking_every_queued_update_is_caught", || {
            expect_caught(PIGGYBACK, 2, rack::<PiggybacksEverything>)
        })
}

/// `overrides`, asked about every pair of states of one member at
/// incarnations 0 to 2, answers as the precedence rules say.
pub fn precedence(overrides: fn(&Update, &Update) -> bool) -> Result<(), Failure> {
    let all = [Status::Alive, Status::Suspect, Status::Confirmed];
    let states = all.iter().flat_map(|&status| {
        (0..3).map(move |incarnation| Update {
            member: NodeId(1),
            status,
            incarnation,
        })
    });
    let states: Vec<Update> = states.collect();
    for old in &states {
        for new in &states {
            let want = watch::may_replace(old, new);
            let got = overrides(new, old);
            ensure(got == want, PRECEDENCE, || {
                format!("overrides(new: {new:?}, old: {old:?}) is {got}, not {want}")
            })?;
        }
    }
    Ok(())
}

/// A run of `n` members with every clock skewed and drifting.
pub fn start<N: Member>(seed: u64, n: usize, network: Network) -> Sim<N> {
    start_with(seed, n, MAX_DRIFT, network, |_| N::fresh())
}

/// QUIET, after every step.
fn check_quiet<N: Member>(sim: &mut Sim<N>, tally: &Rc<RefCell<Tally>>) {
    let t = tally.clone();
    sim.check(QUIET, move |sim, _| {
        if t.borrow().suspected == 0 {
            return Ok(());
        }
        Err(Broken::new(format!(
            "by {} a member that is up was suspected, on a network that delivers every \
             message within 10 ms",
            sim.now()
        )))
    });
}

/// Three seconds on the calm network, no crash: no member is suspected.
pub fn quiet<N: Member>(seed: u64) -> Result<(), Failure> {
    let mut sim = start::<N>(seed, MEMBERS, calm());
    let checks = Checks {
        refuted: Some(refutation_bound(MEMBERS)),
        ..Checks::default()
    };
    let tally = watch::watch(&mut sim, checks);
    check_quiet(&mut sim, &tally);
    run(&mut sim, |s| s.run_for(Duration::from_secs(3)))
}

/// Two members crash, at random in the first second, and the run goes on
/// until the detection bound has passed for both (see [`crash_run`]).
pub fn crashes<N: Member>(seed: u64, n: usize, network: Network) -> Result<(), Failure> {
    crash_run::<N>(seed, n, network, 2, ms(500))
}

/// Twenty of fifty members crash together, as when a rack loses power:
/// twenty suspicions, then twenty confirmations, are news at once, more
/// than one message may carry.
pub fn rack<N: Member>(seed: u64) -> Result<(), Failure> {
    crash_run::<N>(seed, MANY, calm(), 20, ms(0))
}

/// `count` members, at random, crash one after another, up to `spread`
/// apart, and the run goes on until the detection bound has passed for the
/// last: each is Confirmed by every live member in time, and no live
/// member ever is. On a lossy network, the false suspicions per probe are
/// held to RARE_BOUND.
fn crash_run<N: Member>(
    seed: u64,
    n: usize,
    network: Network,
    count: usize,
    spread: Duration,
) -> Result<(), Failure> {
    let bound = detection_bound(n, &network);
    let lossy = network.loss > 0.0;
    let checks = Checks {
        detected: Some(bound),
        refuted: Some(refutation_bound(n)),
    };
    let mut sim = start::<N>(seed, n, network);
    let mut rng = sim.scenario_rng();
    let tally = watch::watch(&mut sim, checks);
    if !lossy {
        check_quiet(&mut sim, &tally);
    }
    let mut victims: Vec<NodeId> = sim.ids().collect();
    rng.shuffle(&mut victims);
    run(&mut sim, |s| s.run_for(Duration::from_secs(1)))?;
    for &victim in &victims[..count] {
        let pause = rng.duration(ms(0)..=spread);
        run(&mut sim, |s| s.run_for(pause))?;
        run(&mut sim, |s| s.crash(victim))?;
    }
    run(&mut sim, |s| s.run_for(bound + ms(1)))?;
    let t = tally.borrow();
    let slowest = victims[..count]
        .iter()
        .filter_map(|v| Some(t.last_confirmed[v.0]?.saturating_since(t.down_since[v.0]?)))
        .max()
        .unwrap_or_default();
    metric(
        "slowest confirmation of a crash",
        format!(
            "{} ms (bound {} ms)",
            slowest.as_millis(),
            bound.as_millis()
        ),
    );
    drop(t);
    if lossy {
        judge_rare(&sim, &tally.borrow())?;
    }
    Ok(())
}

/// Holds the false suspicions per probe to RARE_BOUND: every live member
/// probes once a period.
fn judge_rare<N: Member>(sim: &Sim<N>, tally: &Tally) -> Result<(), Failure> {
    let live = tally.up_since.iter().flatten();
    let probes: f64 = live
        .map(|&up| sim.now().saturating_since(up).as_secs_f64() / PERIOD.as_secs_f64())
        .sum();
    let rate = tally.false_suspicions as f64 / probes.max(1.0);
    metric("false suspicions", tally.false_suspicions);
    metric("false suspicions per probe", format!("{rate:.4}"));
    if rate > RARE_BOUND {
        return Err(Failure::after_run(
            sim,
            RARE,
            format!(
                "{} of about {probes:.0} probes ended in suspecting a member that was up: \
                 {rate:.3} per probe, above the bound of {RARE_BOUND:.3}",
                tally.false_suspicions
            ),
        ));
    }
    Ok(())
}

/// Cuts `members` off from everyone for `length`, then heals; the tally
/// knows the network is split meanwhile.
fn cut_off<N: Member>(
    sim: &mut Sim<N>,
    tally: &Rc<RefCell<Tally>>,
    members: &[NodeId],
    length: Duration,
) -> Result<(), Failure> {
    let rest: Vec<NodeId> = sim.ids().filter(|id| !members.contains(id)).collect();
    tally.borrow_mut().split = true;
    run(sim, |s| s.partition(&[members, &rest]))?;
    run(sim, |s| s.run_for(length))?;
    run(sim, |s| s.heal())?;
    let mut t = tally.borrow_mut();
    t.split = false;
    t.whole_since = sim.now();
    Ok(())
}

/// Three members, at random, cut off from the rest for three periods
/// after one second: someone suspects them, and once the network heals
/// they refute, every suspicion ends within the refutation bound and none
/// becomes a confirmation.
pub fn minority<N: Member>(seed: u64) -> Result<(), Failure> {
    let mut sim = start::<N>(seed, MEMBERS, calm());
    let mut rng = sim.scenario_rng();
    let checks = Checks {
        refuted: Some(refutation_bound(MEMBERS)),
        ..Checks::default()
    };
    let tally = watch::watch(&mut sim, checks);
    let mut ids: Vec<NodeId> = sim.ids().collect();
    rng.shuffle(&mut ids);
    run(&mut sim, |s| s.run_for(Duration::from_secs(1)))?;
    cut_off(&mut sim, &tally, &ids[..3], PERIOD * 3)?;
    if tally.borrow().suspected == 0 {
        return Err(Failure::after_run(
            &sim,
            CUT_OFF,
            format!(
                "{:?} were cut off for three periods and no member suspected any of them",
                &ids[..3]
            ),
        ));
    }
    run(&mut sim, |s| {
        s.run_for(refutation_bound(MEMBERS) + PERIOD * 5)
    })
}

/// One member, at random, cut off for three periods and back for ten,
/// four times over, on a network that duplicates messages: each time it is
/// suspected and refutes at a higher incarnation, while copies of its
/// earlier refutations still circulate; none may clear the newer
/// suspicion.
pub fn flapping<N: Member>(seed: u64) -> Result<(), Failure> {
    let network = calm().with_duplication(0.1);
    let mut sim = start::<N>(seed, MEMBERS, network);
    let mut rng = sim.scenario_rng();
    let checks = Checks {
        refuted: Some(refutation_bound(MEMBERS)),
        ..Checks::default()
    };
    let tally = watch::watch(&mut sim, checks);
    let member = NodeId(rng.below(MEMBERS as u64) as usize);
    run(&mut sim, |s| s.run_for(Duration::from_secs(1)))?;
    for _ in 0..4 {
        cut_off(&mut sim, &tally, &[member], PERIOD * 3)?;
        run(&mut sim, |s| s.run_for(PERIOD * 10))?;
    }
    run(&mut sim, |s| s.run_for(refutation_bound(MEMBERS)))
}

/// Four seconds on the calm network at 25, 50 and 100 members: the
/// messages each member sends per period, on average over the run, are
/// reported (mean and busiest) and held to LOAD.
pub fn load<N: Member>(seed: u64) -> Result<(), Failure> {
    let mut busiest = Vec::new();
    for n in [25, 50, 100] {
        let mut sim = start::<N>(seed, n, calm());
        let tally = watch::watch(&mut sim, Checks::default());
        let length = Duration::from_secs(4);
        run(&mut sim, |s| s.run_for(length))?;
        let periods = length.as_secs_f64() / PERIOD.as_secs_f64();
        let rates: Vec<f64> = tally
            .borrow()
            .sent
            .iter()
            .map(|&s| s as f64 / periods)
            .collect();
        let mean = rates.iter().sum::<f64>() / n as f64;
        let max = rates.iter().copied().fold(0.0, f64::max);
        metric(
            &format!("messages per member per period at {n}"),
            format!("mean {mean:.2}, max {max:.2}"),
        );
        if max > LOAD_BOUND {
            return Err(Failure::after_run(
                &sim,
                LOAD,
                format!(
                    "at {n} members the busiest member sent {max:.1} messages per period \
                     (mean {mean:.1}), above the bound of {LOAD_BOUND}"
                ),
            ));
        }
        busiest.push((n, max, sim));
    }
    let (_, first, _) = &busiest[0];
    let (n, last, sim) = &busiest[2];
    if *last > first * LOAD_GROWTH {
        return Err(Failure::after_run(
            sim,
            LOAD,
            format!(
                "the busiest member sent {first:.2} messages per period at 25 members and \
                 {last:.2} at {n}: more than {LOAD_GROWTH} times as many"
            ),
        ));
    }
    Ok(())
}
