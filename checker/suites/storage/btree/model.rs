//! What the run's history (`common::history`) allows a key of the tree to
//! hold, and a Get or a Scan to return, at any moment.

use crate::storage::common::history::{allowed, shown, Write};
use std::collections::BTreeMap;

/// The history's writes by key (`common::history::by_key`).
pub(super) type Writes<'h> = BTreeMap<&'h str, Vec<Write<'h>>>;

/// Why `key` holding `now` breaks the history, if it does.
pub(super) fn check_key(writes: &Writes, key: &str, now: Option<&str>) -> Result<(), String> {
    let allowed = allowed(writes.get(key).map_or(&[], Vec::as_slice));
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
