//! # storage_wal: a write-ahead log with group commit and checkpoints
//!
//! One node serves a key-value store (Put, Delete, Get) that must survive a
//! power cut, with only a [`dsim::Disk`] to keep it: files whose writes
//! reach the platter only when synced, and whose last unsynced write may be
//! torn at a sector boundary. The rules:
//!
//! 1. **Log first.** A write is applied to the map and appended to the log
//!    as a record `[len][crc32][payload]`; it is acknowledged only after
//!    the log is synced.
//! 2. **Group commit.** Writes arriving within [`GROUP_WINDOW`] share one
//!    sync: the first starts the window, and when it closes the log is
//!    synced once and every waiting write is acknowledged.
//! 3. **Checkpoint.** Once [`CHECKPOINT_EVERY`] records are logged, the whole
//!    map goes to a new file, which is synced, renamed over [`CHECKPOINT`],
//!    and the directory synced; then the log is reused from its start.
//! 4. **Recovery.** On start: load the checkpoint, then replay the log's
//!    records in order from the start while each one checks out (its
//!    length fits, its checksum matches, its sequence number is the next
//!    one); the first that does not is the torn or stale tail, and the log
//!    is written over from there.
//!
// exercise: begin
// stub: //! Read `exercises/16_storage/README.md` first. Then fill in the handlers
// stub: //! below: each `todo!()` is one step of the protocol.
//! The reference solution.
// exercise: end

use dsim::{Ctx, Disk, Node, NodeId, RequestId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long the first write of a group waits for others to share its sync.
pub const GROUP_WINDOW: Duration = Duration::from_millis(1);
/// Records logged since the last checkpoint that call for the next one.
pub const CHECKPOINT_EVERY: usize = 16;
/// The log's file name.
pub const LOG: &str = "wal.log";
/// The checkpoint's file name.
pub const CHECKPOINT: &str = "checkpoint";
/// Where a checkpoint is written before it is renamed over [`CHECKPOINT`].
pub const CHECKPOINT_TMP: &str = "checkpoint.tmp";
/// A frame's header: the payload's length, then its CRC-32 (both u32, LE).
pub const HEADER: usize = 8;

/// What a client asks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    Put { key: String, value: String },
    Delete { key: String },
    Get { key: String },
}

/// What the client gets back: `Done` for a durable write, the value for a Get.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    Done,
    Value(Option<String>),
}

/// The one timer: the group commit window closes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Timer {
    Flush,
}

/// One logged write: its sequence number, the key, and the new value
/// (`None` for a delete).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub lsn: u64,
    pub key: String,
    pub value: Option<String>,
}

/// The checkpoint's contents: the map as of record `lsn`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub lsn: u64,
    pub map: BTreeMap<String, String>,
}

/// The store's node. Everything here is volatile: the disk is the truth.
#[derive(Debug, Default)]
pub struct Wal {
    /// The store as the clients see it (writes applied when logged).
    pub map: BTreeMap<String, String>,
    /// The sequence number of the last record logged.
    pub lsn: u64,
    /// Where the next record goes in the log.
    pub log_end: u64,
    /// Records logged since the last checkpoint.
    pub since_checkpoint: usize,
    /// Writes logged but not yet synced, waiting for the window to close.
    pub waiting: Vec<RequestId>,
    /// How many log records the last recovery replayed.
    pub replayed: usize,
}

impl Wal {
    /// A node before it has started.
    pub fn new() -> Self {
        Wal::default()
    }
}

/// CRC-32 (IEEE), given by the simulator: a record's checksum.
pub use dsim::crc32;

/// A payload's bytes: fields in order, integers little-endian, strings
/// as a u32 length then their bytes.
pub trait Encode: Sized {
    fn encode(&self) -> Vec<u8>;
    /// The payload read back, or `None` if the bytes are not one.
    fn decode(bytes: &[u8]) -> Option<Self>;
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Reads `n` bytes at `*at`, moving past them.
fn take<'a>(bytes: &'a [u8], at: &mut usize, n: usize) -> Option<&'a [u8]> {
    let taken = bytes.get(*at..at.checked_add(n)?)?;
    *at += n;
    Some(taken)
}

fn take_u32(bytes: &[u8], at: &mut usize) -> Option<u32> {
    Some(u32::from_le_bytes(take(bytes, at, 4)?.try_into().ok()?))
}

fn take_u64(bytes: &[u8], at: &mut usize) -> Option<u64> {
    Some(u64::from_le_bytes(take(bytes, at, 8)?.try_into().ok()?))
}

/// A string read back. Any bytes make one (a byte that is not UTF-8 reads
/// as U+FFFD): the decoding does not tell a torn record from a whole one,
/// only the checksum does.
fn take_str(bytes: &[u8], at: &mut usize) -> Option<String> {
    let len = take_u32(bytes, at)? as usize;
    Some(String::from_utf8_lossy(take(bytes, at, len)?).into_owned())
}

impl Encode for Record {
    fn encode(&self) -> Vec<u8> {
        let mut out = self.lsn.to_le_bytes().to_vec();
        put_str(&mut out, &self.key);
        if let Some(value) = &self.value {
            out.push(1);
            put_str(&mut out, value);
        } else {
            out.push(0);
        }
        out
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let at = &mut 0;
        let lsn = take_u64(bytes, at)?;
        let key = take_str(bytes, at)?;
        let value = match take(bytes, at, 1)? {
            [0] => None,
            _ => Some(take_str(bytes, at)?),
        };
        Some(Record { lsn, key, value })
    }
}

impl Encode for Checkpoint {
    fn encode(&self) -> Vec<u8> {
        let mut out = self.lsn.to_le_bytes().to_vec();
        out.extend_from_slice(&(self.map.len() as u32).to_le_bytes());
        for (key, value) in &self.map {
            put_str(&mut out, key);
            put_str(&mut out, value);
        }
        out
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let at = &mut 0;
        let lsn = take_u64(bytes, at)?;
        let mut map = BTreeMap::new();
        for _ in 0..take_u32(bytes, at)? {
            let key = take_str(bytes, at)?;
            map.insert(key, take_str(bytes, at)?);
        }
        Some(Checkpoint { lsn, map })
    }
}

/// `payload` framed as `[len][crc32][payload]`.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    // exercise: begin "the length (u32, little-endian), the CRC-32 of the payload (u32, LE), then the payload"
    let mut bytes = Vec::with_capacity(HEADER + payload.len());
    bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&crc32(payload).to_le_bytes());
    bytes.extend_from_slice(payload);
    bytes
    // exercise: end
}

/// The payload of the frame at `offset` of `bytes`, if one is whole there
/// and its checksum matches: a torn frame (cut short, or its new bytes
/// over a stale frame's) fails one or the other.
pub fn unframe(bytes: &[u8], offset: usize) -> Option<&[u8]> {
    // exercise: begin "read the header at offset; None unless the whole payload is there and its CRC-32 matches"
    let header = bytes.get(offset..offset + HEADER)?;
    let len = u32::from_le_bytes(header[..4].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(header[4..].try_into().ok()?);
    let payload = bytes.get(offset + HEADER..offset + HEADER + len)?;
    (crc32(payload) == crc).then_some(payload)
    // exercise: end
}

impl Wal {
    /// Recovery: the checkpoint, then the log's records after it, up to
    /// the first that does not check out. Records before the checkpoint's
    /// sequence number are stale (the log is reused after a checkpoint),
    /// and so is any record that does not follow the one before it.
    fn recover(&mut self, disk: &mut Disk) {
        // exercise: begin "load CHECKPOINT (map and lsn) if it exists; create LOG if missing (and sync_dir); replay its records from offset 0 while unframe and decode succeed and each lsn is the next, counting them in replayed; log_end after the last"
        if let Some(checkpoint) = disk
            .read(CHECKPOINT)
            .ok()
            .and_then(|bytes| unframe(bytes, 0).and_then(Checkpoint::decode))
        {
            self.map = checkpoint.map;
            self.lsn = checkpoint.lsn;
        }
        if !disk.exists(LOG) {
            // An empty file has no bytes to sync: only its name must last.
            disk.create(LOG);
            disk.sync_dir();
        }
        let log = disk.read(LOG).expect("the log exists").to_vec();
        let mut offset = 0;
        while let Some(payload) = unframe(&log, offset) {
            let next = Record::decode(payload).filter(|r| r.lsn == self.lsn + 1);
            let Some(record) = next else { break };
            offset += HEADER + payload.len();
            self.apply(record);
            self.replayed += 1;
        }
        self.log_end = offset as u64;
        self.since_checkpoint = self.replayed;
        // exercise: end
    }

    /// A record's write, on the map.
    pub fn apply(&mut self, record: Record) {
        self.lsn = record.lsn;
        match record.value {
            Some(value) => self.map.insert(record.key, value),
            None => self.map.remove(&record.key),
        };
    }

    /// Logs a write (unsynced) and applies it; its ack waits for the window.
    fn log_write(
        &mut self,
        ctx: &mut Ctx<Self>,
        id: RequestId,
        key: String,
        value: Option<String>,
    ) {
        // exercise: begin "append the framed, encoded Record (lsn: self.lsn + 1) at log_end, apply it, queue id in waiting; start the GROUP_WINDOW timer if it is the first waiting"
        let record = Record {
            lsn: self.lsn + 1,
            key,
            value,
        };
        let bytes = frame(&record.encode());
        ctx.disk()
            .write_at(LOG, self.log_end, &bytes)
            .expect("the log exists");
        self.log_end += bytes.len() as u64;
        self.since_checkpoint += 1;
        self.apply(record);
        self.waiting.push(id);
        if self.waiting.len() == 1 {
            ctx.set_timer(Timer::Flush, GROUP_WINDOW);
        }
        // exercise: end
    }

    /// The window closes: one sync makes every waiting write durable, and
    /// only then are they acknowledged. A checkpoint follows when due.
    fn flush(&mut self, ctx: &mut Ctx<Self>) {
        // exercise: begin "sync the log once, reply Done to every waiting write, then checkpoint if CHECKPOINT_EVERY records were logged since the last"
        ctx.disk().sync(LOG).expect("the log exists");
        for id in std::mem::take(&mut self.waiting) {
            ctx.reply(id, Reply::Done);
        }
        if self.since_checkpoint >= CHECKPOINT_EVERY {
            self.checkpoint(ctx.disk());
        }
        // exercise: end
    }

    /// Writes the whole map as the new checkpoint. The order matters:
    /// - the new file is synced BEFORE the rename, or a power cut could
    ///   keep the new name over contents that never reached the disk;
    /// - the directory is synced BEFORE the log is reused, or a power cut
    ///   could undo the rename and bring back the old checkpoint, whose
    ///   later records the reused log no longer holds.
    ///
    /// Writing to a temporary name and renaming keeps the old checkpoint
    /// whole until the new one is: a rename is atomic.
    pub fn checkpoint(&mut self, disk: &mut Disk) {
        // exercise: begin "write the framed, encoded Checkpoint (lsn and map) to CHECKPOINT_TMP, sync it, rename it over CHECKPOINT, sync_dir; then log_end = 0 and since_checkpoint = 0"
        let bytes = frame(
            &Checkpoint {
                lsn: self.lsn,
                map: self.map.clone(),
            }
            .encode(),
        );
        disk.create(CHECKPOINT_TMP);
        disk.write_at(CHECKPOINT_TMP, 0, &bytes)
            .expect("just created");
        disk.sync(CHECKPOINT_TMP).expect("just created");
        disk.rename(CHECKPOINT_TMP, CHECKPOINT)
            .expect("just created");
        disk.sync_dir();
        self.log_end = 0;
        self.since_checkpoint = 0;
        // exercise: end
    }
}

impl Node for Wal {
    type Msg = ();
    type Timer = Timer;
    type Request = Request;
    type Reply = Reply;

    /// On start and on every restart: recover from the disk.
    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        self.recover(ctx.disk());
    }

    fn on_message(&mut self, _ctx: &mut Ctx<Self>, _from: NodeId, _msg: ()) {}

    /// A Get answers from the map at once; a write is logged and waits.
    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, req: Request) {
        match req {
            Request::Put { key, value } => self.log_write(ctx, id, key, Some(value)),
            Request::Delete { key } => self.log_write(ctx, id, key, None),
            Request::Get { key } => ctx.reply(id, Reply::Value(self.map.get(&key).cloned())),
        }
    }

    /// The group commit window closes.
    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        match timer {
            Timer::Flush => self.flush(ctx),
        }
    }
}
