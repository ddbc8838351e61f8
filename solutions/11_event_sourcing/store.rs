//! # events_store: an append-only event store on a file
//!
//! Event sourcing keeps the history, not the current state: every change is
//! an event appended to a log, and any state is a fold over the log. The log
//! is the only thing written, so it must be right: an event the store has
//! acknowledged is never lost, and an event it hands back is never garbage.
//!
//! The log here is one file of records, each framed as
//!
//! ```text
//! [ payload length: u32 LE ][ CRC-32 of the payload: u32 LE ][ payload ]
//! ```
//!
//! A payload carries one event: its stream (the aggregate it belongs to,
//! say `account-17`), its version in that stream (1 for the first event)
//! and its data. Three rules make the file trustworthy:
//!
//! - **Durability.** `append` acknowledges (returns `Ok`) only after its
//!   bytes are written *and* `sync_data` has returned: a process killed, or
//!   a machine whose power fails, a microsecond after the acknowledgement
//!   has lost nothing. A new file's *name* is durable only once its folder
//!   is synced too.
//! - **Checksums.** A crash can cut the last record anywhere (a torn tail);
//!   a disk can hand back bytes that were never written. The length and the
//!   checksum tell a whole record from a torn or corrupt one.
//! - **Recovery.** On open, read records from the start until the first
//!   that is torn or corrupt, and truncate the file there, so that the next
//!   append lands right after the last good record (appending after garbage
//!   would make it unreadable forever).
//!
//! Writers coordinate with **optimistic concurrency**: an append names the
//! version it expects the stream to have (the version it read before
//! deciding), and the store refuses it with a typed `Conflict` if another
//! append got there first. Nobody holds a lock while thinking. (One
//! `EventStore` owns its file: the writers are the clients of one store,
//! not several processes opening the same file.)
//!
// exercise: begin
// stub: //! Read `exercises/11_event_sourcing/README.md` first. The checksum, the
// stub: //! payload codec and the in-memory index are given; fill in each `todo!()`:
// stub: //! the framing (`encode_frame`, `decode_frame`), then `open` with its
// stub: //! recovery, then `append`, then `read_stream`.
// stub: //!
// stub: //! The suite runs your store in a separate writer process and kills it
// stub: //! (SIGKILL) in the middle of its appends, many times over one file; and
// stub: //! on a simulated disk whose power it cuts, which keeps only what was
// stub: //! synced (and may tear the last write).
//! The reference solution.
// exercise: end

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// The bytes before each payload: its length and its checksum.
pub const HEADER_LEN: usize = 8;
/// The largest payload a record may carry. A length field above it can only
/// be a corrupt header, and recovery must not try to read 4 GiB because one
/// bit flipped.
pub const MAX_PAYLOAD_LEN: usize = 1 << 20;

/// The CRC-32 (IEEE 802.3, the one of zip and Ethernet) of `bytes`, given
/// by the simulator. It catches every burst of errors up to 32 bits long
/// and all but about one in four billion random corruptions. Note that the
/// CRC of no bytes is 0, so a header of zeros describes a valid empty
/// payload: a payload must never be empty (`decode_payload` refuses one).
pub use dsim::crc32;

/// One event as a record carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub stream: String,
    /// Its place in its stream: 1 for the first event.
    pub version: u64,
    pub data: Vec<u8>,
}

/// An event read from the store, with its place in the whole log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedEvent {
    /// Its place in the log, over all streams: 0 for the first record.
    pub position: u64,
    pub event: Event,
}

/// The payload of a record: version (u64 LE), stream name length (u16 LE),
/// stream name, data.
pub fn encode_payload(event: &Event) -> Vec<u8> {
    let stream = event.stream.as_bytes();
    let mut bytes = Vec::with_capacity(10 + stream.len() + event.data.len());
    bytes.extend_from_slice(&event.version.to_le_bytes());
    bytes.extend_from_slice(&(stream.len() as u16).to_le_bytes());
    bytes.extend_from_slice(stream);
    bytes.extend_from_slice(&event.data);
    bytes
}

/// The event in a payload; `None` if the payload is malformed (too short,
/// version 0, a stream name that is not UTF-8).
pub fn decode_payload(bytes: &[u8]) -> Option<Event> {
    let version = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
    let name_len = u16::from_le_bytes(bytes.get(8..10)?.try_into().ok()?) as usize;
    let stream = std::str::from_utf8(bytes.get(10..10 + name_len)?).ok()?;
    if version == 0 {
        return None;
    }
    Some(Event {
        stream: stream.to_string(),
        version,
        data: bytes[10 + name_len..].to_vec(),
    })
}

/// What the bytes at the start of a record hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A whole record whose checksum matches: its payload, and how many
    /// bytes the record takes (header included).
    Record { payload: &'a [u8], len: usize },
    /// Too few bytes for the header or for the payload its length announces:
    /// the writer was cut off.
    Torn,
    /// A length above `MAX_PAYLOAD_LEN`, or a payload whose checksum does not
    /// match the header.
    Corrupt,
}

/// The record that carries `payload`: header (length, checksum), payload.
pub fn encode_frame(payload: &[u8]) -> Vec<u8> {
    // exercise: begin "the payload's length as u32 LE, then crc32(payload) as u32 LE, then the payload"
    let mut bytes = Vec::with_capacity(HEADER_LEN + payload.len());
    bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&crc32(payload).to_le_bytes());
    bytes.extend_from_slice(payload);
    bytes
    // exercise: end
}

/// Reads the record at the start of `bytes` (which run to the end of the
/// file), checking in this order: fewer than `HEADER_LEN` bytes is `Torn`;
/// a length above `MAX_PAYLOAD_LEN` is `Corrupt`, however many bytes
/// follow; fewer bytes than the length announces is `Torn`; a checksum that
/// differs is `Corrupt`.
pub fn decode_frame(bytes: &[u8]) -> Frame<'_> {
    // exercise: begin "the four checks of the doc comment, in order; if all pass, Record {{ payload, len: HEADER_LEN + length }}"
    if bytes.len() < HEADER_LEN {
        return Frame::Torn;
    }
    let len = u32::from_le_bytes(bytes[0..4].try_into().unwrap()) as usize;
    let checksum = u32::from_le_bytes(bytes[4..8].try_into().unwrap());
    if len > MAX_PAYLOAD_LEN {
        return Frame::Corrupt;
    }
    let Some(payload) = bytes.get(HEADER_LEN..HEADER_LEN + len) else {
        return Frame::Torn;
    };
    if crc32(payload) != checksum {
        return Frame::Corrupt;
    }
    Frame::Record {
        payload,
        len: HEADER_LEN + len,
    }
    // exercise: end
}

/// The version an append expects its stream to have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// Append whatever the stream holds (no concurrency check).
    Any,
    /// The stream must be at exactly this version; `Exact(0)`: the stream
    /// must not exist yet.
    Exact(u64),
}

/// Why an append or an open failed.
#[derive(Debug)]
pub enum StoreError {
    /// The stream is not at the expected version: another writer appended
    /// first. Nothing was written; read the stream again and decide again.
    Conflict {
        stream: String,
        expected: u64,
        actual: u64,
    },
    /// An event too large for one record.
    TooLarge {
        len: usize,
    },
    /// An empty batch, or an empty stream name.
    Empty,
    Io(io::Error),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            StoreError::Conflict {
                stream,
                expected,
                actual,
            } => write!(
                f,
                "stream {stream} is at version {actual}, not the expected {expected}"
            ),
            StoreError::TooLarge { len } => {
                write!(f, "an event of {len} bytes does not fit in a record")
            }
            StoreError::Empty => write!(f, "nothing to append"),
            StoreError::Io(e) => write!(f, "i/o error: {e}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<io::Error> for StoreError {
    fn from(e: io::Error) -> Self {
        StoreError::Io(e)
    }
}

/// What recovery found when the store was opened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Whole records kept.
    pub records: u64,
    /// Bytes cut off the end of the file (a torn or corrupt tail).
    pub truncated_bytes: u64,
}

/// Every event in memory, in log order, with each stream's positions: what
/// reads are served from. Given: `open` fills it from the file, `append`
/// adds to it after the disk has the batch.
#[derive(Clone, Debug, Default)]
pub struct Index {
    /// Every event in log order: `events[p].position == p`.
    pub events: Vec<RecordedEvent>,
    /// For each stream, the positions of its events in version order: the
    /// stream's version is the length.
    pub streams: BTreeMap<String, Vec<usize>>,
}

impl Index {
    /// Adds the next event of the log.
    pub fn push(&mut self, event: Event) {
        let position = self.events.len();
        self.streams
            .entry(event.stream.clone())
            .or_default()
            .push(position);
        self.events.push(RecordedEvent {
            position: position as u64,
            event,
        });
    }

    /// The version of `stream`: how many events it holds (0 if none).
    pub fn version(&self, stream: &str) -> u64 {
        self.streams.get(stream).map_or(0, |p| p.len() as u64)
    }
}

/// The file the store writes, as the store uses it: read from the start,
/// appended to at the end (every write lands there), synced, cut short.
/// `std::fs::File` opened to append is one; the suite's simulated disk,
/// whose power it can cut, is another.
pub trait LogFile: io::Read + io::Write {
    /// Makes every byte written so far durable (`fdatasync`). Until it
    /// returns, a power cut may lose any of them, or keep part of one.
    fn sync_data(&mut self) -> io::Result<()>;
    /// Cuts the file to `len` bytes.
    fn set_len(&mut self, len: u64) -> io::Result<()>;
    /// The file's length in bytes.
    fn size(&self) -> io::Result<u64>;
}

impl LogFile for File {
    fn sync_data(&mut self) -> io::Result<()> {
        File::sync_data(self)
    }
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        File::set_len(self, len)
    }
    fn size(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }
}

/// The folder the store's file lives in.
pub trait Folder {
    type File: LogFile;
    /// Whether a file of this name exists.
    fn exists(&self, name: &str) -> bool;
    /// Opens `name` to read it and append to it, creating it empty if
    /// there is none.
    fn open(&mut self, name: &str) -> io::Result<Self::File>;
    /// Makes the folder's names durable. A file's name is written with its
    /// folder, not with the file (on Linux too): a file created since the
    /// last sync of its folder is gone after a power cut, however often the
    /// file itself was synced.
    fn sync(&mut self) -> io::Result<()>;
}

/// A folder of the real file system.
pub struct OsFolder(pub PathBuf);

impl Folder for OsFolder {
    type File = File;
    fn exists(&self, name: &str) -> bool {
        self.0.join(name).exists()
    }
    fn open(&mut self, name: &str) -> io::Result<File> {
        std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(self.0.join(name))
    }
    fn sync(&mut self) -> io::Result<()> {
        File::open(&self.0)?.sync_all()
    }
}

/// An event store over one file. It keeps every event in memory as well
/// (read from the file on open), so reads do not touch the disk.
pub struct EventStore<F: LogFile = File> {
    pub path: PathBuf,
    /// Opened for reading and appending: every write lands at the end of
    /// the file.
    pub file: F,
    pub index: Index,
    /// What recovery found when the store was opened.
    pub recovery: Recovery,
}

impl EventStore {
    /// Opens the store at `path` on the real file system (creating an
    /// empty one if there is none): [`EventStore::open_in`] its folder.
    pub fn open(path: &Path) -> Result<EventStore, StoreError> {
        let folder = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            let why = format!("{} does not name a file", path.display());
            return Err(io::Error::new(io::ErrorKind::InvalidInput, why).into());
        };
        let mut store = EventStore::open_in(&mut OsFolder(folder), name)?;
        store.path = path.to_path_buf();
        Ok(store)
    }
}

impl<F: LogFile> EventStore<F> {
    /// Opens the store in the file `name` of `folder` (creating an empty one
    /// if there is none, and making its name durable) and recovers: reads
    /// whole records from the start, stops at the first torn or corrupt
    /// one, truncates the file there, and makes the cut durable before
    /// accepting appends.
    pub fn open_in<D: Folder<File = F>>(folder: &mut D, name: &str) -> Result<Self, StoreError> {
        // exercise: begin "open the file (folder.open creates it; if it did not exist, folder.sync() so that its name survives a power cut), read it all, index every whole record from the start, stop at the first torn or corrupt one (or a payload that does not decode, or a version out of order), then set_len to the end of the last good record and sync_data"
        let existed = folder.exists(name);
        let mut file = folder.open(name)?;
        if !existed {
            folder.sync()?;
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let mut store = EventStore {
            path: PathBuf::from(name),
            file,
            index: Index::default(),
            recovery: Recovery::default(),
        };
        let mut offset = 0;
        while let Frame::Record { payload, len } = decode_frame(&bytes[offset..]) {
            let Some(event) = decode_payload(payload) else {
                break;
            };
            if event.version != store.index.version(&event.stream) + 1 {
                break;
            }
            store.index.push(event);
            offset += len;
        }
        store.recovery = Recovery {
            records: store.index.events.len() as u64,
            truncated_bytes: (bytes.len() - offset) as u64,
        };
        if offset < bytes.len() {
            store.file.set_len(offset as u64)?;
            store.file.sync_data()?;
        }
        Ok(store)
        // exercise: end
    }

    /// Appends `events` (their data) to `stream` as one batch, if the stream
    /// is at the `expected` version, and returns the stream's new version.
    /// The batch is one write followed by one `sync_data`: `Ok` means every
    /// event of the batch is on the disk.
    pub fn append(
        &mut self,
        stream: &str,
        expected: ExpectedVersion,
        events: &[Vec<u8>],
    ) -> Result<u64, StoreError> {
        // exercise: begin "check the expected version (Conflict on a mismatch, writing nothing), encode every event of the batch into one buffer, write_all it, sync_data, and only then push the events into self.index and return the new version"
        if events.is_empty() || stream.is_empty() {
            return Err(StoreError::Empty);
        }
        let actual = self.version(stream);
        if let ExpectedVersion::Exact(expected) = expected {
            if expected != actual {
                return Err(StoreError::Conflict {
                    stream: stream.to_string(),
                    expected,
                    actual,
                });
            }
        }
        let batch: Vec<Event> = (1..)
            .zip(events)
            .map(|(i, data)| Event {
                stream: stream.to_string(),
                version: actual + i,
                data: data.clone(),
            })
            .collect();
        let mut bytes = Vec::new();
        for event in &batch {
            let payload = encode_payload(event);
            if payload.len() > MAX_PAYLOAD_LEN {
                return Err(StoreError::TooLarge { len: payload.len() });
            }
            bytes.extend_from_slice(&encode_frame(&payload));
        }
        let end = self.file.size()?;
        if let Err(e) = self
            .file
            .write_all(&bytes)
            .and_then(|()| self.file.sync_data())
        {
            // Cut off whatever part of the batch got written, so the next
            // append does not land after a torn record.
            let _ = self.file.set_len(end);
            return Err(e.into());
        }
        for event in batch {
            self.index.push(event);
        }
        Ok(actual + events.len() as u64)
        // exercise: end
    }

    /// The events of `stream` from version `from` on (1 for all of them).
    pub fn read_stream(&self, stream: &str, from: u64) -> Vec<&RecordedEvent> {
        // exercise: begin "the events at the positions self.index.streams holds for this stream, skipping the first from - 1"
        let Some(positions) = self.index.streams.get(stream) else {
            return Vec::new();
        };
        let skip = from.saturating_sub(1) as usize;
        positions
            .iter()
            .skip(skip)
            .map(|&p| &self.index.events[p])
            .collect()
        // exercise: end
    }

    /// The version of `stream`: how many events it holds (0 if none).
    pub fn version(&self, stream: &str) -> u64 {
        self.index.version(stream)
    }

    /// Every event from log position `from` on, in log order.
    pub fn read_all(&self, from: u64) -> &[RecordedEvent] {
        let events = &self.index.events;
        &events[(from as usize).min(events.len())..]
    }

    /// What recovery found when this store was opened.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// The file this store writes.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
