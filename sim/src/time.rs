//! Simulated time and the nodes' own clocks.
//!
//! The simulator keeps one true time for the whole run. A node never sees it:
//! `ctx.now()` reads the node's own clock, which a scenario may set off by a
//! fixed skew and make run fast or slow by a drift, as a quartz oscillator
//! does. Timers are measured on that same clock, so a node whose clock runs
//! fast also fires its timers early in true time.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, Sub};
use std::time::Duration;

/// A point in time, in nanoseconds since the start of the run: true time in
/// the simulator's trace, or a reading of a node's own clock from `ctx.now()`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Time(pub u64);

impl Time {
    /// The start of the run.
    pub const ZERO: Time = Time(0);

    /// A time this many nanoseconds after the start.
    pub const fn from_nanos(nanos: u64) -> Time {
        Time(nanos)
    }

    /// A time this many milliseconds after the start.
    pub const fn from_millis(millis: u64) -> Time {
        Time(millis * 1_000_000)
    }

    /// Nanoseconds since the start.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Whole milliseconds since the start.
    pub const fn as_millis(self) -> u64 {
        self.0 / 1_000_000
    }

    /// The time elapsed since `earlier`, or zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Time) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }

    /// `self - other` in nanoseconds, negative if `other` is later. Handy for
    /// clock offsets, which have a sign.
    pub fn signed_nanos_since(self, other: Time) -> i64 {
        self.0 as i64 - other.0 as i64
    }
}

impl Add<Duration> for Time {
    type Output = Time;
    fn add(self, d: Duration) -> Time {
        Time(self.0.saturating_add(d.as_nanos() as u64))
    }
}

impl Sub<Duration> for Time {
    type Output = Time;
    fn sub(self, d: Duration) -> Time {
        Time(self.0.saturating_sub(d.as_nanos() as u64))
    }
}

impl fmt::Display for Time {
    /// Milliseconds with up to three decimals: `412 ms`, `12.5 ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micros = self.0 / 1_000;
        if micros.is_multiple_of(1_000) {
            write!(f, "{} ms", micros / 1_000)
        } else {
            let text = format!("{}.{:03}", micros / 1_000, micros % 1_000);
            write!(f, "{} ms", text.trim_end_matches('0'))
        }
    }
}

/// How a node's clock differs from true time: `local = true + skew + true × drift`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Clock {
    /// A fixed offset in nanoseconds (positive: the clock is ahead). A
    /// clock behind true time reads zero until true time catches up with
    /// it, so durations a node measures from its first readings come out
    /// short: to skew clocks apart, set every offset ahead (0 to 2s rather
    /// than ±s) unless the scenario means to show that.
    pub skew_nanos: i64,
    /// The rate error in parts per million (positive: the clock runs fast).
    /// Quartz clocks are typically within ±50 ppm.
    pub drift_ppm: f64,
}

impl Clock {
    /// A clock that agrees with true time.
    pub const PERFECT: Clock = Clock {
        skew_nanos: 0,
        drift_ppm: 0.0,
    };

    /// The reading of this clock at true time `t` (never below zero).
    #[inline]
    pub fn local(&self, t: Time) -> Time {
        Time(self.unclamped(t).max(0) as u64)
    }

    /// The reading at true time `t` before it is clamped at zero.
    #[inline]
    fn unclamped(&self, t: Time) -> i64 {
        // Most clocks do not drift, and every handler reads its clock: skip
        // the float conversions then (a zero drift adds exactly zero).
        let drift = if self.drift_ppm == 0.0 {
            0
        } else {
            (t.0 as f64 * self.drift_ppm * 1e-6) as i64
        };
        t.0 as i64 + self.skew_nanos + drift
    }

    /// The true time at which a timer of `d` set at true time `now` fires:
    /// the first nanosecond at which this clock has advanced by at least `d`,
    /// so that a handler comparing `ctx.now()` with a deadline it computed
    /// when it set the timer finds the deadline reached.
    pub(crate) fn timer_deadline(&self, now: Time, d: Duration) -> Time {
        let target = self.unclamped(now).saturating_add(d.as_nanos() as i64);
        let mut at = now + self.true_duration(d);
        // Rounding in `local` can leave the reading a nanosecond or so short
        // of the target; step on until it is not (bounded, in case the clock
        // has been set to stand still).
        for _ in 0..1_000 {
            if self.unclamped(at) >= target {
                break;
            }
            at = at + Duration::from_nanos(1);
        }
        at
    }

    /// How much true time passes while this clock advances by `d`, rounded
    /// up to the nanosecond, so that a timer never fires before its duration
    /// has passed on the node's clock.
    pub fn true_duration(&self, d: Duration) -> Duration {
        if self.drift_ppm == 0.0 {
            d
        } else {
            Duration::from_nanos((d.as_nanos() as f64 / (1.0 + self.drift_ppm * 1e-6)).ceil() as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_milliseconds() {
        assert_eq!(Time::from_millis(412).to_string(), "412 ms");
        assert_eq!(Time::from_nanos(12_500_000).to_string(), "12.5 ms");
    }

    #[test]
    fn skew_and_drift() {
        let c = Clock {
            skew_nanos: 5_000_000,
            drift_ppm: 100.0,
        };
        // After one second of true time: +5 ms skew, +100 µs drift.
        assert_eq!(
            c.local(Time::from_millis(1000)),
            Time::from_nanos(1_005_100_000)
        );
        assert!(c.true_duration(Duration::from_secs(1)) < Duration::from_secs(1));
    }
}
