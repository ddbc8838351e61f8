//! The crash test: a real writer process, killed with SIGKILL in the middle
//! of its appends, again and again on the same file.
//!
//! The suite binary is its own writer: started with `WRITER_FILE` set, it
//! opens the store on that file (recovering what the last writer left),
//! appends batches to a few streams and prints `ack STREAM VERSION` after
//! each append that returned `Ok`. The parent kills it after a number of
//! acknowledgements or a delay drawn from the round's seed, then opens the
//! file itself and checks that every acknowledged event is there and every
//! event read is whole.
//!
//! Where exactly the kill lands depends on the machine's timing, so a round
//! cannot be replayed exactly; the test is therefore not a seeded test of
//! the runner (whose replays would call a different timing nondeterminism
//! in the learner's code). The verdict for a correct store is the same on
//! every run: it passes whatever the timing.

use super::log::{batch_for, show, Log, TempDir};
use super::{check_intact, KEPT};
use dscheck::{Failure, Property, TODO};
use dsim::SimRng;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The environment of a writer process: the file, its seed, its store.
const WRITER_FILE: &str = "DSCOURSE_EVENTS_WRITER_FILE";
const WRITER_SEED: &str = "DSCOURSE_EVENTS_WRITER_SEED";
const WRITER_STORE: &str = "DSCOURSE_EVENTS_WRITER_STORE";

/// The property of a writer that dies on its own or stops acknowledging.
pub const WRITER: Property = Property {
    name: "the writer process appends until it is killed",
    hint: "",
    when: &[],
};
/// How long a writer may go without an acknowledgement.
const PATIENCE: Duration = Duration::from_secs(5);
/// The streams the writers append to.
const STREAMS: [&str; 4] = ["acct-1", "acct-2", "cart-7", "order-42"];
/// The most appends a writer makes if nobody kills it.
const MAX_APPENDS: u64 = 5_000;

/// Which store a writer process runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// The learner's (or the reference) store.
    Subject,
    /// The known-wrong store that acknowledges before writing.
    AcksEarly,
}

impl Which {
    fn name(self) -> &'static str {
        match self {
            Which::Subject => "subject",
            Which::AcksEarly => "acks-early",
        }
    }
}

/// If this process was started as a writer, runs it and returns its exit
/// code; otherwise `None` (the suite runs as usual).
pub fn writer_main() -> Option<i32> {
    let file = std::env::var_os(WRITER_FILE)?;
    let seed = std::env::var(WRITER_SEED)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let which = std::env::var(WRITER_STORE).unwrap_or_default();
    let path = Path::new(&file);
    let result = if which == Which::AcksEarly.name() {
        write::<super::wrong::Flawed<super::wrong::AcksEarly>>(path, seed)
    } else {
        write::<crate::subject::events::store::EventStore>(path, seed)
    };
    Some(match result {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("writer: {message}");
            2
        }
    })
}

/// The writer's loop: append random batches, acknowledge each on stdout.
fn write<L: Log>(path: &Path, seed: u64) -> Result<(), String> {
    let mut log = L::open(path).map_err(|e| format!("open failed: {e}"))?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "open");
    let _ = out.flush();
    let mut rng = SimRng::new(seed);
    for _ in 0..MAX_APPENDS {
        let stream = *rng.pick(&STREAMS);
        let version = log.version(stream);
        let batch = batch_for(stream, version, rng.range(1..=4));
        let acked = log
            .append(stream, version, &batch)
            .map_err(|e| format!("append to {stream} at version {version} failed: {e}"))?;
        let _ = writeln!(out, "ack {stream} {acked}");
        let _ = out.flush();
    }
    let _ = writeln!(out, "done");
    Ok(())
}

/// A writer process, killed (and reaped) when dropped.
struct Writer {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Writer {
    fn start(path: &Path, seed: u64, which: Which) -> Result<Writer, Failure> {
        let exe = std::env::current_exe()
            .map_err(|e| Failure::new(WRITER, format!("cannot find the suite binary: {e}")))?;
        let mut child = Command::new(exe)
            .env(WRITER_FILE, path)
            .env(WRITER_SEED, seed.to_string())
            .env(WRITER_STORE, which.name())
            .env_remove(dscheck::protocol::RESULTS_VAR)
            .env_remove(dscheck::protocol::RESULTS_FD_VAR)
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Failure::new(WRITER, format!("cannot start a writer process: {e}")))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Ok(Writer {
            child,
            lines,
            stderr: Some(stderr),
        })
    }

    /// Kills the writer (SIGKILL) and waits for it to be gone.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Why the writer ended on its own: its status and what it printed on
    /// stderr. A `todo!()` in the store is reported as such.
    fn death(&mut self, round: u64) -> Failure {
        let status = self.child.wait().map(|s| s.to_string()).unwrap_or_default();
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        let said: Vec<&str> = stderr
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with("note: run with"))
            .take(6)
            .collect();
        let said = said.join("\n  ");
        if stderr.contains("not yet implemented") {
            return Failure::new(
                TODO,
                format!("the writer process (your store, run in a child process) reached a todo!():\n  {said}"),
            );
        }
        Failure::new(
            WRITER,
            format!("in round {round} the writer process (your store, run in a child process) ended by itself ({status}) before it was killed; it said:\n  {said}"),
        )
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// How a round ends the writer.
#[derive(Clone, Copy, Debug)]
pub enum Kill {
    /// After this many acknowledgements.
    AfterAcks(u64),
    /// This long after the writer has opened the store: anywhere, most
    /// likely in the middle of an append.
    AfterMicros(u64),
}

impl std::fmt::Display for Kill {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Kill::AfterAcks(n) => write!(f, "killed once {n} appends were acknowledged"),
            Kill::AfterMicros(us) => write!(f, "killed {us} µs after it opened the store"),
        }
    }
}

/// Runs `rounds` writers one after the other on one file, killing each as
/// `plan` says for the round's seed, and checks after each that every
/// acknowledged event is in the store and every event is whole.
pub fn crash_rounds<L: Log>(
    which: Which,
    rounds: u64,
    plan: impl Fn(&mut SimRng) -> Kill,
) -> Result<(), Failure> {
    let dir = TempDir::new("kill");
    let path = dir.file("events.log");
    // For each stream, the highest version ever acknowledged.
    let mut acked: BTreeMap<String, u64> = BTreeMap::new();
    let mut total = 0;
    for round in 1..=rounds {
        let mut rng = SimRng::fork(round, 0xC0FFEE);
        let kill = plan(&mut rng);
        let mut writer = Writer::start(&path, round, which)?;
        let started = Instant::now();
        let mut opened_at = None;
        let mut acks = 0;
        loop {
            let deadline = match (kill, opened_at) {
                (Kill::AfterMicros(us), Some(at)) => at + Duration::from_micros(us),
                _ => started + PATIENCE,
            };
            match writer
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) if line == "open" => opened_at = Some(Instant::now()),
                Ok(line) if line == "done" => break,
                Ok(line) => {
                    if let Some(ack) = line.strip_prefix("ack ") {
                        record_ack(&mut acked, ack);
                        acks += 1;
                    }
                    if matches!(kill, Kill::AfterAcks(n) if acks >= n) {
                        break;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if opened_at.is_some() && matches!(kill, Kill::AfterMicros(_)) {
                        break;
                    }
                    return Err(Failure::new(
                        WRITER,
                        format!(
                            "in round {round} the writer {} within {} s (is open or append stuck in a loop?)",
                            if opened_at.is_some() { "stopped acknowledging appends" } else { "did not open the store" },
                            PATIENCE.as_secs()
                        ),
                    ));
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return Err(writer.death(round)),
            }
        }
        writer.kill();
        // Acknowledgements printed before the kill count too.
        while let Ok(line) = writer.lines.recv_timeout(Duration::from_secs(1)) {
            if let Some(ack) = line.strip_prefix("ack ") {
                record_ack(&mut acked, ack);
            }
        }
        drop(writer);
        let log = L::open(&path).map_err(|e| {
            Failure::new(
                KEPT,
                format!("after round {round}, the store does not open: {e}"),
            )
        })?;
        let events = log.events();
        check_intact(
            &events,
            &format!("after the writer of round {round} was killed"),
        )?;
        for (stream, &version) in &acked {
            let have = log.version(stream);
            if have < version {
                let tail: Vec<String> = events
                    .iter()
                    .filter(|e| &e.event.stream == stream)
                    .rev()
                    .take(3)
                    .map(show)
                    .collect();
                return Err(Failure::new(
                    KEPT,
                    format!(
                        "round {round}, the writer {kill}: append had returned Ok for {stream} up to version {version}, \
                         but after the kill the store holds {stream} up to version {have} only\n  \
                         last events of {stream} read: {}",
                        if tail.is_empty() { "none".to_string() } else { tail.join(", ") }
                    ),
                ));
            }
        }
        total = events.len();
    }
    dscheck::metric("events in the log after the last round", total);
    Ok(())
}

fn record_ack(acked: &mut BTreeMap<String, u64>, ack: &str) {
    if let Some((stream, version)) = ack.split_once(' ') {
        if let Ok(version) = version.parse::<u64>() {
            let top = acked.entry(stream.to_string()).or_insert(0);
            *top = (*top).max(version);
        }
    }
}
