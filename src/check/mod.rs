//! Checking one exercise: build its suite against the learner's crate (or
//! the reference), run it in a child process with a time limit, and read the
//! verdict from the suite's result channel; when a seed fails, run it again
//! to see whether the learner's code is deterministic.
//!
//! One concern per file: `build` (cargo, the suite's executable or the
//! compiler's errors), `run` (one suite process, its limits and result
//! channel), `outcome` (what a run means: records and exit status to an
//! `Outcome`), `rerun` and `nondeterminism` (replaying a failing seed and
//! comparing the runs). Nothing here draws: `render` shows an `Outcome`.

mod build;
pub mod nondeterminism;
mod outcome;
mod rerun;
mod run;

pub use build::{build, cargo, read_build, Build, BuildSpec};
pub use outcome::{Options, Outcome, Subject, Unfinished};
pub use run::{read_tail, run_group, SuiteRun};

use crate::kit::Kit;
use crate::manifest::Exercise;
use anyhow::Result;
use std::time::{Duration, Instant};

/// Builds and runs the suite of `exercise`.
pub fn check(kit: &Kit, exercise: &Exercise, options: &Options) -> Result<Outcome> {
    let started = Instant::now();
    let spec = BuildSpec {
        root: &kit.root,
        suite: &exercise.suite,
        subject: options.subject,
        hidden: options.hidden,
        target_dir: None,
        compiler: None,
    };
    let binary = match build(&spec)? {
        Build::Ok(path) => path,
        Build::Failed { errors, .. } => {
            return Ok(Outcome {
                compile_errors: Some(errors),
                tests: Vec::new(),
                unfinished: None,
                output_tail: Vec::new(),
                elapsed: started.elapsed(),
                nondeterminism: None,
            })
        }
    };
    let limit = Duration::from_secs(exercise.timeout_secs);
    let mut outcome = run::run_suite(kit, exercise, &binary, options, None, limit)?;
    outcome.nondeterminism = rerun::replay_failure(kit, exercise, &binary, &outcome, options);
    outcome.elapsed = started.elapsed();
    Ok(outcome)
}
