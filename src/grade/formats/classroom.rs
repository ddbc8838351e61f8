//! The JSON GitHub Classroom's autograding reporter reads from a runner's
//! output (base64-encoded into `<RUNNER>_RESULTS`; see README.md for the
//! workflow step): a status, a maximum score and a score per test.

use super::super::report::{round2, Report};
use anyhow::Result;
use serde::Serialize;

#[derive(Serialize)]
struct Results {
    version: u32,
    status: &'static str,
    max_score: f64,
    tests: Vec<Test>,
}

#[derive(Serialize)]
struct Test {
    name: String,
    status: &'static str,
    score: f64,
    message: String,
    execution_time: String,
}

pub fn json(report: &Report) -> Result<String> {
    let tests: Vec<Test> = report
        .exercises
        .iter()
        .flat_map(|exercise| {
            exercise.tests.iter().map(move |test| Test {
                name: format!("{}: {}", exercise.name, test.name),
                status: if test.passed { "pass" } else { "fail" },
                score: round2(test.score),
                message: super::test_message(exercise, test),
                execution_time: format!("{:.2}s", test.seconds),
            })
        })
        .collect();
    let all_passed = report
        .exercises
        .iter()
        .all(|e| e.status == super::super::report::Status::Passed);
    let results = Results {
        version: 1,
        status: if all_passed { "pass" } else { "fail" },
        max_score: round2(report.max_score),
        tests,
    };
    Ok(serde_json::to_string(&results)? + "\n")
}
