//! # fd_swim: membership for a large group, at constant load per member
//!
//! Heartbeats to every peer cost n² messages a round: fine for five nodes,
//! not for a hundred. SWIM (Das, Gupta and Motivala, 2002) separates
//! *detecting* a failure from *spreading the news* of it, and does each at a
//! cost per member that does not grow with the group:
//!
//! - **Probe.** Every [`PERIOD`] of its own clock a member pings ONE other
//!   member, taken in turn from a shuffled round-robin of the members it
//!   does not hold dead. An `Ack` within [`PING_TIMEOUT`] ends the probe.
//! - **Indirect probe.** No `Ack` by then: the member asks [`K`] others,
//!   at random, to ping the target for it (`PingReq`); they relay the
//!   target's `Ack` back. A lossy link between two members no longer
//!   condemns either of them: K+1 paths must all fail.
//! - **Suspicion.** No `Ack` by the end of the period: the target becomes
//!   `Suspect` at the incarnation the member knows. A suspect not cleared
//!   within [`suspicion_timeout`] is `Confirmed` dead, for good.
//! - **Refutation.** A member that hears it is suspected at its own
//!   incarnation (or a newer one) raises its incarnation past it and
//!   spreads `Alive` at the new number: news that beats the suspicion.
//! - **Dissemination.** News is not broadcast: every `Ping`, `PingReq`
//!   and `Ack` carries up to [`MAX_PIGGYBACK`] updates, the least-sent
//!   first, and each update is sent [`retransmits`] times (λ·log n), which
//!   is enough for an epidemic to reach the whole group with high
//!   probability.
//!
//! Which of two updates about a member wins (the precedence rules) is what
//! makes the stale and the fresh news tell apart, whatever order they come
//! in: `Alive(i)` overrides `Suspect(j)` iff i > j; `Suspect(i)` overrides
//! `Alive(j)` iff i ≥ j; among updates of one kind only a higher
//! incarnation is news; `Confirmed` overrides everything and nothing
//! overrides it.
//!
//! Every member knows the whole group from the start (no join protocol),
//! and a confirmed member stays out.
//!
//! Read `exercises/15_failure_detection/README.md` first. Then fill in
//! the handlers below: each `todo!()` is one step of the protocol.

use dsim::{Ctx, Node, NodeId};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The protocol period: one probe per member per period, by its own clock.
pub const PERIOD: Duration = Duration::from_millis(100);
/// How long a member waits for the target's own `Ack` before it asks
/// others to probe it: a round trip on a healthy network, with room to
/// spare; the rest of the period is for the indirect probes.
pub const PING_TIMEOUT: Duration = Duration::from_millis(30);
/// How many members an indirect probe goes through.
pub const K: usize = 3;
/// The suspicion timeout, in periods per round of an epidemic (log2 n).
pub const SUSPICION_MULT: u32 = 3;
/// How many times each update is piggybacked, per round of an epidemic
/// (λ in the paper's λ·log n).
pub const RETRANSMIT_MULT: u32 = 3;
/// The most updates one message carries.
pub const MAX_PIGGYBACK: usize = 16;
/// Every clock runs between 1 − MAX_DRIFT and 1 + MAX_DRIFT times as fast
/// as true time.
pub const MAX_DRIFT: f64 = 0.02;

/// ⌈log2 n⌉: the rounds an epidemic needs, roughly, to reach n members.
pub fn rounds(n: usize) -> u32 {
    n.max(2).next_power_of_two().trailing_zeros()
}

/// How long a suspect has to refute before it is confirmed dead: long
/// enough for the suspicion to reach it and its `Alive` to come back, both
/// epidemics of about log n periods.
pub fn suspicion_timeout(n: usize) -> Duration {
    PERIOD * SUSPICION_MULT * rounds(n)
}

/// How many times each update is piggybacked before it is dropped.
pub fn retransmits(n: usize) -> u32 {
    RETRANSMIT_MULT * rounds(n)
}

/// What a member believes of another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    Alive,
    Suspect,
    /// Dead, for good.
    Confirmed,
}

/// A member's state, as held in a view and as spread in a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Update {
    pub member: NodeId,
    pub status: Status,
    /// Raised only by the member itself, to refute a suspicion.
    pub incarnation: u64,
}

/// Between the members. Every message carries piggybacked `updates`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    /// "Are you there?" `relay_for` names the member that asked for this
    /// probe with a `PingReq`, if any; the `Ack` repeats it.
    Ping {
        seq: u64,
        relay_for: Option<NodeId>,
        updates: Vec<Update>,
    },
    /// "Ping `target` for me": the prober's probe number `seq` travels
    /// along, so that the relayed `Ack` ends the right probe.
    PingReq {
        seq: u64,
        target: NodeId,
        updates: Vec<Update>,
    },
    /// "I am here", answering the `Ping` numbered `seq`.
    Ack {
        seq: u64,
        relay_for: Option<NodeId>,
        updates: Vec<Update>,
    },
}

/// The timers of a member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Timer {
    /// The period is over: judge its probe, start the next.
    Period,
    /// The target's own `Ack` is overdue: probe it indirectly.
    PingTimeout,
    /// This member has been suspect for a whole suspicion timeout.
    Suspicion(NodeId),
}

/// The probe of this period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Probe {
    pub target: NodeId,
    pub seq: u64,
    pub acked: bool,
}

/// A member of fd_swim.
#[derive(Debug, Default)]
pub struct Swim {
    /// This member's own incarnation.
    pub incarnation: u64,
    /// What this member believes of every member, indexed by id (its own
    /// slot: `Alive` at its incarnation).
    pub members: Vec<Update>,
    /// Updates still to piggyback, each with how many more sends it gets.
    pub gossip: Vec<(Update, u32)>,
    /// The round-robin order of probe targets, and the next position in it.
    pub order: Vec<NodeId>,
    pub next: usize,
    /// The probe of the current period, if any.
    pub probe: Option<Probe>,
    /// The number of the last probe sent.
    pub seq: u64,
}

/// Whether `new` replaces `old` as what is known of a member: SWIM's
/// precedence rules, so that updates may arrive in any order, any number
/// of times, and the newest news still wins.
pub fn overrides(new: &Update, old: &Update) -> bool {
    todo!("Confirmed beats all and nothing beats it; Alive(i) beats Suspect(j) iff i > j; Suspect(i) beats Alive(j) iff i >= j; otherwise only a higher incarnation")
}

impl Swim {
    /// A member before it has started.
    pub fn new() -> Self {
        Swim::default()
    }

    /// What this member believes of `member`.
    pub fn state(&self, member: NodeId) -> Update {
        self.members[member.0]
    }

    /// Queue `update` to be piggybacked [`retransmits`] times, in place of
    /// any older news about the same member.
    pub fn spread(&mut self, update: Update) {
        let n = self.members.len();
        self.gossip.retain(|(u, _)| u.member != update.member);
        self.gossip.push((update, retransmits(n)));
    }

    /// The updates for the next message: the queued updates with the most
    /// sends left (the least sent), at most [`MAX_PIGGYBACK`]. Each one sent
    /// uses up one of its sends; one with none left is dropped.
    pub fn piggyback(&mut self) -> Vec<Update> {
        todo!("sort the queue by sends left, most first; take up to MAX_PIGGYBACK, counting each send; drop updates with no sends left")
    }

    /// Take in one update: about this member, refute it if it is a
    /// suspicion as new as our incarnation; about another, keep it if it
    /// overrides what we hold, (re)start or stop the suspicion timer, and
    /// spread it.
    pub fn apply(&mut self, ctx: &mut Ctx<Self>, update: Update) {
        todo!("about yourself: refute a Suspect/Confirmed at incarnation >= yours; about another: if it overrides, store it, set or cancel Timer::Suspicion, and spread it")
    }

    /// This member, `me`, was suspected at incarnation `suspected_at`:
    /// take a higher incarnation and spread `Alive` at it.
    pub fn refute(&mut self, me: NodeId, suspected_at: u64) {
        todo!("incarnation = suspected_at + 1; store Alive at it in your own slot and spread it")
    }

    /// Take in every update of a message.
    pub fn apply_all(&mut self, ctx: &mut Ctx<Self>, updates: Vec<Update>) {
        for update in updates {
            self.apply(ctx, update);
        }
    }

    /// The next probe target: the next member in the round-robin order
    /// that is not confirmed dead, shuffling the order afresh at each
    /// pass. `None` if every other member is confirmed dead.
    pub fn next_target(&mut self, ctx: &mut Ctx<Self>) -> Option<NodeId> {
        todo!("walk self.order from self.next, reshuffling it with ctx.rng() at the end; skip Confirmed members; give up after two passes")
    }

    /// The end of a period: a probe not acked makes its target suspect;
    /// then probe the next target and set the timers of the new period.
    pub fn period(&mut self, ctx: &mut Ctx<Self>) {
        todo!("suspect the last probe's target if it never acked; ping the next target (seq up) and set PingTimeout; set Period again")
    }

    /// The target's own `Ack` is overdue: send a `PingReq` to [`K`]
    /// members chosen at random, neither this member, nor the target, nor
    /// confirmed dead.
    pub fn probe_indirectly(&mut self, ctx: &mut Ctx<Self>) {
        todo!("if the probe is not acked, pick K random live-or-suspect members other than you and the target and send each a PingReq")
    }
}

impl Node for Swim {
    type Msg = Msg;
    type Timer = Timer;
    type Request = ();
    type Reply = ();

    /// On start: every member is known, `Alive` at incarnation 0; the
    /// round-robin order starts empty, so the first target comes from a
    /// fresh shuffle; and the first period starts now.
    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        let n = ctx.cluster_size();
        self.members = (0..n)
            .map(|i| Update {
                member: NodeId(i),
                status: Status::Alive,
                incarnation: 0,
            })
            .collect();
        self.order = ctx.peers().to_vec();
        self.next = self.order.len();
        self.period(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        match timer {
            Timer::Period => self.period(ctx),
            Timer::PingTimeout => self.probe_indirectly(ctx),
            Timer::Suspicion(member) => {
                todo!("still Suspect? then Confirm it (same incarnation) through apply")
            }
        }
    }

    /// Every message's updates are taken in first; then a `Ping` is
    /// answered with an `Ack` (to whoever sent it, naming the same
    /// `relay_for`), a `PingReq` becomes a `Ping` to its target on the
    /// asker's behalf, and an `Ack` is relayed to the member it was for, or
    /// ends this member's own probe.
    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        todo!("apply the updates; Ping → Ack back; PingReq → Ping the target with relay_for = Some(from); Ack → relay it on, or mark your probe acked if seq matches")
    }
}
