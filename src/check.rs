//! Checking one exercise: build its suite against the learner's crate (or
//! the reference), run it in a child process with a time limit, and read the
//! verdict from the suite's result channel.

use crate::channel::ResultChannel;
use crate::kit::Kit;
use crate::manifest::Exercise;
use crate::replay::nondeterminism::{self, Divergence};
use anyhow::{Context, Result};
use dscheck::protocol::{parse_records, Record, TestResult, GROUP_VAR, SEED_VAR};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Which crate the suite checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// The learner's code in `exercises/`.
    Learner,
    /// The reference in `solutions/`.
    Reference,
}

/// How to check.
#[derive(Clone, Debug)]
pub struct Options {
    pub subject: Subject,
    /// Replay this seed only, keeping the whole trace.
    pub seed: Option<u64>,
    /// With the instructor's hidden tests (`dev check` proves the
    /// reference passes them; the learner never runs them).
    pub hidden: bool,
}

impl Options {
    /// Check the learner's code over every seed.
    pub fn learner() -> Options {
        Options {
            subject: Subject::Learner,
            seed: None,
            hidden: false,
        }
    }

    /// Check the reference over every seed.
    pub fn reference() -> Options {
        Options {
            subject: Subject::Reference,
            seed: None,
            hidden: false,
        }
    }
}

/// The result of checking one exercise.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Compiler errors (rendered, with colour), if the build failed.
    pub compile_errors: Option<Vec<String>>,
    /// The verdict of every test that finished.
    pub tests: Vec<TestResult>,
    /// A test that started but never finished, and why.
    pub unfinished: Option<Unfinished>,
    /// The last lines the suite process printed (the learner's own output).
    pub output_tail: Vec<String>,
    pub elapsed: Duration,
    /// The failing seed shown ran differently when replayed: the learner's
    /// code is not deterministic (see `replay_failure`).
    pub nondeterminism: Option<Box<Divergence>>,
}

/// A suite process that did not finish normally.
#[derive(Clone, Debug, PartialEq)]
pub struct Unfinished {
    /// The test that was running, if known.
    pub test: Option<String>,
    /// What happened, in plain words.
    pub reason: String,
}

impl Outcome {
    /// No test ran (yet).
    pub fn empty() -> Outcome {
        Outcome {
            compile_errors: None,
            tests: Vec::new(),
            unfinished: None,
            output_tail: Vec::new(),
            elapsed: Duration::ZERO,
            nondeterminism: None,
        }
    }

    /// Every test ran and passed.
    pub fn passed(&self) -> bool {
        self.compile_errors.is_none()
            && self.unfinished.is_none()
            && !self.tests.is_empty()
            && self.tests.iter().all(|t| t.passed)
    }

    pub fn passed_count(&self) -> usize {
        self.tests.iter().filter(|t| t.passed).count()
    }
}

/// Builds and runs the suite of `exercise`.
pub fn check(kit: &Kit, exercise: &Exercise, options: &Options) -> Result<Outcome> {
    let started = Instant::now();
    let spec = BuildSpec {
        root: &kit.root,
        suite: &exercise.suite,
        subject: options.subject,
        hidden: options.hidden,
        target_dir: None,
        compiler: None,
    };
    let binary = match build(&spec)? {
        Build::Ok(path) => path,
        Build::Failed { errors, .. } => {
            return Ok(Outcome {
                compile_errors: Some(errors),
                tests: Vec::new(),
                unfinished: None,
                output_tail: Vec::new(),
                elapsed: started.elapsed(),
                nondeterminism: None,
            })
        }
    };
    let limit = Duration::from_secs(exercise.timeout_secs);
    let mut outcome = run_suite(kit, exercise, &binary, options, None, limit)?;
    outcome.nondeterminism = replay_failure(kit, exercise, &binary, &outcome, options);
    outcome.elapsed = started.elapsed();
    Ok(outcome)
}

/// Replays the seed of the failure the learner is shown, twice, each in its
/// own process (a `HashMap`'s order differs between processes, not between
/// two walks over one map), and compares the runs with each other and with
/// the failure. Only that test runs, so a replay costs about what one seed
/// of it costs (about 10 ms for intro_pingpong), and the two run side by
/// side; a replay gets twenty times the time one seed of the test took (at
/// least 2 s, at most the exercise's limit), so that watch mode stays quick
/// even for a slow test. A check that was itself a replay of that seed has
/// one run already and replays it once more. Nothing is said if a replay
/// cannot run or does not finish, and nothing for a `todo!()`.
fn replay_failure(
    kit: &Kit,
    exercise: &Exercise,
    binary: &Path,
    outcome: &Outcome,
    options: &Options,
) -> Option<Box<Divergence>> {
    let failed = outcome.tests.iter().find(|t| !t.passed)?;
    let report = failed.failure.as_ref()?;
    let seed = report.seed?;
    if report.property == dscheck::TODO_PROPERTY {
        return None;
    }
    let again = Options {
        seed: Some(seed),
        ..options.clone()
    };
    let seeds = failed.seeds.clamp(1, u32::MAX.into()) as u32;
    let per_seed = Duration::from_millis(failed.duration_ms) / seeds;
    let limit = per_seed
        .saturating_mul(20)
        .max(Duration::from_secs(2))
        .min(Duration::from_secs(exercise.timeout_secs));
    let replay = || {
        run_suite(kit, exercise, binary, &again, Some(&failed.test), limit)
            .ok()?
            .tests
            .into_iter()
            .find(|t| t.test == failed.test)
    };
    let (first, second) = if options.seed == Some(seed) && failed.dump.is_some() {
        (Some(failed.clone()), replay())
    } else {
        std::thread::scope(|scope| {
            let other = scope.spawn(replay);
            let mine = replay();
            (other.join().ok().flatten(), mine)
        })
    };
    nondeterminism::compare(report, &first?, &second?).map(Box::new)
}

/// What to build: one topic's suite, against the learner's crate or the
/// reference.
pub struct BuildSpec<'a> {
    /// The kit (or grading copy of it) to build in.
    pub root: &'a Path,
    pub suite: &'a str,
    pub subject: Subject,
    /// With the instructor's hidden tests (the checker's `hidden` feature).
    pub hidden: bool,
    /// Cargo's target folder, if not the kit's own.
    pub target_dir: Option<&'a Path>,
    /// A grading build: every compiler bounded, the learner's confined.
    pub compiler: Option<&'a crate::sandbox::rustc::RustcJail>,
}

pub enum Build {
    Ok(PathBuf),
    Failed {
        /// The compiler's errors, rendered with colour.
        errors: Vec<String>,
        /// The files the errors point at, relative to the kit root.
        files: Vec<String>,
    },
}

/// One line of cargo's JSON output, the parts we read.
#[derive(Deserialize)]
struct CargoMessage {
    reason: String,
    #[serde(default)]
    target: Option<CargoTarget>,
    #[serde(default)]
    executable: Option<PathBuf>,
    #[serde(default)]
    message: Option<Diagnostic>,
}

#[derive(Deserialize)]
struct CargoTarget {
    name: String,
    kind: Vec<String>,
}

#[derive(Deserialize)]
struct Diagnostic {
    level: String,
    message: String,
    rendered: Option<String>,
    #[serde(default)]
    spans: Vec<Span>,
}

#[derive(Deserialize)]
struct Span {
    file_name: String,
    is_primary: bool,
}

/// The cargo to run: the one that ran us, or the one on the PATH.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Builds a topic's suite and returns its executable, or the compiler's
/// errors and the files they point at.
pub fn build(spec: &BuildSpec) -> Result<Build> {
    let suite = spec.suite;
    let mut cmd = cargo();
    cmd.current_dir(spec.root)
        .args([
            "test", "--quiet", "-p", "checker", "--test", suite, "--no-run",
        ])
        .arg("--message-format=json-diagnostic-rendered-ansi")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(jail) = spec.compiler {
        jail.configure(&mut cmd)?;
    }
    if let Some(dir) = spec.target_dir {
        cmd.env("CARGO_TARGET_DIR", dir);
    }
    let mut features = Vec::new();
    if spec.subject == Subject::Learner {
        // Only the suite's own topic of the learner's crate is built.
        cmd.arg("--no-default-features");
        features.push("learner".to_string());
        features.push(format!("exercises/{suite}"));
    }
    if spec.hidden {
        features.push("hidden".to_string());
    }
    if !features.is_empty() {
        cmd.args(["--features", &features.join(",")]);
    }
    let output = cmd
        .output()
        .context("cannot run cargo: is Rust installed (https://rustup.rs)?")?;
    Ok(read_build(
        &output,
        suite,
        "test",
        &format!("the suite {suite}"),
    ))
}

/// What a `cargo … --message-format=json-diagnostic-rendered-ansi` build
/// made: the executable of target `name` (of `kind`, `test` or `bin`), or
/// the compiler's errors and the files they point at. `what` names the
/// target in a message when cargo failed without a compiler error.
pub fn read_build(output: &std::process::Output, name: &str, kind: &str, what: &str) -> Build {
    let mut executable = None;
    let mut errors = Vec::new();
    let mut files = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<CargoMessage>(line) else {
            continue;
        };
        match msg.reason.as_str() {
            "compiler-artifact" => {
                if let (Some(target), Some(exe)) = (&msg.target, msg.executable) {
                    if target.name == name && target.kind.iter().any(|k| k == kind) {
                        executable = Some(exe);
                    }
                }
            }
            "compiler-message" => {
                if let Some(Diagnostic {
                    level,
                    message,
                    rendered: Some(text),
                    spans,
                }) = msg.message
                {
                    if level == "error" && !message.starts_with("aborting due to") {
                        errors.push(text);
                        files.extend(
                            spans
                                .into_iter()
                                .filter(|s| s.is_primary)
                                .map(|s| s.file_name.replace('\\', "/")),
                        );
                    }
                }
            }
            _ => {}
        }
    }
    match (output.status.success(), executable) {
        (true, Some(exe)) => Build::Ok(exe),
        _ => {
            if errors.is_empty() {
                let stderr = String::from_utf8_lossy(&output.stderr);
                errors.push(format!("cargo could not build {what}:\n{}", stderr.trim()));
            }
            files.sort();
            files.dedup();
            Build::Failed { errors, files }
        }
    }
}

/// Runs a built suite for one exercise's group (or only its test `only`),
/// with a time limit.
fn run_suite(
    kit: &Kit,
    exercise: &Exercise,
    binary: &Path,
    options: &Options,
    only: Option<&str>,
    limit: Duration,
) -> Result<Outcome> {
    let scratch = kit.state_dir().join("runs");
    run_group(&SuiteRun {
        binary,
        group: &exercise.group,
        only,
        skip: &[],
        serial: false,
        seed: options.seed,
        limit,
        scratch: &scratch,
        cwd: &kit.root,
        jail: None,
        listing: None,
    })
}

/// One run of a built suite.
pub struct SuiteRun<'a> {
    pub binary: &'a Path,
    /// The test group to run (an exercise's `group`).
    pub group: &'a str,
    /// Only this test of the group.
    pub only: Option<&'a str>,
    /// Not these tests (exact names).
    pub skip: &'a [String],
    /// One test at a time (so that a test that ends the process is the
    /// only one running).
    pub serial: bool,
    /// Replay this seed only.
    pub seed: Option<u64>,
    pub limit: Duration,
    /// Where the result channel and the captured output are kept while it runs.
    pub scratch: &'a Path,
    /// The suite's working folder (without a jail; a jail sets its own).
    pub cwd: &'a Path,
    /// The grader's sandbox for this run.
    pub jail: Option<&'a crate::sandbox::Jail>,
    /// The tests the run may report, as a trusted listing named them (see
    /// [`crate::channel::accept`]); `None` takes every record.
    pub listing: Option<&'a [String]>,
}

/// Runs a suite process and reads its verdicts from the result channel.
pub fn run_group(run: &SuiteRun) -> Result<Outcome> {
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let dir = run.scratch;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // Unique within the process too (replays run side by side), and not
    // guessable by the code under test.
    let stem = format!(
        "{}-{}-{}-{:016x}",
        run.group,
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed),
        unguessable()
    );
    let output = dir.join(format!("{stem}.out"));
    let out_file = std::fs::File::create(&output)
        .with_context(|| format!("cannot create {}", output.display()))?;
    let mut cmd = Command::new(run.binary);
    match run.jail {
        Some(jail) => jail.apply(&mut cmd),
        None => {
            cmd.current_dir(run.cwd).env("RUST_BACKTRACE", "0");
        }
    }
    cmd.env(GROUP_VAR, run.group)
        .stdin(Stdio::null())
        .stdout(out_file.try_clone()?)
        .stderr(out_file);
    if run.only.is_some() || !run.skip.is_empty() {
        cmd.arg("--exact");
    }
    if let Some(test) = run.only {
        cmd.arg(test);
    }
    for test in run.skip {
        cmd.args(["--skip", test]);
    }
    if run.serial {
        cmd.args(["--test-threads", "1"]);
    }
    match run.seed {
        Some(seed) => cmd.env(SEED_VAR, seed.to_string()),
        None => cmd.env_remove(SEED_VAR),
    };
    let channel = ResultChannel::attach(&mut cmd, dir, &stem)?;
    let ended = crate::child::run_with_limit(&mut cmd, run.limit);
    // Read only once the run and everything it started have ended.
    let sent = channel.finish();
    let (status, timed_out) =
        ended.with_context(|| format!("cannot run the suite {}", run.binary.display()))?;
    let records = crate::channel::accept(parse_records(&sent), run.listing);
    let printed = read_tail(&output, OUTPUT_KEPT);
    let _ = std::fs::remove_file(&output);
    Ok(interpret(records, status, timed_out, run.limit, &printed))
}

/// How much of a suite's own output is read back (its end): a learner's
/// code that prints without end must not fill the runner's memory.
const OUTPUT_KEPT: u64 = 256 * 1024;

/// The last `max` bytes of a file, as text.
pub fn read_tail(path: &Path, max: u64) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut file) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len > max {
        let _ = file.seek(SeekFrom::Start(len - max));
    }
    let mut bytes = Vec::new();
    let _ = file.take(max).read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A number the code under test cannot predict (std's per-process random
/// hash keys, mixed with the time).
fn unguessable() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    hasher.finish()
}

/// Turns the records and the way the process ended into an outcome.
fn interpret(
    records: Vec<Record>,
    status: Option<ExitStatus>,
    timed_out: bool,
    limit: Duration,
    printed: &str,
) -> Outcome {
    let mut tests = Vec::new();
    let mut running: Vec<String> = Vec::new();
    let mut done = false;
    for record in records {
        match record {
            Record::Start { test } => running.push(test),
            Record::Result(result) => {
                running.retain(|t| *t != result.test);
                tests.push(*result);
            }
            Record::Done { .. } => done = true,
        }
    }
    tests.sort_by_key(|t| t.position);
    let unfinished = if done && !timed_out {
        None
    } else {
        let test = running.first().cloned();
        let reason = if timed_out {
            format!("it did not finish within {} s: is there an infinite loop, or a loop that waits for something that never happens?", limit.as_secs())
        } else if printed.contains("has overflowed its stack") {
            "the stack overflowed: is there a recursion without an end?".to_string()
        } else if printed.contains("memory allocation of") {
            format!(
                "it ran out of memory (the limit is {} GiB): is something growing without end, such as a log or a queue that is never trimmed?",
                crate::child::MEMORY_LIMIT_BYTES >> 30
            )
        } else {
            describe_exit(status)
        };
        Some(Unfinished { test, reason })
    };
    let output_tail = printed
        .lines()
        .filter(|l| !l.starts_with("test ") && !l.trim().is_empty())
        .rev()
        .take(20)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .map(str::to_string)
        .collect();
    Outcome {
        compile_errors: None,
        tests,
        unfinished,
        output_tail,
        elapsed: Duration::ZERO,
        nondeterminism: None,
    }
}

fn describe_exit(status: Option<ExitStatus>) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.and_then(|s| s.signal()) {
            return match signal {
                6 => {
                    "the process aborted (a panic while panicking, or an abort() call)".to_string()
                }
                9 => "the process was killed (out of memory?)".to_string(),
                25 => format!(
                    "it wrote more than {} MiB to a file or its output, and was stopped: does it print in a loop?",
                    crate::child::FILE_SIZE_LIMIT_BYTES >> 20
                ),
                11 => "the process crashed with a segmentation fault".to_string(),
                _ => format!("the process was killed by signal {signal}"),
            };
        }
    }
    match status.and_then(|s| s.code()) {
        Some(code) => format!("the process exited in the middle of the suite (exit code {code}): does the code call std::process::exit?"),
        None => "the process ended without reporting its results".to_string(),
    }
}
