//! `list`, `hint`, `reset` and `solution`: what the learner asks of the course.

use super::{locked, named, no_solutions, open, pick};
use crate::colour::{bold, dim, paint};
use crate::kit::Kit;
use crate::manifest::Exercise;
use crate::render;
use crate::state::{write_atomically, Progress};
use anyhow::{Context, Result};
use crossterm::style::Color;
use serde::Serialize;
use std::process::ExitCode;

#[derive(Serialize)]
struct ListRow<'a> {
    name: &'a str,
    topic: &'a str,
    file: String,
    points: u32,
    status: &'static str,
}

/// `dscourse list [--json]`
pub fn list(json: bool) -> Result<ExitCode> {
    let (kit, progress) = open()?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&list_rows(&kit, &progress))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    for line in list_table(&kit, &progress) {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

fn list_rows<'k>(kit: &'k Kit, progress: &Progress) -> Vec<ListRow<'k>> {
    let current = progress.current(kit).map(|e| e.name.clone());
    kit.manifest
        .exercises
        .iter()
        .map(|e| ListRow {
            name: &e.name,
            topic: &e.topic,
            file: format!("exercises/{}", e.file),
            points: e.points,
            status: if progress.is_done(&e.name) {
                "done"
            } else if current.as_deref() == Some(e.name.as_str()) {
                "current"
            } else {
                "pending"
            },
        })
        .collect()
}

/// The progress table of `list` (also shown by watch mode's `l`).
pub fn list_table(kit: &Kit, progress: &Progress) -> Vec<String> {
    let rows = list_rows(kit, progress);
    let name = rows
        .iter()
        .map(|r| r.name.len() + 2)
        .max()
        .unwrap_or(0)
        .max(26);
    let file = rows
        .iter()
        .map(|r| r.file.len() + 2)
        .max()
        .unwrap_or(0)
        .max(34);
    let mut lines = vec![format!(
        " {}",
        bold(&format!(
            "{:<4}{:<name$}{:<9}{:<file$}{:>6}",
            "#", "exercise", "status", "file", "points"
        ))
    )];
    for (i, row) in rows.iter().enumerate() {
        let status = match row.status {
            "done" => paint(&format!("{:<9}", "done"), Color::Green),
            "current" => paint(&format!("{:<9}", "current"), Color::Yellow),
            other => dim(&format!("{other:<9}")),
        };
        lines.push(format!(
            " {:<4}{:<name$}{status}{:<file$}{:>6}",
            i + 1,
            row.name,
            row.file,
            row.points
        ));
    }
    lines.push(String::new());
    lines.push(format!(
        " {}",
        render::progress_bar(progress.state.done.len(), rows.len())
    ));
    lines
}

/// `dscourse hint [NAME]`: the next hint, one more each time.
pub fn hint(name: Option<&str>) -> Result<ExitCode> {
    let (kit, mut progress) = open()?;
    let exercise = match pick(&kit, &progress, name) {
        Ok(Some(ex)) => ex,
        Ok(None) => {
            println!("Every exercise passes: no hints needed.");
            return Ok(ExitCode::SUCCESS);
        }
        Err(code) => return Ok(code),
    };
    print!("{}", hint_text(&kit, &mut progress, exercise));
    progress.save()?;
    Ok(ExitCode::SUCCESS)
}

/// The next hint of `exercise` as text, counting it as shown.
pub fn hint_text(kit: &Kit, progress: &mut Progress, exercise: &Exercise) -> String {
    let total = exercise.hints.len();
    match progress.take_hint(&exercise.name, total) {
        Some(i) => format!(
            "{} ({} of {total})\n  {}\n",
            bold(&format!("Hint for {}", exercise.name)),
            i + 1,
            exercise.hints[i]
        ),
        None => {
            let mut text = format!(
                "{}\n",
                bold(&format!(
                    "All {total} hints for {} are shown:",
                    exercise.name
                ))
            );
            for (i, h) in exercise.hints.iter().enumerate() {
                text += &format!("  {}. {h}\n", i + 1);
            }
            text += &format!(
                "  The topic guide may help too: {}\n",
                kit.display(&kit.guide_path(exercise))
            );
            text
        }
    }
}

/// `dscourse reset NAME`: back up the learner's file, then restore the stub.
pub fn reset(name: &str) -> Result<ExitCode> {
    let (kit, mut progress) = open()?;
    let exercise = match named(&kit, name) {
        Ok(ex) => ex,
        Err(code) => return Ok(code),
    };
    let restored = reset_exercise(&kit, &mut progress, exercise)?;
    println!(
        "Restored {} to its starting code.",
        kit.display(&restored.target)
    );
    if let Some(backup) = restored.backup {
        println!("Your version is saved as {}.", kit.display(&backup));
    }
    Ok(ExitCode::SUCCESS)
}

/// What `reset_exercise` did: the file it restored and where the learner's
/// version was saved (none if there was no file).
pub struct Restored {
    pub target: std::path::PathBuf,
    pub backup: Option<std::path::PathBuf>,
}

/// Backs up the learner's file of `exercise`, restores its stub, and marks
/// every exercise in that file as not done (saving the progress).
pub fn reset_exercise(kit: &Kit, progress: &mut Progress, exercise: &Exercise) -> Result<Restored> {
    let target = kit.exercise_path(exercise);
    let pristine = crate::stubs::stub_of(kit, &exercise.file).with_context(|| {
        format!(
            "cannot make the starting code of exercises/{}; your file is untouched",
            exercise.file
        )
    })?;
    let backup = backup_file(kit, &target)?;
    write_atomically(&target, &pristine)?;
    for other in kit
        .manifest
        .exercises
        .iter()
        .filter(|e| e.file == exercise.file)
    {
        progress.set_done(&other.name, false);
    }
    progress.save()?;
    Ok(Restored { target, backup })
}

/// Copies `file` into `.dscourse/backups/` under a new name; `None` if it did not exist.
pub fn backup_file(kit: &Kit, file: &std::path::Path) -> Result<Option<std::path::PathBuf>> {
    let content = match std::fs::read(file) {
        Ok(content) => content,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => anyhow::bail!(
            "cannot read {} to back it up ({e}); it is left as it is",
            kit.display(file)
        ),
    };
    let dir = kit.state_dir().join("backups");
    let stem = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("exercise");
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut n = 0;
    let path = loop {
        let candidate = dir.join(format!(
            "{stem}-{stamp}{}.rs",
            if n == 0 {
                String::new()
            } else {
                format!("-{n}")
            }
        ));
        if !candidate.exists() {
            break candidate;
        }
        n += 1;
    };
    write_atomically(&path, &content)?;
    Ok(Some(path))
}

/// `dscourse solution NAME [--force]`
pub fn solution(name: &str, force: bool) -> Result<ExitCode> {
    let (kit, progress) = open()?;
    let exercise = match named(&kit, name) {
        Ok(ex) => ex,
        Err(code) => return Ok(code),
    };
    if let Some(code) = locked(&progress, exercise, "The reference", "solution", force)
        .or_else(|| no_solutions(&kit))
    {
        return Ok(code);
    }
    let path = kit.solution_path(exercise);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", kit.display(&path)))?;
    println!("{}", bold(&kit.display(&path)));
    println!();
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}
