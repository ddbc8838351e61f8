//! The power fails in the middle of a handler: between any two of its disk
//! operations (`Sim::power_cut_after`), the step of each run in turn, and
//! several runs per step, since a cut keeps a prefix of the unsynced
//! writes drawn from the run's seed (a draw that keeps them all hides
//! nothing). Whatever step the failure interrupts, the properties the
//! suite's `watch` registered must hold.

use super::{Engine, NODE};
use dscheck::{run, Failure};
use dsim::{Sim, SimRng};

/// For each step below `steps` and `draws` runs of each: a fresh node,
/// watched by `watch`, driven by `scenario` (which is given the step and
/// arms the cut with `sim.power_cut_after(NODE, step)`), restarted if the
/// cut took it down, then checked by `after`.
pub fn power_fail_sweep<N: Engine>(
    seed: u64,
    steps: u64,
    draws: u64,
    watch: impl Fn(&mut Sim<N>),
    mut scenario: impl FnMut(&mut Sim<N>, &mut SimRng, u64) -> Result<(), Failure>,
    mut after: impl FnMut(&mut Sim<N>, &mut SimRng) -> Result<(), Failure>,
) -> Result<(), Failure> {
    for step in 0..steps {
        for draw in 0..draws {
            let mut sim = Sim::new(seed * 1_000 + step * draws + draw, 1, |_| N::fresh());
            let mut rng = sim.scenario_rng();
            watch(&mut sim);
            scenario(&mut sim, &mut rng, step)?;
            if !sim.is_up(NODE) {
                run(&mut sim, |s| s.restart(NODE))?;
            }
            after(&mut sim, &mut rng)?;
        }
    }
    Ok(())
}
