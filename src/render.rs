//! Turning outcomes into what the learner reads: the property that broke,
//! in plain words, with the seed, the trace lines and the replay command.

use crate::check::Outcome;
use crate::kit::Kit;
use crate::manifest::Exercise;
use crossterm::style::{Color, Stylize};
use dscheck::protocol::TestResult;
use std::sync::atomic::{AtomicBool, Ordering};

static COLOR: AtomicBool = AtomicBool::new(false);

/// Turns colour on when stdout is a terminal and `NO_COLOR` is not set.
pub fn init_color() {
    use std::io::IsTerminal;
    let on = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    COLOR.store(on, Ordering::Relaxed);
}

/// Forces colour on or off (the watch screen always has a terminal).
pub fn set_color(on: bool) {
    COLOR.store(on, Ordering::Relaxed);
}

pub fn color_enabled() -> bool {
    COLOR.load(Ordering::Relaxed)
}

pub fn paint(text: &str, color: Color) -> String {
    if color_enabled() {
        text.with(color).to_string()
    } else {
        text.to_string()
    }
}

pub fn bold(text: &str) -> String {
    if color_enabled() {
        text.bold().to_string()
    } else {
        text.to_string()
    }
}

pub fn dim(text: &str) -> String {
    if color_enabled() {
        text.dim().to_string()
    } else {
        text.to_string()
    }
}

/// Removes ANSI colour codes (compiler messages come with them), and any
/// other control sequence of the same form (`ESC [`, parameters, one final
/// character), whole.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            skip_control_sequence(&mut chars);
        } else {
            out.push(c);
        }
    }
    out
}

/// Skips the rest of a control sequence after its `ESC [`: parameter and
/// intermediate characters, then the final one (`m` for colours, but any
/// of `@` to `~`). Text after a sequence cut short is kept.
pub fn skip_control_sequence(chars: &mut std::iter::Peekable<impl Iterator<Item = char>>) {
    while chars.next_if(|c| ('\x20'..='\x3f').contains(c)).is_some() {}
    chars.next_if(|c| ('\x40'..='\x7e').contains(c));
}

/// Breaks a line wider than `cols` at spaces, continuing under its own
/// indentation plus two; colour codes are kept and take no width. A word
/// wider than the screen stays whole (the terminal wraps it).
pub fn wrap(line: &str, cols: usize) -> Vec<String> {
    let width = |text: &str| strip_ansi(text).chars().count();
    if width(line) <= cols || cols < 20 {
        return vec![line.to_string()];
    }
    let indent = line.len() - line.trim_start_matches(' ').len();
    let continuation = " ".repeat(indent + 2);
    let mut lines = Vec::new();
    let mut current = " ".repeat(indent);
    let mut current_width = indent;
    let mut first_word = true;
    for word in line[indent..].split(' ') {
        let w = width(word);
        if !first_word && current_width + 1 + w > cols {
            lines.push(std::mem::replace(&mut current, continuation.clone()));
            current_width = continuation.len();
            first_word = true;
        }
        if !first_word {
            current.push(' ');
            current_width += 1;
        }
        current.push_str(word);
        current_width += w;
        first_word = false;
    }
    lines.push(current);
    lines
}

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
        for (i, line) in trace.iter().enumerate() {
            let last = i + 1 == trace.len() && report.full_trace.is_empty();
            if last {
                lines.push(format!(
                    "   {}  {}",
                    paint(line, Color::Yellow),
                    paint("<- here", Color::Yellow)
                ));
            } else {
                lines.push(format!("   {line}"));
            }
        }
    }
    lines.push(String::new());
    match report.seed {
        Some(seed) if !unimplemented => {
            lines.push(format!(
                "   {}  dscourse replay {} --seed {seed}",
                bold("replay"),
                exercise.name
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_spaces_under_the_indent() {
        let line = "   n0 panicked in on_start: not yet implemented: set the timer (at exercises/00_intro/pingpong.rs:68:9)";
        let lines = wrap(line, 40);
        assert!(lines.len() > 2);
        for l in &lines {
            assert!(l.chars().count() <= 40 || !l.trim().contains(' '), "{l:?}");
        }
        assert!(lines[1].starts_with("     ") && !lines[1].starts_with("      "));
        let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        assert_eq!(words(&lines.join(" ")), words(line));
        assert_eq!(wrap("short", 40), vec!["short"]);
    }

    #[test]
    fn strips_whole_control_sequences_only() {
        assert_eq!(strip_ansi("\x1b[1;31merror\x1b[0m: x"), "error: x");
        // A final character other than a letter ends the sequence too.
        assert_eq!(strip_ansi("\x1b[2~kept \x1b[5@text"), "kept text");
        assert_eq!(strip_ansi("cut \x1b[12"), "cut ");
    }

    #[test]
    fn wrapping_ignores_colour_codes() {
        set_color(true);
        let line = format!("   {} {}", paint("word", Color::Red), "x ".repeat(10));
        assert_eq!(wrap(&line, 30).len(), 1);
    }
}
