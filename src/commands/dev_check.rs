//! `dscourse dev check`: the course author's proof that the kit is honest.
//!
//! Every stub compiles and fails its suite; every reference passes; every
//! manifest entry has its file, suite, test group and hints; every topic has
//! its guide; no exercise file is stray, and every stub is the one its
//! reference makes. `dev check NAME…` runs only the named exercises' suites
//! (the slow part), for an author working on a few; the rest is checked
//! whole either way.

use crate::check::{self, Options};
use crate::colour::{paint, strip_ansi};
use crate::invocation::command;
use crate::kit::Kit;
use crate::manifest::Exercise;
use anyhow::Result;
use crossterm::style::Color;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;

pub fn dev_check(names: &[String]) -> Result<ExitCode> {
    let kit = Kit::discover()?;
    if !kit.has_solutions() {
        anyhow::bail!("this copy of the course has no solutions/ (a student distribution): run dev check in the instructor's kit");
    }
    let selected = match selected(&kit, names) {
        Ok(selected) => selected,
        Err(code) => return Ok(code),
    };
    let mut problems: Vec<String> = Vec::new();
    problems.extend(check_files(&kit));
    problems.extend(check_hints(&kit));
    let width = selected.iter().map(|e| e.name.len() + 2).max().unwrap_or(0);
    for exercise in &selected {
        eprint!("{:<width$}", exercise.name);
        let (found, verdict) = check_suite(&kit, exercise)?;
        problems.extend(found);
        eprintln!("{}", verdict.join(", "));
    }
    let total = kit.manifest.exercises.len();
    if problems.is_empty() {
        let scope = if selected.len() == total {
            format!("{total} exercises")
        } else {
            format!("{} of {total} exercises run", selected.len())
        };
        println!("{} every stub compiles and fails, every solution passes, the manifest is whole ({scope})", paint("ok:", Color::Green));
        Ok(ExitCode::SUCCESS)
    } else {
        for problem in &problems {
            println!("{} {problem}", paint("problem:", Color::Red));
        }
        println!("{} problems", problems.len());
        Ok(ExitCode::from(1))
    }
}

/// The exercises whose suites run: those named (an unknown name is a usage
/// error), or every one.
fn selected<'k>(kit: &'k Kit, names: &[String]) -> Result<Vec<&'k Exercise>, ExitCode> {
    if names.is_empty() {
        return Ok(kit.manifest.exercises.iter().collect());
    }
    names.iter().map(|name| super::named(kit, name)).collect()
}

/// Every exercise has two or three hints.
fn check_hints(kit: &Kit) -> Vec<String> {
    kit.manifest
        .exercises
        .iter()
        .filter(|e| e.hints.len() < 2)
        .map(|e| {
            format!(
                "info.toml:{} ({}): has {} hints; give it two or three, from a nudge to nearly the answer",
                e.line,
                e.name,
                e.hints.len()
            )
        })
        .collect()
}

/// Runs an exercise's suite on the reference (with the hidden tests, which
/// it must pass too) and on the stub: the problems found, and the verdicts.
fn check_suite(kit: &Kit, exercise: &Exercise) -> Result<(Vec<String>, Vec<String>)> {
    let at = format!("info.toml:{} ({})", exercise.line, exercise.name);
    let reference = check::check(
        kit,
        exercise,
        &Options {
            hidden: kit.has_hidden_tests(),
            ..Options::reference()
        },
    )?;
    let stub = check::check(kit, exercise, &Options::learner())?;
    let mut problems = Vec::new();
    let mut verdict = Vec::new();
    if let Some(errors) = &reference.compile_errors {
        problems.push(format!(
            "{at}: the reference does not compile:\n{}",
            strip_ansi(&errors.join("\n"))
        ));
    } else if reference.tests.is_empty() && reference.unfinished.is_none() {
        problems.push(format!(
            "{at}: the suite {} has no test in the group {:?}",
            exercise.suite, exercise.group
        ));
    } else if !reference.passed() {
        problems.push(format!(
            "{at}: the reference fails its suite: {}",
            first_failure(&reference)
        ));
    } else {
        verdict.push(format!(
            "reference passes {} tests in {:.1} s",
            reference.tests.len(),
            reference.elapsed.as_secs_f64()
        ));
    }
    if let Some(errors) = &stub.compile_errors {
        problems.push(format!(
            "{at}: the stub does not compile:\n{}",
            strip_ansi(&errors.join("\n"))
        ));
    } else if stub.passed() {
        problems.push(format!(
            "{at}: the stub passes its suite: the suite cannot tell a stub from a solution"
        ));
    } else {
        verdict.push(format!(
            "stub fails {} of {}",
            stub.tests.iter().filter(|t| !t.passed).count(),
            stub.tests.len()
        ));
    }
    Ok((problems, verdict))
}

fn first_failure(outcome: &check::Outcome) -> String {
    if let Some(unfinished) = &outcome.unfinished {
        return format!(
            "{} ({})",
            unfinished.reason,
            unfinished.test.as_deref().unwrap_or("?")
        );
    }
    outcome
        .tests
        .iter()
        .find_map(|t| {
            t.failure
                .as_ref()
                .map(|f| format!("{}: {} — {}", t.test, f.property, f.detail))
        })
        .unwrap_or_default()
}

/// Files that should exist and files that should not.
fn check_files(kit: &Kit) -> Vec<String> {
    let mut problems = topic_features(kit);
    let used: BTreeSet<&str> = kit
        .manifest
        .exercises
        .iter()
        .map(|e| e.file.as_str())
        .collect();
    for tree in ["exercises", "solutions"] {
        for file in rust_files(&kit.root.join(tree)) {
            if file != "lib.rs" && !used.contains(file.as_str()) {
                problems.push(format!("{tree}/{file} belongs to no exercise in info.toml: add an entry, or remove the file"));
            }
        }
    }
    for file in &used {
        let learner = kit.root.join("exercises").join(file);
        match (crate::stubs::stub_of(kit, file), std::fs::read(&learner)) {
            (Err(e), _) => problems.push(format!("{e:#}: mark what the learner writes with `// exercise: begin` … `// exercise: end` (see src/stubs.rs)")),
            (Ok(_), Err(_)) => problems.push(format!("exercises/{file} is missing: run `{}`", command("dev stubs"))),
            (Ok(stub), Ok(current)) if stub != current => problems.push(format!("exercises/{file} differs from the stub made from solutions/{file}: edit the reference, then run `{}`", command("dev stubs"))),
            _ => {}
        }
        let guide = learner.with_file_name("README.md");
        if !guide.is_file() {
            problems.push(format!(
                "{} is missing: every topic has a guide",
                kit.display(&guide)
            ));
        }
    }
    problems.sort();
    problems.dedup();
    problems
}

/// The `.rs` files under `dir`, relative to it, sorted.
fn rust_files(dir: &Path) -> Vec<String> {
    let mut found = crate::tree::files(dir, &[]).unwrap_or_default();
    found.retain(|f| f.ends_with(".rs"));
    found
}

/// Every suite has its feature in the learner's crate, which a check
/// enables to build only that topic.
fn topic_features(kit: &Kit) -> Vec<String> {
    let manifest = kit.root.join("exercises/Cargo.toml");
    let features: BTreeSet<String> = std::fs::read_to_string(&manifest)
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .and_then(|table| table.get("features")?.as_table().cloned())
        .map(|features| features.keys().cloned().collect())
        .unwrap_or_default();
    let suites: BTreeSet<&str> = kit
        .manifest
        .exercises
        .iter()
        .map(|e| e.suite.as_str())
        .collect();
    suites
        .into_iter()
        .filter(|suite| !features.contains(*suite))
        .map(|suite| {
            format!(
                "exercises/Cargo.toml has no feature {suite:?}: add `{suite} = []` under [features] (and to `default`), and put the topic's module in exercises/lib.rs under #[cfg(feature = \"{suite}\")]"
            )
        })
        .collect()
}
