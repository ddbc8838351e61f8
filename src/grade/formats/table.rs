//! Grades as terminal tables: one submission, or a whole class.

use super::super::report::{Report, Status};
use super::number;
use crate::colour::{bold, dim, paint};
use crossterm::style::Color;

/// One submission: a line per exercise, then why points were lost.
pub fn table(report: &Report) -> String {
    let mut out = format!(
        "{} {}\n\n",
        bold(&report.student),
        dim(&format!("({})", report.submission))
    );
    let width = report
        .exercises
        .iter()
        .map(|e| e.name.len())
        .max()
        .unwrap_or(8)
        .max(8);
    for exercise in &report.exercises {
        let passed = exercise.tests.iter().filter(|t| t.passed).count();
        let color = match exercise.status {
            Status::Passed => Color::Green,
            Status::Partial => Color::Yellow,
            _ => Color::Red,
        };
        out += &format!(
            "  {:<width$}  {:>6} / {:<4} {:>3}/{:<3} tests  {}\n",
            exercise.name,
            number(exercise.score),
            number(exercise.points),
            passed,
            exercise.tests.len(),
            paint(exercise.status.label(), color),
        );
    }
    out += &format!(
        "\n  {:<width$}  {:>6} / {}\n",
        bold("total"),
        number(report.score),
        number(report.max_score)
    );
    let lost: Vec<_> = report
        .exercises
        .iter()
        .filter(|e| !e.reason.is_empty())
        .collect();
    if !lost.is_empty() {
        out += "\nWhy points were lost:\n";
        for exercise in lost {
            out += &format!(
                "\n  {} — {}\n",
                bold(&exercise.name),
                exercise.reason.lines().next().unwrap_or("")
            );
            for line in exercise.reason.lines().skip(1).take(12) {
                out += &format!("    {line}\n");
            }
            if let Some(test) = exercise
                .tests
                .iter()
                .find(|t| !t.passed && !t.output.is_empty())
            {
                out += &format!("    first failing test: {}\n", test.name);
                for line in test.output.lines().take(6) {
                    out += &format!("      {line}\n");
                }
            }
        }
    }
    if !report.notes.is_empty() || !report.ignored.is_empty() {
        out += "\nAbout the submission's files:\n";
        for line in report.notes.iter().chain(&report.ignored) {
            out += &format!("  {line}\n");
        }
    }
    out += &format!("\nsandbox: {}\n", report.sandbox);
    for missing in &report.sandbox_missing {
        out += &format!("  missing: {missing}\n");
    }
    out
}

/// A class: a line per student, a column per exercise.
pub fn class_table(reports: &[Report]) -> String {
    let Some(first) = reports.first() else {
        return "no submissions\n".to_string();
    };
    let names = reports
        .iter()
        .map(|r| r.student.len())
        .max()
        .unwrap_or(7)
        .max(7);
    let mut out = format!("{:<names$}", "student");
    for (i, _) in first.exercises.iter().enumerate() {
        out += &format!(" {:>5}", format!("#{}", i + 1));
    }
    out += "   total\n";
    for report in reports {
        out += &format!("{:<names$}", report.student);
        for exercise in &report.exercises {
            out += &format!(" {:>5}", number(exercise.score));
        }
        out += &format!(
            "  {:>6} / {}\n",
            number(report.score),
            number(report.max_score)
        );
    }
    out += "\n";
    for (i, exercise) in first.exercises.iter().enumerate() {
        out += &format!("#{:<3} {}\n", i + 1, exercise.name);
    }
    out
}
