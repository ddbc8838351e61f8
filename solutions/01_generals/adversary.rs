//! # generals_adversary: no protocol is safe
//!
//! Two generals must both attack or both stay; every messenger may be
//! captured. However the generals agree to talk, the enemy can make them
//! decide differently. The argument: take the run in which every messenger
//! gets through (both must attack) and capture the last one to arrive. Its
//! sender cannot tell the difference, so it decides as before; if the
//! receiver still decides the same too, capture the next-to-last, and so on.
//! Capturing all of them gives the run in which B hears nothing and cannot
//! attack. Somewhere along the chain, one general changes its mind and the
//! other does not.
//!
//! Here you are the enemy. A protocol is any deterministic pair of state
//! machines that exchange at most one message each way per round for a
//! fixed number of rounds ([`Protocol`]). A [`Schedule`] says which of those
//! messages arrive. Write [`find_disagreement`]: search the schedules for
//! one in which the generals decide differently, losing as few messages as
//! possible; return `None` only if no schedule makes them disagree.
//!
//! [`play`] runs a protocol under a schedule (given).
//!
// exercise: begin
// stub: //! Read `exercises/01_generals/README.md` first. The protocol interface and
// stub: //! `play` are given; `find_disagreement` is yours.
//! The reference solution: breadth first by the number of messages lost.
// exercise: end

use serde::{Deserialize, Serialize};

/// Which general.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum General {
    A,
    B,
}

/// A finite deterministic protocol for two generals, in rounds. In each
/// round each general may send one message (a number) to the other; what it
/// sends depends only on what it has heard so far.
pub trait Protocol {
    /// How many rounds the generals talk.
    fn rounds(&self) -> usize;

    /// What `general` sends in `round`, having heard `heard` in the rounds
    /// before (`heard[r]` is the message that reached it in round `r`, if
    /// any). `None`: it sends nothing.
    fn send(&self, general: General, round: usize, heard: &[Option<u64>]) -> Option<u64>;

    /// Whether `general` attacks after the last round, having heard `heard`.
    fn attacks(&self, general: General, heard: &[Option<u64>]) -> bool;
}

/// Which messages arrive: `a_to_b[r]` says whether A's message of round
/// `r` (if A sends one) reaches B, and `b_to_a[r]` the same the other way.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Schedule {
    pub a_to_b: Vec<bool>,
    pub b_to_a: Vec<bool>,
}

impl Schedule {
    /// Every message of `rounds` rounds arrives.
    pub fn reliable(rounds: usize) -> Self {
        Schedule {
            a_to_b: vec![true; rounds],
            b_to_a: vec![true; rounds],
        }
    }
}

/// What a run came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Whether A attacks, and whether B does.
    pub a_attacks: bool,
    pub b_attacks: bool,
    /// How many messages the schedule lost (of those actually sent).
    pub lost: usize,
}

/// Runs `protocol` under `schedule` (given).
pub fn play(protocol: &dyn Protocol, schedule: &Schedule) -> Outcome {
    let rounds = protocol.rounds();
    let mut heard_a: Vec<Option<u64>> = Vec::with_capacity(rounds);
    let mut heard_b: Vec<Option<u64>> = Vec::with_capacity(rounds);
    let mut lost = 0;
    for r in 0..rounds {
        let from_a = protocol.send(General::A, r, &heard_a);
        let from_b = protocol.send(General::B, r, &heard_b);
        let arrives = |msg: Option<u64>, delivered: Option<&bool>, lost: &mut usize| match msg {
            Some(m) if delivered.copied().unwrap_or(true) => Some(m),
            Some(_) => {
                *lost += 1;
                None
            }
            None => None,
        };
        heard_b.push(arrives(from_a, schedule.a_to_b.get(r), &mut lost));
        heard_a.push(arrives(from_b, schedule.b_to_a.get(r), &mut lost));
    }
    Outcome {
        a_attacks: protocol.attacks(General::A, &heard_a),
        b_attacks: protocol.attacks(General::B, &heard_b),
        lost,
    }
}

// exercise: begin
/// Every schedule of `rounds` rounds that loses exactly `k` of its `2 *
/// rounds` slots, in a fixed order.
fn schedules_losing(rounds: usize, k: usize) -> Vec<Schedule> {
    let slots = 2 * rounds;
    let mut out = Vec::new();
    for mask in 0u64..(1u64 << slots) {
        if mask.count_ones() as usize == k {
            let lost = |i: usize| mask & (1 << i) != 0;
            out.push(Schedule {
                a_to_b: (0..rounds).map(|r| !lost(2 * r)).collect(),
                b_to_a: (0..rounds).map(|r| !lost(2 * r + 1)).collect(),
            });
        }
    }
    out
}

// exercise: end
/// A schedule under which the generals decide differently, losing as few
/// messages as possible; `None` if there is none. Searches breadth first:
/// every schedule losing no message, then one, then two, …
pub fn find_disagreement(protocol: &dyn Protocol) -> Option<Schedule> {
    // exercise: begin "try schedules losing 0 messages, then 1, then 2, ...; return the first under which the generals decide differently"
    let rounds = protocol.rounds();
    let mut best: Option<(usize, Schedule)> = None;
    for k in 0..=2 * rounds {
        for schedule in schedules_losing(rounds, k) {
            let outcome = play(protocol, &schedule);
            let better = best.as_ref().is_none_or(|(lost, _)| outcome.lost < *lost);
            if outcome.a_attacks != outcome.b_attacks && better {
                best = Some((outcome.lost, schedule));
            }
        }
        if let Some((lost, _)) = &best {
            if *lost <= k {
                break;
            }
        }
    }
    best.map(|(_, schedule)| schedule)
    // exercise: end
}
