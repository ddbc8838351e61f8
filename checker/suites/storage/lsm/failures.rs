//! The power fails in the middle of a flush and of a compaction: between
//! any two of the disk operations of the handler that does them
//! (`common::sweep`). Whatever step the failure interrupts, the log or the
//! runs the manifest names must hold every acknowledged write.

use super::scenarios::{key, put, sweep};
use super::{watch, Store};
use crate::storage::common::sweep::power_fail_sweep;
use crate::storage::common::NODE;
use crate::subject::storage::lsm::MEMTABLE_LIMIT;
use dscheck::{ms, run, Failure};

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
    power_fail_sweep::<N>(
        seed,
        STEPS,
        DRAWS,
        |sim| watch(sim, true),
        |sim, rng, step| {
            for k in 0..keys - 1 {
                put(sim, rng, key(k));
            }
            run(sim, |s| s.run_for(ms(5)))?;
            sim.power_cut_after(NODE, step);
            put(sim, rng, key(keys - 1));
            run(sim, |s| s.run_for(ms(5)))
        },
        |sim, _| sweep(sim, keys),
    )
}
