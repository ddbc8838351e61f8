//! Replaying a failing seed to tell a bug from nondeterminism: the same seed
//! must give the same run, so two more runs that differ (from each other or
//! from the failure) mean the learner's code takes something from outside
//! the simulator (see `nondeterminism`).

use super::nondeterminism::{self, Divergence};
use super::run::run_suite;
use super::{Options, Outcome};
use crate::kit::Kit;
use crate::manifest::Exercise;
use std::path::Path;
use std::time::Duration;

/// Replays the seed of the failure the learner is shown, twice, each in its
/// own process (a `HashMap`'s order differs between processes, not between
/// two walks over one map), and compares the runs with each other and with
/// the failure. Only that test runs, so a replay costs about what one seed
/// of it costs (about 10 ms for intro_pingpong), and the two run side by
/// side; a replay gets twenty times the time one seed of the test took (at
/// least 2 s, at most the exercise's limit), so that watch mode stays quick
/// even for a slow test. A check that was itself a replay of that seed has
/// one run already and replays it once more. Nothing is said if a replay
/// cannot run or does not finish, and nothing for a `todo!()`.
pub(super) fn replay_failure(
    kit: &Kit,
    exercise: &Exercise,
    binary: &Path,
    outcome: &Outcome,
    options: &Options,
) -> Option<Box<Divergence>> {
    let seed = seed_to_replay(outcome)?;
    let failed = outcome.tests.iter().find(|t| !t.passed)?;
    let report = failed.failure.as_ref()?;
    let again = Options {
        seed: Some(seed),
        ..options.clone()
    };
    let seeds = failed.seeds.clamp(1, u32::MAX.into()) as u32;
    let per_seed = Duration::from_millis(failed.duration_ms) / seeds;
    let limit = per_seed
        .saturating_mul(20)
        .max(Duration::from_secs(2))
        .min(Duration::from_secs(exercise.timeout_secs));
    let replay = || {
        run_suite(kit, exercise, binary, &again, Some(&failed.test), limit)
            .ok()?
            .tests
            .into_iter()
            .find(|t| t.test == failed.test)
    };
    let (first, second) = if options.seed == Some(seed) && failed.dump.is_some() {
        (Some(failed.clone()), replay())
    } else {
        std::thread::scope(|scope| {
            let other = scope.spawn(replay);
            let mine = replay();
            (other.join().ok().flatten(), mine)
        })
    };
    nondeterminism::compare(report, &first?, &second?).map(Box::new)
}

/// The seed of the failure the learner is shown, if it is to be replayed
/// (a seeded failure, not a `todo!()`).
pub(super) fn seed_to_replay(outcome: &Outcome) -> Option<u64> {
    let failed = outcome.tests.iter().find(|t| !t.passed)?;
    let report = failed.failure.as_ref()?;
    if report.property == dscheck::TODO_PROPERTY {
        return None;
    }
    report.seed
}
