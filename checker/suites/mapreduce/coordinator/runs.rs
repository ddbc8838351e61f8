//! A job's run under faults: a lossy network, duplicates, crashes, a
//! worker that dies, turns straggler or is cut off.

use super::job::{finished, job, store, workers, WORKERS};
use super::watch::start;
use super::{Cluster, FINISHES};
use crate::subject::mapreduce::coordinator::{output_name, App, Job, Msg, Task, TASK_TIMEOUT};
use dscheck::{ms, run, Failure};
use dsim::{Clock, Event, Network, NodeId, Sim, SimRng, Time};
use std::time::Duration;

/// What a scenario does to the workers while the job runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Faults {
    /// Nothing: a reliable network, no crash.
    None,
    /// Loss, duplication and long delays; workers' clocks skewed and drifting.
    Network,
    /// Every message delivered twice, on a slow network: a late duplicate
    /// answer must not be taken for a new one.
    Duplicates,
    /// Workers crash at random points and restart after a while.
    Crashes,
    /// The first worker to get a task crashes at once and never returns.
    Dies,
    /// The first worker to get a reduce task turns straggler (its timers
    /// take SLOW_REDUCE times as long) as it starts it.
    SlowReduce,
    /// The first worker to get a task is cut off for longer than
    /// TASK_TIMEOUT, then comes back and finishes it late.
    CutOff,
}

/// How long a job may take: a faultless one, and one with faults.
const QUIET_LIMIT: Duration = Duration::from_secs(2);
const FAULTY_LIMIT: Duration = Duration::from_secs(10);

/// How many times slower a worker turns in [`Faults::SlowReduce`].
pub const SLOW_REDUCE: u32 = 20;

/// Runs the job until a task that `which` picks is delivered to a worker,
/// within `limit`; that worker.
fn first_handed<N: Cluster>(
    sim: &mut Sim<N>,
    limit: Duration,
    which: impl Fn(Task) -> bool,
) -> Result<Option<NodeId>, Failure> {
    let mut seen = sim.trace().entries().len();
    let mut got = None;
    run(sim, |s| {
        s.run_until(limit, |s| {
            let entries = s.trace().entries();
            let total = entries.len();
            got = entries.skip(seen).find_map(|e| match &e.event {
                Event::Deliver {
                    to,
                    msg: Msg::Assign(task),
                    ..
                } if which(*task) => Some(*to),
                _ => None,
            });
            seen = total;
            got.is_some()
        })
    })?;
    Ok(got)
}

/// Runs `app`'s job under `faults`; checks it finishes in time. Returns
/// when it finished.
pub fn job_run<N: Cluster>(seed: u64, app: App, faults: Faults) -> Result<Time, Failure> {
    job_run_with::<N>(seed, app, false, faults, &[], |_, _| {})
}

/// [`job_run`], with backup tasks on or off, each of `slow` (a worker and
/// a factor) a straggler from the start, and more checks registered by
/// `watch_more`.
pub fn job_run_with<N: Cluster>(
    seed: u64,
    app: App,
    backups: bool,
    faults: Faults,
    slow: &[(NodeId, u32)],
    watch_more: impl FnOnce(&mut Sim<N>, &Job),
) -> Result<Time, Failure> {
    let mut rng = SimRng::fork(seed, 0x6d72);
    let job = job(app, backups, &mut rng);
    let mut sim = start::<N>(seed, &job);
    watch_more(&mut sim, &job);
    for &(id, factor) in slow {
        sim.set_slowness(id, factor);
    }
    let reduces = job.reduces;
    let limit = match (faults, slow) {
        (Faults::None, []) => QUIET_LIMIT,
        _ => FAULTY_LIMIT,
    };
    match faults {
        Faults::None => sim.set_network(Network::reliable(ms(1), ms(10))),
        Faults::Network => {
            sim.set_network(
                Network::reliable(ms(1), ms(10))
                    .with_loss(0.1)
                    .with_duplication(0.1)
                    .with_long_delays(0.05, ms(100)),
            );
            for id in workers() {
                let clock = Clock {
                    skew_nanos: rng.range(0..=2_000_000_000) as i64,
                    drift_ppm: rng.range(0..=200) as f64 - 100.0,
                };
                sim.set_clock(id, clock);
            }
        }
        Faults::Duplicates => {
            sim.set_network(Network::reliable(ms(1), ms(20)).with_duplication(1.0))
        }
        Faults::Crashes => crashes(&mut sim, &mut rng, reduces)?,
        Faults::SlowReduce => {
            // The first worker handed a reduce task turns straggler.
            let Some(worker) = first_handed(&mut sim, ms(1000), |t| matches!(t, Task::Reduce(_)))?
            else {
                return Err(Failure::after_run(
                    &sim,
                    FINISHES,
                    "no reduce task was handed out within a second",
                ));
            };
            run(&mut sim, |s| {
                s.set_slowness(worker, SLOW_REDUCE);
                Ok(())
            })?;
        }
        Faults::Dies | Faults::CutOff => {
            // The first worker handed a task.
            let Some(victim) = first_handed(&mut sim, ms(100), |_| true)? else {
                return Err(Failure::after_run(
                    &sim,
                    FINISHES,
                    "no worker was handed a task within 100 ms",
                ));
            };
            if faults == Faults::Dies {
                // It dies partway: reading, computing or writing.
                let pause = rng.duration(ms(0)..=ms(30));
                run(&mut sim, |s| s.run_for(pause))?;
                run(&mut sim, |s| s.crash(victim))?;
            } else {
                run(&mut sim, |s| s.isolate(victim))?;
                run(&mut sim, |s| s.run_for(TASK_TIMEOUT + ms(150)))?;
                run(&mut sim, |s| s.heal())?;
            }
        }
    }
    let left = limit.saturating_sub(sim.now().saturating_since(Time::ZERO));
    run(&mut sim, |s| s.run_until(left, |s| finished(s, reduces)))?;
    if !finished(&sim, reduces) {
        let missing: Vec<String> = (0..reduces)
            .map(output_name)
            .filter(|name| !store(&sim).files.contains_key(name))
            .collect();
        return Err(Failure::after_run(
            &sim,
            FINISHES,
            format!(
                "after {} ms the job had not finished: {} not in place",
                sim.now().as_millis(),
                missing.join(", ")
            ),
        ));
    }
    let at = sim.now();
    dscheck::metric("job time (ms)", at.as_millis());
    // Late duplicates and retries still arrive: the outputs must stay.
    run(&mut sim, |s| s.run_for(TASK_TIMEOUT * 2))?;
    Ok(at)
}

/// Workers crash at random points, each restarting 0 to 300 ms later,
/// until the job is done or a second has passed; a crash leaves at least
/// one worker up.
fn crashes<N: Cluster>(sim: &mut Sim<N>, rng: &mut SimRng, reduces: usize) -> Result<(), Failure> {
    let mut down: Vec<(NodeId, Time)> = Vec::new();
    while sim.now() < Time::ZERO + Duration::from_secs(1) && !finished(sim, reduces) {
        let pause = rng.duration(ms(0)..=ms(25));
        run(sim, |s| s.run_for(pause))?;
        let now = sim.now();
        for (id, _) in down.iter().filter(|(_, at)| *at <= now) {
            let id = *id;
            run(sim, |s| s.restart(id))?;
        }
        down.retain(|(_, at)| *at > now);
        if rng.chance(0.4) && down.len() + 1 < WORKERS {
            let up: Vec<NodeId> = workers()
                .into_iter()
                .filter(|id| down.iter().all(|(d, _)| d != id))
                .collect();
            let victim = *rng.pick(&up);
            run(sim, |s| s.crash(victim))?;
            down.push((victim, now + rng.duration(ms(0)..=ms(300))));
        }
    }
    for (id, _) in down {
        run(sim, |s| s.restart(id))?;
    }
    Ok(())
}
