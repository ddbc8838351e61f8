//! `dscourse dev stubs`: writes every exercise's starting code in
//! `exercises/` from its reference (see `crate::stubs`), backing up any file
//! it changes; `--check` only says which differ.

use super::info::backup_file;
use crate::colour::paint;
use crate::kit::Kit;
use anyhow::{bail, Result};
use crossterm::style::Color;
use std::process::ExitCode;

pub fn dev_stubs(check: bool) -> Result<ExitCode> {
    let kit = Kit::discover()?;
    if !kit.has_solutions() {
        bail!("this copy of the kit has no solutions/ (a student distribution): its stubs are made from the references, which only the course's own kit has");
    }
    let differing = differing_stubs(&kit)?;
    if check {
        for (file, _) in &differing {
            println!("exercises/{file} differs from the stub made from solutions/{file}");
        }
        return Ok(if differing.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    for (file, stub) in &differing {
        write_stub(&kit, file, stub)?;
    }
    println!(
        "{} stubs written, {} already up to date",
        differing.len(),
        exercise_files(&kit).len() - differing.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes `stub` as the learner's copy of the exercise file `file`
/// (relative to `exercises/`), backing up what was there, and says so:
/// `dev stubs` and `dev new` write stubs the same way.
pub fn write_stub(kit: &Kit, file: &str, stub: &[u8]) -> Result<()> {
    let target = kit.root.join("exercises").join(file);
    let backup = backup_file(kit, &target)?;
    crate::state::write_atomically(&target, stub)?;
    let saved = backup
        .map(|b| format!(" (the old one saved as {})", kit.display(&b)))
        .unwrap_or_default();
    println!("{} exercises/{file}{saved}", paint("wrote", Color::Green));
    Ok(())
}

/// Every exercise file whose copy in `exercises/` is not the stub its
/// reference makes, with that stub.
pub fn differing_stubs(kit: &Kit) -> Result<Vec<(String, Vec<u8>)>> {
    let mut differing = Vec::new();
    for file in exercise_files(kit) {
        let stub = crate::stubs::stub_of(kit, &file)?;
        let current = std::fs::read(kit.root.join("exercises").join(&file)).ok();
        if current.as_deref() != Some(stub.as_slice()) {
            differing.push((file, stub));
        }
    }
    Ok(differing)
}

/// The course's exercise files, each once, in course order.
fn exercise_files(kit: &Kit) -> Vec<String> {
    let mut files: Vec<String> = Vec::new();
    for exercise in &kit.manifest.exercises {
        if !files.contains(&exercise.file) {
            files.push(exercise.file.clone());
        }
    }
    files
}
