//! events_store: framing, optimistic concurrency, recovery of a torn tail,
//! a writer process killed mid-append, again and again, and a simulated
//! disk whose power goes out.

pub mod concurrency;
pub mod kill;
pub mod limits;
pub mod log;
pub mod power;
pub mod recovery;
pub mod wrong;

use crate::expect_caught;
use crate::subject::events::store::{
    decode_frame, encode_frame, EventStore, ExpectedVersion, Frame, RecordedEvent, StoreError,
    HEADER_LEN,
};
use dscheck::{ensure, Failure, Property, Suite};
use dsim::SimRng;
use kill::{crash_rounds, Kill, Which};
use log::{batch_for, data_for, show, Log, TempDir};
use std::collections::BTreeMap;
use std::path::Path;

pub const FRAMES: Property = Property {
    name: "a record decodes to its payload, and a damaged record never does",
    hint: "encode_frame is length (u32 LE), crc32 of the payload (u32 LE), payload. decode_frame: fewer than HEADER_LEN bytes, or fewer than HEADER_LEN + length, is Torn; a length above MAX_PAYLOAD_LEN or a checksum that differs is Corrupt",
    when: &[],
};
pub const ROUND_TRIP: Property = Property {
    name: "a reopened store reads back exactly what was appended",
    hint: "open must rebuild the in-memory index (events and stream versions) from every record in the file, in order",
    when: &[],
};
pub const CONFLICT: Property = Property {
    name: "an append at a stale expected version is refused with a Conflict and writes nothing",
    hint: "compare the expected version with the stream's current version before encoding anything; on a mismatch return StoreError::Conflict { stream, expected, actual } and write nothing",
    when: &[],
};
pub const INTACT: Property = Property {
    name: "every event read back is whole, in order, with its own data",
    hint: "a record is used only if decode_frame says Record and decode_payload succeeds; a record whose version is not the stream's version + 1 is a sign of damage too",
    when: &[],
};
pub const TORN: Property = Property {
    name: "recovery keeps every whole record and drops a torn or corrupt tail",
    hint: "scan from offset 0 and stop at the first record that is not a whole Record (torn, corrupt, or a payload that does not decode); keep everything before it",
    when: &[],
};
pub const AFTER_RECOVERY: Property = Property {
    name: "an event appended after recovery is read back after reopening",
    hint: "after the scan, cut the file at the end of the last good record (file.set_len(offset)) and sync it: otherwise the next append lands after the garbage and the next recovery stops before it",
    when: &[],
};
pub const KEPT: Property = Property {
    name: "an acknowledged event survives the writer being killed or the power failing",
    hint: "append returns Ok only after write_all of the whole batch and file.sync_data() have both returned (build the batch in one Vec<u8> and write it once); open_in syncs the folder after creating the file, or a power cut takes the new file's name",
    when: &[],
};

pub fn tests(suite: Suite) -> Suite {
    suite
        .test("store::frames_round_trip_and_damage_is_detected", frames)
        .test("store::a_reopened_store_reads_back_every_event", round_trip)
        .test("store::a_stale_expected_version_is_a_conflict", conflict)
        .seeded(
            "store::optimistic_concurrency_compares_each_streams_own_version",
            5,
            concurrency::conflicts_across_streams::<EventStore>,
        )
        .test("store::frames_at_the_limits_of_the_payload_length", limits::frames_at_the_limits)
        .test(
            "store::append_refuses_what_it_cannot_store_and_writes_nothing",
            limits::append_refuses_what_it_cannot_store,
        )
        .test(
            "store::recovery_stops_at_a_whole_record_that_does_not_belong",
            recovery::whole_records_that_do_not_belong::<EventStore>,
        )
        .test(
            "store::open_reports_what_it_kept_and_cut",
            recovery::open_reports_what_it_kept_and_cut,
        )
        .test("store::recovery_cuts_a_torn_tail_at_every_byte", || {
            torn_tail::<EventStore>(Damage::Truncate)
        })
        .test("store::recovery_cuts_a_corrupt_tail", || {
            torn_tail::<EventStore>(Damage::FlipByte)
        })
        .test("store::recovery_cuts_a_tail_of_zeros", || {
            torn_tail::<EventStore>(Damage::Zeros)
        })
        .test(
            "store::no_acknowledged_event_is_lost_when_the_writer_is_killed_after_acks",
            || {
                crash_rounds::<EventStore>(Which::Subject, 10, |rng| {
                    Kill::AfterAcks(rng.range(1..=12))
                })
            },
        )
        .test(
            "store::no_acknowledged_event_is_lost_when_the_writer_is_killed_mid_append",
            || {
                crash_rounds::<EventStore>(Which::Subject, 10, |rng| {
                    Kill::AfterMicros(rng.range(0..=3_000))
                })
            },
        )
        .seeded(
            "store::no_acknowledged_event_is_lost_when_the_power_is_cut",
            12,
            power::power_cuts,
        )
        .test("meta::a_store_that_never_syncs_its_file_is_caught", || {
            let lies = power::Lies {
                file_sync: true,
                ..power::Lies::default()
            };
            expect_caught(KEPT, |seed| power::power_cuts_on(seed, lies))
        })
        .test("meta::a_store_that_never_syncs_the_new_files_folder_is_caught", || {
            let lies = power::Lies {
                folder_sync: true,
                ..power::Lies::default()
            };
            expect_caught(KEPT, |seed| power::power_cuts_on(seed, lies))
        })
        .test("meta::a_store_that_acks_before_writing_is_caught", || {
            expect_caught(KEPT, |_| {
                crash_rounds::<wrong::Flawed<wrong::AcksEarly>>(Which::AcksEarly, 6, |rng| {
                    Kill::AfterAcks(rng.range(1..=25))
                })
            })
        })
        .test("meta::recovery_that_leaves_the_torn_tail_is_caught", || {
            expect_caught(AFTER_RECOVERY, |_| {
                torn_tail::<wrong::Flawed<wrong::LeavesTornTail>>(Damage::Truncate)
            })
        })
        .test("meta::recovery_that_trusts_a_records_version_is_caught", || {
            expect_caught(INTACT, |_| {
                recovery::whole_records_that_do_not_belong::<wrong::Flawed<wrong::TrustsVersions>>()
            })
        })
        .meta_misread()
}

/// The meta tests of optimistic concurrency: stores that compare the
/// expected version with the wrong number, made from the reference.
trait MetaMisread {
    fn meta_misread(self) -> Self;
}

impl MetaMisread for Suite {
    #[cfg(bugs)]
    fn meta_misread(self) -> Suite {
        use concurrency::{conflicts_across_streams, OWN_VERSION};
        use wrong::misread::{LastStream, LogLength, Misreads};
        self.test(
            "meta::a_store_comparing_with_the_logs_length_is_caught",
            || expect_caught(OWN_VERSION, conflicts_across_streams::<Misreads<LogLength>>),
        )
        .test(
            "meta::a_store_comparing_with_another_streams_version_is_caught",
            || {
                expect_caught(
                    OWN_VERSION,
                    conflicts_across_streams::<Misreads<LastStream>>,
                )
            },
        )
    }
    #[cfg(not(bugs))]
    fn meta_misread(self) -> Suite {
        self
    }
}

/// Checks that `events` (a whole log, read back) is in order and intact:
/// positions 0, 1, 2…; each stream's versions 1, 2, 3…; each event's data
/// the data written for it.
pub fn check_intact(events: &[RecordedEvent], when: &str) -> Result<(), Failure> {
    let mut versions: BTreeMap<&str, u64> = BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        let version = versions.entry(e.event.stream.as_str()).or_insert(0);
        *version += 1;
        let expected = data_for(&e.event.stream, e.event.version);
        let fine =
            e.position == i as u64 && e.event.version == *version && e.event.data == expected;
        ensure(fine, INTACT, || {
            format!(
                "{when}, the event read at place {i} of the log is {}\n  expected position {i}, version {} of {}, data {:?}",
                show(e),
                version,
                e.event.stream,
                String::from_utf8_lossy(&expected)
            )
        })?;
    }
    Ok(())
}

fn frames() -> Result<(), Failure> {
    let mut rng = SimRng::new(11);
    for case in 0..40 {
        let payload: Vec<u8> = (0..rng.range(1..=60))
            .map(|_| rng.below(256) as u8)
            .collect();
        let record = encode_frame(&payload);
        let mut bytes = record.clone();
        bytes.extend_from_slice(&encode_frame(b"the next record"));
        let whole = decode_frame(&bytes);
        ensure(
            whole
                == Frame::Record {
                    payload: &payload,
                    len: record.len(),
                },
            FRAMES,
            || {
                format!("case {case}: decode_frame(encode_frame(p) followed by another record) gave {whole:?}\n  expected Record {{ payload: p, len: {} }} with p = {payload:?}", record.len())
            },
        )?;
        ensure(record.len() == HEADER_LEN + payload.len(), FRAMES, || {
            format!("case {case}: a payload of {} bytes was framed in {} bytes, expected {} (header + payload)", payload.len(), record.len(), HEADER_LEN + payload.len())
        })?;
        for cut in 0..record.len() {
            let got = decode_frame(&record[..cut]);
            ensure(got == Frame::Torn, FRAMES, || {
                format!("case {case}: the first {cut} of the record's {} bytes decoded as {got:?}, expected Torn", record.len())
            })?;
        }
        for at in 0..record.len() {
            let mut damaged = record.clone();
            damaged[at] ^= 1 << (at % 8);
            let got = decode_frame(&damaged);
            ensure(!matches!(got, Frame::Record { .. }), FRAMES, || {
                format!("case {case}: with one bit flipped in byte {at} (of {}), the record still decoded as {got:?}", record.len())
            })?;
        }
    }
    let mut huge = (u32::MAX).to_le_bytes().to_vec();
    huge.extend_from_slice(&[0; 64]);
    let got = decode_frame(&huge);
    ensure(got == Frame::Corrupt, FRAMES, || {
        format!("a header announcing a payload of {} bytes (above MAX_PAYLOAD_LEN) decoded as {got:?}, expected Corrupt", u32::MAX)
    })
}

/// Opens the subject's store at `path`, as a failure of `property`.
fn open(path: &Path, property: Property) -> Result<EventStore, Failure> {
    EventStore::open(path).map_err(|e| Failure::new(property, format!("open failed: {e}")))
}

fn round_trip() -> Result<(), Failure> {
    let dir = TempDir::new("round-trip");
    let path = dir.file("events.log");
    let mut rng = SimRng::new(7);
    let mut written: Vec<(String, u64)> = Vec::new();
    for step in 0..30 {
        let mut store = open(&path, ROUND_TRIP)?;
        for _ in 0..rng.range(1..=3) {
            let stream = *rng.pick(&["a", "b", "c"]);
            let version = store.version(stream);
            let count = rng.range(1..=3);
            let new = store
                .append(
                    stream,
                    ExpectedVersion::Exact(version),
                    &batch_for(stream, version, count),
                )
                .map_err(|e| {
                    Failure::new(
                        ROUND_TRIP,
                        format!("step {step}: append to {stream} at version {version} failed: {e}"),
                    )
                })?;
            ensure(new == version + count, ROUND_TRIP, || {
                format!("step {step}: appending {count} events to {stream} at version {version} returned version {new}, expected {}", version + count)
            })?;
            written.extend((version + 1..=new).map(|v| (stream.to_string(), v)));
        }
        drop(store);
        let store = open(&path, ROUND_TRIP)?;
        let events = Log::events(&store);
        let read: Vec<(String, u64)> = events
            .iter()
            .map(|e| (e.event.stream.clone(), e.event.version))
            .collect();
        ensure(read == written, ROUND_TRIP, || {
            format!("step {step}: after reopening, the log holds (stream, version)\n  {read:?}\n  expected\n  {written:?}")
        })?;
        check_intact(&events, &format!("step {step}, after reopening"))?;
        let b_from_2: Vec<u64> = store
            .read_stream("b", 2)
            .iter()
            .map(|e| e.event.version)
            .collect();
        let expected: Vec<u64> = (2..=store.version("b")).collect();
        ensure(b_from_2 == expected, ROUND_TRIP, || {
            format!("step {step}: read_stream(\"b\", 2) gave versions {b_from_2:?}, expected {expected:?}")
        })?;
    }
    Ok(())
}

fn conflict() -> Result<(), Failure> {
    let dir = TempDir::new("conflict");
    let path = dir.file("events.log");
    let mut store = open(&path, CONFLICT)?;
    let first = store.append("cart", ExpectedVersion::Exact(0), &batch_for("cart", 0, 2));
    ensure(matches!(first, Ok(2)), CONFLICT, || {
        format!("the first append of 2 events to a new stream \"cart\" (expected version 0) returned {first:?}, expected Ok(2)")
    })?;
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    for stale in [0, 1, 3] {
        let got = store.append(
            "cart",
            ExpectedVersion::Exact(stale),
            &batch_for("cart", 2, 1),
        );
        let refused = matches!(&got, Err(StoreError::Conflict { stream, expected, actual }) if stream == "cart" && *expected == stale && *actual == 2);
        ensure(refused, CONFLICT, || {
            format!("\"cart\" is at version 2; an append expecting version {stale} returned {got:?}\n  expected Err(Conflict {{ stream: \"cart\", expected: {stale}, actual: 2 }})")
        })?;
        let now = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        ensure(now == size && store.version("cart") == 2, CONFLICT, || {
            format!("a refused append changed the store: the file went from {size} to {now} bytes, the stream is at version {}", store.version("cart"))
        })?;
    }
    let any = store.append("cart", ExpectedVersion::Any, &batch_for("cart", 2, 1));
    ensure(matches!(any, Ok(3)), CONFLICT, || {
        format!("an append with ExpectedVersion::Any to \"cart\" at version 2 returned {any:?}, expected Ok(3)")
    })?;
    drop(store);
    let mut store = open(&path, CONFLICT)?;
    let got = store.append("cart", ExpectedVersion::Exact(2), &batch_for("cart", 3, 1));
    ensure(
        matches!(got, Err(StoreError::Conflict { actual: 3, .. })),
        CONFLICT,
        || {
            format!("after reopening, \"cart\" should be at version 3; an append expecting 2 returned {got:?}, expected a Conflict with actual 3")
        },
    )?;
    let got = store.append("cart", ExpectedVersion::Exact(3), &batch_for("cart", 3, 1));
    ensure(matches!(got, Ok(4)), CONFLICT, || {
        format!("after reopening, an append to \"cart\" expecting version 3 returned {got:?}, expected Ok(4)")
    })
}

/// How a test damages the last record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Damage {
    /// Cut the file at every byte of the last record.
    Truncate,
    /// Flip one bit in each byte of the last record in turn.
    FlipByte,
    /// Append a run of zero bytes after the last record (a file system
    /// that extended the file but never wrote the data).
    Zeros,
}

/// Writes a small log, damages its last record as `damage` says (each way
/// in turn, on a copy), and checks that recovery keeps exactly the records
/// before it, and that an event appended after recovery is read back.
pub fn torn_tail<L: Log>(damage: Damage) -> Result<(), Failure> {
    let dir = TempDir::new("torn");
    let clean = dir.file("clean.log");
    let mut log = L::open(&clean).map_err(|e| Failure::new(TORN, format!("open failed: {e}")))?;
    let mut boundary = 0;
    // The last record (a's fifth event, whose data has no filler) is the
    // shortest the log holds: every cut and every flip costs a recovery
    // and an append with its sync.
    for (stream, version) in [
        ("a", 0),
        ("b", 0),
        ("a", 1),
        ("a", 2),
        ("c", 0),
        ("a", 3),
        ("a", 4),
    ] {
        boundary = std::fs::metadata(&clean).map(|m| m.len()).unwrap_or(0) as usize;
        log.append(stream, version, &batch_for(stream, version, 1))
            .map_err(|e| Failure::new(TORN, format!("append failed: {e}")))?;
    }
    drop(log);
    let bytes = std::fs::read(&clean).expect("the log can be read");
    let kept = boundary;
    let damaged: Vec<(String, Vec<u8>)> = match damage {
        Damage::Truncate => (kept..bytes.len())
            .map(|cut| {
                (
                    format!(
                        "the file cut {cut} bytes in ({} bytes into the last record of {})",
                        cut - kept,
                        bytes.len() - kept
                    ),
                    bytes[..cut].to_vec(),
                )
            })
            .collect(),
        Damage::FlipByte => (kept..bytes.len())
            .map(|at| {
                let mut b = bytes.clone();
                b[at] ^= 0x10;
                (
                    format!(
                        "one bit flipped in byte {} of the last record (of {})",
                        at - kept,
                        bytes.len() - kept
                    ),
                    b,
                )
            })
            .collect(),
        Damage::Zeros => {
            let mut b = bytes.clone();
            b.extend_from_slice(&[0; 64]);
            vec![("64 zero bytes after the last record".to_string(), b)]
        }
    };
    let expected_before: u64 = if damage == Damage::Zeros { 7 } else { 6 };
    for (what, file) in damaged {
        let path = dir.file("damaged.log");
        std::fs::write(&path, &file).expect("the damaged log can be written");
        recovers_then_appends::<L>(&path, &what, expected_before)?;
    }
    Ok(())
}

/// The damaged log at `path` (`what` says how it was damaged) opens with
/// its `expected_before` whole events, intact; an append to a new stream
/// after recovery is acknowledged and read back, intact, after reopening.
pub(super) fn recovers_then_appends<L: Log>(
    path: &std::path::Path,
    what: &str,
    expected_before: u64,
) -> Result<(), Failure> {
    let mut log =
        L::open(path).map_err(|e| Failure::new(TORN, format!("with {what}, open failed: {e}")))?;
    let events = log.events();
    check_intact(&events, &format!("with {what}"))?;
    ensure(events.len() as u64 == expected_before, TORN, || {
        format!(
            "with {what}, recovery kept {} events, expected the {expected_before} whole ones before it\n  read: {}",
            events.len(),
            events.iter().map(show).collect::<Vec<_>>().join(", ")
        )
    })?;
    let version = log.version("z");
    log.append("z", version, &batch_for("z", version, 1))
        .map_err(|e| {
            Failure::new(
                AFTER_RECOVERY,
                format!("with {what}, the append after recovery failed: {e}"),
            )
        })?;
    drop(log);
    let log = L::open(path).map_err(|e| {
        Failure::new(
            AFTER_RECOVERY,
            format!("with {what}, reopening after an append failed: {e}"),
        )
    })?;
    let events = log.events();
    let last = events
        .last()
        .map(show)
        .unwrap_or_else(|| "nothing".to_string());
    ensure(
        events.len() as u64 == expected_before + 1 && log.version("z") == 1,
        AFTER_RECOVERY,
        || {
            format!(
            "with {what}: recovered, appended an event to stream z (acknowledged), reopened: the log holds {} events, expected {}; the last one read is {last}",
            events.len(),
            expected_before + 1
        )
        },
    )?;
    check_intact(
        &events,
        &format!("with {what}, after an append and a reopen"),
    )?;
    Ok(())
}
