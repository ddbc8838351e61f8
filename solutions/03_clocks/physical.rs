//! # clocks_physical: synchronising a clock with a time server
//!
//! Every node has a hardware clock (`ctx.now()`) that starts off by some
//! skew and runs a little fast or slow (drift). A client fixes this the way
//! NTP does: it asks a time server for the time and notes four timestamps,
//!
//! - `t1`: the client sends the request (client's clock),
//! - `t2`: the server receives it (server's clock),
//! - `t3`: the server sends its answer (server's clock),
//! - `t4`: the client receives the answer (client's clock),
//!
//! from which it computes the round-trip delay δ and its clock's offset θ
//! from the server's. It then corrects a *synchronised clock*, a software
//! clock on top of the hardware one: a small offset is slewed (the clock
//! runs slightly faster or slower until the offset is gone), a large one is
//! stepped (the clock jumps forward). The synchronised clock never goes
//! back, so a clock that is far ahead is slewed fast instead of stepped.
//!
// exercise: begin
// stub: //! Read `exercises/03_clocks/README.md` first. Then fill in each `todo!()`:
// stub: //! the arithmetic first, then the synchronised clock, then the node.
//! The reference solution.
// exercise: end

use dsim::{Ctx, Node, NodeId, Time};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How often a client asks the server for the time (on its own clock).
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// An offset at least this large is corrected at once; a smaller one is
/// slewed. (The NTP daemon's default is about the same, 128 ms.)
pub const STEP_THRESHOLD: Duration = Duration::from_millis(125);

/// How much a slew may speed up or slow down the clock for a small offset,
/// in parts per million: 5000 ppm corrects 5 ms per second. (The classic
/// NTP daemon allows only 500 ppm, chrony far more; this course picks a
/// rate at which the tests need not wait for minutes.)
pub const SLEW_PPM: u64 = 5_000;

/// The slew rate for a large offset that cannot be stepped because the
/// clock is ahead: 500 000 ppm, so the clock runs at half speed until the
/// server catches up.
pub const FAST_SLEW_PPM: u64 = 500_000;

/// The four timestamps of one request to the server and its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timestamps {
    /// The client sends the request (client's clock).
    pub t1: Time,
    /// The server receives it (server's clock).
    pub t2: Time,
    /// The server sends its answer (server's clock).
    pub t3: Time,
    /// The client receives the answer (client's clock).
    pub t4: Time,
}

/// The round-trip delay δ in nanoseconds: the time the exchange took on the
/// client's clock, less the time the server held the request. Both
/// differences are between readings of the same clock, so the offset
/// between the two clocks cancels out.
pub fn round_trip_delay(ts: &Timestamps) -> i64 {
    // exercise: begin "the exchange's duration on the client's clock, less the time the server held the request"
    let total = ts.t4.signed_nanos_since(ts.t1);
    let at_server = ts.t3.signed_nanos_since(ts.t2);
    total - at_server
    // exercise: end
}

/// The offset θ in nanoseconds by which the server's clock is ahead of the
/// client's (negative: the client is ahead). Assume each way took half of
/// δ: then the server read t3 when the client's clock read t4 − δ/2, so
/// θ = t3 − (t4 − δ/2), which is the average of the two one-way
/// differences. If the two ways took different times, the error is at
/// most δ/2.
pub fn offset(ts: &Timestamps) -> i64 {
    // exercise: begin "the average of the two one-way differences, (t2 - t1) and (t3 - t4)"
    let there = ts.t2.signed_nanos_since(ts.t1);
    let back = ts.t3.signed_nanos_since(ts.t4);
    (there + back) / 2
    // exercise: end
}

/// How to correct a synchronised clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Correction {
    /// Jump forward by this much at once.
    Step { forward: Duration },
    /// Change the clock by `by_nanos` (negative: hold it back) gradually:
    /// `rate_ppm` nanoseconds per million of elapsed time, until done.
    Slew { by_nanos: i64, rate_ppm: u64 },
}

/// Chooses how to correct a clock that is `offset_nanos` behind the server
/// (negative: ahead of it):
/// - an offset smaller than [`STEP_THRESHOLD`] either way is slewed at
///   [`SLEW_PPM`], so no reading ever jumps;
/// - a clock at least that far behind is stepped forward;
/// - a clock at least that far ahead cannot be stepped (it would go back),
///   so it is slewed at [`FAST_SLEW_PPM`].
pub fn choose_correction(offset_nanos: i64) -> Correction {
    // exercise: begin "slew below STEP_THRESHOLD; step forward when far behind; slew at FAST_SLEW_PPM when far ahead"
    let threshold = STEP_THRESHOLD.as_nanos() as i64;
    if offset_nanos >= threshold {
        Correction::Step {
            forward: Duration::from_nanos(offset_nanos as u64),
        }
    } else if offset_nanos <= -threshold {
        Correction::Slew {
            by_nanos: offset_nanos,
            rate_ppm: FAST_SLEW_PPM,
        }
    } else {
        Correction::Slew {
            by_nanos: offset_nanos,
            rate_ppm: SLEW_PPM,
        }
    }
    // exercise: end
}

/// A software clock on top of the hardware clock: the hardware reading plus
/// an adjustment, plus the part of a slew in progress applied so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncedClock {
    /// Synchronised minus hardware reading at `anchor`, in nanoseconds.
    pub adjustment: i64,
    /// The hardware reading at which the last correction was applied.
    pub anchor: Time,
    /// The slew still to apply from `anchor` on, in nanoseconds.
    pub remaining: i64,
    /// The rate of that slew, in parts per million.
    pub rate_ppm: u64,
}

impl SyncedClock {
    /// A clock that reads the same as the hardware clock.
    pub fn new() -> Self {
        SyncedClock::default()
    }

    /// The synchronised time when the hardware clock reads `local`: the
    /// reading plus the adjustment, plus as much of the slew as the rate
    /// allows for the time since `anchor` (never more than `remaining`).
    pub fn read(&self, local: Time) -> Time {
        // exercise: begin "the local reading, plus the adjustment, plus the part of the slew done since anchor"
        let elapsed = local.saturating_since(self.anchor).as_nanos() as i128;
        let allowed = elapsed * self.rate_ppm as i128 / 1_000_000;
        let slewed =
            allowed.min(self.remaining.unsigned_abs() as i128) as i64 * self.remaining.signum();
        Time::from_nanos((local.as_nanos() as i64 + self.adjustment + slewed).max(0) as u64)
        // exercise: end
    }

    /// Applies `correction` when the hardware clock reads `local`. First
    /// fold what the current slew has done so far into the adjustment and
    /// start again from `local`, so the reading does not jump. Then:
    /// - a step adds to the adjustment and cancels the slew in progress;
    /// - a slew replaces the slew in progress: the offset just measured
    ///   already includes what the old slew had not yet done.
    pub fn apply(&mut self, local: Time, correction: Correction) {
        // exercise: begin "fold the slew done so far into the adjustment at local, then step, or start the new slew"
        let adjustment_now = self.read(local).signed_nanos_since(local);
        self.adjustment = adjustment_now;
        self.anchor = local;
        match correction {
            Correction::Step { forward } => {
                self.adjustment += forward.as_nanos() as i64;
                self.remaining = 0;
            }
            Correction::Slew { by_nanos, rate_ppm } => {
                self.remaining = by_nanos;
                self.rate_ppm = rate_ppm;
            }
        }
        // exercise: end
    }
}

/// What a node does: serve the time, or synchronise with a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// Answers requests with its own clock; never adjusts it.
    Server,
    /// Polls `server` every [`POLL_INTERVAL`] and corrects its clock.
    Client { server: NodeId },
}

/// What nodes send each other.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    /// "What time is it?", sent at `t1` on the client's synchronised clock.
    Request { t1: Time },
    /// The answer: the request's `t1`, and when the server received the
    /// request (`t2`) and answered it (`t3`) on its clock.
    Response { t1: Time, t2: Time, t3: Time },
}

/// The one kind of timer: time for a client to poll the server again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Timer {
    Poll,
}

/// A time server or a client that keeps a synchronised clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeSync {
    pub role: Role,
    /// The client's synchronised clock (a server leaves it alone).
    pub clock: SyncedClock,
    /// The `t1` of the client's latest request while it awaits the answer.
    /// An answer that does not carry it (a duplicate, or a late answer to
    /// an older request) is ignored: its `t1` and `t4` were read on either
    /// side of a correction, so its offset would be wrong.
    pub awaiting: Option<Time>,
}

impl TimeSync {
    /// A time server.
    pub fn server() -> Self {
        TimeSync {
            role: Role::Server,
            clock: SyncedClock::new(),
            awaiting: None,
        }
    }

    /// A client of the server `server`.
    pub fn client(server: NodeId) -> Self {
        TimeSync {
            role: Role::Client { server },
            clock: SyncedClock::new(),
            awaiting: None,
        }
    }
}

impl Node for TimeSync {
    type Msg = Msg;
    type Timer = Timer;
    type Request = ();
    type Reply = ();

    /// On initialisation, a client polls the server at once (as on the
    /// poll timer). A server waits for requests.
    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        // exercise: begin "a client polls the server at once, as on the Poll timer"
        if let Role::Client { server } = self.role {
            let t1 = self.clock.read(ctx.now());
            self.awaiting = Some(t1);
            ctx.send(server, Msg::Request { t1 });
            ctx.set_timer(Timer::Poll, POLL_INTERVAL);
        }
        // exercise: end
    }

    /// On the poll timer, a client sends the server a request stamped with
    /// its synchronised clock, remembers that `t1` as the one it awaits,
    /// and sets the timer again.
    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        // exercise: begin "a client sends a Request stamped with its synchronised clock, awaits its answer, sets the timer again"
        match (timer, self.role) {
            (Timer::Poll, Role::Client { server }) => {
                let t1 = self.clock.read(ctx.now());
                self.awaiting = Some(t1);
                ctx.send(server, Msg::Request { t1 });
                ctx.set_timer(Timer::Poll, POLL_INTERVAL);
            }
            (Timer::Poll, Role::Server) => {}
        }
        // exercise: end
    }

    /// On receiving a message:
    /// - a server answers `Request { t1 }` with `t1` and its own clock's
    ///   reading as both `t2` and `t3` (it answers at once);
    /// - a client uses a `Response` only if it answers the request it
    ///   awaits, and only once: it reads `t4` from its synchronised clock,
    ///   computes the offset from the four timestamps, and applies the
    ///   correction that offset calls for.
    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        // exercise: begin "a server answers with t1, t2 and t3; a client uses the awaited answer once to correct its clock"
        match (msg, self.role) {
            (Msg::Request { t1 }, Role::Server) => {
                let now = ctx.now();
                ctx.send(
                    from,
                    Msg::Response {
                        t1,
                        t2: now,
                        t3: now,
                    },
                );
            }
            (Msg::Response { t1, t2, t3 }, Role::Client { .. }) if self.awaiting == Some(t1) => {
                self.awaiting = None;
                let local = ctx.now();
                let t4 = self.clock.read(local);
                let theta = offset(&Timestamps { t1, t2, t3, t4 });
                self.clock.apply(local, choose_correction(theta));
            }
            _ => {}
        }
        // exercise: end
    }
}
