//! # generals_messengers: messengers until acknowledged
//!
//! Two generals, [`GENERAL_A`] and [`GENERAL_B`], camp on two hills with the
//! enemy in the valley between. They win only if both attack. A has decided
//! to attack and must tell B; every messenger crosses the valley and may be
//! captured (the network loses each message with some probability).
//!
//! The strategy:
//! - A sends a messenger at once and another every [`RESEND_AFTER`] until
//!   one is acknowledged or it has sent `budget` of them;
//! - B, on every messenger, resolves to attack and sends one back as an
//!   acknowledgement;
//! - A attacks only if an acknowledgement came back (it will not attack
//!   alone); B attacks if any messenger reached it.
//!
//! No number of messengers makes the outcome certain (see
//! `generals_adversary`), but each one makes it likelier. The suite
//! measures how often both attack and compares it with what this strategy
//! should achieve.
//!
// exercise: begin
// stub: //! Read `exercises/01_generals/README.md` first. The types, `General::new`
// stub: //! and `attacks` are given; the four `todo!()`s are the strategy.
//! The reference solution.
// exercise: end

use dsim::{Ctx, Node, NodeId};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The general who decides to attack and sends the messengers.
pub const GENERAL_A: NodeId = NodeId(0);
/// The general who must be told.
pub const GENERAL_B: NodeId = NodeId(1);

/// How long A waits for an acknowledgement before the next messenger:
/// longer than a round trip (two crossings of at most 10 ms).
pub const RESEND_AFTER: Duration = Duration::from_millis(30);

/// What the messengers carry.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Msg {
    /// A to B: "attack at dawn" (the `n`th messenger).
    Attack { n: u32 },
    /// B to A: messenger `n` arrived.
    Ack { n: u32 },
}

/// A's timer.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Timer {
    /// No acknowledgement yet: time for the next messenger.
    Resend,
}

/// One general. A sends; B answers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct General {
    /// How many messengers A may send in all.
    pub budget: u32,
    /// Messengers sent so far (A).
    pub sent: u32,
    /// Whether an acknowledgement has come back (A).
    pub acknowledged: bool,
    /// Whether a messenger has arrived (B).
    pub told: bool,
}

impl General {
    /// A general; `budget` matters only to A.
    pub fn new(budget: u32) -> Self {
        General {
            budget,
            sent: 0,
            acknowledged: false,
            told: false,
        }
    }

    /// Whether this general attacks: A once acknowledged, B once told.
    pub fn attacks(&self, id: NodeId) -> bool {
        if id == GENERAL_A {
            self.acknowledged
        } else {
            self.told
        }
    }

    /// A: send the next messenger if none was acknowledged and the budget
    /// allows, and wait for its acknowledgement.
    pub fn send_messenger(&mut self, ctx: &mut Ctx<Self>) {
        // exercise: begin "unless acknowledged or out of budget: count the messenger, send Attack to B, set the Resend timer"
        if self.acknowledged || self.sent >= self.budget {
            return;
        }
        self.sent += 1;
        ctx.send(GENERAL_B, Msg::Attack { n: self.sent });
        ctx.set_timer(Timer::Resend, RESEND_AFTER);
        // exercise: end
    }
}

impl Node for General {
    type Msg = Msg;
    type Timer = Timer;
    type Request = ();
    type Reply = ();

    /// A sends the first messenger at once.
    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        // exercise: begin "A sends its first messenger at once"
        if ctx.id() == GENERAL_A {
            self.send_messenger(ctx);
        }
        // exercise: end
    }

    /// B is told and acknowledges every messenger; A stops at the first
    /// acknowledgement.
    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        // exercise: begin "B: an Attack tells it and is acknowledged; A: an Ack ends the messengers"
        match msg {
            Msg::Attack { n } => {
                self.told = true;
                ctx.send(from, Msg::Ack { n });
            }
            Msg::Ack { .. } => {
                self.acknowledged = true;
                ctx.cancel_timer(Timer::Resend);
            }
        }
        // exercise: end
    }

    /// No acknowledgement in time: the next messenger.
    fn on_timer(&mut self, ctx: &mut Ctx<Self>, _timer: Timer) {
        // exercise: begin "no acknowledgement yet: the next messenger"
        self.send_messenger(ctx);
        // exercise: end
    }
}
