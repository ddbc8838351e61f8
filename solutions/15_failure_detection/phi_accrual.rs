//! # fd_phi_accrual: suspicion as a level, learned from the arrivals
//!
//! A fixed timeout is one number for every peer and every link; the φ
//! accrual detector (Hayashibara et al., 2004) learns, for each peer, how
//! its heartbeats have been arriving, and turns the current silence into a
//! level of suspicion φ:
//!
//! - Every node sends `Heartbeat { sent }` (`sent` its clock's reading) to
//!   every peer when it starts and every [`INTERVAL`] of its clock.
//! - For each peer, a monitor keeps a sliding window of the last [`WINDOW`]
//!   inter-arrival times (by its own clock) and their mean and standard
//!   deviation. A heartbeat older than one already heard (a duplicate, or
//!   overtaken) teaches nothing and is ignored; so is an interval longer
//!   than [`LEARN_LIMIT`], a crash and restart rather than the network's
//!   jitter.
//! - φ is how unlikely the current silence would be if the peer were
//!   alive, on a log scale: with the inter-arrival times taken as normally
//!   distributed, P_later is the probability that a heartbeat comes later
//!   than the time elapsed since the last one, and φ = −log10(P_later).
//!   φ = 1 means a 10% chance of being wrong in suspecting, φ = 8 one in a
//!   hundred million.
//! - The monitor suspects a peer while φ ≥ [`THRESHOLD`].
//!
//! On a steady link the learned deviation is small and φ climbs fast
//! after the expected arrival; on a link that often delays or loses
//! heartbeats it is large and φ climbs slowly: each link gets the timeout
//! its own history calls for.
//!
// exercise: begin
// stub: //! Read `exercises/15_failure_detection/README.md` first. Then fill in
// stub: //! the functions below: each `todo!()` is one step of the detector.
//! The reference solution.
// exercise: end

use dsim::{Ctx, Node, NodeId, Time};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// How often a node sends heartbeats, by its own clock.
pub const INTERVAL: Duration = Duration::from_millis(100);
/// How many inter-arrival times a monitor remembers per peer.
pub const WINDOW: usize = 100;
/// Suspect a peer while φ is at least this.
pub const THRESHOLD: f64 = 8.0;
/// The least standard deviation used, in milliseconds: on a link whose
/// heartbeats arrive like clockwork the learned one is nearly zero, and one
/// late heartbeat would be taken for a crash.
pub const MIN_STD_DEV_MS: f64 = 10.0;
/// An inter-arrival time longer than this is not learned from.
pub const LEARN_LIMIT: Duration = Duration::from_millis(1_000);
/// Every clock runs between 1 − MAX_DRIFT and 1 + MAX_DRIFT times as fast
/// as true time.
pub const MAX_DRIFT: f64 = 0.02;

/// Between the nodes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    /// "I am alive": sent at `sent` by the sender's clock.
    Heartbeat { sent: Time },
}

/// The one kind of timer: time to send the next round of heartbeats.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Timer {
    Beat,
}

/// What a monitor knows of one peer's heartbeats.
#[derive(Clone, Debug, PartialEq)]
pub struct History {
    /// When the newest heartbeat arrived, by the monitor's clock.
    pub last_arrival: Time,
    /// The `sent` of the newest heartbeat heard, if any.
    pub last_sent: Option<Time>,
    /// The last [`WINDOW`] inter-arrival times, in milliseconds, oldest first.
    pub intervals: VecDeque<f64>,
    /// The sum of `intervals` and of their squares, kept as they change.
    pub sum: f64,
    pub sum_of_squares: f64,
}

impl History {
    /// A peer not yet heard from, as if heard at `now`: the window starts
    /// with a guess, heartbeats every INTERVAL give or take a quarter.
    pub fn new(now: Time) -> Self {
        let mut history = History {
            last_arrival: now,
            last_sent: None,
            intervals: VecDeque::new(),
            sum: 0.0,
            sum_of_squares: 0.0,
        };
        let guess = millis(INTERVAL);
        history.learn(guess * 0.75);
        history.learn(guess * 1.25);
        history
    }

    /// Adds one inter-arrival time (ms) to the window, dropping the oldest
    /// beyond [`WINDOW`].
    pub fn learn(&mut self, interval: f64) {
        // exercise: begin "push interval, add it to sum and its square to sum_of_squares; past WINDOW, pop the oldest and take it off both"
        self.intervals.push_back(interval);
        self.sum += interval;
        self.sum_of_squares += interval * interval;
        if self.intervals.len() > WINDOW {
            if let Some(old) = self.intervals.pop_front() {
                self.sum -= old;
                self.sum_of_squares -= old * old;
            }
        }
        // exercise: end
    }

    /// The mean of the window, in milliseconds.
    pub fn mean(&self) -> f64 {
        // exercise: begin "sum over the number of intervals"
        self.sum / self.intervals.len() as f64
        // exercise: end
    }

    /// The standard deviation of the window, in milliseconds, at least
    /// [`MIN_STD_DEV_MS`].
    pub fn std_dev(&self) -> f64 {
        // exercise: begin "the variance is the mean of the squares minus the square of the mean; its square root, at least MIN_STD_DEV_MS"
        let n = self.intervals.len() as f64;
        let mean = self.mean();
        let variance = (self.sum_of_squares / n - mean * mean).max(0.0);
        variance.sqrt().max(MIN_STD_DEV_MS)
        // exercise: end
    }
}

/// A duration in milliseconds, with its fraction.
pub fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

/// φ after `elapsed` ms of silence, for inter-arrival times of this mean
/// and standard deviation (ms). The normal distribution's tail is taken
/// from a logistic approximation: with y = (elapsed − mean) / std_dev,
/// P_later ≈ 1 / (1 + e^(y (1.5976 + 0.070566 y²))), so
/// φ = −log10(P_later) = log10(1 + e^(y (1.5976 + 0.070566 y²))).
pub fn phi(elapsed: f64, mean: f64, std_dev: f64) -> f64 {
    // exercise: begin "y = (elapsed - mean) / std_dev; then log10(1 + exp(y * (1.5976 + 0.070566 * y * y)))"
    let y = (elapsed - mean) / std_dev;
    (1.0 + (y * (1.5976 + 0.070566 * y * y)).exp()).log10()
    // exercise: end
}

/// A node of fd_phi_accrual: a heartbeat sender and a φ monitor of every peer.
#[derive(Debug, Default)]
pub struct PhiAccrual {
    /// What this node knows of each peer's heartbeats.
    pub peers: BTreeMap<NodeId, History>,
}

impl PhiAccrual {
    /// A node before it has started.
    pub fn new() -> Self {
        PhiAccrual::default()
    }

    /// φ of `peer` when this node's clock reads `now` (0 for a stranger).
    pub fn phi_of(&self, peer: NodeId, now: Time) -> f64 {
        let Some(history) = self.peers.get(&peer) else {
            return 0.0;
        };
        // exercise: begin "phi of the time since the last arrival, with the window's mean and std_dev"
        let elapsed = millis(now.saturating_since(history.last_arrival));
        phi(elapsed, history.mean(), history.std_dev())
        // exercise: end
    }

    /// Whether this node suspects `peer` when its clock reads `now`.
    pub fn suspects(&self, peer: NodeId, now: Time) -> bool {
        // exercise: begin "phi of peer at now reaches THRESHOLD"
        self.phi_of(peer, now) >= THRESHOLD
        // exercise: end
    }

    /// A heartbeat sent at `sent` by `peer` arrived at `now`.
    pub fn heard(&mut self, peer: NodeId, sent: Time, now: Time) {
        let history = self.peers.entry(peer).or_insert_with(|| History::new(now));
        // exercise: begin "ignore it unless sent is newer than last_sent; learn the interval since last_arrival unless it is over LEARN_LIMIT; then remember sent and now"
        if history.last_sent.is_some_and(|last| sent <= last) {
            return;
        }
        let interval = now.saturating_since(history.last_arrival);
        if interval <= LEARN_LIMIT {
            history.learn(millis(interval));
        }
        history.last_sent = Some(sent);
        history.last_arrival = now;
        // exercise: end
    }

    /// Send a heartbeat to every peer and schedule the next round.
    fn beat(&mut self, ctx: &mut Ctx<Self>) {
        ctx.broadcast(Msg::Heartbeat { sent: ctx.now() });
        ctx.set_timer(Timer::Beat, INTERVAL);
    }
}

impl Node for PhiAccrual {
    type Msg = Msg;
    type Timer = Timer;
    type Request = ();
    type Reply = ();

    /// On start: every peer is taken as just heard from (so one that never
    /// speaks is suspected in time), and the heartbeats begin.
    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        let now = ctx.now();
        for &peer in ctx.peers() {
            self.peers.insert(peer, History::new(now));
        }
        self.beat(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        match timer {
            Timer::Beat => self.beat(ctx),
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Heartbeat { sent } => self.heard(from, sent, ctx.now()),
        }
    }
}
