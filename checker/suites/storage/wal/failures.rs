//! The power fails in the middle of a checkpoint: between any two of the
//! disk operations of the handler that writes it (`common::sweep`).

use super::scenarios::value;
use super::{watch, Store, KEYS};
use crate::storage::common::sweep::power_fail_sweep;
use crate::storage::common::NODE;
use crate::subject::storage::wal::{Request, CHECKPOINT_EVERY};
use dscheck::{ms, run, Failure};

/// The disk operations a checkpoint's handler makes, and some: the power
/// fails before each in turn.
const CHECKPOINT_STEPS: u64 = 10;
/// Runs per step, each with its own draws.
const DRAWS: u64 = 8;

/// A checkpoint, the log reused after it, then a second checkpoint during
/// which the power fails: before its handler's first disk operation, its
/// second, … (several runs each). Whatever step the failure interrupts, no
/// acknowledged write may be lost: the old checkpoint and the log, or the
/// new checkpoint, must be whole on the disk at every step.
pub fn checkpoint_failures<N: Store>(seed: u64) -> Result<(), Failure> {
    power_fail_sweep::<N>(
        seed,
        CHECKPOINT_STEPS,
        DRAWS,
        |sim| watch(sim, true),
        |sim, rng, step| {
            // Writes that bring a checkpoint, as many that refill the log
            // but one, then the one that brings the second checkpoint.
            for burst in [CHECKPOINT_EVERY, CHECKPOINT_EVERY - 1, 1] {
                if burst == 1 {
                    sim.power_cut_after(NODE, step);
                }
                for _ in 0..burst {
                    let key = format!("k{}", rng.below(KEYS));
                    let value = value(sim.history().len(), rng);
                    sim.request(NODE, Request::Put { key, value });
                }
                run(sim, |s| s.run_for(ms(5)))?;
            }
            Ok(())
        },
        |sim, _| run(sim, |s| s.run_for(ms(5))),
    )
}
