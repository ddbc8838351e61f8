//! The result channel between a suite binary and the runner.
//!
//! The runner opens a socket before the suite starts and names its
//! descriptor in `DSCOURSE_RESULTS_FD` (elsewhere than on Unix, it names a
//! file in `DSCOURSE_RESULTS`); the suite writes one JSON object per line to
//! it. Verdicts come from this channel only, never from what the suite (or
//! the learner's code inside it) prints, so a learner's `println!("test
//! ok")` cannot pass a test. A socket cannot be opened again by path (not
//! even through `/proc/self/fd`), and the harness takes the descriptor
//! before any test runs and keeps it from processes the tests start, so
//! learner code without `unsafe` cannot write to it.

use serde::{Deserialize, Serialize};

/// The variable naming the results file (where there is no descriptor).
pub const RESULTS_VAR: &str = "DSCOURSE_RESULTS";
/// The variable naming the result channel's descriptor (on Unix).
pub const RESULTS_FD_VAR: &str = "DSCOURSE_RESULTS_FD";
/// The variable that selects one test group: only tests named `GROUP::…` run.
/// (A command-line filter matches anywhere in a name, which is not exact.)
pub const GROUP_VAR: &str = "DSCOURSE_GROUP";
/// The variable that replays one seed: seeded tests run only that seed and
/// keep the whole trace.
pub const SEED_VAR: &str = "DSCOURSE_SEED";

/// One line of the results file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    /// A test began; if no `Result` follows, it never finished (it looped,
    /// overflowed its stack or ended the process).
    Start { test: String },
    /// A test finished.
    Result(Box<TestResult>),
    /// Every selected test finished.
    Done { passed: u32, failed: u32 },
}

/// The verdict on one test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    /// `group::name`; the group is the exercise's test group in info.toml.
    pub test: String,
    /// The test's place in its suite, so that reports list tests in the
    /// order the suite declares them (they finish in any order).
    #[serde(default)]
    pub position: usize,
    /// An instructor's private test, run only when grading.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
    pub passed: bool,
    /// How many seeds ran (1 for a test without seeds).
    pub seeds: u64,
    pub duration_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureReport>,
    /// The run itself, when one seed is replayed: the simulation that broke
    /// the property, or the last one the test ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dump: Option<dsim::Dump>,
    /// Measurements the test reports (messages per operation, error bounds).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<(String, String)>,
}

/// Why a test failed, in the learner's terms.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FailureReport {
    /// The property, in plain words.
    pub property: String,
    /// What exactly happened.
    pub detail: String,
    /// The seed that shows it, for a test that runs over seeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// The trace lines that connect the events involved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trace: Vec<String>,
    /// The whole trace, when replaying one seed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub full_trace: Vec<String>,
    /// What to look at: the property's hint for what this run showed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The nodes the failure names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<usize>,
    /// Events the failure names (their index in the run), to look at first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<u64>,
    /// Set when the test checked the property after the run, not after an
    /// event: the true time it did, in nanoseconds. The trace then ends
    /// with the run, or at the first event the failure names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_end: Option<u64>,
    /// The learner's code panicked (`todo!()` included).
    #[serde(default)]
    pub panicked: bool,
}

/// Reads a results file's text; lines that do not parse are skipped (the
/// process may have been killed in the middle of writing one).
pub fn parse_records(text: &str) -> Vec<Record> {
    text.lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}
