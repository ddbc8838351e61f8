//! Meta tests: the checks of cache_lru_ttl catch known-wrong caches. Each
//! is the suite's own [`Model`] with one planted mistake.

use super::{eviction_order, expiry, random_ops, Cache, Model, CAPACITY, EVICTION, EXPIRY, MODEL};
use dscheck::{expect_accepted, expect_caught, Suite};
use dsim::Time;
use std::time::Duration;

/// One mistake a learner could make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flaw {
    /// A read does not make the entry the most recently used: recency
    /// follows writes only.
    RecencyOnlyOnWrites,
    /// Entries never expire.
    TtlNeverExpires,
    /// A new key is added without evicting when the cache is full.
    NoEviction,
    /// `ttl` moves the entry to the front, as a read would.
    TtlRefreshesRecency,
}

/// The model with one flaw.
#[derive(Debug)]
struct Flawed {
    flaw: Flaw,
    model: Model,
    /// For `NoEviction`: entries beyond the capacity, held anyway.
    extra: Vec<(u64, u64)>,
}

fn make<const F: u8>(capacity: usize) -> Flawed {
    let flaw = match F {
        0 => Flaw::RecencyOnlyOnWrites,
        1 => Flaw::TtlNeverExpires,
        2 => Flaw::NoEviction,
        _ => Flaw::TtlRefreshesRecency,
    };
    Flawed {
        flaw,
        model: Model::new(capacity),
        extra: Vec::new(),
    }
}

impl Cache for Flawed {
    fn get(&mut self, key: u64, now: Time) -> Option<u64> {
        let now = self.clock(now);
        if let Some(&(_, v)) = self.extra.iter().find(|e| e.0 == key) {
            return Some(v);
        }
        if self.flaw == Flaw::RecencyOnlyOnWrites {
            let live = self.model.ttl(key, now)?;
            let _ = live;
            return self.model.entries.iter().find(|e| e.0 == key).map(|e| e.1);
        }
        self.model.get(key, now)
    }
    fn put(
        &mut self,
        key: u64,
        value: u64,
        ttl: Option<Duration>,
        now: Time,
    ) -> Option<(u64, u64)> {
        let now = self.clock(now);
        let full = self.model.len() >= self.model.capacity;
        let present = self.model.entries.iter().any(|e| e.0 == key);
        if self.flaw == Flaw::NoEviction && full && !present {
            self.extra.push((key, value));
            return None;
        }
        self.model.put(key, value, ttl, now)
    }
    fn remove(&mut self, key: u64, now: Time) -> Option<u64> {
        let now = self.clock(now);
        self.model.remove(key, now)
    }
    fn expire(&mut self, key: u64, ttl: Option<Duration>, now: Time) -> bool {
        let now = self.clock(now);
        self.model.expire(key, ttl, now)
    }
    fn ttl(&mut self, key: u64, now: Time) -> Option<Option<Duration>> {
        let now = self.clock(now);
        if self.flaw == Flaw::TtlRefreshesRecency {
            self.model.get(key, now)?;
        }
        self.model.ttl(key, now)
    }
    fn len(&self) -> usize {
        self.model.len() + self.extra.len()
    }
}

impl Flawed {
    /// For `TtlNeverExpires`, time stands still at zero, so no deadline is
    /// ever reached.
    fn clock(&self, now: Time) -> Time {
        if self.flaw == Flaw::TtlNeverExpires {
            Time::ZERO
        } else {
            now
        }
    }
}

pub(super) fn tests(suite: Suite) -> Suite {
    suite
        .test("meta::lru_recency_only_on_writes_is_caught", || {
            expect_caught(EVICTION, 10, |seed| eviction_order(seed, make::<0>))
        })
        .test("meta::lru_ttl_that_never_expires_is_caught", || {
            expect_caught(EXPIRY, 10, |seed| expiry(seed, make::<1>))
        })
        .test("meta::lru_without_eviction_is_caught", || {
            expect_caught(CAPACITY, 10, |seed| random_ops(seed, make::<2>, CAPACITY))
        })
        .test("meta::lru_ttl_refreshing_recency_is_caught", || {
            expect_caught(MODEL, 10, |seed| random_ops(seed, make::<3>, MODEL))
        })
        .test("meta::lru_correct_model_passes", || {
            expect_accepted("the lru_ttl checks", 5, |seed| {
                eviction_order(seed, Model::new)?;
                expiry(seed, Model::new)?;
                random_ops(seed, Model::new, MODEL)
            })
        })
}
