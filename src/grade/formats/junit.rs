//! JUnit XML: a test suite per exercise, a test case per test, as CI
//! systems (GitHub Actions reporters, GitLab, Jenkins) read it.

use super::super::report::Report;
use anyhow::{Context, Result};
use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
use std::time::Duration;

pub fn xml(report: &Report) -> Result<String> {
    let mut xml = quick_junit::Report::new(format!("dscourse grade {}", report.student));
    xml.set_time(Duration::from_secs_f64(report.seconds));
    for exercise in &report.exercises {
        let mut suite = TestSuite::new(exercise.name.as_str());
        suite.set_time(Duration::from_secs_f64(exercise.seconds));
        for test in &exercise.tests {
            let status = if test.passed {
                TestCaseStatus::success()
            } else {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                let message = super::test_message(exercise, test);
                status.set_message(message.lines().next().unwrap_or("failed").to_string());
                status.set_description(message);
                status
            };
            let mut case = TestCase::new(test.name.as_str(), status);
            case.set_classname(format!("{}.{}", exercise.topic, exercise.name));
            case.set_time(Duration::from_secs_f64(test.seconds));
            suite.add_test_case(case);
        }
        if exercise.tests.is_empty() {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_message(exercise.status.label());
            status.set_description(exercise.reason.as_str());
            suite.add_test_case(TestCase::new(exercise.name.as_str(), status));
        }
        xml.add_test_suite(suite);
    }
    xml.to_string().context("cannot write the JUnit XML")
}
