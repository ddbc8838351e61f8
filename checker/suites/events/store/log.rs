//! What the store tests need of a store, so that the same checks run on the
//! learner's store and on the known-wrong stores in `wrong.rs`; and the
//! files the tests write.

use crate::subject::events::store::{EventStore, ExpectedVersion, RecordedEvent};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A store as the tests see it.
pub trait Log: Sized {
    fn open(path: &Path) -> Result<Self, String>;
    /// Appends `events` to `stream` if it is at version `expected`; the new
    /// version.
    fn append(&mut self, stream: &str, expected: u64, events: &[Vec<u8>]) -> Result<u64, String>;
    fn version(&self, stream: &str) -> u64;
    /// Every event, in log order.
    fn events(&self) -> Vec<RecordedEvent>;
}

impl Log for EventStore {
    fn open(path: &Path) -> Result<Self, String> {
        EventStore::open(path).map_err(|e| e.to_string())
    }
    fn append(&mut self, stream: &str, expected: u64, events: &[Vec<u8>]) -> Result<u64, String> {
        EventStore::append(self, stream, ExpectedVersion::Exact(expected), events)
            .map_err(|e| e.to_string())
    }
    fn version(&self, stream: &str) -> u64 {
        EventStore::version(self, stream)
    }
    fn events(&self) -> Vec<RecordedEvent> {
        self.read_all(0).to_vec()
    }
}

/// The data the tests write as event `version` of `stream`, so that any
/// event read back can be checked byte for byte: a readable prefix, then
/// filler of a length that varies from event to event.
pub fn data_for(stream: &str, version: u64) -> Vec<u8> {
    let mut data = format!("{stream}#{version}:").into_bytes();
    let filler = (version * 7 + stream.len() as u64 * 13) % 48;
    data.extend((0..filler).map(|i| b'a' + ((i + version) % 26) as u8));
    data
}

/// The events `version + 1 ..= version + count` of `stream`.
pub fn batch_for(stream: &str, version: u64, count: u64) -> Vec<Vec<u8>> {
    (version + 1..=version + count)
        .map(|v| data_for(stream, v))
        .collect()
}

/// An event as a failure shows it.
pub fn show(e: &RecordedEvent) -> String {
    format!(
        "#{} {} v{} {:?}",
        e.position,
        e.event.stream,
        e.event.version,
        String::from_utf8_lossy(&e.event.data)
    )
}

/// A fresh directory under the system's temp dir, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("dscourse-events-{}-{name}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("the temp dir can be created");
        TempDir(dir)
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
