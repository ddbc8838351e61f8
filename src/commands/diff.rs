//! `diff`: the learner's file against the reference, once the exercise passed.

use super::{locked, missing_file, named, no_solutions, open};
use crate::colour::{bold, color_enabled, dim, paint};
use crate::diff::{self, CONTEXT};
use anyhow::{Context, Result};
use crossterm::style::Color;
use std::process::ExitCode;

/// `dscourse diff NAME [--force]`
pub fn diff(name: &str, force: bool) -> Result<ExitCode> {
    let (kit, progress) = open()?;
    let exercise = match named(&kit, name) {
        Ok(ex) => ex,
        Err(code) => return Ok(code),
    };
    if let Some(code) = locked(
        &progress,
        exercise,
        "The comparison with the reference",
        "diff",
        force,
    ) {
        return Ok(code);
    }
    if let Some(code) = missing_file(&kit, exercise).or_else(|| no_solutions(&kit)) {
        return Ok(code);
    }
    let yours = kit.exercise_path(exercise);
    let reference = kit.solution_path(exercise);
    let old = std::fs::read_to_string(&yours)
        .with_context(|| format!("cannot read {} as text", kit.display(&yours)))?;
    let new = std::fs::read_to_string(&reference)
        .with_context(|| format!("cannot read {}", kit.display(&reference)))?;
    println!(
        "{} {}  {}",
        paint("---", Color::Red),
        bold(&kit.display(&yours)),
        dim("(yours)")
    );
    println!(
        "{} {}  {}",
        paint("+++", Color::Green),
        bold(&kit.display(&reference)),
        dim("(the reference)")
    );
    let hunks = diff::hunks(&old, &new, CONTEXT);
    if hunks.is_empty() {
        println!();
        println!(
            " {} your file and the reference are identical.",
            paint("=", Color::Green)
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{}",
        dim("lines with - are yours only, lines with + the reference's only")
    );
    println!();
    for line in diff::render(&hunks, color_enabled()) {
        println!("{line}");
    }
    let (removed, added) = diff::counts(&hunks);
    println!();
    println!(
        "{}",
        dim(&format!(
            "{} {} differ: {removed} of yours, {added} of the reference's.",
            hunks.len(),
            if hunks.len() == 1 { "place" } else { "places" }
        ))
    );
    Ok(ExitCode::SUCCESS)
}
