//! What grading one submission found: a score per exercise, split across
//! its tests, with the reason for every lost point. Every output format is
//! written from this one report.

use crate::check::{Outcome, Unfinished};
use crate::colour::strip_ansi;
use crate::manifest::Exercise;
use serde::Serialize;

/// The grade of one submission. Every text in it that a learner can
/// influence is cleaned of control characters once it is complete
/// (`clean::report`): a new text field belongs there too.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The student: the submission folder's name.
    pub student: String,
    pub submission: String,
    pub score: f64,
    pub max_score: f64,
    pub exercises: Vec<ExerciseGrade>,
    /// How the submission's files were found, where that needs saying
    /// (a file graded though its name matched only without regard to case).
    pub notes: Vec<String>,
    /// Files of the submission that were not graded, each with why.
    pub ignored: Vec<String>,
    pub seconds: f64,
    /// The layers that protected the grading runs (`sandbox::Layers`).
    pub sandbox: String,
    /// Layers this machine could not give, and what that leaves open.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sandbox_missing: Vec<String>,
}

/// The grade of one exercise.
#[derive(Clone, Debug, Serialize)]
pub struct ExerciseGrade {
    pub name: String,
    pub topic: String,
    pub points: f64,
    pub score: f64,
    pub status: Status,
    /// Why points were lost, in plain words (empty when none were).
    pub reason: String,
    pub tests: Vec<TestGrade>,
    pub seconds: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every test passed.
    Passed,
    /// Some tests passed.
    Partial,
    /// No test passed.
    Failed,
    /// The learner's file does not compile; its stub was graded instead.
    CompileError,
    /// The suite did not finish: a time-out, a crash, an exit.
    Unfinished,
    /// The learner's code changed files of the grading kit.
    Tampered,
    /// The submission has no file for this exercise.
    NotSubmitted,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Partial => "partial",
            Status::Failed => "failed",
            Status::CompileError => "does not compile",
            Status::Unfinished => "did not finish",
            Status::Tampered => "changed the kit",
            Status::NotSubmitted => "not submitted",
        }
    }
}

/// One test's share of its exercise's points.
#[derive(Clone, Debug, Serialize)]
pub struct TestGrade {
    /// `group::name`.
    pub name: String,
    pub passed: bool,
    /// An instructor's private test.
    pub hidden: bool,
    pub score: f64,
    pub max_score: f64,
    /// What failed, with the seed and the command that replays it.
    pub output: String,
    pub seconds: f64,
}

/// Why an exercise gets no points whatever its tests say.
pub enum Zeroed {
    CompileError(String),
    Tampered(String),
    NotSubmitted,
}

/// How much of a failure's text a report keeps per test.
const OUTPUT_LIMIT: usize = 4000;

/// Scores one exercise from its suite's outcome: its points split evenly
/// across its tests, a passed test earning its share. A test that never
/// reported (the suite stopped in the middle) earns nothing.
pub fn grade_exercise(
    exercise: &Exercise,
    outcome: &Outcome,
    stopped: &[Unfinished],
    zeroed: Option<Zeroed>,
    test_names: &[String],
) -> ExerciseGrade {
    let points = f64::from(exercise.points);
    // Every test of the group, including those that never reported.
    let mut names: Vec<String> = outcome.tests.iter().map(|t| t.test.clone()).collect();
    for name in test_names {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    let share = if names.is_empty() {
        0.0
    } else {
        points / names.len() as f64
    };
    let zero = zeroed.is_some();
    let tests: Vec<TestGrade> = names
        .iter()
        .map(
            |name| match outcome.tests.iter().find(|t| &t.test == name) {
                Some(result) => TestGrade {
                    name: name.clone(),
                    passed: result.passed && !zero,
                    hidden: result.hidden,
                    score: if result.passed && !zero { share } else { 0.0 },
                    max_score: share,
                    output: result
                        .failure
                        .as_ref()
                        .map(|f| failure_text(exercise, f))
                        .unwrap_or_default(),
                    seconds: result.duration_ms as f64 / 1000.0,
                },
                None => TestGrade {
                    name: name.clone(),
                    passed: false,
                    hidden: false,
                    score: 0.0,
                    max_score: share,
                    output: match stopped
                        .iter()
                        .find(|u| u.test.as_deref() == Some(name.as_str()))
                    {
                        Some(u) => u.reason.clone(),
                        None if !stopped.is_empty() => {
                            "not run: the suite stopped before this test".to_string()
                        }
                        None => "not run".to_string(),
                    },
                    seconds: 0.0,
                },
            },
        )
        .collect();
    let score: f64 = tests.iter().map(|t| t.score).sum();
    let (status, reason) = match zeroed {
        Some(Zeroed::CompileError(error)) => (
            Status::CompileError,
            format!(
                "{} does not compile, so its starting code was graded instead:\n{}",
                exercise.file,
                clip(&strip_ansi(&error), OUTPUT_LIMIT)
            ),
        ),
        Some(Zeroed::Tampered(what)) => (
            Status::Tampered,
            format!("the code changed the grading kit's files ({what}); the exercise scores zero"),
        ),
        Some(Zeroed::NotSubmitted) => (
            Status::NotSubmitted,
            format!("the submission has no exercises/{}", exercise.file),
        ),
        None => match stopped.first() {
            Some(unfinished) => (
                Status::Unfinished,
                format!(
                    "the suite stopped{}: {}",
                    unfinished
                        .test
                        .as_ref()
                        .map(|t| format!(" in {t}"))
                        .unwrap_or_default(),
                    unfinished.reason
                ),
            ),
            None if tests.is_empty() => (Status::Failed, "the suite ran no test".to_string()),
            None if tests.iter().all(|t| t.passed) => (Status::Passed, String::new()),
            None => {
                let failed = tests.iter().filter(|t| !t.passed).count();
                let status = if failed == tests.len() {
                    Status::Failed
                } else {
                    Status::Partial
                };
                (status, format!("{failed} of {} tests failed", tests.len()))
            }
        },
    };
    ExerciseGrade {
        name: exercise.name.clone(),
        topic: exercise.topic.clone(),
        points,
        score,
        status,
        reason,
        tests,
        seconds: outcome.elapsed.as_secs_f64(),
    }
}

/// A failure as a report shows it: the property, what happened, the seed
/// and the command that replays it.
fn failure_text(exercise: &Exercise, failure: &dscheck::protocol::FailureReport) -> String {
    let mut text = format!("property: {}\n{}", failure.property, failure.detail);
    if let Some(seed) = failure.seed {
        text += &format!(
            "\nseed {seed}: replay with `{}`",
            crate::invocation::command(&format!("run {} --seed {seed}", exercise.name))
        );
    }
    if !failure.trace.is_empty() {
        text += "\ntrace:\n  ";
        text += &failure.trace.join("\n  ");
    }
    clip(&text, OUTPUT_LIMIT)
}

/// `text`, cut to at most `max` bytes at a character boundary.
pub fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n… (cut)", &text[..end])
}

/// Rounds a score for display: two decimals.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
