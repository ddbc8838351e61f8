//! Durable storage: the part of a node's state that survives a crash.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;

/// A node's durable key-value store. Values are kept serialised, as on a
/// disk, so what comes back after a restart is exactly what was written.
#[derive(Clone, Debug, Default)]
pub struct Storage {
    pub(crate) entries: BTreeMap<String, Vec<u8>>,
    bytes_written: u64,
    changes: u64,
}

impl Storage {
    /// Writes `value` under `key`, replacing what was there.
    pub fn put<T: Serialize>(&mut self, key: &str, value: &T) {
        let bytes = serde_json::to_vec(value).expect("a value written to storage must serialise");
        self.bytes_written += bytes.len() as u64;
        self.changes += 1;
        self.entries.insert(key.to_string(), bytes);
    }

    /// Reads the value under `key`, or `None` if nothing was written there
    /// (or it was written as another type).
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.entries
            .get(key)
            .and_then(|bytes| serde_json::from_slice(bytes).ok())
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &str) {
        self.changes += 1;
        self.entries.remove(key);
    }

    /// The bytes currently stored, over all keys.
    pub fn size(&self) -> usize {
        self.entries.values().map(Vec::len).sum()
    }

    /// How many puts and removes the storage has seen: while it stays the
    /// same, so does every value. A check that reads the storage after
    /// every event can read it again only when this moved.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// The bytes written since the node was created (a cost measure).
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_values() {
        let mut s = Storage::default();
        s.put("term", &7u64);
        s.put("log", &vec!["a".to_string()]);
        assert_eq!(s.get::<u64>("term"), Some(7));
        assert_eq!(s.get::<Vec<String>>("log"), Some(vec!["a".to_string()]));
        assert_eq!(s.get::<u64>("missing"), None);
        s.remove("term");
        assert_eq!(s.get::<u64>("term"), None);
    }
}
