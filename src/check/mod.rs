//! Checking one exercise: build its suite against the learner's crate (or
//! the reference), run it in a child process with a time limit, and read the
//! verdict from the suite's result channel; when a seed fails, run it again
//! to see whether the learner's code is deterministic.
//!
//! One concern per file: `build` (cargo, the suite's executable or the
//! compiler's errors), `run` (one suite process, its limits and result
//! channel), `outcome` (what a run means: records and exit status to an
//! `Outcome`), `rerun` and `nondeterminism` (replaying a failing seed and
//! comparing the runs), `fast` (a learner's save rebuilt by running the
//! compilers cargo would run, without cargo). Nothing here draws: `render`
//! shows an `Outcome`.

mod build;
pub mod fast;
pub mod nondeterminism;
mod outcome;
mod rerun;
mod run;

pub use build::{build, cargo, read_build, suite_built, Build, BuildSpec};
pub use outcome::{Options, Outcome, Subject, Unfinished};
pub use run::{read_tail, run_group, SuiteRun};

use crate::kit::Kit;
use crate::manifest::Exercise;
use crate::timings::Stages;
use anyhow::Result;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Builds and runs the suite of `exercise`, and replays a failing seed.
pub fn check(kit: &Kit, exercise: &Exercise, options: &Options) -> Result<Outcome> {
    let verdict = check_verdict(kit, exercise, options)?;
    let nondeterminism = replay(kit, exercise, options, &verdict);
    let mut outcome = verdict.outcome;
    outcome.nondeterminism = nondeterminism;
    Ok(outcome)
}

/// A check's verdict before its failing seed (if any) is replayed.
pub struct Verdict {
    /// The outcome, without `nondeterminism` (see [`replay`]).
    pub outcome: Outcome,
    /// The suite it ran (none when it did not compile).
    binary: Option<PathBuf>,
}

impl Verdict {
    /// The seed [`replay`] would replay (a seeded failure, not a `todo!()`).
    pub fn replay_seed(&self) -> Option<u64> {
        self.binary.as_ref()?;
        rerun::seed_to_replay(&self.outcome)
    }
}

/// Builds and runs the suite of `exercise`: the verdict, shown before the
/// replays of a failing seed finish (watch mode adds their note after).
pub fn check_verdict(kit: &Kit, exercise: &Exercise, options: &Options) -> Result<Verdict> {
    let started = Instant::now();
    let mut stages = Stages::since(started);
    let spec = BuildSpec {
        root: &kit.root,
        suite: &exercise.suite,
        // The learner's code is checked one exercise at a time.
        exercise: (options.subject == Subject::Learner).then_some(exercise.name.as_str()),
        subject: options.subject,
        hidden: options.hidden,
        target_dir: None,
        compiler: None,
    };
    let built = if options.fast_rebuild && fast::eligible(&spec) {
        fast::build(&spec, &kit.state_dir(), &mut stages)?
    } else {
        let built = build(&spec)?;
        stages.mark("cargo");
        built
    };
    let binary = match built {
        Build::Ok(path) => path,
        Build::Failed { errors, .. } => {
            stages.log(
                &kit.state_dir(),
                &format!("check {} (compile errors)", exercise.name),
            );
            return Ok(Verdict {
                outcome: Outcome {
                    compile_errors: Some(errors),
                    tests: Vec::new(),
                    unfinished: None,
                    output_tail: Vec::new(),
                    elapsed: started.elapsed(),
                    nondeterminism: None,
                },
                binary: None,
            });
        }
    };
    let limit = Duration::from_secs(exercise.timeout_secs);
    let mut outcome = run::run_suite(kit, exercise, &binary, options, None, limit)?;
    stages.mark("suite");
    stages.log(&kit.state_dir(), &format!("check {}", exercise.name));
    outcome.elapsed = started.elapsed();
    Ok(Verdict {
        outcome,
        binary: Some(binary),
    })
}

/// Replays the verdict's failing seed twice and compares the runs (see
/// `rerun`): `Some` when the learner's code is not deterministic.
pub fn replay(
    kit: &Kit,
    exercise: &Exercise,
    options: &Options,
    verdict: &Verdict,
) -> Option<Box<nondeterminism::Divergence>> {
    let binary = verdict.binary.as_ref()?;
    let mut stages = Stages::since(Instant::now());
    let found = rerun::replay_failure(kit, exercise, binary, &verdict.outcome, options);
    if verdict.replay_seed().is_some() {
        stages.mark("replays");
        stages.log(&kit.state_dir(), &format!("replays {}", exercise.name));
    }
    found
}
