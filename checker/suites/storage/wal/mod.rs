//! storage_wal: a store on a disk that loses power keeps every acknowledged
//! write, never shows a value no client wrote, answers reads with the
//! latest acknowledged write or a later one, acknowledges a write only once
//! it is synced, shares syncs among concurrent writes, and replays only
//! the records since its last checkpoint.
//!
//! The model is the run's history (`common::history`): for each key, the writes in the order
//! they reached the node (one node serves them all, in that order). The
//! latest acknowledged one is the floor: what the store holds for the key,
//! at any moment and after any power cut, is that write or one that
//! arrived after it. Every value is built from its request's number, so a
//! value no client wrote (a torn record replayed) is recognizable.

mod failures;
mod scenarios;
mod watch;

use super::common::engines;
use crate::subject::storage::wal::{Reply, Request, Wal};
use dscheck::{Property, Suite};
use dsim::Node;
use failures::checkpoint_failures;
use scenarios::{burst, checkpoints, faults, torn_tails, workload, Cut};
#[cfg(bugs)]
use scenarios::{cuts_while_logging, workload_unwatched_acks};
pub use watch::watch;

/// The node of the exercise: the reference, the learner's, or one from `bugs/`.
pub trait Store: super::common::Engine + Node<Request = Request, Reply = Reply> {
    fn map(&self) -> &std::collections::BTreeMap<String, String>;
    fn replayed(&self) -> usize;
}

engines!(Store {
    fn map(&self) -> &std::collections::BTreeMap<String, String> {
        &self.map
    }
    fn replayed(&self) -> usize {
        self.replayed
    }
} for
    Wal,
    #[cfg(bugs)] crate::bugs::replays_torn_record::wal::Wal,
    #[cfg(bugs)] crate::bugs::acks_before_sync::wal::Wal,
    #[cfg(bugs)] crate::bugs::checkpoint_never_synced::wal::Wal,
    #[cfg(bugs)] crate::bugs::checkpoint_synced_after_rename::wal::Wal,
    #[cfg(bugs)] crate::bugs::sync_per_write::wal::Wal,
    #[cfg(bugs)] crate::bugs::no_sync_dir::wal::Wal,
    #[cfg(bugs)] crate::bugs::reads_the_checkpoint::wal::Wal,
);

pub const DURABLE: Property = Property {
    name: "every acknowledged write is in the store (or a later write to its key), across \
           crashes and power cuts",
    hint: "acknowledge a write only after the log record holding it is synced; on start, replay \
           every whole record after the checkpoint; and make a checkpoint durable (sync the file, \
           rename, sync_dir) before reusing the log",
    when: &[],
};
pub const ATOMIC: Property = Property {
    name: "no value appears in the store that no client wrote",
    hint: "a power cut may tear the last record: recovery must stop at the first record whose \
           length does not fit or whose CRC-32 does not match, and replay nothing after it",
    when: &[],
};
pub const READS: Property = Property {
    name: "a Get returns the latest acknowledged write to its key, or a write that arrived \
           after that one (not yet acknowledged)",
    hint: "answer a Get from the map, and apply each write to the map when it is logged (or when \
           it is synced), in the order the writes arrive",
    when: &[],
};
pub const SYNCED_ACK: Property = Property {
    name: "a write is acknowledged only when everything written to the disk is synced",
    hint: "reply Done only after ctx.disk().sync(LOG) in the same handler, and write nothing \
           else to the disk after those replies without syncing it; a file created or renamed \
           is durable only after ctx.disk().sync_dir()",
    when: &[],
};
pub const GROUP_COMMIT: Property = Property {
    name: "under a burst of concurrent writes, at most one sync per two acknowledged writes",
    hint: "do not sync per write: log each write, start a GROUP_WINDOW timer at the first that \
           waits, and when it fires sync once and acknowledge every waiting write",
    when: &[],
};
pub const CHECKPOINTED: Property = Property {
    name: "a checkpoint follows every CHECKPOINT_EVERY logged records, and recovery replays \
           only the records since the last one (at most 2 × CHECKPOINT_EVERY)",
    hint: "at the group sync, checkpoint once since_checkpoint >= CHECKPOINT_EVERY and reset \
           it; after the checkpoint the log is reused from its start, and recovery skips \
           records whose lsn is not the next after the checkpoint's, counting in replayed \
           each record it applies",
    when: &[],
};
pub const ACKED: Property = Property {
    name: "a write to a node that stays up is acknowledged within 10 ms",
    hint: "the first write that waits starts the GROUP_WINDOW timer (Timer::Flush); when it \
           fires, sync the log and reply Done to every waiting write",
    when: &[],
};

/// Keys of the workload: few, so writes overwrite and delete each other.
const KEYS: u64 = 4;

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded(
            "wal::survives_power_cuts_in_a_random_workload",
            40,
            workload::<Wal>,
        )
        .seeded("wal::survives_crashes_in_a_random_workload", 10, |seed| {
            faults::<Wal>(seed, Cut::Crash, true)
        })
        .seeded(
            "wal::survives_power_failing_in_the_middle_of_a_handler",
            12,
            |seed| faults::<Wal>(seed, Cut::MidHandler, true),
        )
        .seeded(
            "wal::survives_power_failing_at_each_step_of_a_checkpoint",
            2,
            checkpoint_failures::<Wal>,
        )
        .seeded("wal::stops_at_a_torn_record", 10, torn_tails::<Wal>)
        .seeded("wal::shares_syncs_in_a_burst", 5, burst::<Wal>)
        .seeded("wal::checkpoints_bound_the_replay", 3, checkpoints::<Wal>)
}

/// The checks, run on the reference with one bug each (`bugs/`).
#[cfg(bugs)]
pub fn meta(suite: Suite) -> Suite {
    use crate::bugs::acks_before_sync::wal::Wal as AcksEarly;
    use crate::bugs::checkpoint_never_synced::wal::Wal as CheckpointUnsynced;
    use crate::bugs::checkpoint_synced_after_rename::wal::Wal as SyncedAfterRename;
    use crate::bugs::no_sync_dir::wal::Wal as NoSyncDir;
    use crate::bugs::reads_the_checkpoint::wal::Wal as ReadsCheckpoint;
    use crate::bugs::replays_torn_record::wal::Wal as ReplaysTorn;
    use crate::bugs::sync_per_write::wal::Wal as SyncPerWrite;
    use dscheck::expect_caught;
    suite
        .test(
            "meta::recovery_that_replays_a_torn_record_is_caught",
            || expect_caught(ATOMIC, 10, torn_tails::<ReplaysTorn>),
        )
        .test("meta::an_ack_before_the_sync_is_caught", || {
            expect_caught(SYNCED_ACK, 10, workload::<AcksEarly>)
        })
        .test("meta::a_checkpoint_never_synced_is_caught", || {
            expect_caught(SYNCED_ACK, 10, workload::<CheckpointUnsynced>)
        })
        .test("meta::a_checkpoint_never_synced_loses_writes", || {
            // A lost checkpoint matters only when a cut keeps none of it
            // while the log it replaced is reused: both scenarios run.
            expect_caught(DURABLE, 10, |seed| {
                cuts_while_logging::<CheckpointUnsynced>(seed, false)?;
                workload_unwatched_acks::<CheckpointUnsynced>(seed)
            })
        })
        .test(
            "meta::a_checkpoint_synced_after_its_rename_is_caught_by_a_failure_between",
            || expect_caught(DURABLE, 3, checkpoint_failures::<SyncedAfterRename>),
        )
        .test("meta::a_rename_never_made_durable_loses_writes", || {
            expect_caught(DURABLE, 10, workload_unwatched_acks::<NoSyncDir>)
        })
        .test("meta::a_get_answered_from_the_checkpoint_is_caught", || {
            expect_caught(READS, 10, workload::<ReadsCheckpoint>)
        })
        .test("meta::one_sync_per_write_is_caught", || {
            expect_caught(GROUP_COMMIT, 5, burst::<SyncPerWrite>)
        })
}
