//! Meta tests: the checks of sharding_hash_ring catch known-wrong rings.
//! [`Model`] is a ring written independently of the subject (its own hash,
//! its points in a sorted `Vec`), with one planted mistake or none, run
//! through the very same checks.

use super::{
    clockwise, moves, order, spread, Ring, CLOCKWISE, ONLY_ITS_ARCS, ORDER, SHARE, SPREAD,
};
use dscheck::{expect_caught, Failure, Suite};
use dsim::SimRng;
use std::collections::BTreeSet;

/// One mistake a learner could make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flaw {
    /// Places every server at one point, whatever `vnodes` says.
    NoVirtualNodes,
    /// Searches the points in the order they were added, not by position.
    SearchesInInsertionOrder,
    /// Picks the server as `hash(key) mod n`, no ring at all.
    HashModN,
    /// Gives a key to the first point counterclockwise.
    Counterclockwise,
}

/// A ring of `(point, server)` pairs, with one planted flaw or none.
#[derive(Debug)]
struct Model {
    flaw: Option<Flaw>,
    vnodes: u32,
    servers: BTreeSet<u32>,
    /// The points in clockwise order.
    sorted: Vec<(u64, u32)>,
    /// The same points in the order they were added.
    added: Vec<(u64, u32)>,
}

impl Model {
    /// A `make` for the checks: an empty ring with `vnodes` points per server.
    fn with(flaw: Option<Flaw>) -> impl Fn(u32) -> Model {
        move |vnodes| Model {
            flaw,
            vnodes: if flaw == Some(Flaw::NoVirtualNodes) {
                1
            } else {
                vnodes
            },
            servers: BTreeSet::new(),
            sorted: Vec::new(),
            added: Vec::new(),
        }
    }

    /// The suite's own stable hash: the bytes folded into a seed for the
    /// simulator's generator, whose first output is well mixed.
    fn hash(bytes: &[u8]) -> u64 {
        let folded = bytes.iter().fold(17u64, |h, &b| {
            h.wrapping_mul(131).wrapping_add(u64::from(b))
        });
        SimRng::new(folded).next_u64()
    }
}

impl Ring for Model {
    fn add(&mut self, server: u32) {
        if !self.servers.insert(server) {
            return;
        }
        for replica in 0..self.vnodes {
            let point = Self::hash(format!("server {server} replica {replica}").as_bytes());
            self.added.push((point, server));
            let at = self.sorted.partition_point(|&p| p < (point, server));
            self.sorted.insert(at, (point, server));
        }
    }

    fn remove(&mut self, server: u32) {
        self.servers.remove(&server);
        self.sorted.retain(|&(_, s)| s != server);
        self.added.retain(|&(_, s)| s != server);
    }

    fn lookup(&self, key: &str) -> Option<u32> {
        let n = self.servers.len() as u64;
        match self.flaw {
            Some(Flaw::HashModN) if n > 0 => {
                let i = self.key_point(key) % n;
                self.servers.iter().nth(i as usize).copied()
            }
            _ => self.successor(self.key_point(key)),
        }
    }

    fn successor(&self, point: u64) -> Option<u32> {
        let found = match self.flaw {
            Some(Flaw::SearchesInInsertionOrder) => self
                .added
                .iter()
                .find(|&&(q, _)| q >= point)
                .or(self.added.first()),
            Some(Flaw::Counterclockwise) => {
                let i = self.sorted.partition_point(|&(q, _)| q <= point);
                i.checked_sub(1)
                    .map(|i| &self.sorted[i])
                    .or(self.sorted.last())
            }
            _ => {
                let i = self.sorted.partition_point(|&(q, _)| q < point);
                self.sorted.get(i).or(self.sorted.first())
            }
        };
        found.map(|&(_, s)| s)
    }

    fn key_point(&self, key: &str) -> u64 {
        Self::hash(key.as_bytes())
    }

    fn points(&self) -> Vec<(u64, u32)> {
        self.sorted.clone()
    }
}

pub(super) fn tests(suite: Suite) -> Suite {
    suite
        .test("meta::hash_ring_without_virtual_nodes_is_caught", || {
            expect_caught(SPREAD, 10, |seed| {
                spread(seed, Model::with(Some(Flaw::NoVirtualNodes))(100)).map(drop)
            })
        })
        .test("meta::hash_ring_joining_at_one_point_is_caught", || {
            expect_caught(SHARE, 10, |seed| {
                moves(seed, Model::with(Some(Flaw::NoVirtualNodes)))
            })
        })
        .test(
            "meta::hash_ring_searched_in_insertion_order_is_caught",
            || {
                expect_caught(ORDER, 10, |seed| {
                    order(seed, Model::with(Some(Flaw::SearchesInInsertionOrder)))
                })
            },
        )
        .test("meta::hash_ring_hash_mod_n_is_caught", || {
            expect_caught(ONLY_ITS_ARCS, 10, |seed| {
                moves(seed, Model::with(Some(Flaw::HashModN)))
            })
        })
        .test("meta::hash_ring_counterclockwise_lookup_is_caught", || {
            expect_caught(CLOCKWISE, 10, |seed| {
                clockwise(seed, Model::with(Some(Flaw::Counterclockwise)))
            })
        })
        .test("meta::hash_ring_correct_model_passes", correct_model_passes)
}

/// Without a flaw the model passes every check: the checks ask for nothing
/// beyond consistent hashing with virtual nodes.
fn correct_model_passes() -> Result<(), Failure> {
    for seed in 1..=3 {
        clockwise(seed, Model::with(None))?;
        spread(seed, Model::with(None)(100))?;
        moves(seed, Model::with(None))?;
        order(seed, Model::with(None))?;
    }
    Ok(())
}
