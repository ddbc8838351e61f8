//! Gradescope's `results.json`: a score and an output per test, hidden
//! tests visible to instructors only.
//! (https://gradescope-autograders.readthedocs.io/en/latest/specs/)

use super::super::report::{round2, Report};
use super::exercise_note;
use anyhow::Result;
use serde::Serialize;

#[derive(Serialize)]
struct Results {
    score: f64,
    execution_time: f64,
    output: String,
    visibility: &'static str,
    stdout_visibility: &'static str,
    tests: Vec<Test>,
}

#[derive(Serialize)]
struct Test {
    name: String,
    score: f64,
    max_score: f64,
    status: &'static str,
    output: String,
    visibility: &'static str,
    tags: Vec<String>,
}

pub fn results_json(report: &Report) -> Result<String> {
    let mut tests = Vec::new();
    for exercise in &report.exercises {
        let note = exercise_note(exercise);
        for test in &exercise.tests {
            let mut output = test.output.clone();
            if !note.is_empty() {
                output = format!("{note}\n{output}").trim_end().to_string();
            }
            tests.push(Test {
                name: format!("{}: {}", exercise.name, test.name),
                score: round2(test.score),
                max_score: round2(test.max_score),
                status: if test.passed { "passed" } else { "failed" },
                output,
                visibility: if test.hidden { "hidden" } else { "visible" },
                tags: vec![exercise.topic.clone()],
            });
        }
        if exercise.tests.is_empty() {
            tests.push(Test {
                name: exercise.name.clone(),
                score: 0.0,
                max_score: round2(exercise.points),
                status: "failed",
                output: note,
                visibility: "visible",
                tags: vec![exercise.topic.clone()],
            });
        }
    }
    let mut output = format!(
        "{} of {} points.",
        super::number(report.score),
        super::number(report.max_score)
    );
    if !report.notes.is_empty() || !report.ignored.is_empty() {
        output += "\n\nAbout the submission's files:";
        for line in report.notes.iter().chain(&report.ignored) {
            output += &format!("\n  {line}");
        }
    }
    output += &format!("\n\nsandbox: {}", report.sandbox);
    for missing in &report.sandbox_missing {
        output += &format!("\n  missing: {missing}");
    }
    let results = Results {
        score: round2(report.score),
        execution_time: round2(report.seconds),
        output,
        visibility: "visible",
        stdout_visibility: "hidden",
        tests,
    };
    Ok(serde_json::to_string_pretty(&results)? + "\n")
}

/// The results of a submission that could not be graded: no points, and why.
pub fn error(message: &str) -> String {
    let results = Results {
        score: 0.0,
        execution_time: 0.0,
        output: format!("The submission could not be graded:\n{message}"),
        visibility: "visible",
        stdout_visibility: "hidden",
        tests: Vec::new(),
    };
    serde_json::to_string_pretty(&results).unwrap_or_default() + "\n"
}
