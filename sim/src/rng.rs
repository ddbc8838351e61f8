//! The one source of randomness in a simulation.
//!
//! Every random choice of a run (latencies, losses, a node's own random
//! timeouts) comes from a [`SimRng`] seeded from the run's `u64` seed. The
//! generator is xoshiro256++ (Blackman and Vigna), seeded through SplitMix64;
//! its output for a given seed is fixed by the algorithm itself, and the
//! sampling helpers below are written here rather than borrowed from `rand`,
//! whose sampling algorithms may change between versions. A test pins the
//! first outputs, so a seed printed today replays the same run tomorrow.

use rand::{SeedableRng, TryRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use std::convert::Infallible;
use std::ops::RangeInclusive;
use std::time::Duration;

/// A seeded, portable pseudo-random generator.
///
/// It implements [`rand::Rng`], so `rand`'s extension methods work on it
/// (`use dsim::rand::RngExt;`), but prefer the methods here: their output is
/// pinned by this crate's tests.
#[derive(Clone, Debug)]
pub struct SimRng(Xoshiro256PlusPlus);

impl SimRng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        SimRng(Xoshiro256PlusPlus::seed_from_u64(seed))
    }

    /// An independent generator derived from this one's seed and a stream
    /// number (one per node), so that one node's extra draws do not change
    /// another node's choices.
    pub fn fork(seed: u64, stream: u64) -> Self {
        // Mix the stream number in with a large odd constant (the golden ratio)
        // so that neighbouring streams start far apart.
        SimRng::new(seed ^ stream.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    /// The next raw 64-bit output.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let Ok(x) = self.0.try_next_u64();
        x
    }

    /// A uniform number in `0..n` (Lemire's multiply-shift with rejection).
    /// `n` must be positive.
    ///
    /// A draw is rejected when its low half falls below `2^64 mod n`, which
    /// is less than `n`; so the threshold (a 64-bit division, slower than
    /// everything else here) is computed only for a low half below `n`,
    /// which is rare. The draws and the results are those of the plain
    /// loop that divides every time.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "SimRng::below(0)");
        let mut m = (self.next_u64() as u128) * (n as u128);
        if (m as u64) < n {
            let threshold = n.wrapping_neg() % n;
            while (m as u64) < threshold {
                m = (self.next_u64() as u128) * (n as u128);
            }
        }
        (m >> 64) as u64
    }

    /// A uniform number in an inclusive range.
    #[inline]
    pub fn range(&mut self, range: RangeInclusive<u64>) -> u64 {
        let (lo, hi) = (*range.start(), *range.end());
        assert!(lo <= hi, "SimRng::range: empty range {lo}..={hi}");
        match (hi - lo).checked_add(1) {
            Some(span) => lo + self.below(span),
            None => self.next_u64(),
        }
    }

    /// A uniform duration in an inclusive range, to the nanosecond.
    #[inline]
    pub fn duration(&mut self, range: RangeInclusive<Duration>) -> Duration {
        let lo = range.start().as_nanos() as u64;
        let hi = range.end().as_nanos() as u64;
        Duration::from_nanos(self.range(lo..=hi))
    }

    /// A uniform float in `[0, 1)`, from the top 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p` (0 never draws, so a reliable network does
    /// not consume randomness).
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && (p >= 1.0 || self.unit() < p)
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// Shuffles a slice in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

impl TryRng for SimRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok((self.next_u64() >> 32) as u32)
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.next_u64())
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The outputs for seed 0 are fixed forever: if this test fails, every
    /// seed ever printed replays a different run.
    #[test]
    fn output_is_pinned() {
        let mut rng = SimRng::new(0);
        let first: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        assert_eq!(first, PINNED_SEED_0);
        let mut rng = SimRng::new(42);
        let draws: Vec<u64> = (0..5).map(|_| rng.range(1..=10)).collect();
        assert_eq!(draws, PINNED_RANGE_SEED_42);
    }

    // Checked against an independent implementation of SplitMix64 and xoshiro256++.
    const PINNED_SEED_0: [u64; 3] = [
        5987356902031041503,
        7051070477665621255,
        6633766593972829180,
    ];
    const PINNED_RANGE_SEED_42: [u64; 5] = [9, 4, 10, 8, 8];

    #[test]
    fn below_stays_in_bounds_and_covers() {
        let mut rng = SimRng::new(7);
        let mut seen = [false; 7];
        for _ in 0..1000 {
            let x = rng.below(7) as usize;
            seen[x] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }

    /// `below` computes its rejection threshold only when it may reject; it
    /// must draw and answer exactly as the loop that computes it every time,
    /// including for bounds that reject often (just above 2^63).
    #[test]
    fn below_draws_as_the_plain_loop() {
        fn plain(rng: &mut SimRng, n: u64) -> u64 {
            loop {
                let m = (rng.next_u64() as u128) * (n as u128);
                if m as u64 >= n.wrapping_neg() % n {
                    return (m >> 64) as u64;
                }
            }
        }
        let bounds = [
            1,
            2,
            3,
            7,
            10,
            9_000_001,
            u64::MAX / 3,
            (1 << 63) + 1,
            u64::MAX,
        ];
        for (seed, &n) in bounds.iter().enumerate() {
            let (mut fast, mut slow) = (SimRng::new(seed as u64), SimRng::new(seed as u64));
            for _ in 0..10_000 {
                assert_eq!(fast.below(n), plain(&mut slow, n), "n = {n}");
            }
            assert_eq!(fast.next_u64(), slow.next_u64(), "same draws for n = {n}");
        }
    }

    #[test]
    fn forks_differ() {
        assert_ne!(SimRng::fork(1, 0).next_u64(), SimRng::fork(1, 1).next_u64());
    }
}
