//! One function per subcommand. Each returns the process's exit status:
//! 0 success (or pass), 1 an exercise failed, 2 a usage error.

mod dev_check;
mod dev_gradescope;
mod dev_new;
mod dev_strip;
mod dev_stubs;
mod diff;
mod info;
mod replay;
mod run;
mod serve;

pub use dev_check::dev_check;
pub use dev_gradescope::dev_gradescope;
pub use dev_new::dev_new;
pub use dev_strip::dev_strip;
pub use dev_stubs::dev_stubs;
pub use diff::diff;
pub use info::{hint, hint_text, list, list_table, reset, reset_exercise, solution};
pub use replay::{replay, ReplayArgs};
pub use run::{run, verify};
pub use serve::serve;

use crate::invocation::command;
use crate::kit::Kit;
use crate::manifest::Exercise;
use crate::state::Progress;
use anyhow::Result;
use std::process::ExitCode;

/// Watch mode.
pub fn watch(poll: bool) -> Result<ExitCode> {
    let kit = Kit::discover()?;
    crate::watch::run(&kit, poll)
}

/// The exercise called `name`; an unknown name is a usage error (exit 2),
/// reported with the closest names.
fn named<'k>(kit: &'k Kit, name: &str) -> Result<&'k Exercise, ExitCode> {
    kit.manifest.find(name).map_err(|unknown| {
        eprintln!(
            "{} {unknown}",
            crate::colour::paint("error:", crossterm::style::Color::Red)
        );
        ExitCode::from(2)
    })
}

/// `Some(exit status 1)`, after saying so, when the learner's file of
/// `exercise` is missing (deleted by hand); `reset` brings it back.
fn missing_file(kit: &Kit, exercise: &Exercise) -> Option<ExitCode> {
    let file = kit.exercise_path(exercise);
    if file.is_file() {
        return None;
    }
    eprintln!(
        "{} {} is missing: `{}` restores its starting code",
        crate::colour::paint("error:", crossterm::style::Color::Red),
        kit.display(&file),
        command(&format!("reset {}", exercise.name))
    );
    Some(ExitCode::from(1))
}

/// `Some(exit status 1)`, after saying so, when `what` (the reference, a
/// comparison with it) is asked for before the exercise passed, without
/// `--force`.
fn locked(
    progress: &Progress,
    exercise: &Exercise,
    what: &str,
    command: &str,
    force: bool,
) -> Option<ExitCode> {
    if force || progress.is_done(&exercise.name) {
        return None;
    }
    let name = &exercise.name;
    eprintln!(
        "{what} for {name} opens once the exercise passes ({}).\nTo see it anyway: {}",
        crate::invocation::command(&format!("run {name}")),
        crate::invocation::command(&format!("{command} {name} --force"))
    );
    Some(ExitCode::from(1))
}

/// `Some(exit status 1)`, after saying so, when this copy of the course
/// has no reference solutions: a student distribution (`dev strip`).
fn no_solutions(kit: &Kit) -> Option<ExitCode> {
    if kit.has_solutions() {
        return None;
    }
    eprintln!(
        "This copy of the course has no reference solutions (it is a student distribution): your instructor shares them when the time comes."
    );
    Some(ExitCode::from(1))
}

/// The named exercise, or the current one; an unknown name is a usage error.
fn pick<'k>(
    kit: &'k Kit,
    progress: &Progress,
    name: Option<&str>,
) -> Result<Option<&'k Exercise>, ExitCode> {
    match name {
        Some(name) => named(kit, name).map(Some),
        None => Ok(progress.current(kit)),
    }
}

/// Finds the kit and loads the learner's progress, warning if it was rebuilt.
fn open() -> Result<(Kit, Progress)> {
    let kit = Kit::discover()?;
    let progress = Progress::load(&kit);
    warn_state(&progress);
    Ok((kit, progress))
}

/// Prints the warning of a rebuilt state file, once.
fn warn_state(progress: &Progress) {
    if let Some(warning) = &progress.warning {
        eprintln!(
            "{} {warning}",
            crate::colour::paint("warning:", crossterm::style::Color::Yellow)
        );
    }
}
