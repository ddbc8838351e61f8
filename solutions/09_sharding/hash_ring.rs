//! # sharding_hash_ring: consistent hashing with virtual nodes
//!
//! To spread keys over servers, hash each key and let the hash choose the
//! server. The obvious rule, `hash(key) mod n`, moves almost every key when
//! `n` changes. Consistent hashing does better: picture the hash values as a
//! circle (0 follows `u64::MAX`), put each server on it, and give a key to the
//! first server at or after the key's hash, going clockwise. A server that
//! joins takes over only the keys of the arc just before it; a server that
//! leaves hands only its own keys to its clockwise neighbour.
//!
//! One point per server makes arcs of very unequal length, so one server
//! gets far more keys than another. The cure is **virtual nodes**: each
//! server is placed at `vnodes` points scattered over the circle, and its
//! share is the sum of many small arcs, which evens out.
//!
//! The ring is a sorted set of `(point, server)` pairs; finding the first
//! point clockwise from a hash is one search in it, O(log n).
//!
// exercise: begin
// stub: //! Read `exercises/09_sharding/README.md` first. The hash functions are
// stub: //! given; fill in each `todo!()`: joining, leaving, then the clockwise
// stub: //! search and the lookup.
//! The reference solution.
// exercise: end

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// A server's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ServerId(pub u32);

impl fmt::Display for ServerId {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "s{}", self.0)
    }
}

/// A stable 64-bit hash of `bytes`: FNV-1a over the bytes, then the
/// SplitMix64 finaliser, which mixes every input bit into every output bit
/// (FNV-1a alone changes the high bits little when short keys differ only in
/// their last byte, and the ring orders points by all 64 bits).
///
/// Why not `std::collections::hash_map::DefaultHasher`: its algorithm is not
/// specified and may change between Rust releases, and a ring must place
/// every key and server at the same point on every machine and after every
/// upgrade, or servers built with different compilers disagree about who
/// owns a key.
pub fn hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// Where `key` sits on the ring.
pub fn key_point(key: &str) -> u64 {
    hash(key.as_bytes())
}

/// Where virtual node number `replica` of `server` sits on the ring: the hash
/// of the pair, so that a server's points land far apart and independently
/// of each other (points at `hash(server) + replica` would sit side by side
/// and act as one).
pub fn vnode_point(server: ServerId, replica: u32) -> u64 {
    let mut bytes = [0u8; 8];
    bytes[..4].copy_from_slice(&server.0.to_le_bytes());
    bytes[4..].copy_from_slice(&replica.to_le_bytes());
    hash(&bytes)
}

/// A consistent-hashing ring.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HashRing {
    /// How many points each server gets.
    pub vnodes: u32,
    /// Every point on the ring, with the server placed there, in clockwise
    /// order. Two servers could land on the same point; the pair keeps both,
    /// and the order of the pair breaks the tie the same way whatever order
    /// the servers joined in.
    pub points: BTreeSet<(u64, ServerId)>,
}

impl HashRing {
    /// An empty ring whose servers get `vnodes` points each (at least one).
    pub fn new(vnodes: u32) -> Self {
        HashRing {
            vnodes: vnodes.max(1),
            points: BTreeSet::new(),
        }
    }

    /// On a server joining: place it at its points `vnode_point(server, i)`
    /// for `i` in `0..vnodes`. Each point takes over the keys of the arc that
    /// ends at it, and no other keys change owner. Adding a server that is
    /// already on the ring changes nothing.
    pub fn add_server(&mut self, server: ServerId) {
        // exercise: begin "insert the pair (vnode_point(server, i), server) for each i below vnodes"
        for replica in 0..self.vnodes {
            self.points.insert((vnode_point(server, replica), server));
        }
        // exercise: end
    }

    /// On a server leaving: take its points off the ring. Its keys fall to
    /// the next point clockwise of each; no other key changes owner.
    pub fn remove_server(&mut self, server: ServerId) {
        // exercise: begin "remove the pairs that add_server inserted for this server"
        for replica in 0..self.vnodes {
            self.points.remove(&(vnode_point(server, replica), server));
        }
        // exercise: end
    }

    /// The server of the first point at or after `point` going clockwise,
    /// wrapping past the top of the circle to its first point; `None` on an
    /// empty ring.
    pub fn successor(&self, point: u64) -> Option<ServerId> {
        // exercise: begin "find the first pair at or after (point, ServerId(0)), else wrap to the first pair"
        let at_or_after = self.points.range((point, ServerId(0))..).next();
        at_or_after
            .or_else(|| self.points.first())
            .map(|&(_, server)| server)
        // exercise: end
    }

    /// The server that owns `key`: the successor of the key's point.
    pub fn lookup(&self, key: &str) -> Option<ServerId> {
        // exercise: begin "the successor of the key's point"
        self.successor(key_point(key))
        // exercise: end
    }
}
