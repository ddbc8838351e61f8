//! The edges of the record format and of `append`: the smallest and the
//! largest payload a record carries, and what an append must refuse
//! (an empty batch, an empty stream name, an event too large for a record)
//! without writing a byte of it.

use super::log::{data_for, TempDir};
use super::FRAMES;
use crate::subject::events::store::{
    decode_frame, encode_frame, EventStore, ExpectedVersion, Frame, StoreError, HEADER_LEN,
    MAX_PAYLOAD_LEN,
};
use dscheck::{ensure, Failure, Property};
use std::path::Path;

pub const REFUSED: Property = Property {
    name: "an append of nothing, to no stream, or of an event too large for a record is refused and writes nothing",
    hint: "check before encoding: an empty batch or an empty stream name is StoreError::Empty; an event whose payload is longer than MAX_PAYLOAD_LEN (exactly MAX_PAYLOAD_LEN fits) is StoreError::TooLarge, and then no event of the batch is written",
    when: &[],
};

/// The bytes of a payload around the data: version, name length, name.
fn payload_overhead(stream: &str) -> usize {
    8 + 2 + stream.len()
}

/// A header of zeros is a whole empty record (the CRC of nothing is 0); a
/// payload of exactly `MAX_PAYLOAD_LEN` bytes is a record, one byte more is
/// corrupt.
pub fn frames_at_the_limits() -> Result<(), Failure> {
    let empty = encode_frame(&[]);
    ensure(empty == [0; HEADER_LEN], FRAMES, || {
        format!("encode_frame of an empty payload gave {empty:?}, expected {HEADER_LEN} zero bytes (length 0, crc32 of nothing is 0)")
    })?;
    let got = decode_frame(&[0; HEADER_LEN]);
    ensure(
        got == Frame::Record {
            payload: &[],
            len: HEADER_LEN,
        },
        FRAMES,
        || {
            format!("decode_frame of exactly {HEADER_LEN} zero bytes (a header announcing an empty payload, whose crc32 is 0) gave {got:?}, expected Record {{ payload: [], len: {HEADER_LEN} }}: only fewer than HEADER_LEN bytes are Torn")
        },
    )?;
    let mut bad = vec![0; HEADER_LEN];
    bad[4] = 1;
    let got = decode_frame(&bad);
    ensure(got == Frame::Corrupt, FRAMES, || {
        format!("a header announcing an empty payload with checksum 1 (the crc32 of nothing is 0) decoded as {got:?}, expected Corrupt")
    })?;
    let largest: Vec<u8> = (0..MAX_PAYLOAD_LEN).map(|i| (i % 251) as u8).collect();
    let record = encode_frame(&largest);
    let got = decode_frame(&record);
    let whole = matches!(got, Frame::Record { payload, len } if payload.len() == MAX_PAYLOAD_LEN && len == HEADER_LEN + MAX_PAYLOAD_LEN);
    ensure(whole, FRAMES, || {
        format!("a record of a payload of exactly MAX_PAYLOAD_LEN ({MAX_PAYLOAD_LEN}) bytes decoded as {}, expected a Record of it: only a length above MAX_PAYLOAD_LEN is Corrupt", short(&got))
    })?;
    let mut over = ((MAX_PAYLOAD_LEN + 1) as u32).to_le_bytes().to_vec();
    over.extend_from_slice(&[0; 4]);
    over.resize(HEADER_LEN + MAX_PAYLOAD_LEN + 1, 0);
    let got = decode_frame(&over);
    ensure(got == Frame::Corrupt, FRAMES, || {
        format!("a header announcing MAX_PAYLOAD_LEN + 1 bytes, followed by that many, decoded as {}, expected Corrupt", short(&got))
    })
}

/// A frame as a failure shows it, without a megabyte of payload.
fn short(frame: &Frame) -> String {
    match frame {
        Frame::Record { payload, len } => {
            format!("Record {{ payload: {} bytes, len: {len} }}", payload.len())
        }
        other => format!("{other:?}"),
    }
}

/// What `append` refuses, and the largest event it must accept.
pub fn append_refuses_what_it_cannot_store() -> Result<(), Failure> {
    let dir = TempDir::new("limits");
    let path = dir.file("events.log");
    let mut store = open(&path)?;
    let first = store.append("s", ExpectedVersion::Exact(0), &[data_for("s", 1)]);
    ensure(matches!(first, Ok(1)), REFUSED, || {
        format!("the first append to stream s returned {first:?}, expected Ok(1)")
    })?;
    let fits = MAX_PAYLOAD_LEN - payload_overhead("s");
    let cases: [(&str, &str, Vec<Vec<u8>>); 4] = [
        ("an empty batch to stream s", "s", vec![]),
        (
            "one event to the stream named \"\"",
            "",
            vec![b"x".to_vec()],
        ),
        (
            "one event whose payload is MAX_PAYLOAD_LEN + 1 bytes",
            "s",
            vec![vec![7; fits + 1]],
        ),
        (
            "a batch of a small event, then one whose payload is MAX_PAYLOAD_LEN + 1 bytes",
            "s",
            vec![data_for("s", 2), vec![7; fits + 1]],
        ),
    ];
    for (what, stream, batch) in cases {
        refused(&mut store, &path, what, stream, &batch)?;
    }
    let largest: Vec<u8> = (0..fits).map(|i| (i % 253) as u8).collect();
    let got = store.append(
        "s",
        ExpectedVersion::Exact(1),
        std::slice::from_ref(&largest),
    );
    ensure(matches!(got, Ok(2)), REFUSED, || {
        format!("an event whose payload is exactly MAX_PAYLOAD_LEN bytes (it fits) returned {got:?}, expected Ok(2)")
    })?;
    drop(store);
    let store = open(&path)?;
    let read = store.read_stream("s", 2);
    let back = read.len() == 1 && read[0].event.data == largest;
    ensure(back, REFUSED, || {
        format!("after reopening, the largest event (version 2 of s) was not read back: read_stream(\"s\", 2) holds {} events", read.len())
    })
}

/// `batch` to `stream` must be refused (Empty or TooLarge) with the store
/// and its file unchanged.
fn refused(
    store: &mut EventStore,
    path: &Path,
    what: &str,
    stream: &str,
    batch: &[Vec<u8>],
) -> Result<(), Failure> {
    let size = file_len(path);
    let events = store.read_all(0).len();
    let got = store.append(stream, ExpectedVersion::Any, batch);
    let right = match &got {
        Err(StoreError::Empty) => batch.is_empty() || stream.is_empty(),
        Err(StoreError::TooLarge { .. }) => !batch.is_empty() && !stream.is_empty(),
        _ => false,
    };
    let shown = match &got {
        Ok(v) => format!("Ok({v})"),
        Err(e) => format!("Err({e})"),
    };
    ensure(right, REFUSED, || {
        let expected = if batch.is_empty() || stream.is_empty() {
            "Err(Empty)"
        } else {
            "Err(TooLarge)"
        };
        format!("appending {what} returned {shown}, expected {expected}")
    })?;
    let now = file_len(path);
    let held = store.read_all(0).len();
    ensure(now == size && held == events, REFUSED, || {
        format!("appending {what} was refused, but the file went from {size} to {now} bytes and the store from {events} to {held} events")
    })
}

fn open(path: &Path) -> Result<EventStore, Failure> {
    EventStore::open(path).map_err(|e| Failure::new(REFUSED, format!("open failed: {e}")))
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}
