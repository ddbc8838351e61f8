//! When two disks are the same state: by what they hold and what a power
//! cut would leave, not by how they got there. The exhaustive explorer
//! merges states by it, so the numbers a disk gives its files, and its
//! counters, must not tell apart disks that behave alike from now on.

use super::{Disk, Inode};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

impl PartialEq for Inode {
    fn eq(&self, other: &Self) -> bool {
        self.data == other.data
            && self.unsynced() == other.unsynced()
            && self.durable() == other.durable()
    }
}

impl Eq for Inode {}

/// What a name of the last directory sync stands for, where a power cut
/// would change what it names.
#[derive(PartialEq)]
enum Durable<'a> {
    /// No file.
    Nothing,
    /// The file that has this name now.
    Named(&'a str),
    /// A file that has no name now (removed, or renamed over).
    Unnamed(&'a Inode),
}

impl Disk {
    /// The names a power cut would change, each with what it would name,
    /// in terms that do not depend on the numbers the disk gives files.
    fn undo_view(&self) -> Vec<(&str, Durable<'_>)> {
        let named: HashMap<u64, &str> = self
            .names
            .iter()
            .map(|(name, inode)| (inode.id, name.as_str()))
            .collect();
        self.undo
            .iter()
            .filter(|(name, durable)| self.names.get(*name).map(|i| i.id) != **durable)
            .map(|(name, durable)| {
                let file = match durable {
                    None => Durable::Nothing,
                    Some(id) => match named.get(id) {
                        Some(now) => Durable::Named(now),
                        None => Durable::Unnamed(
                            (self.unlinked.iter())
                                .find(|inode| inode.id == *id)
                                .expect("a durable file is kept until synced"),
                        ),
                    },
                };
                (name.as_str(), file)
            })
            .collect()
    }
}

impl PartialEq for Disk {
    fn eq(&self, other: &Self) -> bool {
        // With no name changed since the last directory sync, a power cut
        // brings back the names there are now: nothing to map.
        let same_durable_names = (self.undo.is_empty() && other.undo.is_empty())
            || self.undo_view() == other.undo_view();
        self.fail_after == other.fail_after
            && self.failed == other.failed
            && self.names.len() == other.names.len()
            && self.names.iter().eq(other.names.iter())
            && same_durable_names
    }
}

impl Eq for Disk {}

/// Hashes what reads see and the unsynced changes: disks equal by
/// [`PartialEq`] agree on these, and states that differ only in what a
/// power cut keeps are rare enough to be told apart by comparison.
impl Hash for Disk {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.fail_after.hash(h);
        self.failed.hash(h);
        self.names.len().hash(h);
        for (name, inode) in &self.names {
            name.hash(h);
            inode.data.hash(h);
            inode.unsynced().hash(h);
        }
    }
}
