//! Turning outcomes into what the learner reads: the property that broke,
//! in plain words, with the seed, the trace lines and the replay command.

use crate::check::Outcome;
use crate::colour::{bold, color_enabled, dim, paint, strip_ansi};
use crate::invocation::command;
use crate::kit::Kit;
use crate::manifest::Exercise;
use crossterm::style::Color;
use dscheck::protocol::TestResult;

/// `[####------] 4/10`
pub fn progress_bar(done: usize, total: usize) -> String {
    const WIDTH: usize = 10;
    let filled = (done * WIDTH).checked_div(total).unwrap_or(0).min(WIDTH);
    format!(
        "[{}{}] {done}/{total}",
        "#".repeat(filled),
        "-".repeat(WIDTH - filled)
    )
}

/// The compiler's first errors, as a learner is shown them.
pub fn compile_errors(errors: &[String]) -> Vec<String> {
    let mut lines = vec![
        format!(
            " {} your code does not compile yet:",
            paint("✗", Color::Red)
        ),
        String::new(),
    ];
    for error in errors.iter().take(3) {
        let text = if color_enabled() {
            error.clone()
        } else {
            strip_ansi(error)
        };
        lines.extend(text.lines().map(|l| format!("   {l}")));
    }
    if errors.len() > 3 {
        lines.push(format!("   … and {} more errors", errors.len() - 3));
    }
    lines
}

/// The whole report on one check of one exercise.
pub fn outcome(kit: &Kit, exercise: &Exercise, outcome: &Outcome, done: usize) -> Vec<String> {
    let total = kit.manifest.exercises.len();
    let mut lines = Vec::new();
    let summary = if outcome.compile_errors.is_some() {
        paint("does not compile", Color::Red)
    } else if outcome.passed() {
        paint(
            &format!("all {} tests pass", outcome.tests.len()),
            Color::Green,
        )
    } else {
        format!(
            "{} of {} tests pass",
            outcome.passed_count(),
            outcome.tests.len() + usize::from(outcome.unfinished.is_some())
        )
    };
    lines.push(format!(
        " {}   {summary}   {}",
        bold(&exercise.name),
        dim(&progress_bar(done, total))
    ));
    lines.push(format!(
        " {}",
        dim(&kit.display(&kit.exercise_path(exercise)))
    ));
    lines.push(String::new());
    if let Some(errors) = &outcome.compile_errors {
        lines.extend(compile_errors(errors));
        return lines;
    }
    if let Some(divergence) = &outcome.nondeterminism {
        lines.extend(divergence.lines());
        lines.push(String::new());
    }
    if let Some(failed) = outcome.tests.iter().find(|t| !t.passed) {
        lines.extend(failure(exercise, failed));
    } else if let Some(unfinished) = &outcome.unfinished {
        let test = unfinished
            .test
            .as_deref()
            .map(|t| format!(" in {}", test_label(t)))
            .unwrap_or_default();
        lines.push(format!(
            " {} the suite stopped{test}:",
            paint("✗", Color::Red)
        ));
        lines.push(format!("   {}", unfinished.reason));
        if !outcome.output_tail.is_empty() {
            lines.push(String::new());
            lines.push(format!("   {}", dim("last lines printed:")));
            lines.extend(
                outcome
                    .output_tail
                    .iter()
                    .rev()
                    .take(8)
                    .rev()
                    .map(|l| format!("     {l}")),
            );
        }
    } else if outcome.passed() {
        for test in &outcome.tests {
            lines.push(format!(
                " {} {}",
                paint("✓", Color::Green),
                test_label(&test.test)
            ));
            for (name, value) in &test.metrics {
                lines.push(format!("     {}", dim(&format!("{name}: {value}"))));
            }
        }
    } else {
        lines.push(format!(
            " {} the suite ran no test for the group {:?}",
            paint("✗", Color::Red),
            exercise.group
        ));
    }
    lines
}

/// One failed test: property, detail, seed, trace, replay, hint.
pub fn failure(exercise: &Exercise, test: &TestResult) -> Vec<String> {
    let mut lines = Vec::new();
    let Some(report) = &test.failure else {
        return lines;
    };
    let seed = match report.seed {
        Some(s) if report.property != dscheck::TODO_PROPERTY => format!("  (seed {s})"),
        _ => String::new(),
    };
    lines.push(format!(
        " {} {}{}",
        paint("✗", Color::Red),
        bold(&report.property),
        dim(&seed)
    ));
    lines.push(format!(
        "   {}",
        dim(&format!("test {}", test_label(&test.test)))
    ));
    for line in report.detail.lines() {
        lines.push(format!("   {line}"));
    }
    // A todo!() is not a protocol bug: the trace and the seed say nothing more.
    let unimplemented = report.property == dscheck::TODO_PROPERTY;
    let trace = if report.full_trace.is_empty() {
        &report.trace
    } else {
        &report.full_trace
    };
    if !trace.is_empty() && !unimplemented {
        lines.push(String::new());
        // A property checked after the run broke at its end: the excerpt
        // ends there, or at the first event the failure names.
        let mark = match report.at_end {
            None => Some("<- here"),
            Some(_) if !report.events.is_empty() => Some("<- the failure names this"),
            Some(_) => None,
        };
        for (i, line) in trace.iter().enumerate() {
            let last = i + 1 == trace.len() && report.full_trace.is_empty();
            match mark.filter(|_| last) {
                Some(mark) => lines.push(format!(
                    "   {}  {}",
                    paint(line, Color::Yellow),
                    paint(mark, Color::Yellow)
                )),
                None => lines.push(format!("   {line}")),
            }
        }
        if let Some(end) = report.at_end {
            if mark.is_some() {
                lines.push("   …".to_string());
            }
            let end = format!(
                "{:>10}  end of the run",
                dsim::Time::from_nanos(end).to_string()
            );
            lines.push(format!(
                "   {}  {}",
                paint(&end, Color::Yellow),
                paint("<- checked here", Color::Yellow)
            ));
        }
    }
    lines.push(String::new());
    match report.seed {
        Some(seed) if !unimplemented => {
            lines.push(format!(
                "   {}  {}",
                bold("replay"),
                command(&format!("replay {} --seed {seed}", exercise.name))
            ));
        }
        _ => {}
    }
    if let Some(hint) = &report.hint {
        lines.push(format!("   {}    {hint}", bold("hint")));
    }
    lines
}

/// `pingpong::answers_every_ping` → `answers every ping`.
pub fn test_label(test: &str) -> String {
    test.rsplit("::").next().unwrap_or(test).replace('_', " ")
}
