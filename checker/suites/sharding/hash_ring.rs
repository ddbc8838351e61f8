//! sharding_hash_ring: a consistent-hashing ring with virtual nodes.
//!
//! The checks drive the ring through [`Ring`] only: lookups of many keys
//! before and after a server joins or leaves, on rings built in different
//! orders. They never compute where a key ought to go from the subject's
//! code, except in the clockwise check, which reads the ring's own points.

use crate::subject::sharding::hash_ring::{key_point, HashRing, ServerId};
use dscheck::{ensure, metric, Failure, Property, Suite};
use dsim::SimRng;
use std::collections::BTreeSet;

mod wrong;

/// What the checks use of a ring: the learner's, or a known-wrong one in
/// the `meta` tests. Servers are plain numbers here.
pub trait Ring {
    fn add(&mut self, server: u32);
    fn remove(&mut self, server: u32);
    fn lookup(&self, key: &str) -> Option<u32>;
    /// The server of the first point at or after `point`, clockwise.
    fn successor(&self, point: u64) -> Option<u32>;
    /// Where `key` sits on the ring.
    fn key_point(&self, key: &str) -> u64;
    /// Every point on the ring, in clockwise order.
    fn points(&self) -> Vec<(u64, u32)>;
}

impl Ring for HashRing {
    fn add(&mut self, server: u32) {
        self.add_server(ServerId(server));
    }
    fn remove(&mut self, server: u32) {
        self.remove_server(ServerId(server));
    }
    fn lookup(&self, key: &str) -> Option<u32> {
        HashRing::lookup(self, key).map(|s| s.0)
    }
    fn successor(&self, point: u64) -> Option<u32> {
        HashRing::successor(self, point).map(|s| s.0)
    }
    fn key_point(&self, key: &str) -> u64 {
        key_point(key)
    }
    fn points(&self) -> Vec<(u64, u32)> {
        self.points.iter().map(|&(p, s)| (p, s.0)).collect()
    }
}

// ----- properties and their hints ---------------------------------------------

const CLOCKWISE: Property = Property {
    name: "a key belongs to the server of the first point clockwise from its hash",
    hint: "successor(p): the first pair in self.points at or after (p, ServerId(0)) (BTreeSet::range), and if there is none, wrap around to the first pair; lookup is successor(key_point(key))",
    when: &[],
};
const OWNED: Property = Property {
    name: "every key is owned by a server on the ring",
    hint: "lookup answers only with servers on the ring: remove_server must take away every point add_server placed, (vnode_point(server, i), server) for each i below vnodes",
    when: &[],
};
const SPREAD: Property = Property {
    name: "with 100 virtual nodes per server, no server holds more than 1.25 times the mean load",
    hint: "each server needs vnodes points, at vnode_point(server, i) for every i in 0..self.vnodes, not one point",
    when: &[],
};
const ONLY_ITS_ARCS: Property = Property {
    name: "adding or removing a server moves only the keys of its arcs",
    hint: "never pick a server with hash % n: find the first point clockwise, so that a join or a leave changes only the arcs next to that server's points",
    when: &[],
};
const SHARE: Property = Property {
    name: "a server that joins n others takes about 1/(n+1) of the keys",
    hint: "a joining server gets vnodes points of its own (vnode_point(server, i) for each i), no more and no fewer",
    when: &[],
};
const ORDER: Property = Property {
    name: "lookups do not depend on the order the servers joined in",
    hint: "keep the points sorted (the BTreeSet does it) and search them by position, never in the order they were inserted",
    when: &[],
};

/// Servers on a ring in the spread check.
const SERVERS: usize = 5;
/// Keys looked up in the spread check.
const KEYS: usize = 100_000;
/// The bound on the most loaded server, as a multiple of the mean.
const BOUND: f64 = 1.25;

pub fn tests(suite: Suite) -> Suite {
    let suite = suite
        .seeded(
            "hash_ring::lookup_finds_the_first_point_clockwise",
            10,
            |seed| clockwise(seed, HashRing::new),
        )
        .seeded("hash_ring::load_is_spread_evenly", 3, |seed| {
            let ratio = spread(seed, HashRing::new(100))?;
            metric(
                &format!("most loaded server / mean, seed {seed}"),
                format!("{ratio:.3}"),
            );
            Ok(())
        })
        .seeded(
            "hash_ring::joins_and_leaves_move_only_their_arcs",
            10,
            |seed| moves(seed, HashRing::new),
        )
        .seeded(
            "hash_ring::lookups_do_not_depend_on_insertion_order",
            10,
            |seed| order(seed, HashRing::new),
        );
    wrong::tests(suite)
}

/// `count` distinct server numbers below 1000.
fn servers(rng: &mut SimRng, count: usize) -> Vec<u32> {
    let mut chosen = BTreeSet::new();
    while chosen.len() < count {
        chosen.insert(rng.below(1000) as u32);
    }
    let mut servers: Vec<u32> = chosen.into_iter().collect();
    rng.shuffle(&mut servers);
    servers
}

fn keys(seed: u64, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("key-{seed}-{i}")).collect()
}

/// `empty` with `servers` added in that order.
fn ring<R: Ring>(mut empty: R, servers: &[u32]) -> R {
    for &s in servers {
        empty.add(s);
    }
    empty
}

/// Every key's owner, each required to be one of `on_ring`.
fn owners<R: Ring>(
    ring: &R,
    keys: &[String],
    on_ring: &BTreeSet<u32>,
) -> Result<Vec<u32>, Failure> {
    let mut owners = Vec::with_capacity(keys.len());
    for key in keys {
        let owner = ring.lookup(key);
        match owner {
            Some(s) if on_ring.contains(&s) => owners.push(s),
            _ => {
                return Err(Failure::new(OWNED, format!(
                    "key “{key}” is looked up as {owner:?}, but the servers on the ring are {on_ring:?}"
                )))
            }
        }
    }
    Ok(owners)
}

/// Rings of one to five servers with one to four points each, so that many
/// keys wrap around past the last point: `successor` of random points, of
/// each point itself and of its neighbours, and `lookup` of random keys,
/// must agree with a search of the ring's own points.
pub(super) fn clockwise<R: Ring>(seed: u64, make: impl Fn(u32) -> R) -> Result<(), Failure> {
    let mut rng = SimRng::new(seed);
    let empty = make(3);
    ensure(
        empty.lookup("a key").is_none() && empty.successor(7).is_none(),
        CLOCKWISE,
        || "on an empty ring a key has no owner, but lookup or successor named one".to_string(),
    )?;
    for _ in 0..20 {
        let count = 1 + rng.below(5) as usize;
        let ring = ring(make(1 + rng.below(4) as u32), &servers(&mut rng, count));
        let points = ring.points();
        let first_from = |p: u64| {
            let i = points.partition_point(|&(q, _)| q < p);
            points.get(i).or(points.first()).map(|&(_, s)| s)
        };
        let mut probes = vec![0, u64::MAX];
        for &(p, _) in &points {
            probes.extend([p, p.wrapping_sub(1), p.wrapping_add(1), rng.next_u64()]);
        }
        for p in probes {
            let (got, expected) = (ring.successor(p), first_from(p));
            ensure(got == expected, CLOCKWISE, || {
                format!(
                    "on a ring with points {points:?}, successor({p}) is {got:?}, not {expected:?}"
                )
            })?;
        }
        for key in keys(seed, 50) {
            let p = ring.key_point(&key);
            let (got, expected) = (ring.lookup(&key), first_from(p));
            ensure(got == expected, CLOCKWISE, || {
                format!("on a ring with points {points:?}, key “{key}” at {p} is looked up as {got:?}, not {expected:?}")
            })?;
        }
    }
    Ok(())
}

/// Five servers added to `empty` (a ring with 100 points per server) and
/// 100,000 keys: the most loaded server holds at most 1.25 times the mean.
/// Returns max / mean.
pub(super) fn spread<R: Ring>(seed: u64, empty: R) -> Result<f64, Failure> {
    let mut rng = SimRng::new(seed);
    let servers = servers(&mut rng, SERVERS);
    let on_ring: BTreeSet<u32> = servers.iter().copied().collect();
    let ring = ring(empty, &servers);
    let mut load = std::collections::BTreeMap::new();
    for owner in owners(&ring, &keys(seed, KEYS), &on_ring)? {
        *load.entry(owner).or_insert(0usize) += 1;
    }
    let (&busiest, &most) = load
        .iter()
        .max_by_key(|(_, &n)| n)
        .expect("keys were looked up");
    let mean = KEYS as f64 / SERVERS as f64;
    let ratio = most as f64 / mean;
    ensure(ratio <= BOUND, SPREAD, || {
        format!("of {KEYS} keys over {SERVERS} servers (mean {mean:.0}), server {busiest} holds {most}: {ratio:.2} times the mean; all loads: {load:?}")
    })?;
    Ok(ratio)
}

/// Three to eight servers, then eight joins and leaves; after each, every
/// key that changed owner must have moved to the server that joined, or
/// away from the one that left, and a join must take between half and one
/// and a half times its fair share 1/(n+1).
pub(super) fn moves<R: Ring>(seed: u64, make: impl Fn(u32) -> R) -> Result<(), Failure> {
    let mut rng = SimRng::new(seed);
    let mut pool = servers(&mut rng, 20);
    let count = 3 + rng.below(6) as usize;
    let mut on_ring: BTreeSet<u32> = pool.drain(..count).collect();
    let mut ring = ring(make(100), &on_ring.iter().copied().collect::<Vec<_>>());
    let keys = keys(seed, 4_000);
    let mut before = owners(&ring, &keys, &on_ring)?;
    for _ in 0..8 {
        let joining = on_ring.len() <= 2 || rng.chance(0.5);
        let server = if joining {
            let s = pool.pop().expect("a pool of 20 outlasts 8 changes");
            ring.add(s);
            on_ring.insert(s);
            // Its share is about fair only if it has its vnodes points.
            let own = ring.points().iter().filter(|&&(_, o)| o == s).count();
            ensure(own == 100, SHARE, || {
                format!("server {s} joined a ring of 100 virtual nodes per server, and has {own} points on it")
            })?;
            s
        } else {
            let s = *rng.pick(&on_ring.iter().copied().collect::<Vec<_>>());
            ring.remove(s);
            on_ring.remove(&s);
            s
        };
        let after = owners(&ring, &keys, &on_ring)?;
        let mut moved = 0;
        for ((key, &was), &now) in keys.iter().zip(&before).zip(&after) {
            if was == now {
                continue;
            }
            moved += 1;
            let allowed = if joining {
                now == server
            } else {
                was == server
            };
            ensure(allowed, ONLY_ITS_ARCS, || {
                let change = if joining { "joined" } else { "left" };
                format!("after server {server} {change}, key “{key}” moved from server {was} to server {now}, and neither is {server}")
            })?;
        }
        if joining {
            let fair = keys.len() as f64 / on_ring.len() as f64;
            ensure(
                moved as f64 >= 0.5 * fair && moved as f64 <= 1.5 * fair,
                SHARE,
                || {
                    format!("server {server} joined {} others and took {moved} of {} keys; its fair share is about {fair:.0}", on_ring.len() - 1, keys.len())
                },
            )?;
        }
        before = after;
    }
    Ok(())
}

/// The same six to twelve servers added in three orders (shuffled, sorted,
/// and the shuffle reversed) must give every key the same owner.
pub(super) fn order<R: Ring>(seed: u64, make: impl Fn(u32) -> R) -> Result<(), Failure> {
    let mut rng = SimRng::new(seed);
    let count = 6 + rng.below(7) as usize;
    let shuffled = servers(&mut rng, count);
    let mut sorted = shuffled.clone();
    sorted.sort();
    let reversed: Vec<u32> = shuffled.iter().rev().copied().collect();
    let rings: Vec<R> = [&shuffled, &sorted, &reversed]
        .map(|order| ring(make(100), order))
        .into();
    for key in keys(seed, 3_000) {
        let owners: Vec<Option<u32>> = rings.iter().map(|r| r.lookup(&key)).collect();
        ensure(owners.iter().all(|o| *o == owners[0]), ORDER, || {
            format!("key “{key}” is owned by {:?} when servers join in the order {shuffled:?}, by {:?} in the order {sorted:?}, and by {:?} in the order {reversed:?}", owners[0], owners[1], owners[2])
        })?;
    }
    Ok(())
}
