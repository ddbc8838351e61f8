//! mapreduce_coordinator: a job's outputs equal a sequential run's, each
//! final file appears only by a rename of a whole output and never changes,
//! no reduce task is handed out before every map's output is in place, a
//! task is handed out again only after its timeout, and the job finishes
//! with workers crashing and restarting at any point, on a network that
//! loses, duplicates and delays messages.
//!
//! The model is a sequential run of the same job: every split's pairs,
//! grouped by key, reduced, cut into the R partitions by the given hash.
//! The checks read the shared store (node 1) after every event: it is what
//! a user of the job, or a later reduce, would read.

use crate::subject::mapreduce::coordinator::{
    input_name, intermediate_name, output_name, partition, App, Job, MapReduce, Msg, Store, Task,
    Timer, COORDINATOR, STORE, TASK_TIMEOUT,
};
use dscheck::{ms, run, Failure, Property, Suite};
use dsim::{Broken, Clock, Event, Fact, Network, Node, NodeId, Sim, SimRng, Time};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

/// A node of the exercise: the reference, the learner's, or one from `bugs/`.
pub trait Cluster: Node<Msg = Msg, Timer = Timer, Request = (), Reply = ()> {
    fn build(id: NodeId, job: Job) -> Self;
    fn store(&self) -> &Store;
}

macro_rules! cluster {
    ($($node:ty),* $(,)?) => {$(
        impl Cluster for $node {
            fn build(id: NodeId, job: Job) -> Self {
                <$node>::new(id, job)
            }
            fn store(&self) -> &Store {
                &self.store
            }
        }
    )*};
}

cluster!(MapReduce);
#[cfg(bugs)]
cluster!(
    crate::bugs::never_reassigns::coordinator::MapReduce,
    crate::bugs::writes_in_place::coordinator::MapReduce,
    crate::bugs::reduce_starts_early::coordinator::MapReduce,
    crate::bugs::no_backups::coordinator::MapReduce,
    crate::bugs::backs_up_busy_workers::coordinator::MapReduce,
    crate::bugs::backs_up_twice::coordinator::MapReduce,
);

pub const OUTPUT: Property = Property {
    name: "each reduce output mr-out-<r> holds exactly what a sequential run of the job puts in \
           partition r",
    hint: "a map task puts each pair of its split into partition(key, R), one file per partition; \
           a reduce task reads mr-<m>-<r> of EVERY map m, groups the values by key, and writes \
           one `key value` line per key in key order",
    when: &[],
};
pub const WHOLE: Property = Property {
    name: "a final file (mr-<m>-<r> or mr-out-<r>) appears only by a rename of a whole output, \
           and once there never changes or goes",
    hint: "write every chunk of an output to a temporary name of this attempt's own (never the \
           final name), and Rename it into place only once the store has acknowledged every \
           chunk: a worker that crashes halfway then leaves only a temporary file",
    when: &[(
        Fact::Restarted,
        "a restarted worker starts its task afresh: its temporary name must be new (the \
         given on_computed draws one), and its chunks go there, not to the final name",
    )],
};
pub const BARRIER: Property = Property {
    name: "no reduce task is handed out before every map task's output is in place",
    hint: "pick_task hands out reduce tasks only once EVERY map task is Done (reported finished), \
           not merely handed out: a reduce reads the output of every map",
    when: &[],
};
pub const REEXECUTE: Property = Property {
    name: "a task is handed to another worker only once it has been in progress for \
           TASK_TIMEOUT, and never once a worker has reported it finished",
    hint: "a task InProgress since `since` may be handed out again only when \
           now - since >= TASK_TIMEOUT; a task named in Ask { finished } is Done for good",
    when: &[],
};
pub const FINISHES: Property = Property {
    name: "the job finishes (every mr-out-<r> in place), with workers crashing and restarting at \
           any point and messages lost",
    hint: "a task whose worker has not finished within TASK_TIMEOUT must be handed out again: \
           its worker may be dead, cut off or slow; and a worker asks again after every task",
    when: &[(
        Fact::Restarted,
        "a worker that crashed forgets its task: the coordinator learns nothing of it, so only \
         the timeout (pick_task: InProgress for TASK_TIMEOUT or longer) frees the task",
    )],
};

/// Words the splits are made of (some repeat across splits, some do not).
const VOCABULARY: &[&str] = &[
    "the",
    "map",
    "reduce",
    "worker",
    "master",
    "split",
    "key",
    "value",
    "Google",
    "file",
    "rename",
    "atomic",
    "crash",
    "straggler",
    "backup",
    "task",
    "partition",
    "hash",
    "shuffle",
    "sort",
    "GFS",
    "cluster",
    "fault",
    "tolerance",
    "re-execution",
    "output",
    "input",
    "word",
];

/// Workers in every run (nodes 2 and up).
pub const WORKERS: usize = 4;

/// A job of `app` over six splits of random text, into three partitions,
/// with backup tasks or without.
pub fn job(app: App, backups: bool, rng: &mut SimRng) -> Job {
    let inputs = (0..6)
        .map(|_| {
            let words = rng.range(15..=40);
            let mut text = String::new();
            for i in 0..words {
                let word: &&str = rng.pick(VOCABULARY);
                text.push_str(word);
                text.push_str(if i % 7 == 6 { ". " } else { " " });
            }
            text
        })
        .collect();
    Job {
        app,
        inputs,
        reduces: 3,
        backups,
    }
}

/// What a sequential run of `job` puts in each partition.
pub fn sequential(job: &Job) -> Vec<String> {
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (m, text) in job.inputs.iter().enumerate() {
        for (key, value) in job.app.map(&input_name(m), text) {
            groups.entry(key).or_default().push(value);
        }
    }
    let mut outputs = vec![String::new(); job.reduces];
    for (key, values) in &groups {
        let line = format!("{key} {}\n", job.app.reduce(key, values));
        outputs[partition(key, job.reduces)].push_str(&line);
    }
    outputs
}

pub fn workers() -> Vec<NodeId> {
    (2..2 + WORKERS).map(NodeId).collect()
}

fn store<N: Cluster>(sim: &Sim<N>) -> &Store {
    sim.node(STORE).expect("the store does not crash").store()
}

/// Whether every reduce output is in place.
pub fn finished<N: Cluster>(sim: &Sim<N>, reduces: usize) -> bool {
    let files = &store(sim).files;
    (0..reduces).all(|r| files.contains_key(&output_name(r)))
}

fn short(text: &str) -> String {
    let start: String = text.chars().take(40).collect();
    if start.len() < text.len() {
        format!("{start:?}… ({} bytes)", text.len())
    } else {
        format!("{start:?}")
    }
}

/// A run of `job` with its checks registered.
pub fn start<N: Cluster>(seed: u64, job: &Job) -> Sim<N> {
    let for_nodes = job.clone();
    let mut sim = Sim::new(seed, 2 + WORKERS, move |id| N::build(id, for_nodes.clone()));
    watch(&mut sim, job);
    sim
}

/// Registers OUTPUT, WHOLE, BARRIER and REEXECUTE, checked after every event.
pub fn watch<N: Cluster>(sim: &mut Sim<N>, job: &Job) {
    let expected = sequential(job);
    let (maps, reduces) = (job.inputs.len(), job.reduces);
    let finals: Vec<String> = (0..maps)
        .flat_map(|m| (0..reduces).map(move |r| intermediate_name(m, r)))
        .chain((0..reduces).map(output_name))
        .collect();
    let seen: Rc<RefCell<BTreeMap<String, String>>> = Rc::default();
    sim.check(OUTPUT, move |sim, _| {
        for (r, want) in expected.iter().enumerate() {
            match store(sim).files.get(&output_name(r)) {
                Some(got) if got != want => {
                    return Err(Broken::new(format!(
                        "{} holds {}, but a sequential run puts {} in partition {r}",
                        output_name(r),
                        short(got),
                        short(want)
                    )))
                }
                _ => {}
            }
        }
        Ok(())
    });
    sim.check(WHOLE, move |sim, _| {
        let store = store(sim);
        let mut seen = seen.borrow_mut();
        for name in &finals {
            match (store.files.get(name), seen.get(name)) {
                (Some(now), Some(before)) if now != before => {
                    return Err(Broken::new(format!(
                        "{name} changed after it was in place: it held {}, now {}",
                        short(before),
                        short(now)
                    )))
                }
                (None, Some(_)) => {
                    return Err(Broken::new(format!("{name} was in place, and is gone")))
                }
                (Some(now), None) => {
                    if !store.placed.contains(name) {
                        return Err(Broken::new(format!(
                            "{name} appeared without a rename (written in place): it holds {}",
                            short(now)
                        )));
                    }
                    seen.insert(name.clone(), now.clone());
                }
                _ => {}
            }
        }
        Ok(())
    });
    sim.check(BARRIER, move |sim, step| {
        for task in handed_out(step.caused()) {
            let Task::Reduce(r) = task.1 else { continue };
            let files = &store(sim).files;
            let missing = (0..maps)
                .flat_map(|m| (0..reduces).map(move |p| intermediate_name(m, p)))
                .find(|name| !files.contains_key(name));
            if let Some(name) = missing {
                return Err(Broken::new(format!(
                    "the coordinator handed reduce {r} to {} while {name} was not yet in place",
                    task.0
                )));
            }
        }
        Ok(())
    });
    // Per task: when and to whom it was last handed out, and whether the
    // coordinator has heard that it finished.
    // With backup tasks, a second copy before TASK_TIMEOUT is the
    // stragglers' rule to check (`stragglers::BACKUPS`).
    let backups = job.backups;
    let handed: Rc<RefCell<BTreeMap<Task, (NodeId, Time)>>> = Rc::default();
    let done: Rc<RefCell<Vec<Task>>> = Rc::default();
    sim.check(REEXECUTE, move |sim, step| {
        if let Some(Event::Deliver {
            to: COORDINATOR,
            msg: Msg::Ask {
                finished: Some(task),
            },
            ..
        }) = step.trigger_event()
        {
            if !done.borrow().contains(task) {
                done.borrow_mut().push(*task);
            }
        }
        for (worker, task) in handed_out(step.caused()) {
            if done.borrow().contains(&task) {
                return Err(Broken::new(format!(
                    "the coordinator handed {task:?} to {worker} after it was reported finished"
                ))
                .nodes([COORDINATOR]));
            }
            let now = sim.now();
            let mut handed = handed.borrow_mut();
            // Answering a repeated Ask with the task its worker holds hands
            // nothing out again (and does not restart its clock).
            if handed
                .get(&task)
                .is_some_and(|(holder, _)| *holder == worker)
            {
                continue;
            }
            if let Some((before, at)) = handed.insert(task, (worker, now)) {
                if !backups && now.saturating_since(at) < TASK_TIMEOUT {
                    return Err(Broken::new(format!(
                        "the coordinator handed {task:?} to {before} at {at} and again to \
                         {worker} at {now}, before TASK_TIMEOUT ({} ms) had passed",
                        TASK_TIMEOUT.as_millis()
                    ))
                    .nodes([COORDINATOR]));
                }
            }
        }
        Ok(())
    });
}

/// The tasks the coordinator handed out in these events, with their workers.
pub fn handed_out<N: Cluster>(entries: &[dsim::Entry<N>]) -> Vec<(NodeId, Task)> {
    entries
        .iter()
        .filter_map(|e| match &e.event {
            Event::Send {
                from: COORDINATOR,
                to,
                msg: Msg::Assign(task),
                ..
            } => Some((*to, *task)),
            _ => None,
        })
        .collect()
}

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

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded(
            "coordinator::word_count_matches_a_sequential_run",
            4,
            |seed| job_run::<MapReduce>(seed, App::WordCount, Faults::None).map(drop),
        )
        .seeded(
            "coordinator::inverted_index_matches_a_sequential_run",
            4,
            |seed| job_run::<MapReduce>(seed, App::InvertedIndex, Faults::None).map(drop),
        )
        .seeded(
            "coordinator::survives_loss_duplication_delay_and_skewed_clocks",
            6,
            |seed| job_run::<MapReduce>(seed, app(seed), Faults::Network).map(drop),
        )
        .seeded("coordinator::ignores_duplicated_answers", 4, |seed| {
            job_run::<MapReduce>(seed, app(seed), Faults::Duplicates).map(drop)
        })
        .seeded(
            "coordinator::survives_workers_crashing_and_restarting",
            10,
            |seed| job_run::<MapReduce>(seed, app(seed), Faults::Crashes).map(drop),
        )
        .seeded(
            "coordinator::reassigns_the_task_of_a_worker_that_never_returns",
            6,
            |seed| job_run::<MapReduce>(seed, app(seed), Faults::Dies).map(drop),
        )
        .seeded(
            "coordinator::a_cut_off_worker_s_late_output_changes_nothing",
            4,
            |seed| job_run::<MapReduce>(seed, app(seed), Faults::CutOff).map(drop),
        )
}

/// Odd seeds count words, even seeds build the index.
pub fn app(seed: u64) -> App {
    if seed % 2 == 1 {
        App::WordCount
    } else {
        App::InvertedIndex
    }
}

/// The checks, run on the reference with one bug each (`bugs/`).
#[cfg(bugs)]
pub fn meta(suite: Suite) -> Suite {
    use crate::bugs::never_reassigns::coordinator::MapReduce as NeverReassigns;
    use crate::bugs::reduce_starts_early::coordinator::MapReduce as EarlyReduce;
    use crate::bugs::writes_in_place::coordinator::MapReduce as InPlace;
    use dscheck::{expect_caught, expect_caught_saying};
    suite
        .test("meta::a_coordinator_that_never_reassigns_is_caught", || {
            expect_caught(FINISHES, 5, |seed| {
                job_run::<NeverReassigns>(seed, app(seed), Faults::Dies).map(drop)
            })
        })
        .test("meta::a_worker_that_writes_in_place_is_caught", || {
            expect_caught_saying(WHOLE, 5, &["without a rename"], &[], |seed| {
                job_run::<InPlace>(seed, app(seed), Faults::None).map(drop)
            })
        })
        .test("meta::a_reduce_that_starts_early_is_caught", || {
            expect_caught(BARRIER, 5, |seed| {
                job_run::<EarlyReduce>(seed, app(seed), Faults::None).map(drop)
            })
        })
}
