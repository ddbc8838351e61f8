//! storage_lsm: a log-structured merge tree answers every Get as a map of
//! the acknowledged writes would, keeps those writes across crashes and
//! power cuts, never brings a deleted key back through a compaction,
//! acknowledges only synced writes, keeps its number of runs bounded by
//! compacting, and lets its Bloom filters spare the reads of absent keys.
//!
//! The model is the run's history, as in `storage_wal`: for each key, the
//! writes in the order they reached the one node. The latest acknowledged
//! write is the floor; a Get may return it or a write that arrived after
//! it. Which property a wrong answer breaks depends on what it is: a value
//! written before an acknowledged Delete is a resurrection; an
//! acknowledged write missing after the node went down is a loss; any
//! other is a wrong read.

mod failures;

use crate::subject::storage::lsm::{
    run_file, Lsm, Reply, Request, FALSE_POSITIVE_RATE, LOG, MEMTABLE_LIMIT, TIER_WIDTH,
};
use dscheck::{metric, ms, run, Failure, Property, Suite};
use dsim::{Broken, Disk, Event, Node, NodeId, Sim, SimRng, Time};
use failures::flush_failures;

/// The node of the exercise: the reference, the learner's, or one from `bugs/`.
pub trait Store: Node<Request = Request, Reply = Reply> {
    fn fresh() -> Self;
    /// How many runs are live.
    fn runs(&self) -> usize;
    /// How many runs Gets have read from the disk.
    fn runs_read(&self) -> u64;
    /// The files of the live runs.
    fn run_files(&self) -> Vec<String>;
    /// How many tombstones the live runs hold.
    fn tombstones(&self, disk: &Disk) -> usize;
}

macro_rules! store {
    ($($node:ty),* $(,)?) => {$(
        impl Store for $node {
            fn fresh() -> Self {
                <$node>::new()
            }
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
        }
    )*};
}

store!(Lsm);
#[cfg(bugs)]
store!(
    crate::bugs::lsm_reads_oldest_first::lsm::Lsm,
    crate::bugs::lsm_drops_tombstones_early::lsm::Lsm,
    crate::bugs::lsm_acks_unsynced::lsm::Lsm,
    crate::bugs::lsm_manifest_rename_not_durable::lsm::Lsm,
    crate::bugs::lsm_log_emptied_before_manifest::lsm::Lsm,
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

/// The only node's id.
const NODE: NodeId = NodeId(0);
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

/// A value recognizable as request `n`'s: its tag, repeated.
fn value(n: usize, rng: &mut SimRng) -> String {
    format!("<{n}>").repeat(rng.range(1..=12) as usize)
}

fn key(i: u64) -> String {
    format!("k{i:04}")
}

/// The writes to `key` in the order they arrived: the value (`None` for a
/// delete), and when it was acknowledged.
type Write = (Option<String>, Option<Time>);

/// The history's writes by key, brought up to date as it grows (it only
/// grows), so that a check reads only the writes to the key it judges.
#[derive(Default)]
struct Writes {
    seen: usize,
    by_key: std::collections::BTreeMap<String, Vec<usize>>,
}

impl Writes {
    fn to<N: Store>(&mut self, sim: &Sim<N>, key: &str) -> Vec<Write> {
        let history = sim.history();
        for (i, op) in history.iter().enumerate().skip(self.seen) {
            if let Request::Put { key, .. } | Request::Delete { key } = &op.request {
                self.by_key.entry(key.clone()).or_default().push(i);
            }
        }
        self.seen = history.len();
        let indices = self.by_key.get(key).map_or(&[][..], Vec::as_slice);
        let write = |op: &dsim::Operation<N>| {
            let acked = op.completion.as_ref().map(|(_, at)| *at);
            match &op.request {
                Request::Put { value, .. } => (Some(value.clone()), acked),
                _ => (None, acked),
            }
        };
        indices.iter().map(|&i| write(&history[i])).collect()
    }
}

fn shown(value: &Option<String>) -> String {
    match value {
        None => "absent".to_string(),
        Some(v) if v.len() <= 24 => format!("{v:?}"),
        Some(v) => format!("{:?}… ({} bytes)", &v[..24], v.len()),
    }
}

/// Which property, if any, a Get of `key` answered with `got` breaks, and
/// how; `down` is when the node last crashed or lost power. An answer that
/// misses a write acknowledged before the node went down is blamed on
/// durability; else a value where a Delete is the floor, on resurrection.
fn judge(
    writes: &[Write],
    key: &str,
    got: &Option<String>,
    down: Option<Time>,
) -> Option<(Property, String)> {
    let floor = writes.iter().rposition(|(_, acked)| acked.is_some());
    // Absent before any write is acknowledged; then the floor or later.
    let unwritten = floor.is_none() && got.is_none();
    if unwritten || writes[floor.unwrap_or(0)..].iter().any(|(v, _)| v == got) {
        return None;
    }
    let left = floor.and_then(|f| writes[f].0.clone());
    let what = format!(
        "a Get of {key:?} returned {}, but the latest acknowledged write to it left {}",
        shown(got),
        shown(&left)
    );
    let floor = floor.map(|f| &writes[f]);
    let deleted = floor.is_some_and(|(v, _)| v.is_none());
    let acked_before_down = floor
        .and_then(|w| w.1)
        .zip(down)
        .is_some_and(|(a, d)| a <= d);
    if acked_before_down {
        let how = if deleted {
            "the Delete was acknowledged before the node went down: it was lost, or a \
             compaction dropped its tombstone while an older run held the key"
        } else {
            "it was acknowledged before the node went down, and lost"
        };
        return Some((DURABLE, format!("{what}: {how}")));
    }
    if deleted && writes.iter().any(|(v, _)| v == got) {
        return Some((
            NO_RESURRECTION,
            format!("{what}: a value written before the key was deleted came back"),
        ));
    }
    Some((READS, what))
}

/// Registers a check of every Get's answer for `property`: the answers
/// [`judge`] blames on it.
fn check_gets<N: Store>(sim: &mut Sim<N>, property: Property) {
    let mut down: Option<Time> = None;
    let mut writes = Writes::default();
    sim.check(property, move |sim, step| {
        for entry in step.iter() {
            match &entry.event {
                Event::Crash { .. } | Event::PowerCut { .. } => down = Some(sim.now()),
                Event::Reply {
                    id,
                    reply: Reply::Value(got),
                    ..
                } => {
                    let Request::Get { key } = &sim.operation(*id).request else {
                        return Err(Broken::new("a write was answered with a value").nodes([NODE]));
                    };
                    let writes = writes.to(sim, key);
                    if let Some((p, what)) = judge(&writes, key, got, down) {
                        if p.name == property.name {
                            return Err(Broken::new(what).nodes([NODE]));
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    });
}

/// Registers every property checked after each event. A meta test turns
/// SYNCED_ACK off to see DURABLE catch, after a power cut, what SYNCED_ACK
/// would catch first.
pub fn watch<N: Store>(sim: &mut Sim<N>, synced_ack: bool) {
    check_gets(sim, NO_RESURRECTION);
    check_gets(sim, DURABLE);
    check_gets(sim, READS);
    sim.check(SYNCED_ACK, move |sim, step| {
        let acked = step.caused().iter().any(|e| {
            matches!(
                e.event,
                Event::Reply {
                    reply: Reply::Done,
                    ..
                }
            )
        });
        if synced_ack && acked && !sim.disk(NODE).is_synced() {
            return Err(Broken::new(
                "a write was acknowledged while the disk still held unsynced writes or names: a \
                 power cut now could lose it",
            )
            .nodes([NODE]));
        }
        Ok(())
    });
    sim.check(NO_GARBAGE, |sim, _| {
        let Some(node) = sim.node(NODE) else {
            return Ok(());
        };
        let live = node.run_files();
        let disk = sim.disk(NODE);
        match disk
            .list()
            .find(|f| f.starts_with("run-") && !live.iter().any(|l| l == f))
        {
            Some(stray) => Err(Broken::new(format!(
                "the disk holds {stray:?}, but the store's live runs are {live:?}"
            ))
            .nodes([NODE])),
            None => Ok(()),
        }
    });
    sim.check(BOUNDED_RUNS, |sim, _| match sim.node(NODE) {
        Some(node) if node.runs() > MAX_RUNS => Err(Broken::new(format!(
            "the store holds {} runs (more than {MAX_RUNS})",
            node.runs()
        ))
        .nodes([NODE])),
        _ => Ok(()),
    });
}

/// Every request of the run has been answered (a run without cuts).
fn all_answered<N: Store>(sim: &Sim<N>) -> Result<(), Failure> {
    match sim.history().iter().position(|op| !op.is_complete()) {
        Some(n) => Err(Failure::after_run(
            sim,
            ACKED,
            format!(
                "request {n} ({:?}) was never answered",
                sim.history()[n].request
            ),
        )),
        None => Ok(()),
    }
}

/// Sends `request` if the node is up.
fn send<N: Store>(sim: &mut Sim<N>, request: Request) {
    if sim.is_up(NODE) {
        sim.request(NODE, request);
    }
}

/// A Put of a fresh value to `key`.
fn put<N: Store>(sim: &mut Sim<N>, rng: &mut SimRng, key: String) {
    let value = value(sim.history().len(), rng);
    send(sim, Request::Put { key, value });
}

/// A Get of every key below `keys`.
fn sweep<N: Store>(sim: &mut Sim<N>, keys: u64) -> Result<(), Failure> {
    for k in 0..keys {
        send(sim, Request::Get { key: key(k) });
    }
    run(sim, |s| s.run_for(ms(1)))
}

/// How the node goes down in a run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cut {
    Power,
    Crash,
}

/// The node goes down as `cut` says, comes back, and every key is read.
fn down_and_up<N: Store>(sim: &mut Sim<N>, cut: Cut, keys: u64) -> Result<(), Failure> {
    match cut {
        Cut::Power => run(sim, |s| s.power_cut(NODE))?,
        Cut::Crash => run(sim, |s| s.crash(NODE))?,
    }
    run(sim, |s| s.restart(NODE))?;
    sweep(sim, keys)
}

/// Puts, deletes and Gets over 24 keys, a few at a time, with the node's
/// power cut (or the node crashed) at random points, then restarted; the
/// memtable fills every few rounds, so flushes and compactions happen
/// between the cuts.
pub fn faults<N: Store>(seed: u64, cut: Cut, synced_ack: bool) -> Result<(), Failure> {
    const KEYS: u64 = 24;
    let mut sim = Sim::new(seed, 1, |_| N::fresh());
    let mut rng = sim.scenario_rng();
    watch(&mut sim, synced_ack);
    for _ in 0..80 {
        for _ in 0..rng.range(1..=5) {
            let k = key(rng.below(KEYS));
            match rng.below(10) {
                0..=5 => put(&mut sim, &mut rng, k),
                6 | 7 => send(&mut sim, Request::Delete { key: k }),
                _ => send(&mut sim, Request::Get { key: k }),
            }
        }
        let pause = rng.duration(ms(0)..=ms(2));
        run(&mut sim, |s| s.run_for(pause))?;
        if rng.chance(0.12) {
            down_and_up(&mut sim, cut, KEYS)?;
        }
    }
    run(&mut sim, |s| s.run_for(ms(2)))?;
    down_and_up(&mut sim, cut, KEYS)
}

/// Puts only: half to 6 hot keys, read back after every round, half to
/// 48 others that fill the memtable now and then. The runs hold many
/// versions of each hot key, and only the newest may answer.
pub fn overwrites<N: Store>(seed: u64) -> Result<(), Failure> {
    const KEYS: u64 = 6;
    let mut sim = Sim::new(seed, 1, |_| N::fresh());
    let mut rng = sim.scenario_rng();
    watch(&mut sim, true);
    for _ in 0..40 {
        for _ in 0..rng.range(4..=10) {
            let k = match rng.chance(0.5) {
                true => rng.below(KEYS),
                false => 100 + rng.below(3 * MEMTABLE_LIMIT as u64),
            };
            put(&mut sim, &mut rng, key(k));
        }
        run(&mut sim, |s| s.run_for(ms(1)))?;
        sweep(&mut sim, KEYS)?;
    }
    all_answered(&sim)
}

/// Keys written and compacted into the oldest run, then deleted; then
/// enough other writes that the runs holding the tombstones are compacted
/// with each other (but not with the oldest run) again and again. The deleted
/// keys are read after every round, and after a power cut.
pub fn deletes<N: Store>(seed: u64) -> Result<(), Failure> {
    const DOOMED: u64 = 8;
    let mut sim = Sim::new(seed, 1, |_| N::fresh());
    let mut rng = sim.scenario_rng();
    watch(&mut sim, true);
    // The oldest run: TIER_WIDTH memtables of distinct keys, the doomed
    // among them, compacted into one run larger than the later ones.
    for k in 0..(TIER_WIDTH * MEMTABLE_LIMIT) as u64 {
        put(&mut sim, &mut rng, key(k));
    }
    run(&mut sim, |s| s.run_for(ms(1)))?;
    for k in 0..DOOMED {
        send(&mut sim, Request::Delete { key: key(k) });
    }
    let mut next = 1000;
    for round in 0..12 {
        for _ in 0..MEMTABLE_LIMIT {
            put(&mut sim, &mut rng, key(next));
            next += 1;
        }
        run(&mut sim, |s| s.run_for(ms(1)))?;
        sweep(&mut sim, DOOMED)?;
        if round % 4 == 3 {
            down_and_up(&mut sim, Cut::Power, DOOMED)?;
        }
    }
    Ok(())
}

/// Distinct keys written one at a time, each acknowledged before the
/// next: the memtable fills at every MEMTABLE_LIMIT-th, and exactly then
/// the log is emptied. Right after each flush (and now and then between),
/// the power is cut.
pub fn cuts_after_flushes<N: Store>(seed: u64, synced_ack: bool) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, 1, |_| N::fresh());
    let mut rng = sim.scenario_rng();
    watch(&mut sim, synced_ack);
    let written = 6 * MEMTABLE_LIMIT as u64;
    for k in 0..written {
        let before = sim.disk(NODE).len(LOG).ok();
        put(&mut sim, &mut rng, key(k));
        run(&mut sim, |s| s.run_for(ms(1)))?;
        let flushed = sim.disk(NODE).len(LOG).ok() < before;
        let full = (k + 1) % MEMTABLE_LIMIT as u64 == 0;
        if synced_ack && flushed != full {
            let what = if full { "was not" } else { "was" };
            return Err(Failure::after_run(
                &sim,
                FLUSHED,
                format!(
                    "after {} distinct keys were written, the log {what} emptied",
                    k + 1
                ),
            ));
        }
        if flushed || rng.chance(0.05) {
            down_and_up(&mut sim, Cut::Power, k + 1)?;
        }
    }
    Ok(())
}

/// 16 keys flushed into the oldest run, all of them deleted (a run of
/// tombstones), then two runs of other keys: the compaction of these four
/// runs merges the oldest, so no tombstone is left (unless the runs were
/// not all merged into one).
pub fn tombstones_dropped<N: Store>(seed: u64) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, 1, |_| N::fresh());
    let mut rng = sim.scenario_rng();
    watch(&mut sim, true);
    let limit = MEMTABLE_LIMIT as u64;
    for k in 0..limit {
        put(&mut sim, &mut rng, key(k));
    }
    for k in 0..limit {
        send(&mut sim, Request::Delete { key: key(k) });
    }
    for k in limit..(TIER_WIDTH as u64 - 1) * limit {
        put(&mut sim, &mut rng, key(k));
    }
    run(&mut sim, |s| s.run_for(ms(1)))?;
    sweep(&mut sim, limit)?;
    all_answered(&sim)?;
    let node = sim.node(NODE).expect("the node stays up");
    let left = node.tombstones(sim.disk(NODE));
    if node.runs() == 1 && left > 0 {
        return Err(Failure::after_run(
            &sim,
            TOMBSTONES_DROPPED,
            format!("the one run left, merged from the oldest, holds {left} tombstones"),
        ));
    }
    Ok(())
}

/// 1600 Puts over 400 keys: the runs stay bounded after every event, and
/// the bytes written to the disk per byte of user data stay low.
pub fn write_heavy<N: Store>(seed: u64) -> Result<(), Failure> {
    const KEYS: u64 = 400;
    let mut sim = Sim::new(seed, 1, |_| N::fresh());
    let mut rng = sim.scenario_rng();
    watch(&mut sim, true);
    run(&mut sim, |s| s.run_for(ms(1)))?;
    let before = sim.disk(NODE).bytes_written();
    let mut user = 0;
    for _ in 0..1600 {
        let k = key(rng.below(KEYS));
        let v = value(sim.history().len(), &mut rng);
        user += k.len() + v.len();
        send(&mut sim, Request::Put { key: k, value: v });
        run(&mut sim, |s| s.run_for(ms(1)))?;
    }
    all_answered(&sim)?;
    let amplification = (sim.disk(NODE).bytes_written() - before) as f64 / user as f64;
    let runs = sim.node(NODE).map_or(0, |n| n.runs());
    metric("write amplification", format!("{amplification:.1}"));
    metric("runs after 1600 writes", runs);
    if amplification > 20.0 {
        return Err(Failure::after_run(
            &sim,
            AMPLIFICATION,
            format!("{amplification:.1} bytes written to the disk per byte of user data"),
        ));
    }
    Ok(())
}

/// 240 keys written (several runs), then Gets of present keys and of 600
/// keys never written: a Get of a present key reads few runs, and one of
/// an absent key reads a run only on a false positive of its filter.
pub fn absent_keys<N: Store>(seed: u64) -> Result<(), Failure> {
    const KEYS: u64 = 240;
    let mut sim = Sim::new(seed, 1, |_| N::fresh());
    let mut rng = sim.scenario_rng();
    watch(&mut sim, true);
    for k in 0..KEYS {
        put(&mut sim, &mut rng, key(k));
    }
    run(&mut sim, |s| s.run_for(ms(1)))?;
    let reads = |sim: &Sim<N>| sim.node(NODE).map_or(0, |n| n.runs_read());
    let runs = sim.node(NODE).map_or(0, |n| n.runs()) as u64;
    let start = reads(&sim);
    for k in 0..KEYS {
        send(&mut sim, Request::Get { key: key(k) });
    }
    run(&mut sim, |s| s.run_for(ms(1)))?;
    let present = (reads(&sim) - start) as f64 / KEYS as f64;
    let start = reads(&sim);
    let absent = 600;
    for a in 0..absent {
        send(
            &mut sim,
            Request::Get {
                key: format!("absent-{a}-{}", rng.below(1000)),
            },
        );
    }
    run(&mut sim, |s| s.run_for(ms(1)))?;
    let rate = (reads(&sim) - start) as f64 / (absent * runs.max(1)) as f64;
    metric("runs", runs);
    metric(
        "runs read per Get of a present key",
        format!("{present:.2}"),
    );
    metric(
        "false-positive rate (runs read per run consulted, absent keys)",
        format!("{rate:.4} (configured {FALSE_POSITIVE_RATE})"),
    );
    all_answered(&sim)?;
    if present > 2.0 {
        return Err(Failure::after_run(
            &sim,
            AMPLIFICATION,
            format!("a Get of a present key read {present:.2} runs on average"),
        ));
    }
    if rate > 2.0 * FALSE_POSITIVE_RATE {
        return Err(Failure::after_run(
            &sim,
            FILTERED,
            format!(
                "Gets of absent keys read {rate:.4} of the runs they consulted (their filters \
                 are sized for {FALSE_POSITIVE_RATE})"
            ),
        ));
    }
    Ok(())
}
