//! `replay`: rerun one seed of an exercise's suite and draw the run of one
//! of its tests, a column per node and a line per event.

use super::{missing_file, named, open};
use crate::check::{self, Options, Outcome};
use crate::colour::{bold, dim, paint, wrap};
use crate::manifest::Exercise;
use crate::render::{self, test_label};
use crate::replay::columns::{self, states, View};
use anyhow::Result;
use crossterm::style::Color;
use dscheck::protocol::{FailureReport, TestResult};
use std::path::Path;
use std::process::ExitCode;

/// What `dscourse replay` was asked.
pub struct ReplayArgs<'a> {
    pub name: &'a str,
    pub seed: u64,
    /// The test to draw, by its name after `group::`.
    pub test: Option<&'a str>,
    /// Every event, not only the part that matters.
    pub full: bool,
    pub html: Option<&'a Path>,
    pub shiviz: Option<&'a Path>,
}

/// `dscourse replay NAME --seed N [--test TEST] [--full] [--html FILE] [--shiviz FILE]`.
/// Exit status: 0 if the test drawn passed for that seed, 1 if it failed,
/// 2 for a usage error.
pub fn replay(args: &ReplayArgs) -> Result<ExitCode> {
    let (kit, progress) = open()?;
    let exercise = match named(&kit, args.name) {
        Ok(ex) => ex,
        Err(code) => return Ok(code),
    };
    if let Some(code) = missing_file(&kit, exercise) {
        return Ok(code);
    }
    let file = kit.exercise_path(exercise);
    eprintln!(
        "{}",
        dim(&format!(
            "replaying {} with seed {} …",
            exercise.name, args.seed
        ))
    );
    let options = Options {
        seed: Some(args.seed),
        ..Options::learner()
    };
    let outcome = check::check(&kit, exercise, &options)?;
    let done = progress.state.done.len();
    if outcome.compile_errors.is_some() {
        print_lines(&render::outcome(&kit, exercise, &outcome, done));
        return Ok(ExitCode::from(1));
    }
    let test = match args.test {
        Some(wanted) => match outcome.tests.iter().find(|t| is_named(t, wanted)) {
            Some(test) => test,
            None if unfinished_is(&outcome, wanted) => {
                print_lines(&render::outcome(&kit, exercise, &outcome, done));
                return Ok(ExitCode::from(1));
            }
            None => return Ok(unknown_test(exercise, &outcome, wanted)),
        },
        None => match default_test(&outcome) {
            Some(test) => test,
            None => {
                // The suite stopped before any test finished (or ran none).
                print_lines(&render::outcome(&kit, exercise, &outcome, done));
                return Ok(ExitCode::from(1));
            }
        },
    };

    println!(
        " {}   seed {}   {}",
        bold(&exercise.name),
        args.seed,
        verdict(test)
    );
    println!(" {}", dim(&kit.display(&file)));
    println!();
    if let Some(divergence) = &outcome.nondeterminism {
        // The drawing shows one of several different runs: say so first.
        for line in divergence.lines() {
            print_lines(&wrap(&line, columns::terminal_width()));
        }
        println!();
    }
    match &test.dump {
        None => {
            no_run(exercise, args.seed, test, &outcome);
            for path in [args.html, args.shiviz].into_iter().flatten() {
                println!(
                    " Nothing is written to {}: there is no run.",
                    path.display()
                );
            }
        }
        Some(dump) => {
            let view = View {
                width: columns::terminal_width(),
                full: args.full,
            };
            print_lines(&columns::render(dump, view));
            if let (Some(report), None) = (&test.failure, &dump.violation) {
                // A failure the test noticed after the run: what it saw at the end.
                println!();
                print_lines(&failure(report, view.width));
                let nodes: Vec<usize> = (0..dump.nodes).collect();
                let last = dump.events.last().map_or(0, |e| e.index);
                print_lines(&states::node_states(dump, &nodes, last, args.full));
            } else if let Some(hint) = test.failure.as_ref().and_then(|r| r.hint.as_ref()) {
                println!();
                print_lines(&wrap(&format!("   {}    {hint}", bold("hint")), view.width));
            }
            if test.passed {
                println!();
                println!(
                    " {} {} passes with seed {}.",
                    paint("✓", Color::Green),
                    test_label(&test.test),
                    args.seed
                );
            }
            if let Some(path) = args.html {
                let title = format!(
                    "{}: {} (seed {})",
                    exercise.name,
                    test_label(&test.test),
                    args.seed
                );
                if args.full {
                    crate::replay::html::write_html_window(dump, &title, path, 0..=u64::MAX)?;
                } else {
                    crate::replay::html::write_html(dump, &title, path)?;
                }
                println!();
                println!(" Space-time diagram written to {}", path.display());
            }
            if let Some(path) = args.shiviz {
                crate::replay::shiviz::write_shiviz(dump, path)?;
                println!();
                println!(" ShiViz log written to {}", path.display());
            }
        }
    }
    Ok(if test.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `answers_every_ping`, `pingpong::answers_every_ping` or `answers every
/// ping` names the test `pingpong::answers_every_ping`.
fn is_named(test: &TestResult, wanted: &str) -> bool {
    let wanted = wanted.trim().replace(' ', "_");
    let short = test.test.rsplit("::").next().unwrap_or(&test.test);
    test.test == wanted || short == wanted
}

fn unfinished_is(outcome: &Outcome, wanted: &str) -> bool {
    let wanted = wanted.trim().replace(' ', "_");
    outcome
        .unfinished
        .as_ref()
        .and_then(|u| u.test.as_deref())
        .is_some_and(|t| t == wanted || t.rsplit("::").next() == Some(wanted.as_str()))
}

/// The first failing test, else the first with a run to draw, else the first.
fn default_test(outcome: &Outcome) -> Option<&TestResult> {
    outcome
        .tests
        .iter()
        .find(|t| !t.passed)
        .or_else(|| outcome.tests.iter().find(|t| t.dump.is_some()))
        .or_else(|| outcome.tests.first())
}

/// A usage error: the group has no such test; lists the ones it has.
fn unknown_test(exercise: &Exercise, outcome: &Outcome, wanted: &str) -> ExitCode {
    eprintln!(
        "{} {} has no test called {wanted:?}; its tests are:",
        paint("error:", Color::Red),
        exercise.name
    );
    for test in &outcome.tests {
        let short = test.test.rsplit("::").next().unwrap_or(&test.test);
        eprintln!("  {short}");
    }
    ExitCode::from(2)
}

fn verdict(test: &TestResult) -> String {
    let label = test_label(&test.test);
    if test.passed {
        format!("{} {label}", paint("✓", Color::Green))
    } else {
        format!("{} {label}", paint("✗", Color::Red))
    }
}

/// A test without a simulation: say so, with its failure if it failed, and
/// point at the failing tests that do have a run.
fn no_run(exercise: &Exercise, seed: u64, test: &TestResult, outcome: &Outcome) {
    println!(
        " There is no run to draw: {:?} checks plain types and functions, without simulated nodes.",
        test_label(&test.test)
    );
    match &test.failure {
        Some(report) => {
            println!();
            print_lines(&failure(report, columns::terminal_width()));
        }
        None => println!(" It passes for seed {seed}."),
    }
    let with_runs: Vec<&TestResult> = outcome
        .tests
        .iter()
        .filter(|t| !t.passed && t.dump.is_some())
        .collect();
    if !with_runs.is_empty() {
        println!();
        println!(" Failing tests with a run to draw:");
        for other in with_runs {
            let short = other.test.rsplit("::").next().unwrap_or(&other.test);
            let args = format!("replay {} --seed {seed} --test {short}", exercise.name);
            println!("   {}", crate::invocation::command(&args));
        }
    }
}

/// The property, what happened, and the hint.
fn failure(report: &FailureReport, width: usize) -> Vec<String> {
    let mut lines = vec![format!(
        " {} {}",
        paint("✗", Color::Red),
        bold(&report.property)
    )];
    for line in report.detail.lines() {
        lines.extend(wrap(&format!("   {line}"), width));
    }
    if let Some(hint) = &report.hint {
        lines.push(String::new());
        lines.extend(wrap(&format!("   {}    {hint}", bold("hint")), width));
    }
    lines
}

fn print_lines(lines: &[String]) {
    for line in lines {
        println!("{line}");
    }
}
