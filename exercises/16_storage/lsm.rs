//! # storage_lsm: a log-structured merge tree
//!
//! One node serves a key-value store (Put, Delete, Get) on a
//! [`dsim::Disk`], as in `storage_wal`, but shaped for writes: no file is
//! ever changed in place. The rules:
//!
//! 1. **Log, then memtable.** A write is appended to the log and the log
//!    synced; then it goes into the memtable (a sorted map in memory, a
//!    delete as a *tombstone*), and only then is it acknowledged.
//! 2. **Flush.** When the memtable holds [`MEMTABLE_LIMIT`] keys it is
//!    written out as a new immutable *sorted run*: the run's file is
//!    synced, then a new manifest naming it is installed (temporary file,
//!    sync, rename, sync of the directory), and only then is the log
//!    emptied. The manifest is the commit point: a run it does not name
//!    does not exist.
//! 3. **Reads, newest first.** A Get looks in the memtable, then in the
//!    runs from the newest to the oldest; the first entry found for the key
//!    answers, and a tombstone answers "absent". A run's Bloom filter skips
//!    it without reading it when the key is surely not there.
//! 4. **Size-tiered compaction.** When [`TIER_WIDTH`] neighbouring runs
//!    are of similar size ([`Lsm::pick_compaction`]), they are merged into
//!    one, the newest entry of each key winning. A tombstone may be dropped
//!    only when the merge includes the oldest run: otherwise an older run
//!    may still hold the value it deletes.
//! 5. **Recovery.** On start: the runs the manifest names, then the log's
//!    records, replayed into the memtable up to the first torn one.
//!
//! Read `exercises/16_storage/README.md` first. Then fill in the handlers
//! below: each `todo!()` is one step of the protocol.

use dsim::{Ctx, Disk, Node, NodeId, RequestId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::Range;

/// Keys in the memtable that call for a flush.
pub const MEMTABLE_LIMIT: usize = 16;
/// How many runs of similar size one compaction merges.
pub const TIER_WIDTH: usize = 4;
/// Entries per block of a run file: a lookup reads one block.
pub const BLOCK: usize = 4;
/// The false-positive rate each run's Bloom filter is sized for.
pub const FALSE_POSITIVE_RATE: f64 = 0.02;
/// The log's file name.
pub const LOG: &str = "wal.log";
/// The manifest's file name: the list of live runs.
pub const MANIFEST: &str = "MANIFEST";
/// Where a manifest is written before it is renamed over [`MANIFEST`].
pub const MANIFEST_TMP: &str = "MANIFEST.tmp";
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

/// A key's entry in the memtable or a run: its value, or `None` for a
/// tombstone (the key was deleted).
pub type Entry = Option<String>;

/// The live runs, oldest first, and the number the next run file takes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    pub runs: Vec<u64>,
    pub next_run: u64,
}

/// The file of run `id`.
pub fn run_file(id: u64) -> String {
    format!("run-{id:06}")
}

// ----- Given: checksums, framing and encodings -----

/// CRC-32 (IEEE), given by the simulator: a record's checksum.
pub use dsim::crc32;

/// `payload` framed as `[len][crc32][payload]`.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut bytes = (payload.len() as u32).to_le_bytes().to_vec();
    bytes.extend_from_slice(&crc32(payload).to_le_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

/// The payload of the frame at `offset` of `bytes`, if one is whole there
/// and its checksum matches.
pub fn unframe(bytes: &[u8], offset: usize) -> Option<&[u8]> {
    let header = bytes.get(offset..offset.checked_add(HEADER)?)?;
    let len = u32::from_le_bytes(header[..4].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(header[4..].try_into().ok()?);
    let payload = bytes.get(offset + HEADER..(offset + HEADER).checked_add(len)?)?;
    (crc32(payload) == crc).then_some(payload)
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_entry(out: &mut Vec<u8>, key: &str, entry: &Entry) {
    put_str(out, key);
    match entry {
        Some(value) => {
            out.push(1);
            put_str(out, value);
        }
        None => out.push(0),
    }
}

fn take<'a>(bytes: &'a [u8], at: &mut usize, n: usize) -> Option<&'a [u8]> {
    let taken = bytes.get(*at..at.checked_add(n)?)?;
    *at += n;
    Some(taken)
}

fn take_u64(bytes: &[u8], at: &mut usize) -> Option<u64> {
    Some(u64::from_le_bytes(take(bytes, at, 8)?.try_into().ok()?))
}

fn take_str(bytes: &[u8], at: &mut usize) -> Option<String> {
    let len = u32::from_le_bytes(take(bytes, at, 4)?.try_into().ok()?) as usize;
    Some(String::from_utf8_lossy(take(bytes, at, len)?).into_owned())
}

fn take_entry(bytes: &[u8], at: &mut usize) -> Option<(String, Entry)> {
    let key = take_str(bytes, at)?;
    let entry = match take(bytes, at, 1)? {
        [0] => None,
        _ => Some(take_str(bytes, at)?),
    };
    Some((key, entry))
}

/// A log record: one write (`None` for a delete), framed.
pub fn encode_record(key: &str, entry: &Entry) -> Vec<u8> {
    let mut payload = Vec::new();
    put_entry(&mut payload, key, entry);
    frame(&payload)
}

/// The log's whole records from its start, up to the first that is torn
/// or cut short, and the offset where they end.
pub fn read_log(bytes: &[u8]) -> (Vec<(String, Entry)>, u64) {
    let (mut records, mut offset) = (Vec::new(), 0);
    while let Some(payload) = unframe(bytes, offset) {
        let Some(record) = take_entry(payload, &mut 0) else {
            break;
        };
        offset += HEADER + payload.len();
        records.push(record);
    }
    (records, offset as u64)
}

/// A manifest's file contents, framed.
pub fn encode_manifest(manifest: &Manifest) -> Vec<u8> {
    let mut payload = manifest.next_run.to_le_bytes().to_vec();
    for id in &manifest.runs {
        payload.extend_from_slice(&id.to_le_bytes());
    }
    frame(&payload)
}

/// A manifest read back, or `None` if the bytes are not a whole one.
pub fn decode_manifest(bytes: &[u8]) -> Option<Manifest> {
    let payload = unframe(bytes, 0)?;
    let at = &mut 0;
    let next_run = take_u64(payload, at)?;
    let mut runs = Vec::new();
    while *at < payload.len() {
        runs.push(take_u64(payload, at)?);
    }
    Some(Manifest { runs, next_run })
}

/// A run file's contents: the entries in key order, [`BLOCK`] to a framed
/// block.
pub fn encode_run(entries: &BTreeMap<String, Entry>) -> Vec<u8> {
    let entries: Vec<_> = entries.iter().collect();
    let mut bytes = Vec::new();
    for block in entries.chunks(BLOCK) {
        let mut payload = Vec::new();
        for (key, entry) in block {
            put_entry(&mut payload, key, entry);
        }
        bytes.extend(frame(&payload));
    }
    bytes
}

/// The entries of the block at `offset` of a run file.
fn read_block(bytes: &[u8], offset: u64) -> Vec<(String, Entry)> {
    let Some(payload) = unframe(bytes, offset as usize) else {
        return Vec::new();
    };
    let (mut at, mut entries) = (0, Vec::new());
    while let Some(entry) = take_entry(payload, &mut at) {
        entries.push(entry);
    }
    entries
}

// ----- Given: the Bloom filter -----

/// A Bloom filter: `k` bit positions per key in `bits`. "No" is certain;
/// "maybe" is wrong for a key never inserted with about the configured
/// false-positive rate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bloom {
    pub bits: Vec<bool>,
    pub k: u32,
}

impl Bloom {
    /// A filter for `keys` keys at [`FALSE_POSITIVE_RATE`]: m = −n·ln p / ln²2
    /// bits and k = (m/n)·ln 2 hashes.
    pub fn new(keys: usize) -> Self {
        let ln2 = std::f64::consts::LN_2;
        let per_key = -FALSE_POSITIVE_RATE.ln() / (ln2 * ln2);
        let m = ((keys.max(1) as f64) * per_key).ceil() as usize;
        Bloom {
            bits: vec![false; m],
            k: (per_key * ln2).round() as u32,
        }
    }

    /// The key's `k` positions, by double hashing two FNV-1a hashes.
    fn positions(&self, key: &str) -> impl Iterator<Item = usize> + '_ {
        let fnv = |basis: u64| {
            key.bytes().fold(basis, |h, b| {
                (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
            })
        };
        let (h1, h2) = (fnv(0xcbf2_9ce4_8422_2325), fnv(0x8422_2325_cbf2_9ce4) | 1);
        let m = self.bits.len() as u64;
        (0..self.k as u64).map(move |i| (h1.wrapping_add(i.wrapping_mul(h2)) % m) as usize)
    }

    pub fn insert(&mut self, key: &str) {
        let positions: Vec<usize> = self.positions(key).collect();
        for p in positions {
            self.bits[p] = true;
        }
    }

    /// False: the key was surely never inserted. True: it may have been.
    pub fn may_contain(&self, key: &str) -> bool {
        self.positions(key).all(|p| self.bits[p])
    }
}

// ----- Given: an open run -----

/// An immutable sorted run, as held in memory: its sparse index (the first
/// key of each block and where the block starts) and its Bloom filter. The
/// entries stay in the file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SortedRun {
    pub id: u64,
    /// How many entries the run holds.
    pub len: usize,
    pub index: Vec<(String, u64)>,
    pub bloom: Bloom,
}

impl SortedRun {
    /// Opens run `id` from its file: reads it once to build the index and
    /// the filter (a real engine stores both in the file's footer).
    pub fn open(disk: &Disk, id: u64) -> SortedRun {
        let bytes = disk.read(&run_file(id)).unwrap_or_default();
        let mut blocks = Vec::new();
        let mut offset = 0;
        while let Some(payload) = unframe(bytes, offset) {
            blocks.push((offset as u64, read_block(bytes, offset as u64)));
            offset += HEADER + payload.len();
        }
        let len = blocks.iter().map(|(_, b)| b.len()).sum();
        let mut run = SortedRun {
            id,
            len,
            index: Vec::new(),
            bloom: Bloom::new(len),
        };
        for (offset, block) in blocks {
            if let Some((first, _)) = block.first() {
                run.index.push((first.clone(), offset));
            }
            for (key, _) in &block {
                run.bloom.insert(key);
            }
        }
        run
    }

    /// Every entry of the run, in key order (for a compaction).
    pub fn entries(&self, disk: &Disk) -> Vec<(String, Entry)> {
        let bytes = disk.read(&run_file(self.id)).unwrap_or_default();
        let offsets = self.index.iter().map(|(_, offset)| *offset);
        offsets.flat_map(|o| read_block(bytes, o)).collect()
    }

    /// The run's entry for `key`, if it has one: the index names the one
    /// block that could hold it, and that block is read from the disk.
    pub fn lookup(&self, disk: &Disk, key: &str) -> Option<Entry> {
        let block = self
            .index
            .partition_point(|(first, _)| first.as_str() <= key);
        let (_, offset) = self.index.get(block.checked_sub(1)?)?;
        let bytes = disk.read(&run_file(self.id)).ok()?;
        let entries = read_block(bytes, *offset);
        entries.into_iter().find(|(k, _)| k == key).map(|(_, e)| e)
    }
}

/// The store's node. Everything here is volatile: the disk is the truth.
#[derive(Debug, Default)]
pub struct Lsm {
    /// The writes since the last flush, newest per key.
    pub memtable: BTreeMap<String, Entry>,
    /// The live runs, oldest first.
    pub runs: Vec<SortedRun>,
    /// The number the next run file takes.
    pub next_run: u64,
    /// Where the next log record goes.
    pub log_end: u64,
    /// Runs whose blocks Gets have read from the disk (read amplification).
    pub runs_read: u64,
}

impl Lsm {
    /// A node before it has started.
    pub fn new() -> Self {
        Lsm::default()
    }

    /// The runs as a manifest names them.
    pub fn manifest(&self) -> Manifest {
        Manifest {
            runs: self.runs.iter().map(|run| run.id).collect(),
            next_run: self.next_run,
        }
    }

    /// Size-tiered: the newest [`TIER_WIDTH`] neighbouring runs whose sizes
    /// are within a factor of two of each other (every run up to
    /// 2 × [`MEMTABLE_LIMIT`] entries counts as one size), if any.
    pub fn pick_compaction(&self) -> Option<Range<usize>> {
        let last = self.runs.len().checked_sub(TIER_WIDTH)?;
        (0..=last).rev().map(|s| s..s + TIER_WIDTH).find(|tier| {
            let sizes = self.runs[tier.clone()].iter().map(|run| run.len);
            let (min, max) = (sizes.clone().min(), sizes.max());
            max <= min.map(|min| 2 * min.max(MEMTABLE_LIMIT))
        })
    }

    /// Removes every run file the manifest does not name: a flush or a
    /// compaction the power cut short leaves them (a run written but never
    /// installed, or merged runs whose removal was undone). The manifest is
    /// the truth, so they hold nothing the store needs.
    pub fn remove_orphans(&self, disk: &mut Disk) {
        let live: Vec<String> = self.runs.iter().map(|run| run_file(run.id)).collect();
        let orphans: Vec<String> = disk
            .list()
            .filter(|name| name.starts_with("run-") && !live.iter().any(|l| l == name))
            .map(String::from)
            .collect();
        for name in &orphans {
            disk.remove(name).expect("just listed");
        }
        if !orphans.is_empty() {
            disk.sync_dir();
        }
    }

    /// Reads run `i` for `key`, counting the read.
    pub fn read_run(&mut self, disk: &Disk, i: usize, key: &str) -> Option<Entry> {
        self.runs_read += 1;
        self.runs[i].lookup(disk, key)
    }
}

// ----- The store -----

impl Lsm {
    /// Recovery: the runs the manifest names, then the log replayed into
    /// the memtable. The log's torn tail, if any, is cut off so that new
    /// records follow the last whole one.
    fn recover(&mut self, disk: &mut Disk) {
        todo!("open every run MANIFEST names (SortedRun::open), oldest first, and take its next_run; remove_orphans; create LOG if missing (and sync_dir); replay read_log into the memtable; truncate LOG to where its whole records end, sync it, and set log_end there")
    }

    /// A Put (`Some`) or a Delete (`None`): logged and synced, then into
    /// the memtable, then acknowledged; a full memtable is flushed.
    fn write(&mut self, ctx: &mut Ctx<Self>, id: RequestId, key: String, entry: Entry) {
        todo!("append encode_record at log_end and sync LOG; insert into the memtable; reply Done; flush once the memtable holds MEMTABLE_LIMIT keys")
    }

    /// The newest entry for `key`: the memtable's, else the first run's
    /// from the newest, skipping a run whose filter rules the key out.
    fn get(&mut self, disk: &Disk, key: &str) -> Option<String> {
        todo!("the memtable's entry if it has one; else for each run from the newest: skip it unless bloom.may_contain(key), else read_run, and the first entry found answers; a tombstone (None) answers None")
    }

    /// Writes `entries` as run file `next_run` (synced) and returns the
    /// run opened; the manifest does not name it yet.
    pub fn write_run(&mut self, disk: &mut Disk, entries: &BTreeMap<String, Entry>) -> SortedRun {
        todo!("create run_file(next_run), write encode_run(entries) at 0, sync it; next_run += 1; return SortedRun::open of it")
    }

    /// Makes the current runs the durable truth: the manifest is written
    /// to a temporary file, synced, renamed over [`MANIFEST`], and the
    /// directory synced (which also makes the new run files' names last).
    pub fn install_manifest(&mut self, disk: &mut Disk) {
        todo!("write encode_manifest(&self.manifest()) to a fresh MANIFEST_TMP, sync it, rename it over MANIFEST, sync_dir")
    }

    /// The memtable becomes the newest run. The log may be emptied only
    /// once the manifest naming that run is durable: until then, the log
    /// is the only durable copy of those writes.
    pub fn flush(&mut self, disk: &mut Disk) {
        todo!("write_run the memtable (taken, leaving it empty), push it as the newest run, install_manifest; then truncate LOG to 0, sync it, log_end = 0; then compact while pick_compaction finds runs to merge")
    }

    /// Merges the runs in `tier` (neighbours, oldest first) into one that
    /// takes their place. Newer entries win. A tombstone is kept unless the
    /// tier starts at the oldest run: an older run outside the merge may
    /// still hold the value it deletes.
    pub fn compact(&mut self, disk: &mut Disk, tier: Range<usize>) {
        todo!("merge the tier's entries oldest run first (a later insert wins); drop tombstones only if tier.start == 0; write_run the result, splice it in place of the tier, install_manifest, then remove the old run files and sync_dir")
    }
}

impl Node for Lsm {
    type Msg = ();
    type Timer = ();
    type Request = Request;
    type Reply = Reply;

    /// On start and on every restart: recover from the disk.
    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        self.recover(ctx.disk());
    }

    fn on_message(&mut self, _ctx: &mut Ctx<Self>, _from: NodeId, _msg: ()) {}

    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, req: Request) {
        match req {
            Request::Put { key, value } => self.write(ctx, id, key, Some(value)),
            Request::Delete { key } => self.write(ctx, id, key, None),
            Request::Get { key } => {
                let value = self.get(ctx.disk(), &key);
                ctx.reply(id, Reply::Value(value));
            }
        }
    }
}
