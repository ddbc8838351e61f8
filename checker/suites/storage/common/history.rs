//! The model of every storage suite: the run's history. For each key, the
//! writes in the order they reached the one node (which serves them all,
//! in that order). The latest acknowledged one is the floor: what the store
//! holds for the key, at any moment and after any power cut, and what a
//! read returns, is that write or one that arrived after it.

use super::Engine;
use dsim::{Operation, Sim, Time};
use std::collections::BTreeMap;

/// One write to a key, as the history has it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Write<'h> {
    /// The value written; `None` for a delete.
    pub value: Option<&'h str>,
    /// When it was acknowledged, if it is.
    pub acked: Option<Time>,
}

/// The key written by `op` and the write, if it is one.
pub fn write_of<N: Engine>(op: &Operation<N>) -> Option<(&str, Write<'_>)> {
    let (key, value) = N::write(&op.request)?;
    let acked = op.completion.as_ref().map(|(_, at)| *at);
    Some((key, Write { value, acked }))
}

/// The history's writes by key, each key's in the order they arrived.
pub fn by_key<N: Engine>(sim: &Sim<N>) -> BTreeMap<&str, Vec<Write<'_>>> {
    let mut writes: BTreeMap<&str, Vec<Write>> = BTreeMap::new();
    for (key, write) in sim.history().iter().filter_map(write_of) {
        writes.entry(key).or_default().push(write);
    }
    writes
}

/// The floor of a key's `writes`: the latest acknowledged now, if any.
pub fn floor(writes: &[Write]) -> Option<usize> {
    writes.iter().rposition(|w| w.acked.is_some())
}

/// What a key whose writes are `writes` may hold now: the floor (absent if
/// no write is acknowledged) and each write that arrived after it, `None`
/// standing for absent. The first is the floor's.
pub fn allowed<'h>(writes: &[Write<'h>]) -> Vec<Option<&'h str>> {
    let floor = floor(writes);
    let mut allowed = if floor.is_none() { vec![None] } else { vec![] };
    allowed.extend(writes[floor.unwrap_or(0)..].iter().map(|w| w.value));
    allowed
}

/// Whether some client wrote `value` (to any key).
#[cfg_attr(not(exercise = "storage_wal"), allow(dead_code))] // only storage_wal's ATOMIC asks
pub fn written<N: Engine>(sim: &Sim<N>, value: &str) -> bool {
    sim.history()
        .iter()
        .any(|op| N::write(&op.request).is_some_and(|(_, v)| v == Some(value)))
}

/// A value as a failure shows it: quoted, cut after 24 characters (with its
/// length), or "absent".
pub fn shown(value: Option<&str>) -> String {
    match value {
        None => "absent".to_string(),
        Some(v) if v.chars().count() <= 24 => format!("{v:?}"),
        Some(v) => {
            let start: String = v.chars().take(24).collect();
            format!("{start:?}… ({} bytes)", v.len())
        }
    }
}
