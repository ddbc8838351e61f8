//! The storage engines' speed, measured on the references: writes, point
//! reads (half of them of keys that were never written) and range scans,
//! after loading 10^4, 10^5 and 10^6 keys, each engine beside the floor: a
//! node that keeps a `std::collections::BTreeMap` in memory and nothing on
//! disk, driven through the same simulator the same way, so that the
//! simulator's own cost per request is in both. Run it in release:
//!
//! ```text
//! cargo bench -p checker --bench storage
//! ```
//!
//! `BENCH_KEYS=10000,100000` picks the sizes. The B+ tree stops at 10^5
//! keys: its pages are 512 bytes with at most four keys, so that a small
//! workload splits and merges often, and copy-on-write appends a new
//! root-to-leaf path for every write and never reclaims the old one (a real
//! engine would); at 10^6 keys its page file would outgrow the memory of
//! the simulated disk. The LSM tree flushes every 16 keys and has no range
//! scan.

use dsim::{Ctx, Node, NodeId, RequestId, Sim};
use solutions::storage::{btree, lsm};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Requests sent to the node at once, then run until it is quiet.
const BATCH: u64 = 1_000;
/// Point reads and range scans measured after the load.
const READS: u64 = 20_000;
const SCANS: u64 = 2_000;
/// Keys a range scan covers (consecutive keys).
const SCAN_WIDTH: u64 = 10;
/// The largest B+ tree measured (see the module's documentation).
const BTREE_MAX: u64 = 100_000;

/// The floor: the same requests answered from a map in memory.
#[derive(Debug, Default)]
struct Floor {
    map: BTreeMap<String, String>,
}

impl Node for Floor {
    type Msg = ();
    type Timer = ();
    type Request = btree::Request;
    type Reply = btree::Reply;

    fn on_message(&mut self, _: &mut Ctx<Self>, _: NodeId, _: ()) {}

    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, req: btree::Request) {
        let reply = match req {
            btree::Request::Put { key, value } => {
                self.map.insert(key, value);
                btree::Reply::Done
            }
            btree::Request::Delete { key } => {
                self.map.remove(&key);
                btree::Reply::Done
            }
            btree::Request::Get { key } => btree::Reply::Value(self.map.get(&key).cloned()),
            btree::Request::Scan { from, to } => btree::Reply::Entries(
                self.map
                    .range(from..to)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
        };
        ctx.reply(id, reply);
    }
}

/// What the bench asks of an engine: its request for each operation.
trait Engine: Node + Sized {
    const NAME: &'static str;
    fn make(id: NodeId) -> Self;
    fn put(key: String, value: String) -> Self::Request;
    fn get(key: String) -> Self::Request;
    fn scan(from: String, to: String) -> Option<Self::Request>;
}

impl Engine for Floor {
    const NAME: &'static str = "BTreeMap (floor)";
    fn make(_: NodeId) -> Self {
        Floor::default()
    }
    fn put(key: String, value: String) -> btree::Request {
        btree::Request::Put { key, value }
    }
    fn get(key: String) -> btree::Request {
        btree::Request::Get { key }
    }
    fn scan(from: String, to: String) -> Option<btree::Request> {
        Some(btree::Request::Scan { from, to })
    }
}

impl Engine for lsm::Lsm {
    const NAME: &'static str = "LSM tree";
    fn make(_: NodeId) -> Self {
        lsm::Lsm::new()
    }
    fn put(key: String, value: String) -> lsm::Request {
        lsm::Request::Put { key, value }
    }
    fn get(key: String) -> lsm::Request {
        lsm::Request::Get { key }
    }
    fn scan(_: String, _: String) -> Option<lsm::Request> {
        None
    }
}

impl Engine for btree::Btree {
    const NAME: &'static str = "B+ tree";
    fn make(_: NodeId) -> Self {
        btree::Btree::new()
    }
    fn put(key: String, value: String) -> btree::Request {
        btree::Request::Put { key, value }
    }
    fn get(key: String) -> btree::Request {
        btree::Request::Get { key }
    }
    fn scan(from: String, to: String) -> Option<btree::Request> {
        Some(btree::Request::Scan { from, to })
    }
}

/// How many keys there could be: keys are `k` and ten digits.
const SPACE: u64 = 10_000_000_000;

/// The number of key `i`, spread over the key space by a fixed mixing, so
/// that writes arrive in no particular order.
fn number(i: u64) -> u64 {
    i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % SPACE
}

/// A key of the B+ tree's width limit or less.
fn named(number: u64) -> String {
    format!("k{number:010}")
}

fn key(i: u64) -> String {
    named(number(i))
}

fn value(i: u64) -> String {
    format!("value-{i}")
}

/// Sends `requests` in batches and runs the node until it is quiet after
/// each; the operations per second.
fn rate<N: Engine>(sim: &mut Sim<N>, requests: impl Iterator<Item = N::Request>) -> f64 {
    let started = Instant::now();
    let mut sent = 0u64;
    let mut batch = 0;
    for request in requests {
        sim.request(NodeId(0), request);
        sent += 1;
        batch += 1;
        if batch == BATCH {
            quiet(sim);
            batch = 0;
        }
    }
    quiet(sim);
    sent as f64 / started.elapsed().as_secs_f64()
}

fn quiet<N: Engine>(sim: &mut Sim<N>) {
    let quiet = sim
        .run_until_quiet(Duration::from_secs(3600))
        .expect("the reference breaks no check");
    assert!(quiet, "the node answers every request");
}

/// Loads `keys` keys, then times point reads and range scans.
fn measure<N: Engine>(keys: u64) {
    let mut sim = Sim::new(1, 1, N::make);
    sim.limit_trace(Some(1_000));
    quiet(&mut sim);
    let writes = rate(&mut sim, (0..keys).map(|i| N::put(key(i), value(i))));
    let user_bytes: usize = (0..keys).map(|i| key(i).len() + value(i).len()).sum();
    let amplification = sim.disk(NodeId(0)).bytes_written() as f64 / user_bytes as f64;
    // Half of the reads ask for keys that were written, half for keys
    // that never were (a Bloom filter's case).
    let reads = rate(
        &mut sim,
        (0..READS).map(|i| N::get(key(if i % 2 == 0 { i % keys } else { keys + i }))),
    );
    // A scan from a written key over the span that holds SCAN_WIDTH keys
    // on average.
    let span = SCAN_WIDTH * (SPACE / keys);
    let scans = (0..SCANS)
        .map(|i| number(i % keys))
        .map(|from| N::scan(named(from), named((from + span).min(SPACE - 1))))
        .collect::<Option<Vec<_>>>()
        .map(|all| rate(&mut sim, all.into_iter()));
    let answered = sim.history().iter().all(|op| op.is_complete());
    assert!(answered, "every request was answered");
    let scans = scans.map_or("n/a".to_string(), |r| format!("{r:.0}"));
    println!(
        "{:>9} keys  {:<17} writes/s {writes:>9.0}   reads/s {reads:>9.0}   scans/s {scans:>9}   disk bytes per byte written {amplification:>6.1}",
        keys,
        N::NAME
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes
    // nothing: then one small size proves the bench runs.
    let benching = std::env::args().any(|a| a == "--bench");
    let sizes: Vec<u64> = match std::env::var("BENCH_KEYS") {
        Ok(list) => list
            .split(',')
            .map(|n| n.trim().parse().expect("BENCH_KEYS: numbers"))
            .collect(),
        Err(_) if benching => vec![10_000, 100_000, 1_000_000],
        Err(_) => vec![1_000],
    };
    println!("storage engines in the simulator (one node, requests in batches of {BATCH}):");
    for keys in sizes {
        measure::<Floor>(keys);
        measure::<lsm::Lsm>(keys);
        if keys <= BTREE_MAX {
            measure::<btree::Btree>(keys);
        }
    }
    println!("(a scan covers {SCAN_WIDTH} keys on average, from a written key)");
}
