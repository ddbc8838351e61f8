//! Benchmark `relay-5`: simulator throughput in deliveries per wall-clock second.
//!
//! Five nodes; at start each sends one 16-byte message with hop 0 to each of
//! the other four; a node that receives a message with hop < 2000 replies to
//! its sender with hop + 1. That makes 20 chains of 2001 deliveries: 40,020 in
//! all, over links with 1–10 ms latency. Run it with `cargo bench -p dsim`.

use dsim::{Ctx, Network, Node, NodeId, Sim};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

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
        if msg.hop < 2000 {
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

fn run(seed: u64) -> (u64, Duration) {
    let started = Instant::now();
    let mut sim = Sim::new(seed, 5, |_| Relayer);
    sim.set_network(Network::reliable(
        Duration::from_millis(1),
        Duration::from_millis(10),
    ));
    let quiet = sim
        .run_until_quiet(Duration::from_secs(3600))
        .expect("no checks to break");
    assert!(quiet);
    (sim.stats().delivered, started.elapsed())
}

fn main() {
    // `cargo test --benches` runs this binary too: one quick pass is enough there.
    let rounds = if std::env::args().any(|a| a == "--bench") {
        15
    } else {
        1
    };
    let mut rates = Vec::new();
    for seed in 0..rounds {
        let (delivered, elapsed) = run(seed);
        assert_eq!(delivered, 40_020, "relay-5 delivers 40,020 messages");
        rates.push(delivered as f64 / elapsed.as_secs_f64());
    }
    rates.sort_by(|a, b| a.total_cmp(b));
    let median = rates[rates.len() / 2];
    println!(
        "relay-5: 40,020 deliveries per run, {} runs: median {:.0} deliveries/s (min {:.0}, max {:.0})",
        rates.len(),
        median,
        rates[0],
        rates[rates.len() - 1]
    );
}
