//! # cache_lru_ttl: an LRU cache with expiry, every operation O(1)
//!
//! A cache holds at most `capacity` entries. When a new key arrives and the
//! cache is full, the **least recently used** entry goes: the one whose last
//! read or write is the oldest. Recency is the bet that what was used a
//! moment ago will be used again soon.
//!
//! Each entry may also carry a **time to live**: after `expires_at` it is as
//! if it were not there. Expiry is lazy: an expired entry is removed when an
//! operation looks at its key (`get`, `ttl`, `expire`), and until then it
//! takes its place in the recency order like any other entry (so it may be
//! evicted first, being old). Time is passed in as `now` by the caller, so
//! the cache itself never reads a clock and a test can replay it exactly.
//!
//! Every operation is O(1): a hash map finds a key's slot, and the slots form
//! a doubly linked list in recency order, most recent at the head, least
//! recent at the tail. Moving an entry to the head is four link updates;
//! evicting is unlinking the tail. The list lives in a `Vec` of slots linked
//! by index (no pointers, no `unsafe`), and freed slots are reused.
//!
// exercise: begin
// stub: //! Read `exercises/10_cache/README.md` first. The slots, the map and the
// stub: //! helpers `slot`, `slot_mut` and `delete` are given; fill in each `todo!()`:
// stub: //! the two list operations first (`unlink`, `push_front`), then `live`
// stub: //! (expiry), then the operations.
// stub:
// stub: // Until you fill them in, the given helpers are not used yet.
// stub: #![allow(dead_code)]
//! The reference solution.
// exercise: end

use dsim::Time;
use std::collections::HashMap;
use std::hash::Hash;
use std::time::Duration;

/// One entry, and its neighbours in recency order.
#[derive(Clone, Debug)]
pub struct Slot<K, V> {
    pub key: K,
    pub value: V,
    /// When it stops existing; `None`: never.
    pub expires_at: Option<Time>,
    /// The next more recent entry (towards the head).
    pub newer: Option<usize>,
    /// The next less recent entry (towards the tail).
    pub older: Option<usize>,
}

/// An LRU cache of at most `capacity` entries, each with an optional expiry.
#[derive(Clone, Debug)]
pub struct LruCache<K, V> {
    capacity: usize,
    /// Where each key's slot is. (A `HashMap` is fine here: the cache only
    /// looks keys up, it never iterates over the map.)
    index: HashMap<K, usize>,
    /// The slots; `None` marks a free one, listed in `free`.
    slots: Vec<Option<Slot<K, V>>>,
    /// Free slots, to reuse before growing `slots`.
    free: Vec<usize>,
    /// The most recently used entry.
    head: Option<usize>,
    /// The least recently used entry: the next to be evicted.
    tail: Option<usize>,
}

impl<K: Eq + Hash + Clone, V> LruCache<K, V> {
    /// An empty cache that holds at most `capacity` entries (at least one).
    pub fn new(capacity: usize) -> Self {
        LruCache {
            capacity: capacity.max(1),
            index: HashMap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            head: None,
            tail: None,
        }
    }

    /// How many entries it may hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many entries it holds, expired ones not yet removed included.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The keys from the most to the least recently used (for tests and
    /// debugging: O(n)).
    pub fn keys_by_recency(&self) -> Vec<K> {
        let mut keys = Vec::with_capacity(self.len());
        let mut at = self.head;
        while let Some(i) = at {
            let slot = self.slot(i);
            keys.push(slot.key.clone());
            at = slot.older;
        }
        keys
    }

    fn slot(&self, i: usize) -> &Slot<K, V> {
        self.slots[i].as_ref().expect("a linked slot is in use")
    }

    fn slot_mut(&mut self, i: usize) -> &mut Slot<K, V> {
        self.slots[i].as_mut().expect("a linked slot is in use")
    }

    /// Takes slot `i` out of the recency list, joining its neighbours.
    fn unlink(&mut self, i: usize) {
        // exercise: begin "join the slot's newer and older neighbours to each other; an end of the list moves to the neighbour (head = older when there is no newer, tail = newer when there is no older)"
        let (newer, older) = {
            let slot = self.slot(i);
            (slot.newer, slot.older)
        };
        match newer {
            Some(n) => self.slot_mut(n).older = older,
            None => self.head = older,
        }
        match older {
            Some(o) => self.slot_mut(o).newer = newer,
            None => self.tail = newer,
        }
        // exercise: end
    }

    /// Puts slot `i` at the head of the recency list: the most recent.
    fn push_front(&mut self, i: usize) {
        // exercise: begin "link the slot before the old head (newer None, older the old head) and make it the head; an empty list gets it as its tail too"
        let old_head = self.head;
        {
            let slot = self.slot_mut(i);
            slot.newer = None;
            slot.older = old_head;
        }
        match old_head {
            Some(h) => self.slot_mut(h).newer = Some(i),
            None => self.tail = Some(i),
        }
        self.head = Some(i);
        // exercise: end
    }

    /// Removes the entry in slot `i` altogether and frees the slot.
    fn delete(&mut self, i: usize) -> Slot<K, V> {
        self.unlink(i);
        let slot = self.slots[i].take().expect("a linked slot is in use");
        self.index.remove(&slot.key);
        self.free.push(i);
        slot
    }

    /// The slot of `key` if it holds a live entry; an expired entry is
    /// removed on the way.
    fn live(&mut self, key: &K, now: Time) -> Option<usize> {
        // exercise: begin "look the key up in the index; if its slot has expired (now >= expires_at), delete it and answer None"
        let i = *self.index.get(key)?;
        if self.slot(i).expires_at.is_some_and(|at| now >= at) {
            self.delete(i);
            return None;
        }
        Some(i)
        // exercise: end
    }

    /// On a read: the value of `key` if present and not expired, and the
    /// entry becomes the most recently used.
    pub fn get(&mut self, key: &K, now: Time) -> Option<&V> {
        // exercise: begin "find the live slot, move it to the front (unlink, push_front), and return its value"
        let i = self.live(key, now)?;
        self.unlink(i);
        self.push_front(i);
        Some(&self.slot(i).value)
        // exercise: end
    }

    /// On a write: `key` maps to `value` from now on, expiring `ttl` after
    /// `now` (`None`: never), as the most recently used entry. A new key in a
    /// full cache first evicts the least recently used entry, which is
    /// returned.
    pub fn put(&mut self, key: K, value: V, ttl: Option<Duration>, now: Time) -> Option<(K, V)> {
        // exercise: begin "an existing key: replace value and expiry, move to the front. A new key: evict the tail if the cache is full, fill a free slot (or push one), index it, push it to the front"
        let expires_at = ttl.map(|d| now + d);
        if let Some(&i) = self.index.get(&key) {
            let slot = self.slot_mut(i);
            slot.value = value;
            slot.expires_at = expires_at;
            self.unlink(i);
            self.push_front(i);
            return None;
        }
        let evicted = if self.len() >= self.capacity {
            let lru = self.tail.expect("a full cache has a tail");
            let slot = self.delete(lru);
            Some((slot.key, slot.value))
        } else {
            None
        };
        let slot = Slot {
            key: key.clone(),
            value,
            expires_at,
            newer: None,
            older: None,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i] = Some(slot);
                i
            }
            None => {
                self.slots.push(Some(slot));
                self.slots.len() - 1
            }
        };
        self.index.insert(key, i);
        self.push_front(i);
        evicted
        // exercise: end
    }

    /// Removes `key`; its value if it was present and not expired.
    pub fn remove(&mut self, key: &K, now: Time) -> Option<V> {
        // exercise: begin "find the live slot and delete it"
        let i = self.live(key, now)?;
        Some(self.delete(i).value)
        // exercise: end
    }

    /// Sets a live entry's expiry to `ttl` after `now` (`None`: never
    /// expires). Recency does not change. `false` if `key` is absent.
    pub fn expire(&mut self, key: &K, ttl: Option<Duration>, now: Time) -> bool {
        // exercise: begin "find the live slot and set its expires_at to now + ttl (None stays None)"
        match self.live(key, now) {
            Some(i) => {
                self.slot_mut(i).expires_at = ttl.map(|d| now + d);
                true
            }
            None => false,
        }
        // exercise: end
    }

    /// The time `key` has left: `None` if absent (or expired),
    /// `Some(None)` if it never expires. Recency does not change.
    pub fn ttl(&mut self, key: &K, now: Time) -> Option<Option<Duration>> {
        // exercise: begin "find the live slot; its time left is expires_at minus now (Time::saturating_since)"
        let i = self.live(key, now)?;
        Some(self.slot(i).expires_at.map(|at| at.saturating_since(now)))
        // exercise: end
    }
}
