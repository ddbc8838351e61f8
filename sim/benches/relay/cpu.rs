//! Timing by the CPU time of this thread, not the wall clock.
//!
//! The machines this runs on are shared: a run that the scheduler sets aside
//! for a few milliseconds would otherwise count those milliseconds, and a
//! 3 ms run can look twice as slow as it is. `CLOCK_THREAD_CPUTIME_ID` counts
//! only the time this thread ran, to the nanosecond (`/proc`'s schedstat is
//! only brought up to date at scheduler ticks, too coarse for a 3 ms run).
//! Where there is no such clock the wall clock is used.

use std::time::{Duration, Instant};

/// A point to measure from.
pub struct Start {
    cpu: Option<Duration>,
    wall: Instant,
}

/// The CPU time this thread has used, if the system says.
#[cfg(unix)]
fn cpu_time() -> Option<Duration> {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable timespec for the call's duration.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    (rc == 0).then(|| Duration::new(t.tv_sec as u64, t.tv_nsec as u32))
}

#[cfg(not(unix))]
fn cpu_time() -> Option<Duration> {
    None
}

/// Starts measuring.
pub fn start() -> Start {
    Start {
        cpu: cpu_time(),
        wall: Instant::now(),
    }
}

/// Whether times are CPU times (else wall-clock times).
pub fn is_cpu_time() -> bool {
    cpu_time().is_some()
}

impl Start {
    /// The time spent since `start`.
    pub fn elapsed(&self) -> Duration {
        match (self.cpu, cpu_time()) {
            (Some(before), Some(now)) if now > before => now - before,
            _ => self.wall.elapsed(),
        }
    }
}
