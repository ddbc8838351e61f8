//! Running a built suite: one process in its own process group, with a
//! time limit, its output captured, and the verdicts read from the result
//! channel once everything it started has ended.

use super::outcome::interpret;
use super::{Options, Outcome};
use crate::channel::ResultChannel;
use crate::kit::Kit;
use crate::manifest::Exercise;
use anyhow::{Context, Result};
use dscheck::protocol::{parse_records, GROUP_VAR, SEED_VAR};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Runs a built suite for one exercise's group (or only its test `only`),
/// with a time limit.
pub(super) fn run_suite(
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
        env: &[],
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
    /// More variables for the suite (a mutation run's mutant).
    pub env: &'a [(&'a str, String)],
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
    for (name, value) in run.env {
        cmd.env(name, value);
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
