//! Benchmark `relay-5`: simulator throughput in deliveries per second (of
//! the thread's CPU time), beside a bare binary-heap event loop doing the
//! same work.
//!
//! Five nodes; at start each sends one 16-byte message with hop 0 to each of
//! the other four; a node that receives a message with hop < 2000 replies to
//! its sender with hop + 1. That makes 20 chains of 2001 deliveries: 40,020 in
//! all, over links with 1–10 ms latency. Run it with `cargo bench -p dsim`.
//!
//! The two are timed in turns, repetition by repetition, so that a noisy
//! machine slows both alike, each by the CPU time of its thread (see
//! `relay/cpu.rs`); the ratio dsim / bare is what to compare between
//! changes, not the raw rates. Even so, compare builds side by side: the
//! bare loop shares this binary, and its rate has moved by up to a tenth
//! between builds when only the simulator changed (its code is laid out and
//! register-allocated anew each time). The simulator's own rate moves more:
//! with the default sixteen codegen units, how its generic code is split
//! between them changes with unrelated edits, and has moved dsim's rate by
//! a quarter. To compare two commits, build both with
//! `CARGO_PROFILE_BENCH_CODEGEN_UNITS=1`.
//!
//! For profiling: `RELAY_ROUNDS=300` sets the number of repetitions (with
//! `--bench`), `RELAY_ONLY=dsim` or `RELAY_ONLY=bare` runs only one side.

use dsim::{Ctx, Network, Node, NodeId, Sim};
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[path = "relay/bare.rs"]
mod bare;
#[path = "relay/cpu.rs"]
mod cpu;

const NODES: u8 = 5;
const HOPS: u64 = 2000;
const DELIVERIES: u64 = 40_020;

/// Sixteen bytes on the wire: the hop count and a payload word.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Relay {
    hop: u64,
    payload: u64,
}

#[derive(Debug)]
struct Relayer;

impl Node for Relayer {
    type Msg = Relay;
    type Timer = ();
    type Request = ();
    type Reply = ();

    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        ctx.broadcast(Relay {
            hop: 0,
            payload: ctx.id().0 as u64,
        });
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Relay) {
        if msg.hop < HOPS {
            ctx.send(
                from,
                Relay {
                    hop: msg.hop + 1,
                    payload: msg.payload,
                },
            );
        }
    }
}

/// Runs relay-5 in the simulator; returns the number of deliveries.
fn run_dsim(seed: u64) -> u64 {
    let mut sim = Sim::new(seed, NODES as usize, |_| Relayer);
    sim.set_network(Network::reliable(
        Duration::from_millis(1),
        Duration::from_millis(10),
    ));
    let quiet = sim
        .run_until_quiet(Duration::from_secs(3600))
        .expect("no checks to break");
    assert!(quiet);
    sim.stats().delivered
}

/// Deliveries per second of one run of `f`.
fn rate(seed: u64, f: fn(u64) -> u64) -> f64 {
    let started = cpu::start();
    let delivered = f(seed);
    let elapsed = started.elapsed();
    assert_eq!(delivered, DELIVERIES, "relay-5 delivers 40,020 messages");
    delivered as f64 / elapsed.as_secs_f64()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

fn main() {
    // `cargo test --benches` runs this binary too: one quick pass is enough there.
    let rounds = if std::env::args().any(|a| a == "--bench") {
        std::env::var("RELAY_ROUNDS").map_or(21, |r| r.parse().expect("RELAY_ROUNDS: a number"))
    } else {
        1
    };
    let only = std::env::var("RELAY_ONLY").ok();
    let (run_sim, run_bare) = (
        only.as_deref() != Some("bare"),
        only.as_deref() != Some("dsim"),
    );
    let (mut sim, mut bare, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for seed in 0..rounds {
        let s = run_sim.then(|| rate(seed, run_dsim));
        let b = run_bare.then(|| rate(seed, bare::run));
        sim.extend(s);
        bare.extend(b);
        ratios.extend(s.zip(b).map(|(s, b)| s / b));
    }
    let clock = if cpu::is_cpu_time() {
        "CPU"
    } else {
        "wall-clock"
    };
    println!(
        "relay-5: {DELIVERIES} deliveries per run, {rounds} runs each ({clock} time), medians:"
    );
    if run_sim {
        println!("  dsim  {:>12.0} deliveries/s", median(sim.clone()));
    }
    if run_bare {
        println!(
            "  bare  {:>12.0} deliveries/s (binary-heap event loop, same workload)",
            median(bare.clone())
        );
    }
    if run_sim && run_bare {
        println!(
            "  dsim/bare {:.1}% (median of the runs' ratios; ratio of the medians {:.1}%)",
            100.0 * median(ratios),
            100.0 * median(sim) / median(bare)
        );
    }
}
