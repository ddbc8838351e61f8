//! cache_lru_ttl: an O(1) LRU cache with expiry.
//!
//! Every check drives a cache through [`Cache`] (keys and values are
//! numbers, time in milliseconds) side by side with [`Model`], a plain list
//! in recency order that is obviously right and O(n), and compares what
//! they answer after every operation.

mod wrong;

use crate::subject::cache::lru_ttl::LruCache;
use dscheck::{ensure, ms, Failure, Property, Suite};
use dsim::{SimRng, Time};
use std::time::Duration;

/// What the checks use of a cache: the learner's, or a known-wrong one in
/// the `meta` tests.
pub trait Cache {
    fn get(&mut self, key: u64, now: Time) -> Option<u64>;
    fn put(&mut self, key: u64, value: u64, ttl: Option<Duration>, now: Time)
        -> Option<(u64, u64)>;
    fn remove(&mut self, key: u64, now: Time) -> Option<u64>;
    fn expire(&mut self, key: u64, ttl: Option<Duration>, now: Time) -> bool;
    fn ttl(&mut self, key: u64, now: Time) -> Option<Option<Duration>>;
    fn len(&self) -> usize;
}

impl Cache for LruCache<u64, u64> {
    fn get(&mut self, key: u64, now: Time) -> Option<u64> {
        LruCache::get(self, &key, now).copied()
    }
    fn put(
        &mut self,
        key: u64,
        value: u64,
        ttl: Option<Duration>,
        now: Time,
    ) -> Option<(u64, u64)> {
        LruCache::put(self, key, value, ttl, now)
    }
    fn remove(&mut self, key: u64, now: Time) -> Option<u64> {
        LruCache::remove(self, &key, now)
    }
    fn expire(&mut self, key: u64, ttl: Option<Duration>, now: Time) -> bool {
        LruCache::expire(self, &key, ttl, now)
    }
    fn ttl(&mut self, key: u64, now: Time) -> Option<Option<Duration>> {
        LruCache::ttl(self, &key, now)
    }
    fn len(&self) -> usize {
        LruCache::len(self)
    }
}

/// Builds an empty cache of a given capacity.
pub type Make<C> = fn(usize) -> C;

fn subject(capacity: usize) -> LruCache<u64, u64> {
    LruCache::new(capacity)
}

// ----- properties and their hints ---------------------------------------------

pub(super) const EVICTION: Property = Property {
    name: "a full cache evicts the least recently used entry",
    hint: "a read (get) makes an entry the most recently used, as a write does: unlink its slot \
           and push it to the front; evict from the tail, the least recently used end",
    when: &[],
};
pub(super) const EXPIRY: Property = Property {
    name: "an entry is gone once its time to live has passed",
    hint: "in live(), compare the slot's expires_at with now: an entry with now >= expires_at is \
           deleted and reported absent; put sets expires_at = now + ttl, and a put without a ttl \
           clears it",
    when: &[],
};
pub(super) const CAPACITY: Property = Property {
    name: "the cache never holds more entries than its capacity",
    hint: "before inserting a new key into a full cache (len() == capacity), delete the tail; \
           replacing the value of a key already present evicts nothing",
    when: &[],
};
pub(super) const MODEL: Property = Property {
    name: "every operation answers as a plain LRU list would",
    hint: "compare your answers with the doc comments one operation at a time: expire and ttl do \
           not change recency; remove, expire and ttl report an expired key as absent",
    when: &[],
};

pub fn tests(suite: Suite) -> Suite {
    let suite = suite
        .seeded("lru_ttl::evicts_the_least_recently_used", 10, |seed| {
            eviction_order(seed, subject)
        })
        .seeded("lru_ttl::expired_entries_are_gone_on_read", 10, |seed| {
            expiry(seed, subject)
        })
        .seeded("lru_ttl::never_holds_more_than_its_capacity", 10, |seed| {
            random_ops(seed, subject, CAPACITY)
        })
        .seeded("lru_ttl::random_operations_match_a_model", 30, |seed| {
            random_ops(seed, subject, MODEL)
        });
    wrong::tests(suite)
}

// ----- the model ------------------------------------------------------------------

/// An LRU cache as a list, most recent first: obviously right, O(n).
#[derive(Clone, Debug)]
pub(super) struct Model {
    capacity: usize,
    /// (key, value, expires at), most recently used first.
    entries: Vec<(u64, u64, Option<Time>)>,
}

impl Model {
    pub(super) fn new(capacity: usize) -> Model {
        Model {
            capacity: capacity.max(1),
            entries: Vec::new(),
        }
    }

    /// The position of `key` if live; an expired entry is dropped.
    fn live(&mut self, key: u64, now: Time) -> Option<usize> {
        let i = self.entries.iter().position(|e| e.0 == key)?;
        if self.entries[i].2.is_some_and(|at| now >= at) {
            self.entries.remove(i);
            return None;
        }
        Some(i)
    }

    fn keys(&self) -> Vec<u64> {
        self.entries.iter().map(|e| e.0).collect()
    }
}

impl Cache for Model {
    fn get(&mut self, key: u64, now: Time) -> Option<u64> {
        let i = self.live(key, now)?;
        let entry = self.entries.remove(i);
        self.entries.insert(0, entry);
        Some(entry.1)
    }
    fn put(
        &mut self,
        key: u64,
        value: u64,
        ttl: Option<Duration>,
        now: Time,
    ) -> Option<(u64, u64)> {
        let expires = ttl.map(|d| now + d);
        if let Some(i) = self.entries.iter().position(|e| e.0 == key) {
            self.entries.remove(i);
            self.entries.insert(0, (key, value, expires));
            return None;
        }
        let evicted = (self.entries.len() >= self.capacity)
            .then(|| self.entries.pop())
            .flatten()
            .map(|(k, v, _)| (k, v));
        self.entries.insert(0, (key, value, expires));
        evicted
    }
    fn remove(&mut self, key: u64, now: Time) -> Option<u64> {
        let i = self.live(key, now)?;
        Some(self.entries.remove(i).1)
    }
    fn expire(&mut self, key: u64, ttl: Option<Duration>, now: Time) -> bool {
        match self.live(key, now) {
            Some(i) => {
                self.entries[i].2 = ttl.map(|d| now + d);
                true
            }
            None => false,
        }
    }
    fn ttl(&mut self, key: u64, now: Time) -> Option<Option<Duration>> {
        let i = self.live(key, now)?;
        Some(self.entries[i].2.map(|at| at.saturating_since(now)))
    }
    fn len(&self) -> usize {
        self.entries.len()
    }
}

// ----- the checks ------------------------------------------------------------------

/// Fills a cache of 3 to 10 entries, reads some of them (in a random order),
/// then adds new keys one at a time: each must evict exactly the entry the
/// model evicts, the least recently read or written, and that entry must be
/// gone while every other stays.
pub(super) fn eviction_order<C: Cache>(seed: u64, make: Make<C>) -> Result<(), Failure> {
    let mut rng = SimRng::new(seed);
    let capacity = 3 + rng.below(8) as usize;
    let mut cache = make(capacity);
    let mut model = Model::new(capacity);
    let now = Time::ZERO;
    let mut story = Vec::new();
    for key in 0..capacity as u64 {
        cache.put(key, key * 10, None, now);
        model.put(key, key * 10, None, now);
        story.push(format!("put {key}"));
    }
    let mut next = capacity as u64;
    for _ in 0..30 {
        if rng.chance(0.6) {
            let key = *rng.pick(&model.keys());
            cache.get(key, now);
            model.get(key, now);
            story.push(format!("get {key}"));
            continue;
        }
        let key = next;
        next += 1;
        let expected = model.put(key, key * 10, None, now);
        let got = cache.put(key, key * 10, None, now);
        story.push(format!("put {key}"));
        ensure(got == expected, EVICTION, || {
            format!(
                "capacity {capacity}, after {}: the put evicted {got:?}, but the least recently \
                 used entry was {expected:?} (recency now, most recent first: {:?})",
                story.join(", "),
                model.keys()
            )
        })?;
        if let Some((gone, _)) = expected {
            let still = cache.get(gone, now);
            model.get(gone, now);
            story.push(format!("get {gone}"));
            ensure(still.is_none(), EVICTION, || {
                format!(
                    "capacity {capacity}, after {}: key {gone} should have been evicted, but get \
                     still found {still:?}",
                    story.join(", ")
                )
            })?;
        }
    }
    Ok(())
}

/// Entries with times to live from 1 ms to 1 s, read before, at and after
/// their deadline: a read before sees the value, a read at or after sees
/// nothing, and `ttl` counts down.
pub(super) fn expiry<C: Cache>(seed: u64, make: Make<C>) -> Result<(), Failure> {
    let mut rng = SimRng::new(seed);
    let mut cache = make(1000);
    let start = Time::from_millis(rng.range(0..=1000));
    for key in 0..50u64 {
        let ttl = ms(rng.range(1..=1000));
        cache.put(key, key + 7, Some(ttl), start);
        let before = start + ttl - Duration::from_nanos(1);
        let left = cache.ttl(key, start);
        ensure(left == Some(Some(ttl)), EXPIRY, || {
            format!(
                "key {key} was put with a time to live of {ttl:?}; at once, ttl answered {left:?}"
            )
        })?;
        let seen = cache.get(key, before);
        ensure(seen == Some(key + 7), EXPIRY, || {
            format!("key {key} was put at {start} with a time to live of {ttl:?}; read 1 ns before it expires, get answered {seen:?}, not Some({})", key + 7)
        })?;
        let late = start + ttl + ms(rng.below(3));
        let seen = cache.get(key, late);
        ensure(seen.is_none(), EXPIRY, || {
            format!("key {key} was put at {start} with a time to live of {ttl:?}; read at {late}, when it had expired, get still answered {seen:?}")
        })?;
        let left = cache.ttl(key, late);
        ensure(left.is_none(), EXPIRY, || {
            format!(
                "key {key} expired at {}; ttl at {late} answered {left:?}, not None",
                start + ttl
            )
        })?;
    }
    // A put without a time to live clears an earlier one.
    cache.put(99, 1, Some(ms(5)), start);
    cache.put(99, 2, None, start);
    let seen = cache.get(99, start + ms(10));
    ensure(seen == Some(2), EXPIRY, || {
        format!("key 99 was put with a time to live of 5 ms, then put again without one; 10 ms later get answered {seen:?}, not Some(2)")
    })?;
    // expire() gives a live key a deadline.
    cache.put(100, 3, None, start);
    cache.expire(100, Some(ms(20)), start + ms(10));
    let seen = cache.get(100, start + ms(30));
    ensure(seen.is_none(), EXPIRY, || {
        format!("key 100 was given a time to live of 20 ms by expire at {}; at {} get answered {seen:?}", start + ms(10), start + ms(30))
    })?;
    Ok(())
}

/// An operation of the fixed start of [`random_ops`].
#[derive(Clone, Copy)]
enum Scripted {
    Put(u64),
    Ttl(u64),
}

impl Scripted {
    /// Runs it on `cache`, as text for a failure's story, and its answer.
    fn run<C: Cache>(self, cache: &mut C, now: Time) -> (String, String) {
        match self {
            Scripted::Put(key) => (
                format!("put {key}={key} ttl None at {now}"),
                format!("evicted {:?}", cache.put(key, key, None, now)),
            ),
            Scripted::Ttl(key) => (
                format!("ttl {key} at {now}"),
                format!("{:?}", cache.ttl(key, now)),
            ),
        }
    }
}

/// One random operation, as text for a failure's story.
fn operation<C: Cache>(cache: &mut C, rng: &mut SimRng, keys: u64, now: Time) -> (String, String) {
    let key = rng.below(keys);
    let ttl = if rng.chance(0.4) {
        Some(ms(rng.range(1..=60)))
    } else {
        None
    };
    match rng.below(10) {
        0..=3 => (
            format!("get {key} at {now}"),
            format!("{:?}", cache.get(key, now)),
        ),
        4..=7 => {
            let value = rng.below(1000);
            let evicted = cache.put(key, value, ttl, now);
            (
                format!("put {key}={value} ttl {ttl:?} at {now}"),
                format!("evicted {evicted:?}"),
            )
        }
        8 => (
            format!("remove {key} at {now}"),
            format!("{:?}", cache.remove(key, now)),
        ),
        _ if rng.chance(0.5) => (
            format!("expire {key} {ttl:?} at {now}"),
            format!("{}", cache.expire(key, ttl, now)),
        ),
        _ => (
            format!("ttl {key} at {now}"),
            format!("{:?}", cache.ttl(key, now)),
        ),
    }
}

/// A fixed start (the cache filled, the oldest key's ttl read, one key
/// more), then 2,000 random operations (get, put with and without a time to live,
/// remove, expire, ttl) on a capacity of 2 to 16 and 1 to 24 keys more
/// than it holds, time moving on by 0 to 8 ms between operations; after
/// each, the cache holds
/// at most its capacity, and (for `MODEL`) every answer and the length
/// equal the model's.
pub(super) fn random_ops<C: Cache>(
    seed: u64,
    make: Make<C>,
    property: Property,
) -> Result<(), Failure> {
    let mut rng = SimRng::new(seed);
    // Room for two at least, and more keys than room: every seed evicts,
    // and by recency.
    let capacity = 2 + rng.below(15) as usize;
    let keys = capacity as u64 + 1 + rng.below(24);
    let mut cache = make(capacity);
    let mut model = Model::new(capacity);
    let mut now = Time::ZERO;
    let mut story: Vec<String> = Vec::new();
    // First, certainly: the cache filled, the oldest key's ttl read (a read
    // that must not make it recent), and one key more.
    let script = (0..capacity as u64)
        .map(Scripted::Put)
        .chain([Scripted::Ttl(0), Scripted::Put(capacity as u64)]);
    let mut script = script.collect::<Vec<_>>().into_iter();
    for _ in 0..2_000 + script.len() {
        now = now + ms(rng.below(9));
        let ((op, got), expected) = match script.next() {
            Some(step) => (step.run(&mut cache, now), step.run(&mut model, now).1),
            None => {
                let mut twin = rng.clone();
                let done = operation(&mut cache, &mut rng, keys, now);
                (done, operation(&mut model, &mut twin, keys, now).1)
            }
        };
        story.push(format!("{op} → {got}"));
        if story.len() > 8 {
            story.remove(0);
        }
        let len = cache.len();
        ensure(len <= capacity, CAPACITY, || {
            format!(
                "capacity {capacity}: after these operations the cache holds {len} entries:\n  {}",
                story.join("\n  ")
            )
        })?;
        if property == MODEL {
            let expected_len = model.len();
            ensure(got == expected && len == expected_len, MODEL, || {
                format!(
                    "capacity {capacity}: the last of these operations answered {got} with {len} \
                     entries held; a plain LRU list answers {expected} with {expected_len} \
                     (most recent first: {:?}):\n  {}",
                    model.keys(),
                    story.join("\n  ")
                )
            })?;
        }
    }
    Ok(())
}
