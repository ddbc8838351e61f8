//! Grading a folder of submissions, one sub-folder per student, several at
//! once (each in its own grading copy), with a progress bar, a report per
//! student and a class summary.

use super::clean::clean;
use super::formats;
use super::report::Report;
use super::submission::Submission;
use super::workspace::{SlotSettings, Workspace};
use super::{grade_submission, write_report, GradeArgs};
use crate::kit::Kit;
use crate::manifest::Exercise;
use anyhow::{bail, Context, Result};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Instant;

pub fn grade_all(
    kit: &Kit,
    exercises: &[&Exercise],
    dir: &Path,
    args: &GradeArgs,
    settings: &SlotSettings,
) -> Result<ExitCode> {
    let (folders, mut failures) = student_folders(dir)?;
    if folders.is_empty() {
        bail!(
            "{} has no sub-folders: put each student's submission in a folder of its own{}",
            dir.display(),
            if failures.is_empty() {
                String::new()
            } else {
                format!(" ({})", failures.join("; "))
            }
        );
    }
    let out = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from("grades"));
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let jobs = args.jobs.unwrap_or(cores).clamp(1, folders.len());
    let started = Instant::now();
    let next = Mutex::new(0usize);
    let progress = Mutex::new(Progress::new(folders.len()));
    let results: Mutex<Vec<(usize, Result<Report>)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for slot in 0..jobs {
            let (next, progress, results, folders) = (&next, &progress, &results, &folders);
            scope.spawn(move || {
                let mut workspace = Workspace::open(kit, slot, settings);
                loop {
                    let index = {
                        let mut next = next.lock().unwrap_or_else(|p| p.into_inner());
                        let index = *next;
                        *next += 1;
                        index
                    };
                    let Some(folder) = folders.get(index) else {
                        break;
                    };
                    let report = match &mut workspace {
                        Ok(workspace) => Submission::read(folder, &kit.root, &kit.manifest)
                            .and_then(|s| grade_submission(kit, workspace, &s, exercises)),
                        Err(e) => Err(anyhow::anyhow!("{e:#}")),
                    };
                    progress
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .finished(folder, &report);
                    results
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((index, report));
                }
            });
        }
    });
    progress.lock().unwrap_or_else(|p| p.into_inner()).clear();
    let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    results.sort_by_key(|(index, _)| *index);
    let mut reports = Vec::new();
    let formats = args.formats();
    let suffixes: Vec<&str> = formats.iter().map(|f| f.file_suffix()).collect();
    let stems = report_stems(&folders, &suffixes);
    for (index, result) in results {
        let name = student_name(&folders[index]);
        match result {
            Ok(mut report) => {
                // As unique in the gradebook as the report's file name.
                report.student = stems[index].clone();
                for &format in &formats {
                    let file = out.join(format!("{}.{}", stems[index], format.file_suffix()));
                    write_report(&file, &formats::render(&report, format)?)?;
                }
                reports.push(report);
            }
            Err(error) => failures.push(format!("{name}: {}", clean(&format!("{error:#}")))),
        }
    }
    write_report(&out.join("summary.csv"), &formats::csv(&reports))?;
    print!("{}", formats::class_table(&reports));
    let minutes = started.elapsed().as_secs_f64() / 60.0;
    println!(
        "\n{} submissions graded in {:.1} min ({:.1} per minute, {jobs} at a time); reports in {}, gradebook in {}",
        reports.len(),
        minutes,
        reports.len() as f64 / minutes.max(1e-9),
        out.display(),
        out.join("summary.csv").display()
    );
    for failure in &failures {
        eprintln!(
            "{} {failure}",
            crate::colour::paint("not graded:", crossterm::style::Color::Red)
        );
    }
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// The students' folders in `dir`, in name order, and a line for each
/// entry that looks like one but is a symbolic link: a link is not
/// followed (it could lead to any folder on this machine, such as the
/// instructor's solutions), so it is no student's submission.
fn student_folders(dir: &Path) -> Result<(Vec<PathBuf>, Vec<String>)> {
    let mut folders = Vec::new();
    let mut links = Vec::new();
    let listing = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the submissions folder {}", dir.display()))?;
    for entry in listing.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            folders.push(entry.path());
        } else if kind.is_symlink() {
            links.push(entry.path());
        }
    }
    folders.sort();
    links.sort();
    let skipped = links
        .iter()
        .map(|link| {
            format!(
                "{}: a symbolic link, not a student's folder: not followed",
                student_name(link)
            )
        })
        .collect();
    Ok((folders, skipped))
}

/// A folder's name as reports and lines on the terminal show it.
fn student_name(folder: &Path) -> String {
    let name = folder
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| folder.display().to_string());
    clean(&name)
}

/// The name of each student's report files (`STEM.<suffix>`, one per
/// suffix): the folder's name, cleaned, made unique (two folder names may
/// differ only in control characters, and one student's report must not
/// replace another's, nor the gradebook `summary.csv`). Suffixes hold dots,
/// so a stem is also kept off every file name another stem's reports take:
/// a folder named `alice.classroom` must not write over `alice`'s
/// `alice.classroom.json`.
fn report_stems(folders: &[PathBuf], suffixes: &[&str]) -> Vec<String> {
    let mut taken = std::collections::BTreeSet::from(["summary".to_string()]);
    let mut files = std::collections::BTreeSet::from(["summary.csv".to_string()]);
    let names = |stem: &str| -> Vec<String> {
        suffixes
            .iter()
            .map(|suffix| format!("{stem}.{suffix}"))
            .collect()
    };
    folders
        .iter()
        .map(|folder| {
            let name = student_name(folder);
            let base = if name.trim().is_empty() {
                "student".to_string()
            } else {
                name
            };
            let mut stem = base.clone();
            let mut n = 1;
            while taken.contains(&stem) || names(&stem).iter().any(|file| files.contains(file)) {
                n += 1;
                stem = format!("{base}-{n}");
            }
            taken.insert(stem.clone());
            files.extend(names(&stem));
            stem
        })
        .collect()
}

/// The progress line: redrawn in place on a terminal, a line per student
/// otherwise.
struct Progress {
    total: usize,
    done: usize,
    terminal: bool,
}

impl Progress {
    fn new(total: usize) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        let progress = Progress {
            total,
            done: 0,
            terminal,
        };
        progress.draw("");
        progress
    }

    fn finished(&mut self, folder: &Path, report: &Result<Report>) {
        self.done += 1;
        let what = match report {
            Ok(r) => format!(
                "{} {}/{}",
                r.student,
                formats::number(r.score),
                formats::number(r.max_score)
            ),
            Err(_) => format!("{} not graded", student_name(folder)),
        };
        self.draw(&what);
    }

    fn draw(&self, last: &str) {
        let mut err = std::io::stderr();
        if self.terminal {
            let _ = write!(
                err,
                "\r\x1b[2K{} graded  {}",
                crate::render::progress_bar(self.done, self.total),
                last
            );
        } else if !last.is_empty() {
            let _ = writeln!(err, "[{}/{}] {last}", self.done, self.total);
        }
        let _ = err.flush();
    }

    fn clear(&self) {
        if self.terminal {
            eprint!("\r\x1b[2K");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_files_are_named_after_the_cleaned_folders_and_never_shared() {
        let folders: Vec<PathBuf> = [
            "class/alice",
            "class/alice\x07",
            "class/\x1b[2J",
            "class/summary",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert_eq!(
            report_stems(&folders, &["json"]),
            ["alice", "alice-2", "student", "summary-2"]
        );
    }

    #[test]
    fn no_folder_name_takes_another_students_report_in_another_format() {
        let folders: Vec<PathBuf> = [
            "class/alice",
            "class/alice.classroom",
            "class/alice.results",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        let suffixes = ["json", "classroom.json", "results.json"];
        let stems = report_stems(&folders, &suffixes);
        assert_eq!(stems, ["alice", "alice.classroom-2", "alice.results-2"]);
        let files: Vec<String> = stems
            .iter()
            .flat_map(|stem| suffixes.map(|suffix| format!("{stem}.{suffix}")))
            .collect();
        let unique: std::collections::BTreeSet<&String> = files.iter().collect();
        assert_eq!(unique.len(), files.len(), "{files:?}");
    }
}
