//! The receiver's memory of applied numbers, driven directly: `remember`
//! keeps one by one only the numbers above the watermark, whatever it is
//! given, so remembering a number again (or one at or below the
//! watermark) adds nothing.

use dscheck::{Failure, Property};
use std::collections::BTreeSet;

pub const WATERMARK: Property = Property {
    name: "the receiver remembers one by one only numbers above its watermark",
    hint: "in remember(seq), insert seq into applied_above only if seq > applied_up_to (every number up to the watermark is remembered already), then move the watermark up",
    when: &[],
};

/// A de-duplication memory the test can drive: the learner's receiver, or
/// a known-wrong one in the `meta` test.
pub trait Memory {
    fn remember(&mut self, seq: u64);
    /// (applied_up_to, applied_above).
    fn state(&self) -> (u64, &BTreeSet<u64>);
}

/// A wrong memory for the meta test: it files every number it is given
/// above the watermark's bookkeeping, even one already covered.
#[derive(Default)]
pub struct Unguarded {
    up_to: u64,
    above: BTreeSet<u64>,
}

impl Memory for Unguarded {
    fn remember(&mut self, seq: u64) {
        self.above.insert(seq);
        while self.above.remove(&(self.up_to + 1)) {
            self.up_to += 1;
        }
    }
    fn state(&self) -> (u64, &BTreeSet<u64>) {
        (self.up_to, &self.above)
    }
}

/// Remembers 1, 2, 4, then 2, 1 and 4 again, then 3: after each call the
/// watermark and the numbers above it are what the rule gives.
/// `make` builds a new, empty memory.
pub fn watermark(make: impl Fn() -> Box<dyn Memory>) -> Result<(), Failure> {
    let steps: [(u64, u64, &[u64]); 7] = [
        (1, 1, &[]),
        (2, 2, &[]),
        (4, 2, &[4]),
        (2, 2, &[4]),
        (1, 2, &[4]),
        (4, 2, &[4]),
        (3, 4, &[]),
    ];
    let mut memory = make();
    let mut done = Vec::new();
    for (seq, up_to, above) in steps {
        memory.remember(seq);
        done.push(format!("remember({seq})"));
        let (got_up_to, got_above) = memory.state();
        let above: BTreeSet<u64> = above.iter().copied().collect();
        if got_up_to != up_to || *got_above != above {
            return Err(Failure::new(
                WATERMARK,
                format!(
                    "a new receiver, then {}: applied_up_to = {got_up_to} and applied_above = {got_above:?}; \
                     they should be {up_to} and {above:?}",
                    done.join(", ")
                ),
            ));
        }
    }
    Ok(())
}
