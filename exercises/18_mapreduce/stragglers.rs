//! # mapreduce_stragglers: backup tasks for the last, slow tasks of a phase
//!
//! One slow machine (a failing disk, a busy neighbour) can hold up a whole
//! job: every other worker finishes its tasks and waits for the straggler's
//! last one, which is not slow enough to hit
//! [`TASK_TIMEOUT`](crate::mapreduce::TASK_TIMEOUT). The paper's
//! cure: near the end of a phase, run each task still in progress a second
//! time on an idle worker, and take whichever copy finishes first. The
//! rules, for a job with [`Job::backups`] on:
//!
//! 1. **Only at the end of a phase.** A worker that asks and gets no task
//!    from [`MapReduce::pick_task`] (no task of the phase is idle, none
//!    has timed out) may get a backup copy of a task of that phase still in
//!    progress. Earlier, every worker is busy with a task of its own, and a
//!    copy would only slow the others down.
//! 2. **One backup per task.** A task gets at most one backup copy
//!    (recorded, with its worker, in
//!    [`Coordinator::backed_up`](crate::mapreduce::Coordinator::backed_up)), so a job costs at most a
//!    few percent more work. The oldest task in progress goes first: it is
//!    the likeliest straggler.
//! 3. **First finisher wins.** Nothing else changes: either copy reports
//!    the task finished (it is Done), and the store keeps the first output
//!    renamed into place, refusing the other's rename. The copies are equal
//!    because map and reduce are deterministic.
//! 4. **A worker that holds a task gets no backup.** It has just been given
//!    one, or is still working on one. A worker running a backup copy holds
//!    that task ([`MapReduce::backup_of`]): asking again, it is sent the
//!    same copy, as a worker is sent its task.
//!
//! Read the section on stragglers in `exercises/18_mapreduce/README.md`
//! first. The stub hands out no backup copies, so that
//! `mapreduce_coordinator` passes before you write this.

use crate::mapreduce::{MapReduce, Task};
use dsim::{Ctx, NodeId};
// You will want crate::mapreduce::{Msg, TaskState} and dsim::Time.

impl MapReduce {
    /// After `worker`'s Ask was handled (and only for a job with backups):
    /// if it holds no task, a backup copy of a task of the current phase
    /// still in progress, if one has none yet.
    pub(crate) fn back_up(&mut self, ctx: &mut Ctx<Self>, worker: NodeId) {
        // TODO: if task_of(worker) is none, take backup_candidate(), record it in
        // coordinator.backed_up with this worker, and send the worker Msg::Assign of it.
        let _ = (ctx, worker);
    }

    /// The task `worker` runs a backup copy of, if it is not yet done.
    pub fn backup_of(&self, worker: NodeId) -> Option<Task> {
        // TODO: the task coordinator.backed_up maps to this worker, unless it is Done.
        let _ = worker;
        None
    }

    /// The task to back up: of the current phase (the maps while one is not
    /// Done, then the reduces), in progress, not yet backed up, the one in
    /// progress the longest.
    pub fn backup_candidate(&self) -> Option<Task> {
        todo!("the current phase as in pick_task; among its InProgress tasks not in backed_up, the one with the earliest since")
    }
}
