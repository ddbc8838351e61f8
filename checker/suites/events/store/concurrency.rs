//! Optimistic concurrency over several streams.
//!
//! With one stream, a stream's version is also the length of the whole log,
//! so a store that compares the expected version with the wrong number (the
//! log's length, the last stream appended to) passes a one-stream test. Here
//! several writers share a store of several streams, two of them on the same
//! stream, so their appends race: each writer appends at the version it last
//! read, and a model of the streams says, before each append, whether the
//! store must accept it (the stream is at that version) or refuse it with a
//! `Conflict` naming the stream's own version. A script first makes the
//! confusions certain (an expected version equal to the log's length, or to
//! another stream's version, but not to the stream's own); seeded writers
//! race on top. The store is reopened half-way and at the end: the refused
//! appends must have written nothing, the accepted ones everything.

use super::log::{batch_for, show, TempDir};
use super::{check_intact, CONFLICT};
use crate::subject::events::store::{EventStore, ExpectedVersion, RecordedEvent, StoreError};
use dscheck::{ensure, Failure, Property};
use dsim::SimRng;
use std::collections::BTreeMap;
use std::path::Path;

pub const OWN_VERSION: Property = Property {
    name: "an append succeeds exactly when its own stream is at the expected version, whatever the other streams hold",
    hint: "compare ExpectedVersion::Exact(v) with the version of the stream being appended to (self.version(stream), how many events that stream holds), not with the length of the whole log nor with another stream's version; Conflict carries that stream's version as actual",
    when: &[],
};

/// A store as the concurrency test drives it: the exercise's `EventStore`,
/// or a known-wrong one (`wrong.rs`).
pub trait Store: Sized {
    fn open(path: &Path) -> Result<Self, StoreError>;
    fn append(
        &mut self,
        stream: &str,
        expected: ExpectedVersion,
        events: &[Vec<u8>],
    ) -> Result<u64, StoreError>;
    fn version(&self, stream: &str) -> u64;
    /// The events of `stream`, versions 1 on.
    fn stream(&self, stream: &str) -> Vec<RecordedEvent>;
    /// Every event, in log order.
    fn all(&self) -> Vec<RecordedEvent>;
}

impl Store for EventStore {
    fn open(path: &Path) -> Result<Self, StoreError> {
        EventStore::open(path)
    }
    fn append(
        &mut self,
        stream: &str,
        expected: ExpectedVersion,
        events: &[Vec<u8>],
    ) -> Result<u64, StoreError> {
        EventStore::append(self, stream, expected, events)
    }
    fn version(&self, stream: &str) -> u64 {
        EventStore::version(self, stream)
    }
    fn stream(&self, stream: &str) -> Vec<RecordedEvent> {
        self.read_stream(stream, 1).into_iter().cloned().collect()
    }
    fn all(&self) -> Vec<RecordedEvent> {
        self.read_all(0).to_vec()
    }
}

/// The streams the writers share: `a` has two writers, so they race.
const WRITERS: [&str; 4] = ["a", "a", "b", "c"];
/// Seeded appends after the script.
const STEPS: usize = 36;

/// What the store must hold: each stream's version, and the log in order.
#[derive(Default)]
struct Model {
    versions: BTreeMap<String, u64>,
    log: Vec<(String, u64)>,
}

impl Model {
    fn version(&self, stream: &str) -> u64 {
        self.versions.get(stream).copied().unwrap_or(0)
    }

    /// The stream's version after `count` events appended at `expected`, or
    /// `None` if the append must be refused.
    fn accepts(&self, stream: &str, expected: ExpectedVersion, count: u64) -> Option<u64> {
        let actual = self.version(stream);
        match expected {
            ExpectedVersion::Exact(v) if v != actual => None,
            _ => Some(actual + count),
        }
    }

    fn apply(&mut self, stream: &str, count: u64) {
        let from = self.version(stream);
        self.log
            .extend((from + 1..=from + count).map(|v| (stream.to_string(), v)));
        self.versions.insert(stream.to_string(), from + count);
    }
}

/// One run: the script, then seeded racing writers, with the store reopened
/// half-way and checked against the model at the end.
pub fn conflicts_across_streams<S: Store>(seed: u64) -> Result<(), Failure> {
    let dir = TempDir::new("streams");
    let path = dir.file("events.log");
    let mut run = Run {
        store: open::<S>(&path)?,
        path: &path,
        model: Model::default(),
    };
    run.script()?;
    let mut rng = SimRng::new(seed);
    // What each writer last read of its stream.
    let mut read: Vec<u64> = vec![0; WRITERS.len()];
    for step in 0..STEPS {
        if step == STEPS / 2 {
            run.reopen()?;
        }
        let writer = rng.below(WRITERS.len() as u64) as usize;
        let stream = WRITERS[writer];
        if rng.chance(0.25) {
            read[writer] = run.store.version(stream);
            continue;
        }
        let expected = if rng.chance(0.1) {
            ExpectedVersion::Any
        } else {
            ExpectedVersion::Exact(read[writer])
        };
        if let Some(new) = run.append(stream, expected, rng.range(1..=3))? {
            read[writer] = new;
        }
    }
    run.reopen()?;
    run.check_log()
}

/// The store under test, its file, and the model it must match.
struct Run<'a, S> {
    store: S,
    path: &'a Path,
    model: Model,
}

impl<S: Store> Run<'_, S> {
    /// Appends in which the expected version equals the log's length or
    /// another stream's version, and not the stream's own (and the other way
    /// round): a store comparing with the wrong number is caught here.
    fn script(&mut self) -> Result<(), Failure> {
        use ExpectedVersion::Exact;
        self.append("a", Exact(0), 3)?; // a = 3, log 3
        self.append("b", Exact(3), 1)?; // refused: the log's length, a's version
        self.append("b", Exact(0), 1)?; // b = 1, log 4
        self.append("c", Exact(4), 2)?; // refused: the log's length
        self.append("c", Exact(1), 2)?; // refused: b's version
        self.append("c", Exact(0), 2)?; // c = 2, log 6
        self.append("a", Exact(2), 1)?; // refused: c's version
        self.append("a", Exact(6), 1)?; // refused: the log's length
        self.append("a", Exact(3), 1)?; // a = 4, log 7
        self.append("b", Exact(1), 2)?; // b = 3, log 9
        Ok(())
    }

    /// Appends `count` events to `stream` at `expected`, checks the answer
    /// against the model, and returns the new version if it was accepted.
    fn append(
        &mut self,
        stream: &str,
        expected: ExpectedVersion,
        count: u64,
    ) -> Result<Option<u64>, Failure> {
        let actual = self.model.version(stream);
        let verdict = self.model.accepts(stream, expected, count);
        let others = self.others(stream);
        let size = file_len(self.path);
        let got = self
            .store
            .append(stream, expected, &batch_for(stream, actual, count));
        let logged = self.model.log.len();
        let situation = || {
            format!(
                "the log holds {logged} events; {stream} is at version {actual}; {others}; appending {count} events to {stream} expecting {expected:?}"
            )
        };
        match verdict {
            Some(new) => {
                ensure(matches!(got, Ok(v) if v == new), OWN_VERSION, || {
                    format!("{}: returned {got:?}, expected Ok({new})", situation())
                })?;
                self.model.apply(stream, count);
            }
            None => {
                let ExpectedVersion::Exact(v) = expected else {
                    unreachable!("Any is never refused");
                };
                let refused = matches!(&got, Err(StoreError::Conflict { stream: s, expected: e, actual: a }) if s == stream && *e == v && *a == actual);
                ensure(refused, OWN_VERSION, || {
                    format!("{}: returned {got:?}\n  expected Err(Conflict {{ stream: {stream:?}, expected: {v}, actual: {actual} }})", situation())
                })?;
                let now = file_len(self.path);
                ensure(now == size, CONFLICT, || {
                    format!(
                        "{}: the append was refused, but the file grew from {size} to {now} bytes",
                        situation()
                    )
                })?;
            }
        }
        let version = self.store.version(stream);
        let expected_version = self.model.version(stream);
        ensure(version == expected_version, OWN_VERSION, || {
            format!(
                "{}: afterwards version({stream:?}) is {version}, expected {expected_version}",
                situation()
            )
        })?;
        Ok(verdict)
    }

    /// The other streams' versions, as a failure shows them.
    fn others(&self, stream: &str) -> String {
        let others: Vec<String> = self
            .model
            .versions
            .iter()
            .filter(|(s, _)| *s != stream)
            .map(|(s, v)| format!("{s} is at {v}"))
            .collect();
        if others.is_empty() {
            "no other stream exists".to_string()
        } else {
            others.join(", ")
        }
    }

    fn reopen(&mut self) -> Result<(), Failure> {
        self.store = open::<S>(self.path)?;
        self.check_log()
    }

    /// The store holds exactly the accepted appends, in order, and each
    /// stream reads back as its own events.
    fn check_log(&self) -> Result<(), Failure> {
        let all = self.store.all();
        let read: Vec<(String, u64)> = all
            .iter()
            .map(|e| (e.event.stream.clone(), e.event.version))
            .collect();
        ensure(read == self.model.log, CONFLICT, || {
            format!(
                "after reopening, the log holds (stream, version)\n  {read:?}\n  expected the accepted appends only\n  {:?}",
                self.model.log
            )
        })?;
        check_intact(&all, "after reopening")?;
        for (stream, &version) in &self.model.versions {
            let events = self.store.stream(stream);
            let fine = events.len() as u64 == version
                && events
                    .iter()
                    .zip(1..)
                    .all(|(e, v)| e.event.stream == *stream && e.event.version == v);
            ensure(fine, OWN_VERSION, || {
                format!(
                    "after reopening, stream {stream} (at version {version}) reads back as {}",
                    events.iter().map(show).collect::<Vec<_>>().join(", ")
                )
            })?;
        }
        Ok(())
    }
}

fn open<S: Store>(path: &Path) -> Result<S, Failure> {
    S::open(path).map_err(|e| Failure::new(OWN_VERSION, format!("open failed: {e}")))
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}
