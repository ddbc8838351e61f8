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

/// `dscourse run [NAME] [--seed N]`
pub fn run(name: Option<&str>, seed: Option<u64>) -> Result<ExitCode> {
    let (kit, mut progress) = open()?;
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
    eprintln!("{}", colour::dim(&format!("checking {} …", exercise.name)));
    let outcome = check::check(
        &kit,
        exercise,
        &Options {
            seed,
            ..Options::learner_waiting()
        },
    )?;
    // A replay of one seed says nothing about the other seeds.
    if seed.is_none() && outcome.compile_errors.is_none() {
        progress.set_done(&exercise.name, outcome.passed());
        progress.save()?;
    }
    for line in render::outcome(&kit, exercise, &outcome, progress.state.done.len()) {
        println!("{line}");
    }
    if outcome.passed() {
        println!();
        if kit.has_solutions() {
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
