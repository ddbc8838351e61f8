//! A topic's suite: named tests, run by libtest-mimic so that `cargo test`
//! prints its usual lines, with every verdict also written to the result
//! channel for the runner.

use crate::failure::{Failure, TODO_PANIC, TODO_PROPERTY};
use crate::protocol::{FailureReport, Record, TestResult, GROUP_VAR, RESULTS_FD_VAR, RESULTS_VAR};
use libtest_mimic::{Arguments, Failed, Trial};
use std::cell::RefCell;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

type Body = Arc<dyn Fn(u64) -> Result<(), Failure> + Send + Sync>;

struct TestDef {
    name: String,
    /// Its place in the suite.
    position: usize,
    /// `None`: the test takes no seed.
    seeds: Option<u64>,
    /// Run when grading, never in the learner's runner (see [`Suite::hidden`]).
    hidden: bool,
    body: Body,
}

/// The tests of one topic.
pub struct Suite {
    topic: &'static str,
    tests: Vec<TestDef>,
    /// Tests added now are hidden ones.
    adding_hidden: bool,
}

impl Suite {
    /// An empty suite for `topic`.
    pub fn new(topic: &'static str) -> Self {
        Suite {
            topic,
            tests: Vec::new(),
            adding_hidden: false,
        }
    }

    /// Adds the tests `add` adds as hidden tests: an instructor's private
    /// tests, kept in `checker/hidden/<suite>.rs` and compiled only with the
    /// checker's `hidden` feature, which `dscourse grade` turns on and the
    /// learner's runner does not. Grade reports mark their results hidden
    /// (Gradescope shows them to instructors only), and `dscourse dev strip`
    /// leaves their files out of a student distribution.
    pub fn hidden(mut self, add: impl FnOnce(Suite) -> Suite) -> Self {
        self.adding_hidden = true;
        let mut suite = add(self);
        suite.adding_hidden = false;
        suite
    }

    /// Adds a test run once. Name it `group::what_it_checks`, where the
    /// group is the exercise's test group in info.toml.
    pub fn test(
        mut self,
        name: &str,
        body: impl Fn() -> Result<(), Failure> + Send + Sync + 'static,
    ) -> Self {
        self.tests.push(TestDef {
            name: name.to_string(),
            position: self.tests.len(),
            seeds: None,
            hidden: self.adding_hidden,
            body: Arc::new(move |_| body()),
        });
        self
    }

    /// Adds a test run once for each of the seeds `1..=seeds`, stopping at
    /// the first that fails; its failure names the seed. With
    /// `DSCOURSE_SEED` set, it runs that seed only.
    pub fn seeded(
        mut self,
        name: &str,
        seeds: u64,
        body: impl Fn(u64) -> Result<(), Failure> + Send + Sync + 'static,
    ) -> Self {
        self.tests.push(TestDef {
            name: name.to_string(),
            position: self.tests.len(),
            seeds: Some(seeds),
            hidden: self.adding_hidden,
            body: Arc::new(body),
        });
        self
    }

    /// Runs the tests selected by the command line (and by `DSCOURSE_GROUP`,
    /// which keeps only the tests named `GROUP::…`) and exits.
    pub fn run(self) -> ! {
        dsim::panics::install_hook();
        let args = Arguments::from_args();
        let channel = Channel::open();
        let topic = self.topic;
        let group = std::env::var(GROUP_VAR).ok().map(|g| format!("{g}::"));
        let trials = self
            .tests
            .into_iter()
            .filter(|def| {
                group
                    .as_ref()
                    .is_none_or(|prefix| def.name.starts_with(prefix.as_str()))
            })
            .map(|def| {
                let channel = channel.clone();
                Trial::test(def.name.clone(), move || run_test(&def, &channel)).with_kind(topic)
            })
            .collect();
        // Tests never run on the process's main thread (libtest-mimic runs
        // them there when one thread is asked for): in the grader's sandbox
        // `/proc` cannot be read, so the C library cannot tell where the
        // main thread's stack ends, and a stack overflow there would be
        // reported as a plain segmentation fault instead of as what it is.
        let conclusion = std::thread::Builder::new()
            .name("tests".to_string())
            .stack_size(MAIN_STACK_BYTES)
            .spawn(move || libtest_mimic::run(&args, trials))
            .expect("cannot start the thread that runs the tests")
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        channel.write(&Record::Done {
            passed: conclusion.num_passed as u32,
            failed: conclusion.num_failed as u32,
        });
        conclusion.exit()
    }
}

/// The stack of the thread that runs the tests one at a time: a main
/// thread's.
const MAIN_STACK_BYTES: usize = 8 << 20;

thread_local! {
    static METRICS: RefCell<Vec<(String, String)>> = const { RefCell::new(Vec::new()) };
}

/// Records a measurement of the running test (shown by the runner and kept
/// in grade reports): `metric("messages per broadcast", format!("{:.1}", m))`.
pub fn metric(name: &str, value: impl ToString) {
    METRICS.with(|m| m.borrow_mut().push((name.to_string(), value.to_string())));
}

fn run_test(def: &TestDef, channel: &Channel) -> Result<(), Failed> {
    channel.write(&Record::Start {
        test: def.name.clone(),
    });
    METRICS.with(|m| m.borrow_mut().clear());
    let started = Instant::now();
    let seeds: Vec<Option<u64>> = match (def.seeds, crate::replay_seed()) {
        (None, _) => vec![None],
        (Some(_), Some(seed)) => vec![Some(seed)],
        (Some(count), None) => (1..=count).map(Some).collect(),
    };
    let mut failure = None;
    let mut ran = 0;
    let replaying = crate::replaying();
    let mut dumps = Vec::new();
    for seed in seeds {
        ran += 1;
        if replaying {
            dsim::capture::start();
        }
        let outcome = dsim::panics::catch(|| (def.body)(seed.unwrap_or(0)));
        if replaying {
            dumps = dsim::capture::finish();
        }
        let broken = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(Failure(report))) => Some(*report),
            Err(message) => Some(panic_report(message)),
        };
        if let Some(mut report) = broken {
            report.seed = seed;
            failure = Some(report);
            break;
        }
    }
    let result = TestResult {
        test: def.name.clone(),
        position: def.position,
        hidden: def.hidden,
        passed: failure.is_none(),
        dump: pick_dump(dumps, failure.as_ref()),
        seeds: ran,
        duration_ms: started.elapsed().as_millis() as u64,
        failure,
        metrics: METRICS.with(|m| m.borrow_mut().drain(..).collect()),
    };
    channel.write(&Record::Result(Box::new(result.clone())));
    match result.failure {
        None => Ok(()),
        Some(report) => Err(Failed::from(human_text(&report))),
    }
}

/// The run to show for a replayed test: the one a property broke in, else
/// the last one it ran, with the failure the test found at its end (so a
/// replay marks it there, and knows which events it names).
fn pick_dump(mut dumps: Vec<dsim::Dump>, failure: Option<&FailureReport>) -> Option<dsim::Dump> {
    if let Some(i) = dumps.iter().position(|d| d.violation.is_some()) {
        return Some(dumps.swap_remove(i));
    }
    let mut dump = dumps.pop()?;
    if let (Some(report), Some(last)) = (failure, dump.events.last()) {
        if report.at_end.is_some() {
            dump.violation = Some(dsim::DumpViolation {
                event: last.index,
                property: report.property.clone(),
                detail: report.detail.clone(),
                nodes: report.nodes.clone(),
                events: report.events.clone(),
                at_end: report.at_end,
            });
        }
    }
    Some(dump)
}

/// A panic outside any simulation: in a pure exercise, or in the suite.
fn panic_report(message: String) -> FailureReport {
    let (property, detail) = if message.starts_with(TODO_PANIC) {
        (
            TODO_PROPERTY,
            format!("the code reached a todo!(): {message}"),
        )
    } else {
        (
            "the code runs without panicking",
            format!("panic: {message}"),
        )
    };
    FailureReport {
        property: property.to_string(),
        detail,
        panicked: true,
        ..FailureReport::default()
    }
}

/// The failure as `cargo test` prints it.
fn human_text(report: &FailureReport) -> String {
    let mut text = format!("property: {}\n{}\n", report.property, report.detail);
    if let Some(seed) = report.seed {
        text += &format!(
            "seed: {seed} (replay with {}={seed})\n",
            crate::protocol::SEED_VAR
        );
    }
    let trace = if report.full_trace.is_empty() {
        &report.trace
    } else {
        &report.full_trace
    };
    if !trace.is_empty() {
        text += "trace:\n";
        for line in trace {
            text += &format!("  {line}\n");
        }
    }
    if let Some(hint) = &report.hint {
        text += &format!("hint: {hint}\n");
    }
    text
}

/// The results file, shared by the test threads.
#[derive(Clone)]
struct Channel(Option<Arc<Mutex<File>>>);

impl Channel {
    /// The runner's channel: a descriptor it opened for us, or else a file
    /// it named; none when the suite runs under `cargo test`.
    fn open() -> Channel {
        let file = take_descriptor().or_else(|| {
            let path = std::env::var_os(RESULTS_VAR)?;
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| {
                    eprintln!(
                        "cannot open the results file {}: {e}",
                        path.to_string_lossy()
                    )
                })
                .ok()
        });
        Channel(file.map(|f| Arc::new(Mutex::new(f))))
    }

    /// Appends one record as one line, in one write.
    fn write(&self, record: &Record) {
        if let Some(file) = &self.0 {
            let mut line = serde_json::to_vec(record).expect("records serialise");
            line.push(b'\n');
            let mut file = file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let _ = file.write_all(&line).and_then(|()| file.flush());
        }
    }
}

/// Takes the result channel's descriptor named in `DSCOURSE_RESULTS_FD`,
/// once, before any test runs: the variable is removed, and the descriptor
/// moved to one that is closed when a test starts another program (the
/// event store's writer processes), so that only this process writes
/// verdicts.
#[cfg(unix)]
fn take_descriptor() -> Option<File> {
    use std::os::fd::FromRawFd;
    let fd: i32 = std::env::var(RESULTS_FD_VAR).ok()?.parse().ok()?;
    std::env::remove_var(RESULTS_FD_VAR);
    if fd < 3 {
        return None;
    }
    // SAFETY: fcntl reads and sets the descriptor's flags only; it fails
    // harmlessly if the number is not open.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) } < 0 {
        return None;
    }
    // SAFETY: the runner opened this descriptor for this process, it is
    // open (above), and nothing else in the process knows the number yet:
    // no test has started. The `File` becomes its only owner.
    Some(unsafe { File::from_raw_fd(fd) })
}

#[cfg(not(unix))]
fn take_descriptor() -> Option<File> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_of(events: u64) -> dsim::Dump {
        let event = |index| dsim::DumpEvent {
            index,
            at_nanos: index * 1_000,
            kind: dsim::EventKind::Note,
            node: None,
            peer: None,
            msg_id: None,
            payload: String::new(),
            reason: None,
            text: String::new(),
        };
        dsim::Dump {
            events: (0..events).map(event).collect(),
            ..dsim::Dump::default()
        }
    }

    #[test]
    fn a_failure_found_after_the_run_is_marked_at_its_end() {
        let report = FailureReport {
            property: "p".into(),
            detail: "d".into(),
            nodes: vec![1],
            events: vec![2],
            at_end: Some(9_000),
            ..FailureReport::default()
        };
        let dump = pick_dump(vec![run_of(3), run_of(5)], Some(&report)).unwrap();
        let marked = dump.violation.expect("the failure is marked");
        assert_eq!((marked.event, marked.at_end), (4, Some(9_000)));
        assert_eq!((marked.nodes, marked.events), (vec![1], vec![2]));
        // A failure found during a run is that run's own; a pass marks nothing.
        let during = FailureReport {
            at_end: None,
            ..report
        };
        assert!(pick_dump(vec![run_of(3)], Some(&during))
            .unwrap()
            .violation
            .is_none());
        assert!(pick_dump(vec![run_of(3)], None)
            .unwrap()
            .violation
            .is_none());
    }
}
