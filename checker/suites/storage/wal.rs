//! storage_wal: a store on a disk that loses power keeps every acknowledged
//! write, never shows a value no client wrote, answers reads with the
//! latest acknowledged write or a later one, acknowledges a write only once
//! it is synced, shares syncs among concurrent writes, and replays only
//! the records since its last checkpoint.
//!
//! The model is the run's history: for each key, the writes in the order
//! they reached the node (one node serves them all, in that order). The
//! latest acknowledged one is the floor: what the store holds for the key,
//! at any moment and after any power cut, is that write or one that
//! arrived after it. Every value is built from its request's number, so a
//! value no client wrote (a torn record replayed) is recognizable.

use crate::subject::storage::wal::{Reply, Request, Wal, CHECKPOINT_EVERY, GROUP_WINDOW};
use dscheck::{ms, run, Failure, Property, Suite};
use dsim::{Broken, Event, Node, NodeId, Sim, SimRng};

/// The node of the exercise: the reference, the learner's, or one from `bugs/`.
pub trait Store: Node<Request = Request, Reply = Reply> {
    fn fresh() -> Self;
    fn map(&self) -> &std::collections::BTreeMap<String, String>;
    fn replayed(&self) -> usize;
}

macro_rules! store {
    ($($node:ty),* $(,)?) => {$(
        impl Store for $node {
            fn fresh() -> Self {
                <$node>::new()
            }
            fn map(&self) -> &std::collections::BTreeMap<String, String> {
                &self.map
            }
            fn replayed(&self) -> usize {
                self.replayed
            }
        }
    )*};
}

store!(Wal);
#[cfg(bugs)]
store!(
    crate::bugs::replays_torn_record::wal::Wal,
    crate::bugs::acks_before_sync::wal::Wal,
    crate::bugs::checkpoint_never_synced::wal::Wal,
    crate::bugs::checkpoint_synced_after_rename::wal::Wal,
    crate::bugs::sync_per_write::wal::Wal,
    crate::bugs::no_sync_dir::wal::Wal,
    crate::bugs::reads_the_checkpoint::wal::Wal,
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

/// The only node's id.
const NODE: NodeId = NodeId(0);
/// Keys of the workload: few, so writes overwrite and delete each other.
const KEYS: u64 = 4;

mod failures;

use failures::checkpoint_failures;

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

/// A write's value, recognizable as request `n`'s: its tag repeated to a
/// length drawn from `rng` (often more than a sector, so it can tear).
fn value(n: usize, rng: &mut SimRng) -> String {
    let tag = format!("<{n}>");
    let len = rng.range(1..=200) as usize;
    tag.repeat(len)
}

/// What the history allows a key to hold now: the
/// floor (of the writes to it, the latest by arrival that is acknowledged
/// now; absent if none is) and each write to it that arrived after the
/// floor, `None` standing for absent.
fn allowed<N: Store>(sim: &Sim<N>, key: &str) -> Vec<Option<String>> {
    let writes: Vec<(Option<String>, bool)> = sim
        .history()
        .iter()
        .filter_map(|op| match &op.request {
            Request::Put { key: k, value } if k == key => {
                Some((Some(value.clone()), op.is_complete()))
            }
            Request::Delete { key: k } if k == key => Some((None, op.is_complete())),
            _ => None,
        })
        .collect();
    let floor = writes.iter().rposition(|(_, acked)| *acked);
    let mut allowed: Vec<Option<String>> = Vec::new();
    if floor.is_none() {
        allowed.push(None);
    }
    allowed.extend(
        writes[floor.unwrap_or(0)..]
            .iter()
            .map(|(value, _)| value.clone()),
    );
    allowed
}

/// Whether some client wrote `value`.
fn written<N: Store>(sim: &Sim<N>, value: &str) -> bool {
    sim.history()
        .iter()
        .any(|op| matches!(&op.request, Request::Put { value: v, .. } if v == value))
}

fn short(value: &str) -> String {
    if value.len() <= 24 {
        format!("{value:?}")
    } else {
        let start: String = value.chars().take(24).collect();
        format!("{start:?}… ({} bytes)", value.len())
    }
}

fn shown(value: &Option<String>) -> String {
    value.as_deref().map_or("absent".to_string(), short)
}

/// Registers ATOMIC, DURABLE, READS and SYNCED_ACK, checked after every
/// event, and CHECKPOINTED, checked after every restart. A meta test turns
/// SYNCED_ACK off to see DURABLE catch, after a power cut, what SYNCED_ACK
/// would catch first.
pub fn watch<N: Store>(sim: &mut Sim<N>, synced_ack: bool) {
    sim.check(ATOMIC, |sim, _| {
        let Some(node) = sim.node(NODE) else {
            return Ok(());
        };
        for (key, value) in node.map() {
            if !written(sim, value) {
                return Err(Broken::new(format!(
                    "the store holds {} under {key:?}, a value no client wrote",
                    short(value)
                ))
                .nodes([NODE]));
            }
        }
        Ok(())
    });
    sim.check(DURABLE, |sim, _| {
        let Some(node) = sim.node(NODE) else {
            return Ok(());
        };
        for k in 0..KEYS {
            let key = format!("k{k}");
            let now = node.map().get(&key).cloned();
            let allowed = allowed(sim, &key);
            if !allowed.contains(&now) {
                return Err(Broken::new(format!(
                    "the store holds {} under {key:?}, but the latest acknowledged write \
                     to it left {} (lost, or an older write brought back)",
                    shown(&now),
                    shown(&allowed[0])
                ))
                .nodes([NODE]));
            }
        }
        Ok(())
    });
    sim.check(READS, |sim, step| {
        for entry in step.caused() {
            if let Event::Reply {
                id,
                reply: Reply::Value(got),
                ..
            } = &entry.event
            {
                let Request::Get { key } = &sim.operation(*id).request else {
                    return Err(Broken::new("a write was answered with a value").nodes([NODE]));
                };
                let allowed = allowed(sim, key);
                if !allowed.contains(got) {
                    return Err(Broken::new(format!(
                        "a Get of {key:?} returned {}, but the latest acknowledged write \
                         to it left {}",
                        shown(got),
                        shown(&allowed[0])
                    ))
                    .nodes([NODE]));
                }
            }
        }
        Ok(())
    });
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
                "a write was acknowledged while the disk still held unsynced writes: a power \
                 cut now could lose it",
            )
            .nodes([NODE]));
        }
        Ok(())
    });
    sim.check(CHECKPOINTED, |sim, step| {
        let restarted = step
            .iter()
            .any(|e| matches!(e.event, Event::Start { .. } | Event::Restart { .. }));
        if let Some(node) = sim.node(NODE).filter(|_| restarted) {
            if node.replayed() > 2 * CHECKPOINT_EVERY {
                return Err(Broken::new(format!(
                    "recovery replayed {} log records (more than 2 × CHECKPOINT_EVERY = {})",
                    node.replayed(),
                    2 * CHECKPOINT_EVERY
                ))
                .nodes([NODE]));
            }
        }
        Ok(())
    });
}

/// How the node goes down in a run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cut {
    /// The power fails between two handlers.
    Power,
    Crash,
    /// The power fails between two disk operations of a handler (a commit,
    /// a checkpoint half written or half renamed), a few operations on.
    MidHandler,
}

/// Writes, deletes and reads over a few keys, a few at a time, with the
/// node's power cut (or the node crashed) at random points, then restarted.
pub fn faults<N: Store>(seed: u64, cut: Cut, synced_ack: bool) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, 1, |_| N::fresh());
    let mut rng = sim.scenario_rng();
    watch(&mut sim, synced_ack);
    for _ in 0..60 {
        for _ in 0..rng.range(1..=4) {
            let key = format!("k{}", rng.below(KEYS));
            let n = sim.history().len();
            let request = match rng.below(10) {
                0..=5 => Request::Put {
                    key,
                    value: value(n, &mut rng),
                },
                6 => Request::Delete { key },
                _ => Request::Get { key },
            };
            if sim.is_up(NODE) {
                sim.request(NODE, request);
            }
        }
        let pause = rng.duration(ms(0)..=ms(3));
        run(&mut sim, |s| s.run_for(pause))?;
        if rng.chance(0.15) {
            match cut {
                Cut::Power => run(&mut sim, |s| s.power_cut(NODE))?,
                Cut::Crash => run(&mut sim, |s| s.crash(NODE))?,
                Cut::MidHandler => sim.power_cut_after(NODE, rng.below(12)),
            }
        }
        if !sim.is_up(NODE) {
            run(&mut sim, |s| s.run_for(ms(1)))?;
            run(&mut sim, |s| s.restart(NODE))?;
        }
    }
    run(&mut sim, |s| s.run_for(ms(5)))?;
    run(&mut sim, |s| s.power_cut(NODE))?;
    run(&mut sim, |s| s.restart(NODE))?;
    run(&mut sim, |s| s.run_for(ms(1)))
}

pub fn workload<N: Store>(seed: u64) -> Result<(), Failure> {
    faults::<N>(seed, Cut::Power, true)
}

/// The workload with SYNCED_ACK off.
pub fn workload_unwatched_acks<N: Store>(seed: u64) -> Result<(), Failure> {
    faults::<N>(seed, Cut::Power, false)
}

/// Power cuts while large writes wait for their sync, over a log reused
/// after checkpoints: the last record that reached the disk is often torn,
/// its first sectors new and the rest a stale record's bytes.
pub fn torn_tails<N: Store>(seed: u64) -> Result<(), Failure> {
    cuts_while_logging::<N>(seed, true)
}

/// [`torn_tails`], with SYNCED_ACK on or off.
pub fn cuts_while_logging<N: Store>(seed: u64, synced_ack: bool) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, 1, |_| N::fresh());
    let mut rng = sim.scenario_rng();
    watch(&mut sim, synced_ack);
    for _ in 0..40 {
        for synced in [true, false] {
            for _ in 0..2 {
                let n = sim.history().len();
                let key = format!("k{}", rng.below(KEYS));
                let len = rng.range(100..=250) as usize;
                let value = format!("<{n}>").repeat(len);
                sim.request(NODE, Request::Put { key, value });
            }
            // The second pair is logged but not yet synced at the cut.
            let wait = if synced { ms(5) } else { GROUP_WINDOW / 2 };
            run(&mut sim, |s| s.run_for(wait))?;
        }
        run(&mut sim, |s| s.power_cut(NODE))?;
        run(&mut sim, |s| s.restart(NODE))?;
    }
    Ok(())
}

/// Writes one at a time, each acknowledged within 10 ms; after a crash,
/// recovery replays exactly those since the last checkpoint, which came
/// after every CHECKPOINT_EVERY of them.
pub fn checkpoints<N: Store>(seed: u64) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, 1, |_| N::fresh());
    let mut rng = sim.scenario_rng();
    watch(&mut sim, true);
    let mut logged = 0;
    for round in 0..4 {
        let writes = rng.range(1..=2 * CHECKPOINT_EVERY as u64) as usize;
        for _ in 0..writes {
            let n = sim.history().len();
            let key = format!("k{}", rng.below(KEYS));
            let id = sim.request(
                NODE,
                Request::Put {
                    key,
                    value: value(n, &mut rng),
                },
            );
            run(&mut sim, |s| s.run_for(ms(10)))?;
            if !sim.operation(id).is_complete() {
                return Err(Failure::after_run(
                    &sim,
                    ACKED,
                    format!("write {n} was not acknowledged within 10 ms"),
                ));
            }
        }
        logged = (logged + writes) % CHECKPOINT_EVERY;
        run(&mut sim, |s| s.crash(NODE))?;
        run(&mut sim, |s| s.restart(NODE))?;
        let replayed = sim.node(NODE).map_or(0, |n| n.replayed());
        if replayed != logged {
            return Err(Failure::after_run(
                &sim,
                CHECKPOINTED,
                format!(
                    "after round {round}, recovery replayed {replayed} records, but {logged} \
                     were logged since the last checkpoint (one every {CHECKPOINT_EVERY})"
                ),
            ));
        }
    }
    Ok(())
}

/// 40 writes arrive together, then 40 more 3 ms later: every one is
/// acknowledged, with at most one sync per two of them.
pub fn burst<N: Store>(seed: u64) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, 1, |_| N::fresh());
    let mut rng = sim.scenario_rng();
    watch(&mut sim, true);
    run(&mut sim, |s| s.run_for(ms(1)))?;
    let before = sim.disk(NODE).syncs();
    for _ in 0..2 {
        for _ in 0..40 {
            let n = sim.history().len();
            let key = format!("k{}", rng.below(KEYS));
            sim.request(
                NODE,
                Request::Put {
                    key,
                    value: value(n, &mut rng),
                },
            );
        }
        run(&mut sim, |s| s.run_for(ms(3)))?;
    }
    run(&mut sim, |s| s.run_for(ms(20)))?;
    let acked = sim.history().iter().filter(|op| op.is_complete()).count();
    let syncs = sim.disk(NODE).syncs() - before;
    if acked < 80 {
        return Err(Failure::after_run(
            &sim,
            DURABLE,
            format!("only {acked} of 80 writes were acknowledged within 20 ms of the last"),
        ));
    }
    if syncs * 2 > acked as u64 {
        return Err(Failure::after_run(
            &sim,
            GROUP_COMMIT,
            format!("{syncs} syncs for {acked} acknowledged writes"),
        ));
    }
    Ok(())
}
