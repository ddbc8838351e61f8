//! storage_lsm's runs that check what it holds and answers: random
//! workloads across cuts, overwrites, deletes through compactions, cuts
//! right after flushes, and tombstones dropped with the oldest run.

use super::{watch, Store, ACKED, FLUSHED, TOMBSTONES_DROPPED};
use crate::storage::common::{down_and_up, Cut, NODE};
use crate::subject::storage::lsm::{Request, LOG, MEMTABLE_LIMIT, TIER_WIDTH};
use dscheck::{ms, run, Failure};
use dsim::{Sim, SimRng};

/// A value recognizable as request `n`'s: its tag, repeated.
pub(super) fn value(n: usize, rng: &mut SimRng) -> String {
    format!("<{n}>").repeat(rng.range(1..=12) as usize)
}

pub(super) fn key(i: u64) -> String {
    format!("k{i:04}")
}

/// Every request of the run has been answered (a run without cuts).
pub(super) fn all_answered<N: Store>(sim: &Sim<N>) -> Result<(), Failure> {
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
pub(super) fn send<N: Store>(sim: &mut Sim<N>, request: Request) {
    if sim.is_up(NODE) {
        sim.request(NODE, request);
    }
}

/// A Put of a fresh value to `key`.
pub(super) fn put<N: Store>(sim: &mut Sim<N>, rng: &mut SimRng, key: String) {
    let value = value(sim.history().len(), rng);
    send(sim, Request::Put { key, value });
}

/// A Get of every key below `keys`.
pub(super) fn sweep<N: Store>(sim: &mut Sim<N>, keys: u64) -> Result<(), Failure> {
    for k in 0..keys {
        send(sim, Request::Get { key: key(k) });
    }
    run(sim, |s| s.run_for(ms(1)))
}

/// The node goes down as `cut` says, comes back, and every key is read.
fn down_up_and_read<N: Store>(sim: &mut Sim<N>, cut: Cut, keys: u64) -> Result<(), Failure> {
    down_and_up(sim, cut)?;
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
            down_up_and_read(&mut sim, cut, KEYS)?;
        }
    }
    run(&mut sim, |s| s.run_for(ms(2)))?;
    down_up_and_read(&mut sim, cut, KEYS)
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
            down_up_and_read(&mut sim, Cut::Power, DOOMED)?;
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
            down_up_and_read(&mut sim, Cut::Power, k + 1)?;
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
