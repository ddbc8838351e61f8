//! storage_lsm: a log-structured merge tree answers every Get as a map of
//! the acknowledged writes would, keeps those writes across crashes and
//! power cuts, never brings a deleted key back through a compaction,
//! acknowledges only synced writes, keeps its number of runs bounded by
//! compacting, and lets its Bloom filters spare the reads of absent keys.
//!
//! The model is the run's history (`common::history`): for each key, the
//! writes in the order they reached the one node. The latest acknowledged
//! write is the floor; a Get may return it or a write that arrived after
//! it. Which property a wrong answer breaks depends on what it is: a value
//! written before an acknowledged Delete is a resurrection; an
//! acknowledged write missing after the node went down is a loss; any
//! other is a wrong read.

mod costs;
mod failures;
mod scenarios;
mod watch;

use super::common::{engines, Cut};
use crate::subject::storage::lsm::{run_file, Lsm, Reply, Request, TIER_WIDTH};
use costs::{absent_keys, write_heavy};
use dscheck::{Property, Suite};
use dsim::{Disk, Node};
use failures::flush_failures;
use scenarios::{cuts_after_flushes, deletes, faults, overwrites, tombstones_dropped};
pub use watch::watch;

/// The node of the exercise: the reference, the learner's, or one from `bugs/`.
pub trait Store: super::common::Engine + Node<Request = Request, Reply = Reply> {
    /// How many runs are live.
    fn runs(&self) -> usize;
    /// How many runs Gets have read from the disk.
    fn runs_read(&self) -> u64;
    /// The files of the live runs.
    fn run_files(&self) -> Vec<String>;
    /// How many tombstones the live runs hold.
    fn tombstones(&self, disk: &Disk) -> usize;
}

engines!(Store {
    fn runs(&self) -> usize {
        self.runs.len()
    }
    fn runs_read(&self) -> u64 {
        self.runs_read
    }
    fn run_files(&self) -> Vec<String> {
        self.runs.iter().map(|run| run_file(run.id)).collect()
    }
    fn tombstones(&self, disk: &Disk) -> usize {
        let entries = self.runs.iter().flat_map(|run| run.entries(disk));
        entries.filter(|(_, entry)| entry.is_none()).count()
    }
} for
    Lsm,
    #[cfg(bugs)] crate::bugs::lsm_reads_oldest_first::lsm::Lsm,
    #[cfg(bugs)] crate::bugs::lsm_drops_tombstones_early::lsm::Lsm,
    #[cfg(bugs)] crate::bugs::lsm_acks_unsynced::lsm::Lsm,
    #[cfg(bugs)] crate::bugs::lsm_manifest_rename_not_durable::lsm::Lsm,
    #[cfg(bugs)] crate::bugs::lsm_log_emptied_before_manifest::lsm::Lsm,
);

pub const READS: Property = Property {
    name: "a Get returns the latest acknowledged write to its key, or a write that arrived \
           after it (not yet acknowledged)",
    hint: "look in the memtable first, then in the runs from the NEWEST to the oldest, and stop \
           at the first entry for the key (a tombstone answers None); a compaction keeps the \
           newest entry of each key",
    when: &[],
};
pub const DURABLE: Property = Property {
    name: "every write acknowledged before a crash or power cut is still there after it",
    hint: "sync the log before acknowledging; on start, open every run the manifest names and \
           replay the log's whole records into the memtable; empty the log only after the \
           manifest naming the flushed run is durable (synced, renamed, sync_dir)",
    when: &[],
};
pub const NO_RESURRECTION: Property = Property {
    name: "a deleted key never comes back: after an acknowledged Delete, no Get returns a \
           value written before it",
    hint: "a Delete is a tombstone that must outlive every older value of its key: a \
           compaction may drop a tombstone only when it merges the OLDEST run (tier.start == \
           0), and a Get must stop at a tombstone instead of looking in older runs",
    when: &[],
};
pub const SYNCED_ACK: Property = Property {
    name: "a write is acknowledged only when everything written to the disk is synced",
    hint: "sync the log after appending the record and before replying Done; a flush or a \
           compaction syncs each file it writes, and a creation, rename or removal is durable \
           only after ctx.disk().sync_dir()",
    when: &[],
};
pub const BOUNDED_RUNS: Property = Property {
    name: "compaction keeps the number of runs bounded (at most 4 × TIER_WIDTH) under any \
           number of writes",
    hint: "after each flush, compact while pick_compaction() finds TIER_WIDTH runs of similar \
           size: merge them into one run that takes their place",
    when: &[],
};
pub const ACKED: Property = Property {
    name: "every write to a node that stays up is acknowledged within 1 ms",
    hint: "once the record is logged and the log synced, and the write is in the memtable, \
           reply Done in the same handler",
    when: &[],
};
pub const FLUSHED: Property = Property {
    name: "the memtable is flushed (and the log emptied) when it holds MEMTABLE_LIMIT keys, \
           not before and not after",
    hint: "after inserting a write into the memtable, flush once memtable.len() >= \
           MEMTABLE_LIMIT: write it as a run, install the manifest, then empty the log",
    when: &[],
};
pub const TOMBSTONES_DROPPED: Property = Property {
    name: "a compaction that merges the oldest run drops its tombstones: no older run can hold \
           what they delete",
    hint: "in compact, when tier.start == 0, keep only the entries that are values \
           (merged.retain(|_, entry| entry.is_some())) before writing the merged run",
    when: &[],
};
pub const NO_GARBAGE: Property = Property {
    name: "every run file on the disk is a live run's: a compaction removes the files of the \
           runs it merged, and recovery those a flush or compaction cut short left behind",
    hint: "after installing the manifest without the merged runs, ctx.disk().remove each of \
           their files, then sync_dir; and in recover, once the manifest's runs are open, call \
           remove_orphans",
    when: &[],
};
pub const FILTERED: Property = Property {
    name: "a Get of an absent key reads a run only when that run's Bloom filter says maybe: \
           runs read per run consulted within 2 × the configured false-positive rate",
    hint: "before reading run i, ask self.runs[i].bloom.may_contain(key) and skip the run on \
           false; the filter never says false for a key the run holds",
    when: &[],
};
pub const AMPLIFICATION: Property = Property {
    name: "write amplification (bytes written to the disk per byte of user data) stays below 20, \
           and a Get of a present key reads at most 2 runs on average",
    hint: "write each record once to the log and each run once per compaction; merge only runs \
           of similar size (pick_compaction), and read the runs newest first, skipping each \
           run whose Bloom filter rules the key out and stopping at the first entry for the key",
    when: &[],
};

/// The most runs a store may hold at any moment.
const MAX_RUNS: usize = 4 * TIER_WIDTH;

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded("lsm::matches_the_model_across_power_cuts", 20, |seed| {
            faults::<Lsm>(seed, Cut::Power, true)
        })
        .seeded("lsm::matches_the_model_across_crashes", 5, |seed| {
            faults::<Lsm>(seed, Cut::Crash, true)
        })
        .seeded("lsm::reads_the_newest_value", 5, overwrites::<Lsm>)
        .seeded(
            "lsm::deleted_keys_stay_deleted_through_compactions",
            5,
            deletes::<Lsm>,
        )
        .seeded("lsm::survives_power_cuts_right_after_flushes", 5, |seed| {
            cuts_after_flushes::<Lsm>(seed, true)
        })
        .seeded(
            "lsm::survives_power_failing_at_each_step_of_a_flush_and_compaction",
            2,
            flush_failures::<Lsm>,
        )
        .seeded(
            "lsm::compacting_the_oldest_run_drops_tombstones",
            2,
            tombstones_dropped::<Lsm>,
        )
        .seeded("lsm::compaction_bounds_the_runs", 2, write_heavy::<Lsm>)
        .seeded(
            "lsm::bloom_filters_spare_absent_keys",
            2,
            absent_keys::<Lsm>,
        )
}

/// The checks, run on the reference with one bug each (`bugs/`).
#[cfg(bugs)]
pub fn meta(suite: Suite) -> Suite {
    use crate::bugs::lsm_acks_unsynced::lsm::Lsm as AcksUnsynced;
    use crate::bugs::lsm_drops_tombstones_early::lsm::Lsm as DropsTombstones;
    use crate::bugs::lsm_log_emptied_before_manifest::lsm::Lsm as LogEmptiedEarly;
    use crate::bugs::lsm_manifest_rename_not_durable::lsm::Lsm as RenameNotDurable;
    use crate::bugs::lsm_reads_oldest_first::lsm::Lsm as OldestFirst;
    use dscheck::{expect_caught, expect_caught_saying};
    suite
        .test("meta::lsm_a_read_of_the_oldest_run_first_is_caught", || {
            expect_caught(READS, 5, overwrites::<OldestFirst>)
        })
        .test("meta::lsm_a_tombstone_dropped_too_early_is_caught", || {
            expect_caught_saying(
                NO_RESURRECTION,
                5,
                &["written before", "OLDEST run"],
                &[],
                deletes::<DropsTombstones>,
            )
        })
        .test("meta::lsm_an_ack_before_the_sync_is_caught", || {
            expect_caught(SYNCED_ACK, 5, |seed| {
                faults::<AcksUnsynced>(seed, Cut::Power, true)
            })
        })
        .test("meta::lsm_an_ack_before_the_sync_loses_writes", || {
            expect_caught(DURABLE, 5, |seed| {
                faults::<AcksUnsynced>(seed, Cut::Power, false)
            })
        })
        .test(
            "meta::lsm_a_manifest_rename_never_made_durable_is_caught",
            || {
                expect_caught(SYNCED_ACK, 5, |seed| {
                    cuts_after_flushes::<RenameNotDurable>(seed, true)
                })
            },
        )
        .test(
            "meta::lsm_a_log_emptied_before_the_manifest_is_caught_by_a_failure_between",
            || expect_caught(DURABLE, 3, flush_failures::<LogEmptiedEarly>),
        )
        .test(
            "meta::lsm_a_manifest_rename_never_made_durable_loses_writes",
            || {
                expect_caught(DURABLE, 5, |seed| {
                    cuts_after_flushes::<RenameNotDurable>(seed, false)
                })
            },
        )
}
