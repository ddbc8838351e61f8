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
