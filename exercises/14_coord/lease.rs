//! # coord_lease: one leader at a time, by leases
//!
//! Any node may become the holder of the one lease: a time-bounded promise,
//! given by a majority of the nodes (the grantors), that nobody else will
//! be granted it for a while. No clock is synchronised with any other; each
//! runs at its own rate, within [`MAX_DRIFT`] of true time, so every rule
//! below is about durations measured on one node's own clock:
//!
//! - A candidate sends `Request { sent }`, `sent` being its clock reading
//!   when it asked, to every peer, and grants itself by the same rule as a
//!   grantor.
//! - A grantor grants (answers `Grant { sent }`) only if it has promised no
//!   one else, or its promise to them has expired by its own clock. It
//!   remembers the promise for [`LEASE`] × (1 + [`MAX_DRIFT`]) +
//!   [`MARGIN`] of its clock: long enough that, however the two clocks
//!   drift, the promise outlives the holder's lease.
//! - The candidate holds the lease once a majority granted the same
//!   request, counted from `sent` (not from when the grants arrived), until
//!   `sent` + [`LEASE`] × (1 − [`MAX_DRIFT`]) by its own clock.
//! - A holder asks again (renews) once half its lease has gone.
//! - A candidate without a majority after [`RETRY`] gives up its request
//!   and asks again after a random backoff; one that does not hold the
//!   lease gives way to a rival candidate with a lower id. Either way it
//!   drops its promise to itself and tells the grantors to drop the promises
//!   made for the request it gave up (`Release { sent }`), so that they can
//!   grant someone else at once.
//! - A node that restarts has forgotten its promises: it grants nothing for
//!   one promise length after it comes back.
//!
//! Read `exercises/14_coord/README.md` first. Then fill in the handlers
//! below: each `todo!()` is one step of the protocol.

use dsim::{Ctx, Node, NodeId, Time};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::time::Duration;

/// How long a lease lasts, in true time at most.
pub const LEASE: Duration = Duration::from_millis(1_000);
/// The clock drift bound: every clock advances between 1 − MAX_DRIFT and
/// 1 + MAX_DRIFT times as fast as true time (5%: far worse than quartz).
pub const MAX_DRIFT: f64 = 0.05;
/// The safety margin a grantor adds to its promise, on top of the drift.
pub const MARGIN: Duration = Duration::from_millis(10);
/// How often each node looks at its lease (by its clock).
pub const TICK: Duration = Duration::from_millis(25);
/// How long a candidate waits for a majority before asking again.
pub const RETRY: Duration = Duration::from_millis(400);
/// The chance that a node which does not hold the lease asks for it at a
/// tick: a random backoff, so that candidates seldom ask at once. (Asking
/// while promised to another, or quiet, is refused by the node itself.)
pub const ASK_CHANCE: f64 = 0.25;
/// The storage key that tells a restart from a first start.
pub const BOOTED_KEY: &str = "booted";

/// Between the nodes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    /// Candidate to grantor: "grant me the lease; I asked at `sent` by my clock".
    Request { sent: Time },
    /// Grantor to candidate: "granted, for your request of `sent`".
    Grant { sent: Time },
    /// Candidate to grantors: "I gave up my request of `sent`: forget the
    /// promise you made for it".
    Release { sent: Time },
}

/// The one kind of timer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Timer {
    Tick,
}

/// A grantor's promise: `holder` alone may hold the lease until `until`
/// by the grantor's clock. `sent` names the request it was last granted for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Promise {
    pub holder: NodeId,
    pub sent: Time,
    pub until: Time,
}

/// A request on its way: when it was sent (by this node's clock) and who
/// granted it so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    pub sent: Time,
    pub grants: BTreeSet<NodeId>,
}

/// A node of coord_lease: a grantor, and maybe a candidate or the holder.
#[derive(Debug, Default)]
pub struct Lease {
    /// The promise this node gave as a grantor, if any.
    pub promise: Option<Promise>,
    /// This node holds the lease until this reading of its clock.
    pub lease_until: Option<Time>,
    /// The request this node is waiting on, if any.
    pub attempt: Option<Attempt>,
    /// A restarted node grants nothing before this reading of its clock.
    pub quiet_until: Option<Time>,
}

/// How long a grantor remembers a promise, by its own clock.
pub fn promise_length() -> Duration {
    todo!("LEASE stretched by the drift bound, plus MARGIN")
}

/// How long a holder may act as holder after it sent its request, by its own clock.
pub fn held_length() -> Duration {
    todo!("LEASE shrunk by the drift bound")
}

impl Lease {
    /// A node before it has started.
    pub fn new() -> Self {
        Lease::default()
    }

    /// Whether this node holds the lease at `now`, a reading of its own clock.
    pub fn holds_lease(&self, now: Time) -> bool {
        todo!("true while now is before lease_until")
    }

    /// The grantor's rule: may this node promise the lease to `candidate`,
    /// for its request of `sent`, at `now`? If so, record the promise and
    /// say yes.
    pub fn grant(&mut self, candidate: NodeId, sent: Time, now: Time) -> bool {
        if self.quiet_until.is_some_and(|quiet| now < quiet) {
            return false;
        }
        todo!("refuse while an unexpired promise names another node; else record a Promise to candidate for its request of sent, until now + promise_length()")
    }

    /// Ask every peer for the lease (and grant it to ourselves).
    pub fn ask(&mut self, ctx: &mut Ctx<Self>) {
        let now = ctx.now();
        let me = ctx.id();
        todo!("grant yourself first (give up if you may not), remember the Attempt, broadcast a Request sent now, then check for a majority")
    }

    /// Give up the current attempt, if any: its late grants will count for
    /// nothing, so a node that does not hold the lease releases the promises
    /// made for it (its own, and the grantors' by a Release), and a rival
    /// can be granted at once.
    fn abandon(&mut self, ctx: &mut Ctx<Self>, now: Time) {
        let Some(attempt) = self.attempt.take() else {
            return;
        };
        if self.holds_lease(now) {
            return;
        }
        if self.promise.is_some_and(|p| p.holder == ctx.id()) {
            self.promise = None;
        }
        ctx.broadcast(Msg::Release { sent: attempt.sent });
    }

    /// If a majority granted the current attempt, hold the lease from its
    /// `sent` on.
    pub fn won(&mut self, ctx: &mut Ctx<Self>) {
        let majority = ctx.cluster_size() / 2 + 1;
        todo!("with a majority of grants: lease_until = sent + held_length(), attempt done")
    }

    /// Every tick: renew a lease half gone, or (now and then, at random)
    /// ask for the lease; a request unanswered for RETRY is given up.
    pub fn tick(&mut self, ctx: &mut Ctx<Self>) {
        let now = ctx.now();
        if let Some(attempt) = &self.attempt {
            if now.saturating_since(attempt.sent) < RETRY {
                return;
            }
        }
        // A request unanswered for RETRY is given up.
        self.abandon(ctx, now);
        todo!("a holder renews once half its lease is gone; any other node asks with probability ASK_CHANCE")
    }
}

impl Node for Lease {
    type Msg = Msg;
    type Timer = Timer;
    type Request = ();
    type Reply = ();

    /// On start: a node that ran before stays quiet for one promise length.
    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        let now = ctx.now();
        if ctx.storage().get::<bool>(BOOTED_KEY).is_some() {
            self.quiet_until = Some(now + promise_length());
        } else {
            ctx.storage().put(BOOTED_KEY, &true);
        }
        ctx.set_timer(Timer::Tick, TICK);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        match timer {
            Timer::Tick => {
                self.tick(ctx);
                ctx.set_timer(Timer::Tick, TICK);
            }
        }
    }

    /// A request is granted by the grantor's rule; a grant counts only for
    /// the attempt it answers.
    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Request { sent } => {
                let now = ctx.now();
                // Two candidates that split the grants would wait on each
                // other for ever: one that does not hold the lease yet gives
                // way to a rival with a lower id, dropping its own attempt.
                if from < ctx.id() {
                    self.abandon(ctx, now);
                }
                if self.grant(from, sent, now) {
                    ctx.send(from, Msg::Grant { sent });
                }
            }
            Msg::Grant { sent } => {
                todo!(
                    "count the grant if it answers the current attempt, then check for a majority"
                )
            }
            Msg::Release { sent } => {
                if self
                    .promise
                    .is_some_and(|p| p.holder == from && p.sent == sent)
                {
                    self.promise = None;
                }
            }
        }
    }
}
