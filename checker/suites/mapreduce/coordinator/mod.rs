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

mod job;
mod runs;
mod watch;

use crate::subject::mapreduce::coordinator::{App, Job, MapReduce, Msg, Store, Timer};
use dscheck::{Property, Suite};
use dsim::{Fact, Node, NodeId};
pub use job::WORKERS;
pub use runs::{job_run, job_run_with, Faults};
pub use watch::handed_out;

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
