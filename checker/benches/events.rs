//! The event store's speed, measured on the reference: appends per second
//! with one `sync_data` per batch (batches of 1, 10 and 100 events), and
//! the replay rate of a log of 1,000,000 events (open: read, check every
//! checksum, decode, index). Plain `Instant` timing; run it in release:
//!
//! ```text
//! cargo bench -p checker --bench events
//! ```
//!
//! The figures depend on the disk: `sync_data` waits for the device, so
//! appends per second grow almost in proportion to the batch size until
//! the write itself dominates.

use solutions::events::store::{EventStore, ExpectedVersion};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// An event's data: about what a small JSON event weighs.
fn data(i: u64) -> Vec<u8> {
    format!(
        "{{\"type\":\"Deposited\",\"amount\":{},\"note\":\"bench event\"}}",
        i % 997
    )
    .into_bytes()
}

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "dscourse-events-bench-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("the scratch dir can be created");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn appends(batch: u64, budget: Duration) {
    let scratch = Scratch::new(&format!("append-{batch}"));
    let mut store = EventStore::open(&scratch.0.join("events.log")).expect("open");
    let started = Instant::now();
    let (mut events, mut batches) = (0u64, 0u64);
    while started.elapsed() < budget {
        let stream = format!("acct-{}", batches % 16);
        let datas: Vec<Vec<u8>> = (0..batch).map(|i| data(events + i)).collect();
        store
            .append(&stream, ExpectedVersion::Any, &datas)
            .expect("append");
        events += batch;
        batches += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "append, batches of {batch:>3}: {:>10.0} events/s, {:>8.0} syncs/s ({batches} batches in {secs:.2} s)",
        events as f64 / secs,
        batches as f64 / secs
    );
}

fn replay(count: u64) {
    let scratch = Scratch::new("replay");
    let path = scratch.0.join("events.log");
    {
        let mut store = EventStore::open(&path).expect("open");
        let chunk = 10_000;
        for c in 0..count / chunk {
            let datas: Vec<Vec<u8>> = (0..chunk).map(|i| data(c * chunk + i)).collect();
            store
                .append(&format!("acct-{}", c % 64), ExpectedVersion::Any, &datas)
                .expect("append");
        }
    }
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    for run in 1..=3 {
        let started = Instant::now();
        let store = EventStore::open(&path).expect("open");
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(store.read_all(0).len() as u64, count);
        println!(
            "replay (open) of {count} events, {:.1} MB, run {run}: {:.2} s, {:>10.0} events/s, {:.0} MB/s",
            size as f64 / 1e6,
            secs,
            count as f64 / secs,
            size as f64 / 1e6 / secs
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    for batch in [1, 10, 100] {
        appends(batch, Duration::from_secs(2));
    }
    replay(1_000_000);
}
