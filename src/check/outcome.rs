//! What a check found: the verdicts of the tests that finished, a test that
//! did not, and what the suite printed; and how the records a suite sent,
//! plus the way its process ended, become that outcome.

use super::nondeterminism::Divergence;
use dscheck::protocol::{Record, TestResult};
use std::process::ExitStatus;
use std::time::Duration;

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
    /// A learner's save may be rebuilt without cargo (`check::fast`):
    /// watch mode and `run` only, where a save waits for it; never for
    /// `dev check`, grading or mutants.
    pub fast_rebuild: bool,
}

impl Options {
    /// Check the learner's code over every seed.
    pub fn learner() -> Options {
        Options {
            subject: Subject::Learner,
            seed: None,
            hidden: false,
            fast_rebuild: false,
        }
    }

    /// Check the learner's code over every seed, as the learner waits for
    /// it (watch mode, `run`): a save may be rebuilt without cargo.
    pub fn learner_waiting() -> Options {
        Options {
            fast_rebuild: true,
            ..Options::learner()
        }
    }

    /// Check the reference over every seed.
    pub fn reference() -> Options {
        Options {
            subject: Subject::Reference,
            seed: None,
            hidden: false,
            fast_rebuild: false,
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

/// Turns the records and the way the process ended into an outcome.
pub(super) fn interpret(
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

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use dscheck::protocol::FailureReport;
    use std::os::unix::process::ExitStatusExt;

    const LIMIT: Duration = Duration::from_secs(7);

    fn start(test: &str) -> Record {
        Record::Start {
            test: test.to_string(),
        }
    }

    fn result(test: &str, position: usize, passed: bool) -> Record {
        let failure = (!passed).then(|| FailureReport {
            property: "a ping is answered".to_string(),
            ..FailureReport::default()
        });
        Record::Result(Box::new(TestResult {
            test: test.to_string(),
            position,
            hidden: false,
            passed,
            seeds: 1,
            duration_ms: 1,
            failure,
            dump: None,
            metrics: Vec::new(),
        }))
    }

    fn done(passed: u32, failed: u32) -> Record {
        Record::Done { passed, failed }
    }

    /// A process that exited with `code`.
    fn exited(code: i32) -> Option<ExitStatus> {
        Some(ExitStatus::from_raw(code << 8))
    }

    /// A process killed by `signal`.
    fn killed(signal: i32) -> Option<ExitStatus> {
        Some(ExitStatus::from_raw(signal))
    }

    /// The reason given for a run of one test that started and never
    /// reported, ended as `status`, having printed `printed`.
    fn reason(status: Option<ExitStatus>, timed_out: bool, printed: &str) -> String {
        let records = vec![start("pingpong::answers_every_ping")];
        let outcome = interpret(records, status, timed_out, LIMIT, printed);
        let unfinished = outcome.unfinished.expect("the test did not finish");
        assert_eq!(
            unfinished.test.as_deref(),
            Some("pingpong::answers_every_ping")
        );
        unfinished.reason
    }

    #[test]
    fn a_finished_run_keeps_every_verdict_in_suite_order() {
        let records = vec![
            start("pingpong::b"),
            start("pingpong::a"),
            result("pingpong::b", 1, false),
            result("pingpong::a", 0, true),
            done(1, 1),
        ];
        let outcome = interpret(records, exited(101), false, LIMIT, "");
        let names: Vec<&str> = outcome.tests.iter().map(|t| t.test.as_str()).collect();
        assert_eq!(names, ["pingpong::a", "pingpong::b"]);
        assert_eq!(outcome.unfinished, None);
        assert_eq!(outcome.passed_count(), 1);
        assert!(!outcome.passed());
        assert!(outcome.compile_errors.is_none() && outcome.nondeterminism.is_none());
    }

    #[test]
    fn a_finished_run_of_passes_passed() {
        let records = vec![
            start("pingpong::a"),
            result("pingpong::a", 0, true),
            done(1, 0),
        ];
        let outcome = interpret(records, exited(0), false, LIMIT, "");
        assert!(outcome.passed());
        // No test at all is not a pass.
        assert!(!interpret(vec![done(0, 0)], exited(0), false, LIMIT, "").passed());
    }

    #[test]
    fn a_test_stopped_by_the_time_limit_is_named_with_the_limit() {
        let text = reason(killed(9), true, "");
        assert!(text.contains("did not finish within 7 s"), "{text}");
        assert!(text.contains("infinite loop"), "{text}");
        // A run that reported done but ran out of time is unfinished too.
        let records = vec![start("a::b"), result("a::b", 0, true), done(1, 0)];
        let outcome = interpret(records, killed(9), true, LIMIT, "");
        assert!(!outcome.passed());
        assert_eq!(outcome.unfinished.map(|u| u.test), Some(None));
    }

    #[test]
    fn a_stack_overflow_is_named_before_the_signal_it_raised() {
        let printed = "\nthread 'pingpong::answers_every_ping' has overflowed its stack\nfatal runtime error: stack overflow\n";
        let text = reason(killed(6), false, printed);
        assert!(text.contains("the stack overflowed"), "{text}");
        assert!(text.contains("recursion"), "{text}");
    }

    #[test]
    fn an_allocation_that_failed_is_running_out_of_memory() {
        let printed = "memory allocation of 17179869184 bytes failed\n";
        let text = reason(killed(6), false, printed);
        assert!(text.contains("ran out of memory"), "{text}");
        assert!(text.contains("the limit is 4 GiB"), "{text}");
    }

    #[test]
    fn a_killing_signal_is_named() {
        let cases = [
            (9, "was killed (out of memory?)"),
            (6, "aborted"),
            (11, "segmentation fault"),
            (25, "wrote more than 1024 MiB"),
            (15, "killed by signal 15"),
        ];
        for (signal, needle) in cases {
            let text = reason(killed(signal), false, "");
            assert!(text.contains(needle), "signal {signal}: {text}");
        }
    }

    #[test]
    fn an_exit_in_the_middle_of_the_suite_points_at_process_exit() {
        let text = reason(exited(3), false, "");
        assert!(text.contains("exit code 3"), "{text}");
        assert!(text.contains("std::process::exit"), "{text}");
        let text = reason(None, false, "");
        assert!(text.contains("without reporting its results"), "{text}");
    }

    #[test]
    fn the_output_tail_is_the_last_twenty_printed_lines_without_test_lines() {
        let mut printed = String::new();
        for i in 1..=30 {
            printed += &format!("line {i}\n\n   \ntest pingpong::t{i} ... ok\n");
        }
        let outcome = interpret(vec![done(0, 0)], exited(0), false, LIMIT, &printed);
        let expected: Vec<String> = (11..=30).map(|i| format!("line {i}")).collect();
        assert_eq!(outcome.output_tail, expected);
    }
}
