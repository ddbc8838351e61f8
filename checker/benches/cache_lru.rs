//! Time per operation of the LRU cache (the reference by default; the
//! learner's with `--no-default-features --features learner,exercises/cache`)
//! as it grows from 1,000 to 1,000,000 entries. O(1) operations take about
//! the same time at every size; an O(n) list would take a thousand times
//! longer at the largest size than at the smallest.
//!
//! Two kinds of reads are timed. "hot get" reads the same 1,000 keys at
//! every size, so the memory it touches stays in the processor's caches and
//! what remains is the algorithm: flat for O(1). "random get" reads keys
//! all over the cache, so at large sizes most reads wait for main memory
//! (a few cache misses each, whatever the algorithm): that time grows with
//! the memory, not with the number of entries walked.
//!
//! `cargo bench -p checker --bench cache_lru`

#[cfg(feature = "learner")]
use exercises as subject;
#[cfg(not(feature = "learner"))]
use solutions as subject;

use dsim::Time;
use std::hint::black_box;
use std::time::{Duration, Instant};
use subject::cache::lru_ttl::LruCache;

/// Operations timed at each size.
const OPS: u64 = 2_000_000;

/// A cheap, fixed sequence of pseudo-random keys (SplitMix64).
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn main() {
    println!(
        "{:>10}  {:>12}  {:>12}  {:>12}  {:>12}",
        "entries", "hot get", "random get", "put+evict", "mixed"
    );
    println!("{:>10}  {:>12}", "", "(ns per operation)");
    for size in [1_000u64, 10_000, 100_000, 1_000_000] {
        let mut cache: LruCache<u64, u64> = LruCache::new(size as usize);
        let now = Time::ZERO;
        for key in 0..size {
            cache.put(key, key, None, now);
        }
        // Reads of the same 1,000 keys at every size.
        let started = Instant::now();
        for i in 0..OPS {
            black_box(cache.get(&(mix(i) % 1_000), now));
        }
        let hot = per_op(started.elapsed());
        // Reads of keys all over the cache: each moves an entry to the front.
        let started = Instant::now();
        for i in 0..OPS {
            black_box(cache.get(&(mix(i) % size), now));
        }
        let get = per_op(started.elapsed());
        // Writes of new keys: each evicts the least recently used entry.
        let started = Instant::now();
        for i in 0..OPS {
            black_box(cache.put(size + i, i, None, now));
        }
        let put = per_op(started.elapsed());
        // Nine reads to one write, some with a time to live, time moving on.
        let started = Instant::now();
        let mut now = now;
        for i in 0..OPS {
            let key = mix(i) % (2 * size);
            if i % 10 == 0 {
                now = now + Duration::from_micros(1);
                black_box(cache.put(key, i, Some(Duration::from_millis(5)), now));
            } else {
                black_box(cache.get(&key, now));
            }
        }
        let mixed = per_op(started.elapsed());
        assert!(cache.len() <= size as usize);
        println!("{size:>10}  {hot:>12.1}  {get:>12.1}  {put:>12.1}  {mixed:>12.1}");
    }
}

fn per_op(elapsed: Duration) -> f64 {
    elapsed.as_nanos() as f64 / OPS as f64
}
