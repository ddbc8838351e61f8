//! A node's disk, with the durability rules of a real one.
//!
//! A [`Disk`] is what a node's durable state lies on: files of bytes behind
//! a volatile cache. [`Storage`](crate::Storage) keeps its keys in files
//! here (under `storage/`), replacing each atomically and syncing it, so it
//! is durable the moment a value is put; a node may keep files of its own
//! beside them. A write changes what reads see at
//! once, but survives a power cut only once the file is synced
//! ([`Disk::sync`]); a file's name (a creation, a rename, a removal)
//! survives only once the directory is synced ([`Disk::sync_dir`]). A crash
//! of the node's process loses nothing written (the operating system's
//! cache outlives the process); a power cut ([`crate::Sim::power_cut`])
//! loses what was not synced, in a way the run's seed picks:
//!
//! - unsynced writes reach the disk in the order they were made, so the
//!   disk keeps the synced contents plus some prefix of the later writes,
//!   from none of them to all;
//! - the first write that did not make it whole may be *torn*: it spans
//!   more than one [`SECTOR`], and only its first sectors were written
//!   (a sector itself is written whole or not at all);
//! - the names are those of the last directory sync: a file created since
//!   is gone, a rename since is undone, a removal since is undone.

use crate::rng::SimRng;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Bound;

/// The unit a disk writes whole: a write that spans several sectors may be
/// torn at a boundary between them by a power cut.
pub const SECTOR: u64 = 512;

/// Why a disk operation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiskError {
    /// No file has this name.
    NotFound(String),
}

impl fmt::Display for DiskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiskError::NotFound(name) => write!(f, "no file named {name:?}"),
        }
    }
}

impl std::error::Error for DiskError {}

/// A change to a file's bytes not yet synced.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Change {
    Write { offset: u64, bytes: Vec<u8> },
    Truncate { len: u64 },
}

impl Change {
    fn apply(&self, data: &mut Vec<u8>) {
        match self {
            Change::Write { offset, bytes } => {
                let (start, end) = (*offset as usize, *offset as usize + bytes.len());
                if data.len() < end {
                    data.resize(end, 0);
                }
                data[start..end].copy_from_slice(bytes);
            }
            Change::Truncate { len } => data.resize(*len as usize, 0),
        }
    }

    /// The change as far as a sector boundary inside it, drawn from `rng`
    /// (none of it if the draw is the start), or `None` for a change that
    /// cannot tear: a write within one sector, or a truncation.
    fn torn(&self, rng: &mut SimRng) -> Option<Change> {
        let (offset, bytes) = match self {
            Change::Write { offset, bytes } => (*offset, &bytes[..]),
            Change::Truncate { .. } => (0, &[][..]),
        };
        let end = offset + bytes.len() as u64;
        let first = (offset / SECTOR + 1) * SECTOR;
        let boundaries: Vec<u64> = (first..end).step_by(SECTOR as usize).collect();
        let written = rng.below(boundaries.len() as u64 + 1) as usize;
        let cut = *boundaries.get(written.checked_sub(1)?)?;
        Some(Change::Write {
            offset,
            bytes: bytes[..(cut - offset) as usize].to_vec(),
        })
    }
}

/// One file's contents: what reads see, what a power cut keeps, and the
/// changes in between, in order.
#[derive(Clone, Debug, Default)]
struct Inode {
    /// The file's number: which file a name of the last directory sync
    /// stands for, after renames.
    id: u64,
    data: Vec<u8>,
    /// What changed since the file was last synced, or `None` while what a
    /// power cut keeps is `data` itself: a sync then costs no copy of the
    /// file, a file written whole and synced at once (as
    /// [`Storage`](crate::Storage) does) is never copied, and a synced
    /// file is small to move about in the map of names. The first change
    /// after a sync copies the file.
    pending: Option<Box<Pending>>,
}

/// A file's contents as last synced, and its changes since, in order.
#[derive(Clone, Debug, Default)]
struct Pending {
    durable: Vec<u8>,
    unsynced: Vec<Change>,
}

impl Inode {
    /// What a power cut keeps of the file, before its unsynced changes.
    fn durable(&self) -> &[u8] {
        self.pending.as_ref().map_or(&self.data, |p| &p.durable)
    }

    /// The changes not yet synced, in order.
    fn unsynced(&self) -> &[Change] {
        self.pending.as_ref().map_or(&[], |p| &p.unsynced)
    }
}

/// What one power cut did to a disk, for the trace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PowerLoss {
    /// Unsynced changes that reached the disk whole.
    pub kept: usize,
    /// Unsynced changes lost (a torn one counts here).
    pub lost: usize,
    /// Whether a write was torn at a sector boundary.
    pub torn: bool,
    /// Names whose creation, rename or removal was undone.
    pub names_undone: usize,
}

impl fmt::Display for PowerLoss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} unsynced write(s) kept, {} lost{}",
            self.kept,
            self.lost,
            if self.torn { " (one torn)" } else { "" }
        )?;
        if self.names_undone > 0 {
            write!(f, ", {} name change(s) undone", self.names_undone)?;
        }
        Ok(())
    }
}

/// A node's disk: named files of bytes, with a volatile cache in front (see
/// the module's documentation for what survives a power cut).
/// Two disks are equal when they hold the same files under the same names,
/// now and after a power cut, and the same unsynced changes, however they
/// came to (the exhaustive explorer tells states apart by it): counters
/// such as [`Disk::syncs`] are not compared.
#[derive(Clone, Debug, Default)]
pub struct Disk {
    /// The files under their names now: a read is one lookup.
    names: BTreeMap<String, Inode>,
    /// The names of the last directory sync, where they may differ from
    /// `names`: each name created, renamed or removed since, with the
    /// number of the file it named then (`None`: none). Elsewhere the names
    /// are the same, so a disk whose directory is synced keeps one map of
    /// names, and a sync of the directory need not copy it.
    undo: BTreeMap<String, Option<u64>>,
    /// Files whose name went since the directory was last synced (removed,
    /// or renamed or created over): a power cut may bring one back under
    /// its old name; once the directory is synced, none can.
    unlinked: Vec<Inode>,
    next_inode: u64,
    bytes_written: u64,
    syncs: u64,
    /// Syncs made since the simulator last took them, for the trace: the
    /// file's name, or `None` for the directory.
    pub(crate) synced: Vec<Option<String>>,
    /// Operations that change the disk still to come before the power
    /// fails (`Sim::power_cut_after`), if a failure is pending.
    fail_after: Option<u64>,
    /// The power has failed in the middle of a handler: later operations
    /// reach only the cache (reads see them, so the handler runs on as it
    /// would), and the cut that ends the handler drops them.
    pub(crate) failed: bool,
}

impl Disk {
    /// Counts one operation that changes the disk against a pending
    /// failure; `false` once the power has failed.
    fn powered(&mut self) -> bool {
        match &mut self.fail_after {
            Some(0) => self.failed = true,
            Some(left) => *left -= 1,
            None => {}
        }
        !self.failed
    }

    /// The power fails just before the disk's `ops`-th next operation that
    /// changes it (0: the next one). See [`crate::Sim::power_cut_after`].
    pub(crate) fn fail_after(&mut self, ops: u64) {
        self.fail_after = Some(ops);
    }

    /// Creates an empty file `name`, replacing any file of that name.
    pub fn create(&mut self, name: &str) {
        self.powered();
        let inode = Inode {
            id: self.next_inode,
            ..Inode::default()
        };
        self.next_inode += 1;
        self.renaming(name);
        if let Some(old) = self.names.insert(name.to_string(), inode) {
            self.unlinked.push(old);
        }
    }

    /// Keeps what `name` stood for at the last directory sync, before a
    /// creation, rename or removal changes it.
    fn renaming(&mut self, name: &str) {
        if !self.undo.contains_key(name) {
            let durable = self.names.get(name).map(|inode| inode.id);
            self.undo.insert(name.to_string(), durable);
        }
    }

    /// Whether a file is named `name`.
    pub fn exists(&self, name: &str) -> bool {
        self.names.contains_key(name)
    }

    /// Every file's name, in order.
    pub fn list(&self) -> impl Iterator<Item = &str> {
        self.names.keys().map(String::as_str)
    }

    /// The contents of the files whose names start with `prefix`.
    pub(crate) fn files_under<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a [u8]> {
        self.names
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(move |(name, _)| name.starts_with(prefix))
            .map(|(_, inode)| &inode.data[..])
    }

    /// The whole of file `name` as reads see it now.
    pub fn read(&self, name: &str) -> Result<&[u8], DiskError> {
        Ok(&self.inode(name)?.data)
    }

    /// The length of file `name`.
    pub fn len(&self, name: &str) -> Result<u64, DiskError> {
        Ok(self.inode(name)?.data.len() as u64)
    }

    /// Writes `bytes` at `offset` of file `name` (beyond its end, the gap
    /// reads as zeros). Durable only after [`Disk::sync`].
    pub fn write_at(&mut self, name: &str, offset: u64, bytes: &[u8]) -> Result<(), DiskError> {
        self.write_vec(name, offset, bytes.to_vec())
    }

    /// [`Disk::write_at`] of bytes the caller gives up, which the unsynced
    /// change then keeps without a copy.
    pub(crate) fn write_vec(
        &mut self,
        name: &str,
        offset: u64,
        bytes: Vec<u8>,
    ) -> Result<(), DiskError> {
        if self.powered() {
            self.bytes_written += bytes.len() as u64;
        }
        self.change(name, Change::Write { offset, bytes })
    }

    /// Appends `bytes` to file `name`, returning the offset they start at.
    pub fn append(&mut self, name: &str, bytes: &[u8]) -> Result<u64, DiskError> {
        let offset = self.len(name)?;
        self.write_at(name, offset, bytes)?;
        Ok(offset)
    }

    /// Cuts (or extends with zeros) file `name` to `len` bytes.
    pub fn truncate(&mut self, name: &str, len: u64) -> Result<(), DiskError> {
        self.powered();
        self.change(name, Change::Truncate { len })
    }

    /// Makes every change to file `name` durable (`fsync`). Its name is
    /// durable only once the directory is synced.
    pub fn sync(&mut self, name: &str) -> Result<(), DiskError> {
        let powered = self.powered();
        let inode = self.inode_mut(name)?;
        if !powered {
            return Ok(());
        }
        inode.pending = None;
        self.syncs += 1;
        self.synced.push(Some(name.to_string()));
        Ok(())
    }

    /// Renames `from` to `to`, replacing any file named `to`. Atomic, and
    /// durable only after [`Disk::sync_dir`]: a power cut before it undoes
    /// the rename.
    pub fn rename(&mut self, from: &str, to: &str) -> Result<(), DiskError> {
        self.powered();
        if !self.names.contains_key(from) {
            return Err(DiskError::NotFound(from.to_string()));
        }
        self.renaming(from);
        self.renaming(to);
        let inode = self.names.remove(from).expect("checked above");
        if let Some(old) = self.names.insert(to.to_string(), inode) {
            self.unlinked.push(old);
        }
        Ok(())
    }

    /// Removes file `name` (durable after [`Disk::sync_dir`]).
    pub fn remove(&mut self, name: &str) -> Result<(), DiskError> {
        self.powered();
        if !self.names.contains_key(name) {
            return Err(DiskError::NotFound(name.to_string()));
        }
        self.renaming(name);
        let inode = self.names.remove(name).expect("checked above");
        self.unlinked.push(inode);
        Ok(())
    }

    /// Makes the current names durable: creations, renames and removals
    /// made so far survive a power cut.
    pub fn sync_dir(&mut self) {
        if !self.powered() {
            return;
        }
        self.undo.clear();
        self.unlinked.clear();
        self.syncs += 1;
        self.synced.push(None);
    }

    /// Replaces file `to` with one holding `bytes` the way a careful store
    /// does: creates `temp`, writes `bytes` to it, syncs it, renames it to
    /// `to` and syncs the directory, five operations, each counted against
    /// a pending power failure and each sync counted and recorded. When no failure can
    /// fall among them it goes straight to their outcome, which is the
    /// same (a test holds it so), without copying the bytes or keeping
    /// names to undo: [`Storage`](crate::Storage) puts this way on the hot
    /// path of every protocol's suite.
    pub(crate) fn replace_synced(&mut self, temp: String, to: &str, bytes: Vec<u8>) {
        const OPS: u64 = 5;
        let clear = !self.failed && self.fail_after.is_none_or(|left| left >= OPS);
        if !clear {
            self.create(&temp);
            self.write_vec(&temp, 0, bytes)
                .and_then(|()| self.sync(&temp))
                .and_then(|()| self.rename(&temp, to))
                .expect("the file was just created");
            self.sync_dir();
            return;
        }
        if let Some(left) = &mut self.fail_after {
            *left -= OPS;
        }
        self.bytes_written += bytes.len() as u64;
        self.syncs += 2;
        self.names.remove(&temp);
        self.synced.push(Some(temp));
        self.synced.push(None);
        let file = Inode {
            id: self.next_inode,
            data: bytes,
            ..Inode::default()
        };
        self.next_inode += 1;
        match self.names.get_mut(to) {
            Some(old) => *old = file,
            None => {
                self.names.insert(to.to_string(), file);
            }
        }
        self.undo.clear();
        self.unlinked.clear();
    }

    /// The bytes written since the disk was created (a cost measure).
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }

    /// The syncs (of files and of the directory) since the disk was created.
    pub fn syncs(&self) -> u64 {
        self.syncs
    }

    /// Whether everything written, and every name, would survive a power cut.
    pub fn is_synced(&self) -> bool {
        self.names_undone() == 0 && self.names.values().all(|inode| inode.unsynced().is_empty())
    }

    /// The power goes out: what was not synced is lost as the module's
    /// documentation says, with the choices drawn from `rng`. A simulation
    /// calls it through [`crate::Sim::power_cut`]; a test of a storage
    /// engine that runs on a disk of its own (no nodes, no network) calls it
    /// directly, with a generator seeded from the test's seed.
    pub fn power_cut(&mut self, rng: &mut SimRng) -> PowerLoss {
        let mut loss = PowerLoss {
            names_undone: self.names_undone(),
            ..PowerLoss::default()
        };
        self.fail_after = None;
        self.failed = false;
        self.undo_names();
        // In the order the files were made, as the draws always were.
        let mut files: Vec<&mut Inode> = self.names.values_mut().collect();
        files.sort_by_key(|inode| inode.id);
        for inode in files {
            let n = inode.unsynced().len();
            let reached = rng.below(n as u64 + 1) as usize;
            let Some(pending) = inode.pending.take() else {
                continue;
            };
            let Pending {
                durable: mut data,
                unsynced,
            } = *pending;
            for change in &unsynced[..reached] {
                change.apply(&mut data);
            }
            if let Some(part) = unsynced.get(reached).and_then(|next| next.torn(rng)) {
                part.apply(&mut data);
                loss.torn = true;
            }
            loss.kept += reached;
            loss.lost += n - reached;
            inode.data = data;
        }
        loss
    }

    /// The names whose creation, rename or removal a power cut would undo.
    fn names_undone(&self) -> usize {
        self.undo
            .iter()
            .filter(|(name, durable)| self.names.get(*name).map(|i| i.id) != **durable)
            .count()
    }

    /// Brings back the names of the last directory sync, each over the
    /// file it stood for then; the files no name stands for are gone.
    fn undo_names(&mut self) {
        let undo = std::mem::take(&mut self.undo);
        let mut pool = std::mem::take(&mut self.unlinked);
        for name in undo.keys() {
            pool.extend(self.names.remove(name));
        }
        for (name, durable) in undo {
            if let Some(id) = durable {
                let at = pool.iter().position(|inode| inode.id == id);
                let inode = pool.swap_remove(at.expect("a durable file is kept until synced"));
                self.names.insert(name, inode);
            }
        }
    }

    fn change(&mut self, name: &str, change: Change) -> Result<(), DiskError> {
        let failed = self.failed;
        let inode = self.inode_mut(name)?;
        let pending = inode.pending.get_or_insert_with(|| {
            Box::new(Pending {
                durable: inode.data.clone(),
                unsynced: Vec::new(),
            })
        });
        change.apply(&mut inode.data);
        if !failed {
            pending.unsynced.push(change);
        }
        Ok(())
    }

    fn inode(&self, name: &str) -> Result<&Inode, DiskError> {
        self.names
            .get(name)
            .ok_or_else(|| DiskError::NotFound(name.to_string()))
    }

    fn inode_mut(&mut self, name: &str) -> Result<&mut Inode, DiskError> {
        self.names
            .get_mut(name)
            .ok_or_else(|| DiskError::NotFound(name.to_string()))
    }
}

mod compare;
#[cfg(test)]
mod tests;
