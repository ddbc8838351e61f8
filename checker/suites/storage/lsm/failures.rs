//! The power fails in the middle of a flush and of a compaction: between
//! any two of the disk operations of the handler that does them
//! (`Sim::power_cut_after`), several runs per step, since a cut keeps a
//! prefix of the unsynced writes drawn from the run's seed. Whatever step
//! the failure interrupts, the log or the runs the manifest names must hold
//! every acknowledged write.

use super::{key, put, sweep, watch, Store, NODE};
use crate::subject::storage::lsm::MEMTABLE_LIMIT;
use dscheck::{ms, run, Failure};
use dsim::Sim;

/// The disk operations of a handler that flushes the fourth run and
/// compacts four into one, and some: the power fails before each in turn.
const STEPS: u64 = 30;
/// Runs per step, each with its own draws.
const DRAWS: u64 = 3;

/// Three runs flushed, the memtable filled but one key; then the write
/// that fills it, whose handler flushes a fourth run and compacts the
/// four, loses power at each step in turn. Every key is read back after
/// the node restarts.
pub fn flush_failures<N: Store>(seed: u64) -> Result<(), Failure> {
    let keys = 4 * MEMTABLE_LIMIT as u64;
    for step in 0..STEPS {
        for draw in 0..DRAWS {
            let mut sim = Sim::new(seed * 1_000 + step * DRAWS + draw, 1, |_| N::fresh());
            let mut rng = sim.scenario_rng();
            watch(&mut sim, true);
            for k in 0..keys - 1 {
                put(&mut sim, &mut rng, key(k));
            }
            run(&mut sim, |s| s.run_for(ms(5)))?;
            sim.power_cut_after(NODE, step);
            put(&mut sim, &mut rng, key(keys - 1));
            run(&mut sim, |s| s.run_for(ms(5)))?;
            if !sim.is_up(NODE) {
                run(&mut sim, |s| s.restart(NODE))?;
            }
            sweep(&mut sim, keys)?;
        }
    }
    Ok(())
}
