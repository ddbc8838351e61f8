//! The protocols the learner's adversary has never seen. Every one but
//! [`AlwaysRetreat`] is valid: with every message delivered both attack,
//! and a B that hears nothing does not attack, so a disagreement exists.

use crate::subject::generals::adversary::{General, Protocol};

/// A sends the plan in round 0; after that each general answers whatever
/// reached it in the previous round with one more. Each attacks if it
/// heard anything.
pub struct Chain(pub usize);

impl Protocol for Chain {
    fn rounds(&self) -> usize {
        self.0
    }
    fn send(&self, general: General, round: usize, heard: &[Option<u64>]) -> Option<u64> {
        match (general, round) {
            (General::A, 0) => Some(1),
            (_, 0) => None,
            _ => heard[round - 1].map(|n| n + 1),
        }
    }
    fn attacks(&self, _general: General, heard: &[Option<u64>]) -> bool {
        heard.iter().any(Option::is_some)
    }
}

/// A sends every round; B answers every round once told. Each attacks if
/// it heard at least `k` messages.
pub struct Threshold {
    pub rounds: usize,
    pub k: usize,
}

impl Protocol for Threshold {
    fn rounds(&self) -> usize {
        self.rounds
    }
    fn send(&self, general: General, _round: usize, heard: &[Option<u64>]) -> Option<u64> {
        match general {
            General::A => Some(7),
            General::B => heard.iter().any(Option::is_some).then_some(8),
        }
    }
    fn attacks(&self, _general: General, heard: &[Option<u64>]) -> bool {
        heard.iter().filter(|h| h.is_some()).count() >= self.k
    }
}

/// A three-way handshake with retries: A repeats the plan (1) until it
/// hears an acknowledgement (2), then repeats a confirmation (3) to the
/// end; B repeats its acknowledgement once told, until it hears the
/// confirmation. A attacks once acknowledged, B once confirmed.
pub struct Handshake(pub usize);

impl Protocol for Handshake {
    fn rounds(&self) -> usize {
        self.0
    }
    fn send(&self, general: General, _round: usize, heard: &[Option<u64>]) -> Option<u64> {
        let saw = |m: u64| heard.contains(&Some(m));
        match general {
            General::A if saw(2) => Some(3),
            General::A => Some(1),
            General::B if saw(3) => None,
            General::B if saw(1) => Some(2),
            General::B => None,
        }
    }
    fn attacks(&self, general: General, heard: &[Option<u64>]) -> bool {
        match general {
            General::A => heard.contains(&Some(2)),
            General::B => heard.contains(&Some(3)),
        }
    }
}

/// Messages carry a count of the messages their sender has heard; each
/// general attacks if the last count it heard was at least 2.
pub struct Counting(pub usize);

impl Protocol for Counting {
    fn rounds(&self) -> usize {
        self.0
    }
    fn send(&self, general: General, round: usize, heard: &[Option<u64>]) -> Option<u64> {
        let count = heard.iter().filter(|h| h.is_some()).count() as u64;
        match general {
            General::A => Some(count),
            General::B if round == 0 => None,
            General::B => (count > 0).then_some(count),
        }
    }
    fn attacks(&self, _general: General, heard: &[Option<u64>]) -> bool {
        heard.iter().rev().find_map(|h| *h).is_some_and(|n| n >= 2)
    }
}

/// Both generals speak every round; `listener` attacks only if it heard
/// the other in every round, the other general always attacks. The one
/// cheapest disagreement loses a single message towards `listener`, in a
/// round where the listener's own message travels the other way: a search
/// that can only lose both directions of a round together loses two.
pub struct Echo {
    pub rounds: usize,
    pub listener: General,
}

impl Protocol for Echo {
    fn rounds(&self) -> usize {
        self.rounds
    }
    fn send(&self, _general: General, round: usize, _heard: &[Option<u64>]) -> Option<u64> {
        Some(round as u64)
    }
    fn attacks(&self, general: General, heard: &[Option<u64>]) -> bool {
        general != self.listener || heard.iter().all(Option::is_some)
    }
}

/// A plan told once: A sends it in round 0 and always attacks; B attacks
/// if it arrived. Losing that one message is the only cheapest
/// disagreement, however many rounds follow.
pub struct Told(pub usize);

impl Protocol for Told {
    fn rounds(&self) -> usize {
        self.0
    }
    fn send(&self, general: General, round: usize, _heard: &[Option<u64>]) -> Option<u64> {
        (general == General::A && round == 0).then_some(1)
    }
    fn attacks(&self, general: General, heard: &[Option<u64>]) -> bool {
        general == General::A || heard.first().copied().flatten().is_some()
    }
}

/// Nobody says anything and nobody attacks: no schedule can make these
/// generals disagree.
pub struct AlwaysRetreat(pub usize);

impl Protocol for AlwaysRetreat {
    fn rounds(&self) -> usize {
        self.0
    }
    fn send(&self, _general: General, _round: usize, _heard: &[Option<u64>]) -> Option<u64> {
        None
    }
    fn attacks(&self, _general: General, _heard: &[Option<u64>]) -> bool {
        false
    }
}

/// The hidden protocols, with their names.
pub fn hidden() -> Vec<(&'static str, Box<dyn Protocol>)> {
    vec![
        ("a chain of answers over 4 rounds", Box::new(Chain(4))),
        (
            "threshold 3 over 5 rounds",
            Box::new(Threshold { rounds: 5, k: 3 }),
        ),
        (
            "a handshake with retries over 6 rounds",
            Box::new(Handshake(6)),
        ),
        ("counting over 5 rounds", Box::new(Counting(5))),
        ("silent generals over 3 rounds", Box::new(AlwaysRetreat(3))),
        (
            "A listening for B's echo over 3 rounds",
            Box::new(Echo {
                rounds: 3,
                listener: General::A,
            }),
        ),
        (
            "B listening for A's echo over 3 rounds",
            Box::new(Echo {
                rounds: 3,
                listener: General::B,
            }),
        ),
    ]
}
