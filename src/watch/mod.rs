//! Watch mode: check the current exercise on every save.

use crate::kit::Kit;
use anyhow::Result;
use std::process::ExitCode;

/// Runs watch mode until the learner quits.
pub fn run(kit: &Kit, poll: bool) -> Result<ExitCode> {
    let _ = (kit, poll);
    anyhow::bail!("watch mode is being built; use `dscourse run` meanwhile")
}
