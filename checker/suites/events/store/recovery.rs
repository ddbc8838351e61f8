//! Recovery beyond the torn tail: what `open` reports, and whole records
//! that do not belong in the log.
//!
//! A record can be whole (its length and checksum agree) and still not be
//! an event of this log: a payload that does not decode, or an event whose
//! version is not the next of its stream (a batch written twice, a record
//! from another file). Recovery stops at the first such record, as at a torn
//! one, and cuts the file there: everything after it is dropped, and the
//! next append follows the last good record.

use super::log::{batch_for, Log, TempDir};
use super::{recovers_then_appends, TORN};
use crate::subject::events::store::{
    encode_frame, encode_payload, Event, EventStore, ExpectedVersion, Recovery,
};
use dscheck::{ensure, Failure, Property};

pub const REPORT: Property = Property {
    name: "open reports how many records it kept and how many bytes it cut off",
    hint: "after the scan, recovery = Recovery { records: the events indexed, truncated_bytes: bytes.len() - offset } (0 for a clean file)",
    when: &[],
};

/// The log the recovery tests damage: (stream, version before) of each
/// one-event append.
const APPENDS: [(&str, u64); 5] = [("a", 0), ("b", 0), ("a", 1), ("b", 1), ("a", 2)];

/// Writes the log of [`APPENDS`] with `L`, and returns its bytes.
fn clean_log<L: Log>(dir: &TempDir) -> Result<Vec<u8>, Failure> {
    let path = dir.file("clean.log");
    let mut log = L::open(&path).map_err(|e| Failure::new(TORN, format!("open failed: {e}")))?;
    for (stream, version) in APPENDS {
        log.append(stream, version, &batch_for(stream, version, 1))
            .map_err(|e| Failure::new(TORN, format!("append failed: {e}")))?;
    }
    drop(log);
    Ok(std::fs::read(&path).expect("the log can be read"))
}

/// A whole record (right length, right checksum) of `event`.
fn record(stream: &str, version: u64) -> Vec<u8> {
    let event = Event {
        stream: stream.to_string(),
        version,
        data: batch_for(stream, version - 1, 1).remove(0),
    };
    encode_frame(&encode_payload(&event))
}

/// Whole records that do not belong, each appended to the clean log and
/// followed by a record that would belong: recovery must keep the clean
/// log's events only, and an append after it must be read back.
pub fn whole_records_that_do_not_belong<L: Log>() -> Result<(), Failure> {
    let dir = TempDir::new("misplaced");
    let clean = clean_log::<L>(&dir)?;
    let mut version_zero = encode_payload(&Event {
        stream: "a".to_string(),
        version: 1,
        data: b"zero".to_vec(),
    });
    version_zero[..8].copy_from_slice(&0u64.to_le_bytes());
    let intruders: [(&str, Vec<u8>); 5] = [
        (
            "a record whose payload is 3 bytes (too short to decode)",
            encode_frame(b"abc"),
        ),
        (
            "a record whose event has version 0",
            encode_frame(&version_zero),
        ),
        ("a second copy of the last record (a#3)", record("a", 3)),
        (
            "a record of a#5 after a#3 (a version skipped)",
            record("a", 5),
        ),
        ("a record of c#2 where c has no event", record("c", 2)),
    ];
    for (what, intruder) in intruders {
        let mut bytes = clean.clone();
        bytes.extend_from_slice(&intruder);
        // What follows the intruder would belong, were it not after it.
        bytes.extend_from_slice(&record("b", 3));
        let path = dir.file("damaged.log");
        std::fs::write(&path, &bytes).expect("the damaged log can be written");
        let what = format!("{what} after the {} whole records", APPENDS.len());
        recovers_then_appends::<L>(&path, &what, APPENDS.len() as u64)?;
    }
    Ok(())
}

/// `recovery()` after opening no file, a clean log, and logs with a torn
/// record or a record that does not belong after the clean ones; then
/// again after the cut and an append, with nothing left to cut.
pub fn open_reports_what_it_kept_and_cut() -> Result<(), Failure> {
    let dir = TempDir::new("report");
    let clean = clean_log::<EventStore>(&dir)?;
    let torn = record("b", 3);
    let cases: [(&str, Option<Vec<u8>>); 4] = [
        ("no file at all", None),
        ("a clean log", Some(Vec::new())),
        (
            "a record cut 5 bytes short",
            Some(torn[..torn.len() - 5].to_vec()),
        ),
        ("a second copy of the last record", Some(record("a", 3))),
    ];
    for (n, (what, tail)) in cases.into_iter().enumerate() {
        let path = dir.file(&format!("report-{n}.log"));
        let expected = match &tail {
            None => Recovery::default(),
            Some(tail) => {
                let mut bytes = clean.clone();
                bytes.extend_from_slice(tail);
                std::fs::write(&path, &bytes).expect("the log can be written");
                Recovery {
                    records: APPENDS.len() as u64,
                    truncated_bytes: tail.len() as u64,
                }
            }
        };
        reported(&path, what, &expected)?;
        // The first open cut the tail and took one append.
        let cut = Recovery {
            records: expected.records + 1,
            truncated_bytes: 0,
        };
        reported(&path, &format!("{what}, opened a second time"), &cut)?;
    }
    Ok(())
}

/// Opening `path` reports `expected`, and the store takes an append.
fn reported(path: &std::path::Path, what: &str, expected: &Recovery) -> Result<(), Failure> {
    let mut store = EventStore::open(path)
        .map_err(|e| Failure::new(REPORT, format!("with {what}, open failed: {e}")))?;
    let got = store.recovery().clone();
    ensure(got == *expected, REPORT, || {
        format!("opening {what} reported {got:?}, expected {expected:?}")
    })?;
    let version = store.version("q");
    store
        .append(
            "q",
            ExpectedVersion::Exact(version),
            &batch_for("q", version, 1),
        )
        .map_err(|e| {
            Failure::new(
                REPORT,
                format!("with {what}, an append after recovery failed: {e}"),
            )
        })?;
    Ok(())
}
