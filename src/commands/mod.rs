//! One function per subcommand. Each returns the process's exit status:
//! 0 success (or pass), 1 an exercise failed, 2 a usage error.

mod dev_check;
mod diff;
mod info;
mod replay;
mod run;

pub use dev_check::dev_check;
pub use diff::diff;
pub use info::{hint, hint_text, list, list_table, reset, reset_exercise, solution};
pub use replay::{replay, ReplayArgs};
pub use run::{run, verify};

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

/// The named exercise, or the current one; an unknown name is a usage error.
fn pick<'k>(
    kit: &'k Kit,
    progress: &Progress,
    name: Option<&str>,
) -> Result<Option<&'k Exercise>, ExitCode> {
    match name {
        Some(name) => match kit.manifest.find(name) {
            Ok(ex) => Ok(Some(ex)),
            Err(unknown) => {
                eprintln!(
                    "{} {unknown}",
                    crate::render::paint("error:", crossterm::style::Color::Red)
                );
                Err(ExitCode::from(2))
            }
        },
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
            crate::render::paint("warning:", crossterm::style::Color::Yellow)
        );
    }
}
