//! Known-wrong stores for the meta tests: one small store with a planted
//! flaw, chosen by a type parameter. It frames records as the exercise
//! says, with the exercise's given `crc32` and payload codec.

use super::log::Log;
use crate::subject::events::store::{
    crc32, decode_payload, encode_payload, Event, RecordedEvent, HEADER_LEN, MAX_PAYLOAD_LEN,
};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::marker::PhantomData;
use std::path::Path;

/// A planted flaw.
pub trait Flaw {
    /// Appends go into a `BufWriter` that is never flushed, and are
    /// acknowledged from there: the bytes are in the process, not the file.
    const ACKS_BEFORE_WRITING: bool;
    /// Recovery stops at the first bad record but leaves it in the file.
    const LEAVES_THE_TORN_TAIL: bool;
    /// Recovery indexes a whole record even when its version is not the
    /// next of its stream.
    const TRUSTS_VERSIONS: bool = false;
}

pub struct AcksEarly;
impl Flaw for AcksEarly {
    const ACKS_BEFORE_WRITING: bool = true;
    const LEAVES_THE_TORN_TAIL: bool = false;
}

pub struct LeavesTornTail;
impl Flaw for LeavesTornTail {
    const ACKS_BEFORE_WRITING: bool = false;
    const LEAVES_THE_TORN_TAIL: bool = true;
}

/// Recovery keeps every whole record, never asking whether its version is
/// the next of its stream (a duplicated or stray record is indexed).
pub struct TrustsVersions;
impl Flaw for TrustsVersions {
    const ACKS_BEFORE_WRITING: bool = false;
    const LEAVES_THE_TORN_TAIL: bool = false;
    const TRUSTS_VERSIONS: bool = true;
}

pub struct Flawed<F> {
    file: BufWriter<File>,
    events: Vec<RecordedEvent>,
    versions: BTreeMap<String, u64>,
    flaw: PhantomData<F>,
}

impl<F: Flaw> Log for Flawed<F> {
    fn open(path: &Path) -> Result<Self, String> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| e.to_string())?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
        let mut log = Flawed {
            file: BufWriter::with_capacity(1 << 16, file),
            events: Vec::new(),
            versions: BTreeMap::new(),
            flaw: PhantomData,
        };
        let mut offset = 0;
        while let Some((event, len)) = record_at(&bytes[offset..]) {
            if !F::TRUSTS_VERSIONS && event.version != log.version(&event.stream) + 1 {
                break;
            }
            *log.versions.entry(event.stream.clone()).or_insert(0) = event.version;
            log.events.push(RecordedEvent {
                position: log.events.len() as u64,
                event,
            });
            offset += len;
        }
        if offset < bytes.len() && !F::LEAVES_THE_TORN_TAIL {
            let file = log.file.get_ref();
            file.set_len(offset as u64).map_err(|e| e.to_string())?;
            file.sync_all().map_err(|e| e.to_string())?;
        }
        Ok(log)
    }

    fn append(&mut self, stream: &str, expected: u64, events: &[Vec<u8>]) -> Result<u64, String> {
        if self.version(stream) != expected {
            return Err(format!("conflict on {stream}"));
        }
        for (i, data) in (1..).zip(events) {
            let event = Event {
                stream: stream.to_string(),
                version: expected + i,
                data: data.clone(),
            };
            let payload = encode_payload(&event);
            let mut record = (payload.len() as u32).to_le_bytes().to_vec();
            record.extend_from_slice(&crc32(&payload).to_le_bytes());
            record.extend_from_slice(&payload);
            self.file.write_all(&record).map_err(|e| e.to_string())?;
            self.events.push(RecordedEvent {
                position: self.events.len() as u64,
                event,
            });
        }
        if !F::ACKS_BEFORE_WRITING {
            self.file.flush().map_err(|e| e.to_string())?;
            self.file.get_ref().sync_data().map_err(|e| e.to_string())?;
        }
        let version = expected + events.len() as u64;
        self.versions.insert(stream.to_string(), version);
        Ok(version)
    }

    fn version(&self, stream: &str) -> u64 {
        self.versions.get(stream).copied().unwrap_or(0)
    }

    fn events(&self) -> Vec<RecordedEvent> {
        self.events.clone()
    }
}

/// The whole, intact record at the start of `bytes`, and its length.
fn record_at(bytes: &[u8]) -> Option<(Event, usize)> {
    let len = u32::from_le_bytes(bytes.get(0..4)?.try_into().ok()?) as usize;
    let checksum = u32::from_le_bytes(bytes.get(4..8)?.try_into().ok()?);
    if len > MAX_PAYLOAD_LEN {
        return None;
    }
    let payload = bytes.get(HEADER_LEN..HEADER_LEN + len)?;
    if crc32(payload) != checksum {
        return None;
    }
    Some((decode_payload(payload)?, HEADER_LEN + len))
}

/// Stores whose optimistic concurrency compares the expected version with
/// the wrong number: the reference store, with the check done before it
/// (against what `M` reads) and the append then made unconditionally. Made
/// from the reference, so only where the references are the subject.
#[cfg(bugs)]
pub mod misread {
    use super::super::concurrency::Store;
    use crate::subject::events::store::RecordedEvent;
    use crate::subject::events::store::{EventStore, ExpectedVersion, StoreError};
    use std::marker::PhantomData;
    use std::path::Path;

    /// The number a wrong store takes for the stream's version.
    pub trait Misreading {
        fn seen(store: &EventStore, stream: &str, last: Option<&str>) -> u64;
    }

    /// The length of the whole log (equal to the stream's version while
    /// there is one stream).
    pub struct LogLength;
    impl Misreading for LogLength {
        fn seen(store: &EventStore, _: &str, _: Option<&str>) -> u64 {
            store.read_all(0).len() as u64
        }
    }

    /// The version of the stream appended to last (a cached "current
    /// version" not keyed by stream).
    pub struct LastStream;
    impl Misreading for LastStream {
        fn seen(store: &EventStore, stream: &str, last: Option<&str>) -> u64 {
            store.version(last.unwrap_or(stream))
        }
    }

    pub struct Misreads<M> {
        inner: EventStore,
        last: Option<String>,
        misreading: PhantomData<M>,
    }

    impl<M: Misreading> Store for Misreads<M> {
        fn open(path: &Path) -> Result<Self, StoreError> {
            Ok(Misreads {
                inner: EventStore::open(path)?,
                last: None,
                misreading: PhantomData,
            })
        }
        fn append(
            &mut self,
            stream: &str,
            expected: ExpectedVersion,
            events: &[Vec<u8>],
        ) -> Result<u64, StoreError> {
            if let ExpectedVersion::Exact(expected) = expected {
                let actual = M::seen(&self.inner, stream, self.last.as_deref());
                if expected != actual {
                    return Err(StoreError::Conflict {
                        stream: stream.to_string(),
                        expected,
                        actual,
                    });
                }
            }
            let new = self.inner.append(stream, ExpectedVersion::Any, events)?;
            self.last = Some(stream.to_string());
            Ok(new)
        }
        fn version(&self, stream: &str) -> u64 {
            self.inner.version(stream)
        }
        fn stream(&self, stream: &str) -> Vec<RecordedEvent> {
            Store::stream(&self.inner, stream)
        }
        fn all(&self) -> Vec<RecordedEvent> {
            Store::all(&self.inner)
        }
    }
}
