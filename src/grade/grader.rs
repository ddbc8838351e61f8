//! Grading one submission in a grading copy of the kit: build each topic's
//! suite against the learner's files (replacing a file that does not
//! compile by its stub, so that the rest of the topic still earns its
//! points), run each exercise's tests with the usual limits, and score.

use super::report::{grade_exercise, ExerciseGrade, Report, Status, Zeroed};
use super::submission::Submission;
use super::workspace::Workspace;
use crate::check::{self, Build, BuildSpec, Outcome, Subject, SuiteRun, Unfinished};
use crate::kit::Kit;
use crate::manifest::Exercise;
use anyhow::{bail, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Grades `submission` on `exercises` (in course order).
pub fn grade(
    kit: &Kit,
    workspace: &mut Workspace,
    submission: &Submission,
    exercises: &[&Exercise],
) -> Result<Report> {
    let started = Instant::now();
    workspace.prepare(kit, submission)?;
    let hidden = kit.has_hidden_tests();
    let mut grades = Vec::new();
    // Suites in the order their first exercise comes.
    let mut suites: Vec<&str> = Vec::new();
    for exercise in exercises {
        if !suites.contains(&exercise.suite.as_str()) {
            suites.push(&exercise.suite);
        }
    }
    for suite in suites {
        let topic: Vec<&Exercise> = exercises
            .iter()
            .copied()
            .filter(|e| e.suite == suite)
            .collect();
        let (binary, broken) = build_topic(kit, workspace, suite, &topic, hidden)?;
        for exercise in topic {
            let grade = grade_one(workspace, submission, exercise, &binary, &broken)?;
            if grade.status == Status::Tampered {
                // The next exercises are graded on a clean copy again.
                workspace.prepare(kit, submission)?;
                for file in broken.keys() {
                    workspace.use_stub(kit, file)?;
                }
            }
            grades.push(grade);
        }
    }
    let score = grades.iter().map(|g| g.score).sum();
    let max_score = grades.iter().map(|g| g.points).sum();
    Ok(Report {
        student: submission.student.clone(),
        submission: submission.root.display().to_string(),
        score,
        max_score,
        exercises: grades,
        ignored: submission.ignored.clone(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Builds a topic's suite; every learner file the compiler blames is
/// replaced by its stub until it builds. Returns the suite executable and
/// the replaced files with their first error.
fn build_topic(
    kit: &Kit,
    workspace: &mut Workspace,
    suite: &str,
    topic: &[&Exercise],
    hidden: bool,
) -> Result<(PathBuf, BTreeMap<String, String>)> {
    let mut broken: BTreeMap<String, String> = BTreeMap::new();
    let mut files: Vec<&str> = topic.iter().map(|e| e.file.as_str()).collect();
    files.dedup();
    loop {
        let spec = BuildSpec {
            root: &workspace.root,
            suite,
            subject: Subject::Learner,
            hidden,
            target_dir: Some(&workspace.target),
        };
        let (errors, blamed) = match check::build(&spec)? {
            Build::Ok(binary) => return Ok((binary, broken)),
            Build::Failed { errors, files } => (errors, files),
        };
        let first = errors.first().cloned().unwrap_or_default();
        let remaining: Vec<&str> = files
            .iter()
            .copied()
            .filter(|f| !broken.contains_key(*f))
            .collect();
        // The learner files the errors point at; if none (an error in the
        // suite, from a changed signature), the topic's files in order.
        let named: Vec<&str> = remaining
            .iter()
            .copied()
            .filter(|f| blamed.iter().any(|b| b == &format!("exercises/{f}")))
            .collect();
        let culprit = match (named.first(), remaining.first()) {
            (Some(file), _) => *file,
            (None, Some(file)) => *file,
            (None, None) => bail!(
                "the suite {suite} does not build even with every exercise's starting code: the kit itself is broken (run `dscourse dev check` in it):\n{}",
                crate::render::strip_ansi(&first)
            ),
        };
        broken.insert(culprit.to_string(), first);
        workspace.use_stub(kit, culprit)?;
    }
}

fn grade_one(
    workspace: &Workspace,
    submission: &Submission,
    exercise: &Exercise,
    binary: &Path,
    broken: &BTreeMap<String, String>,
) -> Result<ExerciseGrade> {
    let started = Instant::now();
    let (mut outcome, stopped) = run_exercise(workspace, exercise, binary)?;
    outcome.elapsed = started.elapsed();
    let changed = workspace.changed_files()?;
    let zeroed = if !changed.is_empty() {
        let mut shown: Vec<&str> = changed.iter().take(3).map(String::as_str).collect();
        if changed.len() > 3 {
            shown.push("…");
        }
        Some(Zeroed::Tampered(shown.join(", ")))
    } else if let Some(error) = broken.get(&exercise.file) {
        Some(Zeroed::CompileError(error.clone()))
    } else if !submission.files.contains_key(&exercise.file) {
        Some(Zeroed::NotSubmitted)
    } else {
        None
    };
    let names = if stopped.is_empty() {
        Vec::new()
    } else {
        list_tests(binary, &exercise.group, &workspace.scratch)
    };
    Ok(grade_exercise(exercise, &outcome, &stopped, zeroed, &names))
}

/// How many times the tests a stopped suite never finished are run again.
const RERUNS: usize = 2;

/// Runs an exercise's tests. When the suite process stops in the middle
/// (a time-out, a crash, an exit), the tests that had not reported run
/// again, one at a time so that the one that stops the process is known,
/// up to [`RERUNS`] times, each time without the tests already blamed: one
/// test that hangs or kills the process does not take its neighbours'
/// points. Returns every result and the tests the suite stopped in.
fn run_exercise(
    workspace: &Workspace,
    exercise: &Exercise,
    binary: &Path,
) -> Result<(Outcome, Vec<Unfinished>)> {
    let run = |skip: &[String], serial: bool| {
        check::run_group(&SuiteRun {
            binary,
            group: &exercise.group,
            only: None,
            skip,
            serial,
            seed: None,
            limit: Duration::from_secs(exercise.timeout_secs),
            scratch: &workspace.runs,
            cwd: &workspace.scratch,
        })
    };
    let mut outcome = run(&[], false)?;
    let Some(first) = outcome.unfinished.take() else {
        return Ok((outcome, Vec::new()));
    };
    let mut stopped: Vec<Unfinished> = Vec::new();
    let mut unfinished = Some(first);
    for _ in 0..RERUNS {
        let mut skip: Vec<String> = outcome.tests.iter().map(|t| t.test.clone()).collect();
        skip.extend(stopped.iter().filter_map(|u| u.test.clone()));
        let again = run(&skip, true)?;
        outcome.tests.extend(again.tests);
        unfinished = again.unfinished;
        match &unfinished {
            None => break,
            // Stopped before or after every test: running again tells no more.
            Some(u) if u.test.is_none() => break,
            Some(u) => stopped.push(u.clone()),
        }
        unfinished = None;
    }
    // A stop no test could be blamed for, or the last one blamed.
    if let Some(u) = unfinished {
        stopped.push(u);
    }
    outcome.tests.sort_by_key(|t| t.position);
    Ok((outcome, stopped))
}

/// The names of a group's tests, as the suite lists them (no test runs).
fn list_tests(binary: &Path, group: &str, cwd: &Path) -> Vec<String> {
    let output = std::process::Command::new(binary)
        .current_dir(cwd)
        .env(dscheck::protocol::GROUP_VAR, group)
        .arg("--list")
        .stdin(std::process::Stdio::null())
        .output();
    let Ok(output) = output else {
        return Vec::new();
    };
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        // Listed as `[topic] group::name`.
        .map(|line| line.split_once("] ").map_or(line, |(_, name)| name))
        .map(str::to_string)
        .collect()
}
