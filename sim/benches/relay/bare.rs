//! The bare loop: relay-5 on nothing but a binary heap, the yardstick the
//! simulator's throughput is measured against in the same run.
//!
//! Same five nodes, same twenty chains of 2,001 deliveries, the same 16-byte
//! message, latencies drawn from the same distribution (uniform 1–10 ms to the
//! nanosecond, from a seeded [`SimRng`]), events ordered by (time, sequence
//! number) in a `BinaryHeap`. No trace, no checks, no fault model: what is left
//! is the least any event-driven simulator of this workload has to do.

use super::{Relay, HOPS, NODES};
use dsim::SimRng;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

/// One delivery due: ordered by (time, seq) only, like the simulator's queue.
struct Event {
    at: u64,
    seq: u64,
    from: u8,
    to: u8,
    msg: Relay,
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Event {}
impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Event {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// The queue, the clock and the network's random draws.
struct Loop {
    now: u64,
    seq: u64,
    rng: SimRng,
    queue: BinaryHeap<Reverse<Event>>,
}

impl Loop {
    fn send(&mut self, from: u8, to: u8, msg: Relay) {
        let delay = self
            .rng
            .duration(Duration::from_millis(1)..=Duration::from_millis(10));
        let at = self.now + delay.as_nanos() as u64;
        self.queue.push(Reverse(Event {
            at,
            seq: self.seq,
            from,
            to,
            msg,
        }));
        self.seq += 1;
    }
}

/// Runs relay-5 for `seed`; returns the number of deliveries.
pub fn run(seed: u64) -> u64 {
    let mut l = Loop {
        now: 0,
        seq: 0,
        rng: SimRng::new(seed),
        queue: BinaryHeap::new(),
    };
    for from in 0..NODES {
        for to in (0..NODES).filter(|&to| to != from) {
            let msg = Relay {
                hop: 0,
                payload: from as u64,
            };
            l.send(from, to, msg);
        }
    }
    let mut delivered = 0;
    while let Some(Reverse(event)) = l.queue.pop() {
        l.now = event.at;
        delivered += 1;
        // The node's handler: reply to the sender with the next hop.
        if event.msg.hop < HOPS {
            let msg = Relay {
                hop: event.msg.hop + 1,
                payload: event.msg.payload,
            };
            l.send(event.to, event.from, msg);
        }
    }
    delivered
}
