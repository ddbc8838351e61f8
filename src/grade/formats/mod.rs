//! The grade report in the formats instructors' tools read.

mod classroom;
mod gradescope;
mod junit;
mod table;

use super::report::{ExerciseGrade, Report, TestGrade};
use anyhow::Result;

pub use gradescope::error as gradescope_error;
pub use table::{class_table, table};

/// An output format of `dscourse grade`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for the terminal.
    Table,
    /// The whole report as JSON.
    Json,
    /// Gradescope's results.json.
    Gradescope,
    /// JUnit XML, as CI systems read it.
    Junit,
    /// The JSON GitHub Classroom's autograding reporter reads.
    Classroom,
    /// A gradebook row: one column per exercise.
    Csv,
}

impl Format {
    /// The end of a report file's name in this format, one per format, so
    /// that one student's reports in several formats sit side by side:
    /// `alice.xml`, `alice.results.json` (Gradescope's usual name after the
    /// student's), `alice.classroom.json`.
    pub fn file_suffix(self) -> &'static str {
        match self {
            Format::Table => "txt",
            Format::Json => "json",
            Format::Gradescope => "results.json",
            Format::Junit => "xml",
            Format::Classroom => "classroom.json",
            Format::Csv => "csv",
        }
    }

    /// The report's file name when one submission is graded into a folder
    /// in several formats: Gradescope reads only `results.json`.
    pub fn report_file_name(self) -> String {
        match self {
            Format::Gradescope => "results.json".to_string(),
            other => format!("report.{}", other.file_suffix()),
        }
    }
}

/// One submission's report as text.
pub fn render(report: &Report, format: Format) -> Result<String> {
    Ok(match format {
        Format::Table => table(report),
        Format::Json => serde_json::to_string_pretty(report)? + "\n",
        Format::Gradescope => gradescope::results_json(report)?,
        Format::Junit => junit::xml(report)?,
        Format::Classroom => classroom::json(report)?,
        Format::Csv => csv(std::slice::from_ref(report)),
    })
}

/// A gradebook: one row per student, one column per exercise, then the total.
pub fn csv(reports: &[Report]) -> String {
    let Some(first) = reports.first() else {
        return String::new();
    };
    let mut header = vec!["student".to_string()];
    header.extend(first.exercises.iter().map(|e| e.name.clone()));
    header.push("total".to_string());
    header.push("max".to_string());
    let mut out = csv_row(&header);
    for report in reports {
        let mut row = vec![report.student.clone()];
        row.extend(first.exercises.iter().map(|column| {
            report
                .exercises
                .iter()
                .find(|e| e.name == column.name)
                .map(|e| number(e.score))
                .unwrap_or_default()
        }));
        row.push(number(report.score));
        row.push(number(report.max_score));
        out += &csv_row(&row);
    }
    out
}

/// One CSV line, quoting fields as RFC 4180 does.
fn csv_row(fields: &[String]) -> String {
    let quoted: Vec<String> = fields
        .iter()
        .map(|f| {
            if f.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.clone()
            }
        })
        .collect();
    quoted.join(",") + "\n"
}

/// A score as reports print it: at most two decimals, no trailing zeros.
pub fn number(x: f64) -> String {
    let text = format!("{:.2}", super::report::round2(x));
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// What a test's report says: its failure, or else why its exercise lost
/// points (a test zeroed by a compile error or a changed kit has none).
fn test_message(exercise: &ExerciseGrade, test: &TestGrade) -> String {
    if test.output.is_empty() {
        exercise.reason.clone()
    } else {
        test.output.clone()
    }
}

/// The report of one exercise, for formats with one text per test.
fn exercise_note(grade: &ExerciseGrade) -> String {
    if grade.reason.is_empty() {
        String::new()
    } else {
        format!("{}: {}", grade.status.label(), grade.reason)
    }
}
