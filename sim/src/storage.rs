//! Durable storage: the part of a node's state that survives a crash, kept
//! in files on the node's [`Disk`].
//!
//! Each key is one file, `storage/<key>`, holding the value serialised. A
//! put replaces it the way a real store replaces a file atomically: it
//! writes the new value whole to `storage.tmp/<key>`, syncs that file,
//! renames it over `storage/<key>` and syncs the directory. A write in
//! place would not do: on this disk, as on a real one, a write that spans
//! sectors may be torn by a power cut until it is synced, and the old value
//! would be gone by then. The rename is atomic and becomes durable with
//! the directory's sync, so a power cut at any point of a put leaves the
//! old value or the new one, whole. The temporary name lives under a prefix
//! of its own, so no key's temporary file is another key's file.
//!
//! Disk operations a put makes, in order (what
//! [`Sim::power_cut_after`](crate::Sim::power_cut_after) counts): creating
//! the temporary file, writing it, syncing it, the rename, the directory's
//! sync: five. A remove of a key that is there makes two (the removal, the
//! directory's sync); of one that is not, none. A get makes none. A put is
//! durable by contract, so its syncs are counted but not drawn: the trace,
//! and a replay of Raft or Paxos, shows the protocol, while the syncs a
//! node makes of its own files on [`Ctx::disk`](crate::Ctx::disk) appear
//! as events.
//!
//! Files whose names start with `storage/` or `storage.tmp/` belong to the
//! storage: a node that also keeps files of its own on
//! [`Ctx::disk`](crate::Ctx::disk) names them otherwise.

use crate::disk::Disk;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::hash::{Hash, Hasher};

/// Where a key's value lives on the disk.
const PREFIX: &str = "storage/";
/// Where a put writes the value before renaming it into place.
const TEMP_PREFIX: &str = "storage.tmp/";

/// A node's durable key-value store, on the node's disk (which it holds:
/// [`Ctx::disk`](crate::Ctx::disk) lends that same disk). Values are kept
/// serialised, so what comes back after a restart is exactly what was
/// written. Durable the moment a value is put, as if every write were
/// followed by `fsync`: a crash and a power cut keep every put and remove.
#[derive(Clone, Debug, Default)]
pub struct Storage {
    pub(crate) disk: Disk,
    bytes_written: u64,
    changes: u64,
}

impl Storage {
    /// Writes `value` under `key`, replacing what was there: one atomic,
    /// synced replace of the key's file (see the module's documentation).
    pub fn put<T: Serialize>(&mut self, key: &str, value: &T) {
        let bytes = serde_json::to_vec(value).expect("a value written to storage must serialise");
        self.bytes_written += bytes.len() as u64;
        self.changes += 1;
        let temp = format!("{TEMP_PREFIX}{key}");
        self.undrawn(|disk| with_name(PREFIX, key, |file| disk.replace_synced(temp, file, bytes)));
    }

    /// Reads the value under `key`, or `None` if nothing was written there
    /// (or it was written as another type).
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let bytes = with_name(PREFIX, key, |file| self.disk.read(file).ok())?;
        serde_json::from_slice(bytes).ok()
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &str) {
        self.changes += 1;
        let file = format!("{PREFIX}{key}");
        if self.disk.exists(&file) {
            self.undrawn(|disk| {
                disk.remove(&file).expect("the file is there");
                disk.sync_dir();
            });
        }
    }

    /// Runs `change` on the disk, keeping its syncs out of the trace: a put
    /// or a remove is durable by contract, so a replay of Raft or Paxos
    /// shows the protocol, not the files beneath it (the disk still counts
    /// the syncs).
    fn undrawn(&mut self, change: impl FnOnce(&mut Disk)) {
        let drawn = self.disk.synced.len();
        change(&mut self.disk);
        self.disk.synced.truncate(drawn);
    }

    /// The bytes currently stored, over all keys.
    pub fn size(&self) -> usize {
        self.disk.files_under(PREFIX).map(<[u8]>::len).sum()
    }

    /// How many puts and removes the storage has seen: while it stays the
    /// same, so does every value. A check that reads the storage after
    /// every event can read it again only when this moved.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// The bytes of values put since the node was created (a cost measure;
    /// the disk's own count, [`Disk::bytes_written`], also has what other
    /// code wrote to it).
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }
}

/// Calls `f` with the name `prefix` + `key`, made on the stack when it is
/// short: checks read the storage after every event, and a read of a key
/// then costs no allocation.
fn with_name<R>(prefix: &str, key: &str, f: impl FnOnce(&str) -> R) -> R {
    let mut buf = [0u8; 64];
    let len = prefix.len() + key.len();
    if len > buf.len() {
        return f(&format!("{prefix}{key}"));
    }
    buf[..prefix.len()].copy_from_slice(prefix.as_bytes());
    buf[prefix.len()..len].copy_from_slice(key.as_bytes());
    f(std::str::from_utf8(&buf[..len]).expect("two strings joined"))
}

/// Two storages are equal when their disks are: the counters are a
/// history, not a state (the exhaustive explorer merges states by it).
impl PartialEq for Storage {
    fn eq(&self, other: &Self) -> bool {
        self.disk == other.disk
    }
}

impl Eq for Storage {}

impl Hash for Storage {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.disk.hash(h);
    }
}

#[cfg(test)]
mod tests;
