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
use crate::sandbox::rustc::LimitHit;
use crate::sandbox::{Jail, RunPolicy};
use anyhow::{bail, Context, Result};
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
        let broken = build_topic(kit, workspace, suite, &topic, hidden)?;
        for exercise in topic {
            let grade = grade_one(workspace, submission, exercise, &broken)?;
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
        notes: submission.notes.clone(),
        ignored: submission.ignored.clone(),
        seconds: started.elapsed().as_secs_f64(),
        sandbox: workspace.layers.describe(),
        sandbox_missing: workspace.layers.missing(),
    })
}

/// Builds a topic's suite; every learner file that keeps it from building
/// is replaced by its stub until it builds: a file the compiler's errors
/// point at, or else (a compiler that ran out of time or memory, or an
/// error in a suite's code) the file that fails the build alone. Returns
/// the replaced files with their reason; the verified suite binary is in
/// `workspace.trusted`.
fn build_topic(
    kit: &Kit,
    workspace: &mut Workspace,
    suite: &str,
    topic: &[&Exercise],
    hidden: bool,
) -> Result<BTreeMap<String, String>> {
    let mut broken: BTreeMap<String, String> = BTreeMap::new();
    let mut files: Vec<&str> = topic.iter().map(|e| e.file.as_str()).collect();
    files.dedup();
    loop {
        let failure = match build_once(workspace, suite, hidden)? {
            Built::Ok(binary) => {
                workspace.trusted.take(suite, &binary)?;
                return Ok(broken);
            }
            Built::Failed(failure) => failure,
        };
        let remaining: Vec<&str> = files
            .iter()
            .copied()
            .filter(|f| !broken.contains_key(*f))
            .collect();
        if remaining.is_empty() {
            bail!(
                "the suite {suite} does not build even with every exercise's starting code: the kit itself is broken (run `{}` in it):\n{}",
                crate::invocation::command("dev check"),
                crate::colour::strip_ansi(&failure.first_error())
            );
        }
        let named = remaining.iter().copied().find(|f| failure.blames(f));
        let (culprit, reason) = match (named, remaining.as_slice()) {
            (Some(file), _) => (file, failure.first_error()),
            (None, [only]) => (*only, failure.first_error()),
            (None, _) => trace(kit, workspace, suite, hidden, &remaining, &failure)?,
        };
        broken.insert(culprit.to_string(), reason);
        workspace.use_stub(kit, culprit)?;
    }
}

/// Why a build failed.
struct BuildFailure {
    /// The compiler's errors, rendered.
    errors: Vec<String>,
    /// The files they point at, relative to the kit root.
    files: Vec<String>,
    /// Compilers that ran out of time or memory.
    limits: Vec<LimitHit>,
}

impl BuildFailure {
    fn blames(&self, file: &str) -> bool {
        self.limits.is_empty() && self.files.iter().any(|b| b == &format!("exercises/{file}"))
    }

    fn first_error(&self) -> String {
        if let Some(hit) = self.limits.first() {
            return limit_reason(hit);
        }
        let first = self.errors.first().cloned().unwrap_or_default();
        // An error inside a hidden test would show its source.
        if self.files.iter().any(|f| f.starts_with("checker/hidden/")) {
            return "error: a hidden test does not compile against this file: was a public item renamed, or its signature changed? (Keep the starting code's names and signatures.)".to_string();
        }
        first
    }
}

fn limit_reason(hit: &LimitHit) -> String {
    format!(
        "error: the compiler ran out of {} on this file (a compiler may use {}): is there a macro or a constant whose expansion or evaluation never ends, or grows without bound?",
        hit.limit, hit.allowed
    )
}

enum Built {
    Ok(PathBuf),
    Failed(BuildFailure),
}

/// One grading build of `suite` in the copy as it is now.
fn build_once(workspace: &Workspace, suite: &str, hidden: bool) -> Result<Built> {
    workspace.before_build()?;
    let spec = BuildSpec {
        root: &workspace.root,
        suite,
        exercise: None,
        subject: Subject::Learner,
        hidden,
        target_dir: Some(&workspace.target),
        compiler: Some(&workspace.compiler),
    };
    Ok(match check::build(&spec)? {
        Build::Ok(binary) => Built::Ok(binary),
        Build::Failed { errors, files } => Built::Failed(BuildFailure {
            errors,
            files,
            limits: workspace.compiler.hits(),
        }),
    })
}

/// Finds the one of `remaining` that fails the build with every other
/// learner file of the topic replaced by its stub, trying them one at a
/// time: the compiler named no learner file, or ran out of time or memory.
/// Returns it with its reason; if no file fails alone, the first one, with
/// the first failure's reason.
fn trace<'f>(
    kit: &Kit,
    workspace: &mut Workspace,
    suite: &str,
    hidden: bool,
    remaining: &[&'f str],
    failure: &BuildFailure,
) -> Result<(&'f str, String)> {
    let mut found = None;
    for &alone in remaining {
        for &other in remaining.iter().filter(|&&f| f != alone) {
            workspace.use_stub(kit, other)?;
        }
        if let Built::Failed(failure) = build_once(workspace, suite, hidden)? {
            found = Some((alone, failure.first_error()));
        }
        for &other in remaining.iter().filter(|&&f| f != alone) {
            workspace.use_learner_file(other)?;
        }
        if found.is_some() {
            break;
        }
    }
    Ok(found.unwrap_or_else(|| (remaining[0], failure.first_error())))
}

fn grade_one(
    workspace: &Workspace,
    submission: &Submission,
    exercise: &Exercise,
    broken: &BTreeMap<String, String>,
) -> Result<ExerciseGrade> {
    let started = Instant::now();
    workspace.fresh_scratch()?;
    let binary = workspace.trusted.verified(&exercise.suite)?;
    let jail = Jail::prepare(
        &workspace.layers,
        &RunPolicy {
            binary,
            scratch: &workspace.scratch,
            needs: exercise.needs,
            uid: workspace.uid,
        },
    )?;
    let (mut outcome, stopped, listing) =
        match list_tests(workspace, binary, &exercise.group, &jail)? {
            Ok(listing) => {
                let (outcome, stopped) =
                    run_exercise(workspace, exercise, binary, &jail, &listing)?;
                (outcome, stopped, listing)
            }
            Err(why) => (
                Outcome::empty(),
                vec![Unfinished {
                    test: None,
                    reason: why,
                }],
                Vec::new(),
            ),
        };
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
    Ok(grade_exercise(
        exercise, &outcome, &stopped, zeroed, &listing,
    ))
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
    jail: &Jail,
    listing: &[String],
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
            jail: Some(jail),
            listing: Some(listing),
            env: &[],
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

/// How long a suite may take to list its tests.
const LISTING_LIMIT: Duration = Duration::from_secs(20);

/// The names of a group's tests, as the suite lists them before any test
/// (and so any learner code) runs: the only names a run may report. The
/// listing runs in the same jail as the tests, within [`LISTING_LIMIT`].
fn list_tests(
    workspace: &Workspace,
    binary: &Path,
    group: &str,
    jail: &Jail,
) -> Result<std::result::Result<Vec<String>, String>> {
    let listed = workspace.runs.join(format!("{group}.list"));
    let file = std::fs::File::create(&listed)
        .with_context(|| format!("cannot create {}", listed.display()))?;
    let mut cmd = std::process::Command::new(binary);
    jail.apply(&mut cmd);
    cmd.env(dscheck::protocol::GROUP_VAR, group)
        .arg("--list")
        .stdin(std::process::Stdio::null())
        .stdout(file)
        .stderr(std::process::Stdio::null());
    let ended = crate::child::run_with_limit(&mut cmd, LISTING_LIMIT);
    let text = check::read_tail(&listed, 1 << 20);
    let _ = std::fs::remove_file(&listed);
    let (status, timed_out) = ended.context("cannot run the suite to list its tests")?;
    if timed_out || !status.is_some_and(|s| s.success()) {
        let why = if timed_out {
            format!("it did not finish within {} s", LISTING_LIMIT.as_secs())
        } else {
            "it failed".to_string()
        };
        return Ok(Err(format!("the suite could not list its tests: {why}")));
    }
    Ok(Ok(text
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        // Listed as `[topic] group::name`.
        .map(|line| line.split_once("] ").map_or(line, |(_, name)| name))
        .map(str::to_string)
        .collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(files: &[&str], limits: Vec<LimitHit>) -> BuildFailure {
        BuildFailure {
            errors: vec![
                "error[E0425]: cannot find `secret_helper`\n  | let x = secret_helper();"
                    .to_string(),
            ],
            files: files.iter().map(|f| f.to_string()).collect(),
            limits,
        }
    }

    #[test]
    fn an_error_inside_a_hidden_test_is_reported_without_its_source() {
        let hidden = failure(&["checker/hidden/intro/retry.rs"], Vec::new());
        assert!(!hidden.first_error().contains("secret_helper"));
        assert!(hidden
            .first_error()
            .contains("a hidden test does not compile"));
        let public = failure(&["checker/suites/intro/retry.rs"], Vec::new());
        assert!(public.first_error().contains("secret_helper"));
    }

    #[test]
    fn a_compiler_out_of_time_blames_no_file_by_its_errors() {
        let hit = LimitHit {
            krate: "exercises".to_string(),
            limit: "time".to_string(),
            allowed: "120 s".to_string(),
        };
        let timed_out = failure(&["exercises/00_intro/retry.rs"], vec![hit]);
        assert!(!timed_out.blames("00_intro/retry.rs"));
        assert!(timed_out
            .first_error()
            .contains("ran out of time on this file"));
        let named = failure(&["exercises/00_intro/retry.rs"], Vec::new());
        assert!(named.blames("00_intro/retry.rs"));
        assert!(!named.blames("00_intro/pingpong.rs"));
    }
}
