//! `dscourse dev mutants`: how many plausible mistakes in the code a
//! learner writes each exercise's own tests catch.
//!
//! Every line of every marked region of a reference (the code the learner
//! writes, see `crate::stubs`) is mutated (`operators.rs`): a comparison
//! or an operator swapped, an off-by-one, a negated condition, a deleted
//! statement. All mutants of a file are compiled at once, as the learner's
//! code of a private copy of the kit (`schema.rs`), and the exercise's own
//! group runs once per mutant. A mutant its group fails on (or does not
//! finish) is killed; one it passes survived, and either the suite lacks a
//! test, or the mutant changes nothing a learner could be graded on, which
//! `checker/equivalent-mutants.txt` records with the reason
//! (`verdicts.rs`). Verdicts are kept per mutant in
//! `checker/mutant-verdicts.json`, and a mutant is run again only when its
//! reference, its suite, the harness or the simulator change.

mod operators;
mod schema;
mod verdicts;
mod work;

use crate::check::{self, Build, BuildSpec, Subject, SuiteRun};
use crate::colour::paint;
use crate::kit::Kit;
use crate::manifest::Exercise;
use anyhow::{bail, Context, Result};
use crossterm::style::Color;
use schema::{Mutant, MUTANT_VAR};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use verdicts::{Cache, Equivalents, Verdict};
use work::MutationKit;

/// What to mutate and what to require.
pub struct MutantsArgs<'a> {
    /// Only these exercises (all of them if empty).
    pub names: &'a [String],
    /// Only this topic's exercises.
    pub topic: Option<&'a str>,
    /// Exit 1 if an exercise's group kills fewer than this share (in %).
    pub min_kill: Option<f64>,
}

pub fn dev_mutants(args: &MutantsArgs) -> Result<ExitCode> {
    let kit = Kit::discover()?;
    if !kit.has_solutions() {
        bail!("this copy of the kit has no solutions/: mutants are made from the references");
    }
    let exercises = select(&kit, args)?;
    let work = MutationKit::open(&kit)?;
    let mut cache = Cache::load(&kit)?;
    let equivalents = Equivalents::load(&kit)?;
    let mut rows = Vec::new();
    let mut files: Vec<&str> = Vec::new();
    for exercise in &exercises {
        if !files.contains(&exercise.file.as_str()) {
            files.push(&exercise.file);
        }
    }
    for file in files {
        let graded: Vec<&Exercise> = exercises
            .iter()
            .copied()
            .filter(|e| e.file == file)
            .collect();
        let outcome = mutate_file(&kit, &work, &mut cache, file, &graded)?;
        let names: Vec<&str> = graded.iter().map(|e| e.name.as_str()).collect();
        cache.save(&names)?;
        for exercise in graded {
            rows.push(Row::of(exercise, file, &outcome, &equivalents));
        }
    }
    print_rows(&rows);
    let below: Vec<&Row> = rows
        .iter()
        .filter(|r| args.min_kill.is_some_and(|min| r.rate() < min))
        .collect();
    Ok(if below.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The exercises asked for, in course order.
fn select<'k>(kit: &'k Kit, args: &MutantsArgs) -> Result<Vec<&'k Exercise>> {
    for name in args.names {
        kit.manifest
            .find(name)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let chosen: Vec<&Exercise> = kit
        .manifest
        .exercises
        .iter()
        .filter(|e| args.names.is_empty() || args.names.contains(&e.name))
        .filter(|e| args.topic.is_none_or(|t| e.topic == t || e.suite == t))
        .collect();
    if chosen.is_empty() {
        bail!(
            "no exercise matches: name exercises ({}) or a topic",
            crate::invocation::command("list")
        );
    }
    Ok(chosen)
}

/// Every mutant of one file with its verdict for each exercise graded on it.
struct FileOutcome {
    mutants: Vec<Mutant>,
    /// (mutant id, exercise name) → verdict.
    verdicts: Vec<(u32, String, Verdict)>,
}

fn mutate_file(
    kit: &Kit,
    work: &MutationKit,
    cache: &mut Cache,
    file: &str,
    graded: &[&Exercise],
) -> Result<FileOutcome> {
    let reference = std::fs::read_to_string(kit.root.join("solutions").join(file))
        .with_context(|| format!("cannot read solutions/{file}"))?;
    let mutants = schema::mutants(&reference);
    let suite = &graded[0].suite;
    let fingerprint = work.fingerprint(kit, suite, &reference)?;
    let names = schema::occurrence_keys(&mutants, file);
    let key = |m: &Mutant, e: &Exercise| format!("{}|{}|{fingerprint}", e.name, names[&m.id]);
    let pending: Vec<&Mutant> = mutants
        .iter()
        .filter(|m| graded.iter().any(|e| cache.get(&key(m, e)).is_none()))
        .collect();
    if !pending.is_empty() {
        eprintln!(
            "{file}: {} mutants to run ({} known already)",
            pending.len(),
            mutants.len() - pending.len()
        );
        let (binary, unviable) = build(kit, work, file, suite, &reference, &pending)?;
        for mutant in &unviable {
            for exercise in graded {
                cache.set(key(mutant, exercise), Verdict::Unviable);
            }
        }
        let viable: Vec<&Mutant> = pending
            .iter()
            .copied()
            .filter(|m| !unviable.iter().any(|u| u.id == m.id))
            .collect();
        for exercise in graded {
            let limit = baseline(work, &binary, exercise)?;
            for mutant in &viable {
                let verdict = run(work, &binary, exercise, mutant.id, limit)?;
                cache.set(key(mutant, exercise), verdict);
            }
        }
    }
    let mut verdicts = Vec::new();
    for mutant in &mutants {
        for exercise in graded {
            let verdict = cache
                .get(&key(mutant, exercise))
                .unwrap_or(Verdict::Unviable);
            verdicts.push((mutant.id, exercise.name.clone(), verdict));
        }
    }
    Ok(FileOutcome { mutants, verdicts })
}

/// Builds the schema of `file` with `pending` mutants; a mutant that does
/// not compile is left out and the build tried again. Returns the suite
/// binary and the mutants left out.
fn build<'m>(
    kit: &Kit,
    work: &MutationKit,
    file: &str,
    suite: &str,
    reference: &str,
    pending: &[&'m Mutant],
) -> Result<(std::path::PathBuf, Vec<&'m Mutant>)> {
    let mut chosen: Vec<&Mutant> = pending.to_vec();
    let mut unviable = Vec::new();
    for _ in 0..20 {
        let text = schema::schema(reference, &chosen);
        work.place(kit, suite, file, &text)?;
        let spec = BuildSpec {
            root: &work.root,
            suite,
            exercise: None,
            subject: Subject::Learner,
            hidden: kit.has_hidden_tests(),
            target_dir: Some(&work.target),
            compiler: None,
        };
        let errors = match check::build(&spec)? {
            Build::Ok(binary) => return Ok((binary, unviable)),
            Build::Failed { errors, .. } => errors,
        };
        let failing: Vec<u32> = error_lines(&errors, file)
            .into_iter()
            .filter_map(|line| schema::mutant_at(&text, line))
            .collect();
        if failing.is_empty() {
            bail!(
                "the mutants of {file} do not build, and no error points into a mutant (a region the schema cannot wrap?):\n{}",
                crate::colour::strip_ansi(&errors.join("\n"))
            );
        }
        let (out, kept): (Vec<&Mutant>, Vec<&Mutant>) =
            chosen.into_iter().partition(|m| failing.contains(&m.id));
        unviable.extend(out);
        chosen = kept;
    }
    bail!("the mutants of {file} still do not build after 20 tries")
}

/// The lines of `file` (as the learner's, `exercises/FILE`) that compiler
/// errors point at (`--> exercises/FILE:LINE:COL`).
fn error_lines(errors: &[String], file: &str) -> Vec<usize> {
    let needle = format!("exercises/{file}:");
    let mut lines = Vec::new();
    for error in errors {
        for (at, _) in error.match_indices(&needle) {
            let rest = &error[at + needle.len()..];
            if let Some(line) = rest.split(':').next().and_then(|n| n.parse().ok()) {
                lines.push(line);
            }
        }
    }
    lines
}

/// Runs the exercise's group on the unmutated schema, which must pass;
/// returns how long a mutant's run may take (ten times as long, at least
/// 2 s, at most the exercise's limit).
fn baseline(work: &MutationKit, binary: &std::path::Path, exercise: &Exercise) -> Result<Duration> {
    let started = Instant::now();
    let limit = Duration::from_secs(exercise.timeout_secs);
    let outcome = run_group(work, binary, exercise, 0, limit)?;
    if !outcome.passed() {
        bail!(
            "{}: the reference fails its own group in the mutation copy ({} of {} pass): fix that first",
            exercise.name,
            outcome.passed_count(),
            outcome.tests.len()
        );
    }
    Ok((started.elapsed() * 10)
        .max(Duration::from_secs(2))
        .min(limit))
}

fn run(
    work: &MutationKit,
    binary: &std::path::Path,
    exercise: &Exercise,
    mutant: u32,
    limit: Duration,
) -> Result<Verdict> {
    let outcome = run_group(work, binary, exercise, mutant, limit)?;
    Ok(match &outcome.unfinished {
        _ if outcome.passed() => Verdict::Survived,
        Some(u) if u.reason.contains("did not finish") => Verdict::TimedOut,
        _ => Verdict::Killed,
    })
}

fn run_group(
    work: &MutationKit,
    binary: &std::path::Path,
    exercise: &Exercise,
    mutant: u32,
    limit: Duration,
) -> Result<check::Outcome> {
    check::run_group(&SuiteRun {
        binary,
        group: &exercise.group,
        only: None,
        skip: &[],
        serial: false,
        seed: None,
        limit,
        scratch: &work.runs,
        cwd: &work.root,
        jail: None,
        listing: None,
        env: &[(MUTANT_VAR, mutant.to_string())],
    })
}

/// One exercise's figures.
struct Row {
    name: String,
    killed: usize,
    timed_out: usize,
    survived: Vec<String>,
    equivalent: usize,
    unviable: usize,
}

impl Row {
    fn of(
        exercise: &Exercise,
        file: &str,
        outcome: &FileOutcome,
        equivalents: &Equivalents,
    ) -> Row {
        let mut row = Row {
            name: exercise.name.clone(),
            killed: 0,
            timed_out: 0,
            survived: Vec::new(),
            equivalent: 0,
            unviable: 0,
        };
        for (id, name, verdict) in &outcome.verdicts {
            if *name != exercise.name {
                continue;
            }
            let mutant = &outcome.mutants[*id as usize - 1];
            match verdict {
                Verdict::Killed => row.killed += 1,
                Verdict::TimedOut => row.timed_out += 1,
                Verdict::Unviable => row.unviable += 1,
                Verdict::Survived if equivalents.contains(&mutant.key(file)) => row.equivalent += 1,
                Verdict::Survived => row.survived.push(mutant.describe(file)),
            }
        }
        row
    }

    /// The share of viable, non-equivalent mutants the group killed (or
    /// stopped), in %.
    fn rate(&self) -> f64 {
        let caught = self.killed + self.timed_out;
        let counted = caught + self.survived.len();
        if counted == 0 {
            100.0
        } else {
            100.0 * caught as f64 / counted as f64
        }
    }
}

fn print_rows(rows: &[Row]) {
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(8).max(8);
    println!(
        "{:width$}  killed  timed out  survived  equivalent  unviable  kill rate",
        "exercise"
    );
    for row in rows {
        let rate = format!("{:.1}%", row.rate());
        let rate = if row.survived.is_empty() {
            paint(&rate, Color::Green)
        } else {
            paint(&rate, Color::Yellow)
        };
        println!(
            "{:width$}  {:>6}  {:>9}  {:>8}  {:>10}  {:>8}  {rate}",
            row.name,
            row.killed,
            row.timed_out,
            row.survived.len(),
            row.equivalent,
            row.unviable
        );
    }
    for row in rows.iter().filter(|r| !r.survived.is_empty()) {
        println!("\n{} survived in {}:", row.survived.len(), row.name);
        for survivor in &row.survived {
            println!("  {survivor}");
        }
    }
    if rows.iter().any(|r| !r.survived.is_empty()) {
        println!(
            "\nA survivor is a mistake the exercise's own tests let through: add a test that fails on it, or, if it changes nothing a learner could be graded on, add it to checker/equivalent-mutants.txt with the reason."
        );
    }
}
