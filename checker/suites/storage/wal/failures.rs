//! The power fails in the middle of a checkpoint: between any two of the
//! disk operations of the handler that writes it (`Sim::power_cut_after`).

use super::{value, watch, Store, KEYS, NODE};
use crate::subject::storage::wal::{Request, CHECKPOINT_EVERY};
use dscheck::{ms, run, Failure};
use dsim::Sim;

/// The disk operations a checkpoint's handler makes, and some: the power
/// fails before each in turn.
const CHECKPOINT_STEPS: u64 = 10;
/// Runs per step: a power cut keeps a prefix of the unsynced writes drawn
/// from the run's seed, and a draw that keeps them all hides nothing.
const DRAWS: u64 = 8;

/// A checkpoint, the log reused after it, then a second checkpoint during
/// which the power fails: before its handler's first disk operation, its
/// second, … (several runs each). Whatever step the failure interrupts, no
/// acknowledged write may be lost: the old checkpoint and the log, or the
/// new checkpoint, must be whole on the disk at every step.
pub fn checkpoint_failures<N: Store>(seed: u64) -> Result<(), Failure> {
    for step in 0..CHECKPOINT_STEPS {
        for draw in 0..DRAWS {
            let mut sim = Sim::new(seed * 1_000 + step * DRAWS + draw, 1, |_| N::fresh());
            let mut rng = sim.scenario_rng();
            watch(&mut sim, true);
            // Writes that bring a checkpoint, as many that refill the log
            // but one, then the one that brings the second checkpoint.
            for burst in [CHECKPOINT_EVERY, CHECKPOINT_EVERY - 1, 1] {
                if burst == 1 {
                    sim.power_cut_after(NODE, step);
                }
                for _ in 0..burst {
                    let key = format!("k{}", rng.below(KEYS));
                    let value = value(sim.history().len(), &mut rng);
                    sim.request(NODE, Request::Put { key, value });
                }
                run(&mut sim, |s| s.run_for(ms(5)))?;
            }
            if !sim.is_up(NODE) {
                run(&mut sim, |s| s.restart(NODE))?;
            }
            run(&mut sim, |s| s.run_for(ms(5)))?;
        }
    }
    Ok(())
}
