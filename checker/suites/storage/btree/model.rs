//! The model: the run's history of writes, and what it allows a key to
//! hold (or a read to return) at any moment.

use super::Tree;
use crate::subject::storage::btree::Request;
use dsim::Sim;
use std::collections::BTreeMap;

/// The history's writes by key: each value (`None` for a delete) and
/// whether it is acknowledged, in the order they arrived.
pub(super) type Writes<'h> = BTreeMap<&'h str, Vec<(Option<&'h str>, bool)>>;

pub(super) fn writes<N: Tree>(sim: &Sim<N>) -> Writes<'_> {
    let mut writes = Writes::new();
    for op in sim.history() {
        let (key, value) = match &op.request {
            Request::Put { key, value } => (key, Some(value.as_str())),
            Request::Delete { key } => (key, None),
            _ => continue,
        };
        writes
            .entry(key.as_str())
            .or_default()
            .push((value, op.is_complete()));
    }
    writes
}

/// What the history allows `key` to hold now: the floor (the latest write
/// to it acknowledged now; absent if none is) and every write after it.
pub(super) fn allowed<'h>(writes: &Writes<'h>, key: &str) -> Vec<Option<&'h str>> {
    let Some(writes) = writes.get(key) else {
        return vec![None];
    };
    let floor = writes.iter().rposition(|(_, acked)| *acked);
    let mut allowed = if floor.is_none() { vec![None] } else { vec![] };
    allowed.extend(writes[floor.unwrap_or(0)..].iter().map(|(value, _)| *value));
    allowed
}

pub(super) fn shown(value: Option<&str>) -> String {
    value.map_or("absent".into(), |v| format!("{v:?}"))
}

/// Why `key` holding `now` breaks the history, if it does.
pub(super) fn check_key(writes: &Writes, key: &str, now: Option<&str>) -> Result<(), String> {
    let allowed = allowed(writes, key);
    if allowed.contains(&now) {
        return Ok(());
    }
    Err(format!(
        "{key:?} is {}, but the latest acknowledged write to it left {}",
        shown(now),
        shown(allowed[0])
    ))
}

/// Why the answer `got` to a Scan of `from..to` breaks the history, if it does.
pub(super) fn scan_answer(
    writes: &Writes,
    from: &str,
    to: &str,
    got: &[(String, String)],
) -> Result<(), String> {
    if let Some(pair) = got.windows(2).find(|pair| pair[0].0 >= pair[1].0) {
        return Err(format!(
            "a Scan of {from:?}..{to:?} returned {:?} before {:?}",
            pair[0].0, pair[1].0
        ));
    }
    if let Some((key, _)) = got
        .iter()
        .find(|(k, _)| k.as_str() < from || k.as_str() >= to)
    {
        return Err(format!(
            "a Scan of {from:?}..{to:?} returned {key:?}, outside its range"
        ));
    }
    let got: BTreeMap<&str, &str> = got.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let range = writes.keys().filter(|k| from <= **k && **k < to);
    for &key in range.chain(got.keys()) {
        check_key(writes, key, got.get(key).copied())
            .map_err(|why| format!("a Scan of {from:?}..{to:?} says {why}"))?;
    }
    Ok(())
}
