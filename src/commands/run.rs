//! `run` and `verify`: check exercises and record the verdicts.

use super::{missing_file, open, pick};
use crate::check::{self, Options, Outcome};
use crate::colour::{self, paint};
use crate::invocation::command;
use crate::render;
use anyhow::Result;
use crossterm::style::Color;
use serde::Serialize;
use std::process::ExitCode;

/// `dscourse run [NAME] [--seed N] [--solution]`
pub fn run(name: Option<&str>, seed: Option<u64>, solution: bool) -> Result<ExitCode> {
    let (kit, mut progress) = open()?;
    if solution && !kit.has_solutions() {
        eprintln!(
            "This kit has no reference solutions (it is a student distribution): `--solution` \
             checks the code in solutions/, which only the course's own repository has."
        );
        return Ok(ExitCode::from(2));
    }
    let exercise = match pick(&kit, &progress, name) {
        Ok(Some(ex)) => ex,
        Ok(None) => {
            println!(
                "Every exercise passes. {}",
                kit.manifest.final_message.trim()
            );
            return Ok(ExitCode::SUCCESS);
        }
        Err(code) => return Ok(code),
    };
    if let Some(code) = missing_file(&kit, exercise) {
        return Ok(code);
    }
    let (whose, options) = match solution {
        true => (" (the reference solution)", Options::reference()),
        false => ("", Options::learner_waiting()),
    };
    eprintln!(
        "{}",
        colour::dim(&format!("checking {}{whose} …", exercise.name))
    );
    let outcome = check::check(&kit, exercise, &Options { seed, ..options })?;
    // A replay of one seed says nothing about the other seeds, and the
    // reference's verdict nothing about the learner's code.
    if seed.is_none() && !solution && outcome.compile_errors.is_none() {
        progress.set_done(&exercise.name, outcome.passed());
        progress.save()?;
    }
    for line in render::outcome(&kit, exercise, &outcome, progress.state.done.len()) {
        println!("{line}");
    }
    if outcome.passed() {
        println!();
        if kit.has_solutions() && !solution {
            println!(
                " {} Compare with the reference: {} (or read it: {})",
                paint("Passed.", Color::Green),
                command(&format!("diff {}", exercise.name)),
                command(&format!("solution {}", exercise.name))
            );
        } else {
            println!(" {}", paint("Passed.", Color::Green));
        }
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(1))
    }
}

#[derive(Serialize)]
struct VerifyRow<'a> {
    name: &'a str,
    passed: bool,
    compiles: bool,
    tests: usize,
    tests_passed: usize,
    points: u32,
}

/// `dscourse verify [--json]`: every exercise, in order.
pub fn verify(json: bool) -> Result<ExitCode> {
    let (kit, mut progress) = open()?;
    let mut rows = Vec::new();
    for exercise in &kit.manifest.exercises {
        if !json {
            eprint!(
                "{}",
                colour::dim(&format!("checking {:<28}", exercise.name))
            );
        }
        let outcome: Outcome = check::check(&kit, exercise, &Options::learner())?;
        if outcome.compile_errors.is_none() {
            progress.set_done(&exercise.name, outcome.passed());
        }
        if !json {
            eprintln!(
                "{}",
                if outcome.passed() {
                    paint("pass", Color::Green)
                } else {
                    paint("fail", Color::Red)
                }
            );
        }
        rows.push(VerifyRow {
            name: &exercise.name,
            passed: outcome.passed(),
            compiles: outcome.compile_errors.is_none(),
            tests: outcome.tests.len(),
            tests_passed: outcome.passed_count(),
            points: if outcome.passed() { exercise.points } else { 0 },
        });
    }
    progress.save()?;
    let passed = rows.iter().filter(|r| r.passed).count();
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        let points: u32 = rows.iter().map(|r| r.points).sum();
        let total: u32 = kit.manifest.exercises.iter().map(|e| e.points).sum();
        println!(
            "{passed} of {} exercises pass ({points} of {total} points)",
            rows.len()
        );
    }
    Ok(if passed == rows.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
