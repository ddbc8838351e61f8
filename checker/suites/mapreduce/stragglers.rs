//! mapreduce_stragglers: with backup tasks, a job with one slow worker
//! finishes at least 1.5 times sooner than without them; a backup copy is
//! handed out only at the end of its phase, at most one per task; and the
//! coordinator's checks (outputs equal a sequential run's, final files
//! whole and placed once, the phase barrier, the job finishes) still hold
//! with backups on, a slow worker, crashes and a lossy network.
//!
//! The slow worker is made by `Sim::set_slowness`: every timer it sets (its
//! computing, its retries) takes that many times as long, while its
//! messages travel as fast as any.

use super::coordinator::{app, handed_out, job_run_with, Cluster, Faults, WORKERS};
use crate::subject::mapreduce::{MapReduce, Msg, Task, COORDINATOR, TASK_TIMEOUT};
use dscheck::{Failure, Property, Suite};
use dsim::{Broken, Event, NodeId, Sim, Time};
use std::collections::{BTreeMap, BTreeSet};

pub const FASTER: Property = Property {
    name: "with one worker 20 times slower than the others, the job with backup tasks \
           finishes at least 1.5 times sooner than without them",
    hint: "when a worker asks and no task of the phase is left to hand out, give it a backup \
           copy of a task still in progress (the oldest not yet backed up): the first copy to \
           finish wins, so the slow worker's task no longer holds up the job",
    when: &[],
};
pub const ONE_TASK: Property = Property {
    name: "a worker's Ask is answered with one task at most: a worker runs one task at a time",
    hint: "back_up gives nothing to a worker that holds a task (task_of(worker) is some): on_ask \
           may just have given it one, and a busy worker ignores a second Assign, so the copy \
           would never run though the task counts as backed up",
    when: &[],
};
pub const BACKUPS: Property = Property {
    name: "a task is handed to a second worker before TASK_TIMEOUT only as its one backup \
           copy, and only once every task of its phase has been handed out",
    hint: "back_up gives nothing to a worker that holds a task (on_ask may just have given it \
           one), backs up only a task InProgress of the current phase, and records each task \
           it backs up in backed_up, never backing it up again",
    when: &[],
};

/// How many times slower a straggler works.
const SLOWNESS: u32 = 20;
/// The straggler: the first worker.
const SLOW: &[(NodeId, u32)] = &[(NodeId(2), SLOWNESS)];
/// Two stragglers: the first two workers.
const TWO_SLOW: &[(NodeId, u32)] = &[(NodeId(2), SLOWNESS), (NodeId(3), SLOWNESS)];

/// Registers ONE_TASK and BACKUPS, checked after every event.
pub fn watch_backups<N: Cluster>(sim: &mut Sim<N>, maps: usize, reduces: usize) {
    sim.check(ONE_TASK, |_, step| {
        let Some(Event::Deliver {
            from,
            to: COORDINATOR,
            msg: Msg::Ask { .. },
            ..
        }) = step.trigger_event()
        else {
            return Ok(());
        };
        let answers: Vec<Task> = handed_out(step.caused())
            .into_iter()
            .filter(|(to, _)| to == from)
            .map(|(_, task)| task)
            .collect();
        if answers.len() > 1 {
            return Err(Broken::new(format!(
                "the coordinator answered one Ask of {from} with {answers:?}: a worker runs \
                 one task at a time, and ignores the others"
            ))
            .nodes([COORDINATOR]));
        }
        Ok(())
    });
    // Per task: the start of its current run (its first hand-out, or its
    // re-execution after TASK_TIMEOUT) and the workers handed it since. A
    // task sent again to one of them (a repeated Ask) is no new copy.
    let mut runs: BTreeMap<Task, (Time, BTreeSet<NodeId>)> = BTreeMap::new();
    sim.check(BACKUPS, move |sim, step| {
        for (worker, task) in handed_out(step.caused()) {
            let now = sim.now();
            match runs.get_mut(&task) {
                Some((_, workers)) if workers.contains(&worker) => continue,
                Some((since, workers)) if now.saturating_since(*since) < TASK_TIMEOUT => {
                    workers.insert(worker);
                    if workers.len() > 2 {
                        return Err(Broken::new(format!(
                            "the coordinator handed {task:?} to {worker} while {} already \
                             ran it, within TASK_TIMEOUT: more than one backup copy",
                            names(workers, worker)
                        )));
                    }
                }
                _ => {
                    runs.insert(task, (now, BTreeSet::from([worker])));
                    continue;
                }
            }
            let phase: Vec<Task> = match task {
                Task::Map(_) => (0..maps).map(Task::Map).collect(),
                Task::Reduce(_) => (0..reduces).map(Task::Reduce).collect(),
            };
            if let Some(waiting) = phase.iter().find(|t| !runs.contains_key(t)) {
                return Err(Broken::new(format!(
                    "the coordinator handed {worker} a backup copy of {task:?} while \
                     {waiting:?} had never been handed out: a backup belongs at the end of \
                     a phase"
                )));
            }
        }
        Ok(())
    });
}

fn names(workers: &BTreeSet<NodeId>, except: NodeId) -> String {
    let others: Vec<String> = workers
        .iter()
        .filter(|w| **w != except)
        .map(|w| w.to_string())
        .collect();
    others.join(" and ")
}

/// The job with backups on, `slow` workers and `faults`, watched by
/// ONE_TASK and BACKUPS as well as the coordinator's checks.
pub fn with_backups<N: Cluster>(
    seed: u64,
    faults: Faults,
    slow: &[(NodeId, u32)],
) -> Result<Time, Failure> {
    job_run_with::<N>(seed, app(seed), true, faults, slow, |sim, job| {
        watch_backups(sim, job.inputs.len(), job.reduces)
    })
}

/// The same job and slow worker, without backup tasks and with them: the
/// second must finish at least 1.5 times sooner. Both times are reported.
pub fn faster<N: Cluster>(seed: u64) -> Result<(), Failure> {
    faster_when::<N>(seed, Faults::None, SLOW)
}

/// [`faster`], the straggler being the first worker handed a reduce task.
pub fn faster_in_reduces<N: Cluster>(seed: u64) -> Result<(), Failure> {
    faster_when::<N>(seed, Faults::SlowReduce, &[])
}

fn faster_when<N: Cluster>(
    seed: u64,
    faults: Faults,
    slow: &[(NodeId, u32)],
) -> Result<(), Failure> {
    let without = job_run_with::<N>(seed, app(seed), false, faults, slow, |_, _| {})?;
    let with = with_backups::<N>(seed, faults, slow)?;
    let (without, with) = (without.as_millis(), with.as_millis());
    dscheck::metric("job time, one slow worker, no backup tasks (ms)", without);
    dscheck::metric("job time, one slow worker, backup tasks (ms)", with);
    if with * 3 > without * 2 {
        return Err(Failure::new(
            FASTER,
            format!(
                "with {WORKERS} workers, one of them {SLOWNESS} times slower, the job took \
                 {without} ms without backup tasks and {with} ms with them"
            ),
        ));
    }
    Ok(())
}

/// Two slow workers, two fast ones: at the end of the map phase both fast
/// workers ask while both slow tasks run, and each slow task gets one copy.
pub fn two_stragglers<N: Cluster>(seed: u64) -> Result<(), Failure> {
    with_backups::<N>(seed, Faults::None, TWO_SLOW).map(drop)
}

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded(
            "stragglers::backup_tasks_beat_a_slow_worker",
            4,
            faster::<MapReduce>,
        )
        .seeded(
            "stragglers::backup_tasks_beat_a_worker_slow_in_the_reduce_phase",
            4,
            faster_in_reduces::<MapReduce>,
        )
        .seeded(
            "stragglers::two_stragglers_get_one_backup_each",
            4,
            two_stragglers::<MapReduce>,
        )
        .seeded(
            "stragglers::backups_keep_the_outputs_whole_under_loss_and_skew",
            4,
            |seed| with_backups::<MapReduce>(seed, Faults::Network, SLOW).map(drop),
        )
        .seeded(
            "stragglers::backups_survive_workers_crashing_and_restarting",
            6,
            |seed| with_backups::<MapReduce>(seed, Faults::Crashes, SLOW).map(drop),
        )
        .seeded(
            "stragglers::a_dead_worker_s_task_still_runs_again",
            4,
            |seed| with_backups::<MapReduce>(seed, Faults::Dies, SLOW).map(drop),
        )
}

/// The checks, run on the reference with one bug each (`bugs/`).
#[cfg(bugs)]
pub fn meta(suite: Suite) -> Suite {
    use crate::bugs::backs_up_busy_workers::MapReduce as Busy;
    use crate::bugs::backs_up_twice::MapReduce as Twice;
    use crate::bugs::no_backups::MapReduce as NoBackups;
    use dscheck::expect_caught;
    suite
        .test("meta::a_coordinator_without_backup_tasks_is_caught", || {
            expect_caught(FASTER, 4, faster::<NoBackups>)
        })
        .test("meta::backups_to_busy_workers_are_caught", || {
            expect_caught(ONE_TASK, 4, faster::<Busy>)
        })
        .test("meta::a_second_backup_of_a_task_is_caught", || {
            expect_caught(BACKUPS, 4, two_stragglers::<Twice>)
        })
}
