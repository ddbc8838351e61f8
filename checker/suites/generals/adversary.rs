//! generals_adversary: the learner's adversary against protocols it has
//! never seen. Each counterexample is replayed in the simulator, with the
//! schedule's losses made by cutting the links round by round, and the
//! generals must really disagree; it must also lose no more messages than
//! the fewest that make them disagree (found here by trying every
//! schedule, fewest losses first).

use super::protocols::{hidden, Told};
use crate::subject::generals::adversary::{find_disagreement, General, Protocol, Schedule};
use dscheck::{expect_caught, ms, Failure, Property, Suite};
use dsim::{Ctx, DropReason, Event, Node, NodeId, Sim};
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

pub const DISAGREE: Property = Property {
    name: "the generals really disagree when the counterexample is replayed",
    hint: "replay your schedule with play(): a counterexample is one where a_attacks != b_attacks",
    when: &[],
};
pub const MINIMAL: Property = Property {
    name: "the counterexample loses as few messages as possible",
    hint: "search breadth first: every schedule losing no message, then every one losing one, then two, …; the first that makes the generals disagree loses the fewest",
    when: &[],
};
pub const FOUND: Property = Property {
    name: "a counterexample is found whenever one exists",
    hint: "try every schedule (each of the 2 × rounds messages delivered or lost) before answering None",
    when: &[],
};

pub const STOPS: Property = Property {
    name: "the search stops at the first number of losses that makes the generals disagree",
    hint: "go level by level (schedules losing 0 messages, then 1, …) and return as soon as a level holds a counterexample: a schedule losing more cannot be better",
    when: &[],
};

/// The rounds of the protocol the search's cost is measured on: 2^16
/// schedules in all, 17 of them losing at most one message.
const COST_ROUNDS: usize = 8;

/// One round of the replay.
const ROUND: Duration = Duration::from_millis(20);

pub fn tests(suite: Suite) -> Suite {
    suite
        .test("adversary::breaks_every_hidden_protocol", || {
            check_all(find_disagreement)
        })
        .test("adversary::stops_at_the_fewest_losses", || {
            search_cost(find_disagreement)
        })
        .test("meta::adversary_claiming_agreeing_runs_is_caught", || {
            expect_caught(DISAGREE, 1, |_| {
                check_all(|p| Some(Schedule::reliable(p.rounds())))
            })
        })
        .test("meta::adversary_losing_too_much_is_caught", || {
            expect_caught(MINIMAL, 1, |_| check_all(most_losses_first))
        })
        .test("meta::adversary_giving_up_is_caught", || {
            expect_caught(FOUND, 1, |_| check_all(|_| None))
        })
        .test("meta::adversary_losing_both_ways_at_once_is_caught", || {
            expect_caught(MINIMAL, 1, |_| check_all(round_losses_only))
        })
        .test("meta::adversary_trying_every_schedule_is_caught", || {
            expect_caught(STOPS, 1, |_| search_cost(fewest_of_all))
        })
}

/// The fewest messages a schedule must lose to make `p`'s generals
/// disagree (`None`: no schedule does), by trying every schedule.
fn fewest_losses(p: &dyn Protocol) -> Option<usize> {
    all_schedules(p.rounds())
        .filter_map(|s| {
            let (a, b, lost) = replay(p, &s)?;
            (a != b).then_some(lost)
        })
        .min()
}

fn all_schedules(rounds: usize) -> impl Iterator<Item = Schedule> {
    (0u64..1 << (2 * rounds)).map(move |mask| Schedule {
        a_to_b: (0..rounds).map(|r| mask & (1 << (2 * r)) == 0).collect(),
        b_to_a: (0..rounds)
            .map(|r| mask & (1 << (2 * r + 1)) == 0)
            .collect(),
    })
}

/// The schedules of `schedules` after which A and B disagree, each with
/// how many messages it loses.
fn disagreements<'p>(
    p: &'p dyn Protocol,
    schedules: impl Iterator<Item = Schedule> + 'p,
) -> impl Iterator<Item = (usize, Schedule)> + 'p {
    schedules.filter_map(move |s| {
        replay(p, &s)
            .filter(|(a, b, _)| a != b)
            .map(|(_, _, lost)| (lost, s))
    })
}

/// A wrong adversary: the disagreeing schedule that loses the most.
fn most_losses_first(p: &dyn Protocol) -> Option<Schedule> {
    disagreements(p, all_schedules(p.rounds()))
        .max_by_key(|(lost, _)| *lost)
        .map(|(_, s)| s)
}

/// A wrong adversary: loses whole rounds (both directions together),
/// fewest first.
fn round_losses_only(p: &dyn Protocol) -> Option<Schedule> {
    let rounds = p.rounds();
    let whole_rounds = (0u64..1 << rounds).map(|mask| {
        let arrives: Vec<bool> = (0..rounds).map(|r| mask & (1 << r) == 0).collect();
        Schedule {
            a_to_b: arrives.clone(),
            b_to_a: arrives,
        }
    });
    disagreements(p, whole_rounds)
        .min_by_key(|(lost, _)| *lost)
        .map(|(_, s)| s)
}

/// A wrong adversary, right but slow: plays every schedule and keeps the
/// one losing the fewest.
fn fewest_of_all(p: &dyn Protocol) -> Option<Schedule> {
    disagreements(p, all_schedules(p.rounds()))
        .min_by_key(|(lost, _)| *lost)
        .map(|(_, s)| s)
}

/// A protocol that counts the runs played on it: every run asks A for its
/// first message exactly once.
struct Counted<P> {
    inner: P,
    runs: Cell<usize>,
}

impl<P: Protocol> Protocol for Counted<P> {
    fn rounds(&self) -> usize {
        self.inner.rounds()
    }
    fn send(&self, general: General, round: usize, heard: &[Option<u64>]) -> Option<u64> {
        if general == General::A && round == 0 {
            self.runs.set(self.runs.get() + 1);
        }
        self.inner.send(general, round, heard)
    }
    fn attacks(&self, general: General, heard: &[Option<u64>]) -> bool {
        self.inner.attacks(general, heard)
    }
}

/// The search's cost on a protocol of [`COST_ROUNDS`] rounds whose
/// generals disagree as soon as one message (A's plan) is lost: a breadth
/// first search plays the one schedule losing nothing and the 16 losing
/// one slot; it may play up to three times that, not the 2^16 of them all.
fn search_cost(adversary: impl Fn(&dyn Protocol) -> Option<Schedule>) -> Result<(), Failure> {
    let protocol = Counted {
        inner: Told(COST_ROUNDS),
        runs: Cell::new(0),
    };
    let found = adversary(&protocol);
    let runs = protocol.runs.get();
    let level = 1 + 2 * COST_ROUNDS;
    dscheck::metric("runs played to find a one-message counterexample", runs);
    if runs > 3 * level {
        return Err(Failure::new(
            STOPS,
            format!(
                "a plan told once in round 0 of {COST_ROUNDS}: losing it makes the generals disagree, \
                 found among the {level} schedules losing at most one slot; the search played {runs} runs"
            ),
        ));
    }
    let Some(schedule) = found else {
        return Err(Failure::new(
            FOUND,
            "a plan told once: losing it makes the generals disagree, but no counterexample was returned",
        ));
    };
    match replay(&protocol.inner, &schedule) {
        Some((a, b, 1)) if a != b => Ok(()),
        _ => Err(Failure::new(
            MINIMAL,
            format!(
                "a plan told once: the schedule {} is not the loss of that one message",
                show(&schedule)
            ),
        )),
    }
}

/// Runs `adversary` on every hidden protocol and checks each answer.
fn check_all(adversary: impl Fn(&dyn Protocol) -> Option<Schedule>) -> Result<(), Failure> {
    for (name, protocol) in hidden() {
        let protocol: Rc<dyn Protocol> = Rc::from(protocol);
        let fewest = fewest_losses(protocol.as_ref());
        let Some(schedule) = adversary(protocol.as_ref()) else {
            if let Some(k) = fewest {
                return Err(Failure::new(
                    FOUND,
                    format!("no counterexample was returned for {name}, but losing {k} messages makes its generals disagree"),
                ));
            }
            continue;
        };
        let sim = simulate(protocol.clone(), &schedule);
        let decided = |g: NodeId| sim.node(g).and_then(|n| n.attacks);
        let (a, b) = (decided(NodeId(0)), decided(NodeId(1)));
        let lost = lost_in(&sim);
        if a.is_none() || a == b {
            return Err(Failure::after_run(
                &sim,
                DISAGREE,
                format!(
                    "{name}: under the schedule {}, A {} and B {}",
                    show(&schedule),
                    verdict(a),
                    verdict(b)
                ),
            ));
        }
        let fewest = fewest.expect("a disagreement was just replayed");
        if lost > fewest {
            return Err(Failure::after_run(
                &sim,
                MINIMAL,
                format!(
                    "{name}: the schedule {} loses {lost} messages; losing {fewest} is enough to make the generals disagree",
                    show(&schedule)
                ),
            ));
        }
        dscheck::metric(&format!("messages lost: {name}"), lost);
    }
    Ok(())
}

fn verdict(attacks: Option<bool>) -> &'static str {
    match attacks {
        Some(true) => "attacks",
        Some(false) => "does not attack",
        None => "never decided",
    }
}

fn show(s: &Schedule) -> String {
    let mark = |v: &[bool]| {
        v.iter()
            .map(|&d| if d { '✓' } else { '✗' })
            .collect::<String>()
    };
    format!("A→B {} / B→A {}", mark(&s.a_to_b), mark(&s.b_to_a))
}

/// A quick replay, without the simulator, to search with: (A attacks,
/// B attacks, messages lost).
fn replay(p: &dyn Protocol, s: &Schedule) -> Option<(bool, bool, usize)> {
    let (mut heard_a, mut heard_b) = (Vec::new(), Vec::new());
    let mut lost = 0;
    for r in 0..p.rounds() {
        let from_a = p.send(General::A, r, &heard_a);
        let from_b = p.send(General::B, r, &heard_b);
        let (to_b, to_a) = (
            s.a_to_b.get(r) != Some(&false),
            s.b_to_a.get(r) != Some(&false),
        );
        lost += usize::from(from_a.is_some() && !to_b) + usize::from(from_b.is_some() && !to_a);
        heard_b.push(from_a.filter(|_| to_b));
        heard_a.push(from_b.filter(|_| to_a));
    }
    Some((
        p.attacks(General::A, &heard_a),
        p.attacks(General::B, &heard_b),
        lost,
    ))
}

fn lost_in(sim: &Sim<Replayed>) -> usize {
    sim.trace()
        .entries()
        .filter(|e| {
            matches!(
                e.event,
                Event::Drop {
                    reason: DropReason::Partitioned,
                    ..
                }
            )
        })
        .count()
}

/// Replays `protocol` under `schedule` in the simulator: round `r` runs
/// from `r × ROUND`; its links are cut as the schedule says for the whole
/// round; each general sends 1 ms into the round and decides after the last.
fn simulate(protocol: Rc<dyn Protocol>, schedule: &Schedule) -> Sim<Replayed> {
    let p = protocol.clone();
    let mut sim = Sim::new(1, 2, move |id| Replayed {
        protocol: p.clone(),
        general: if id == NodeId(0) {
            General::A
        } else {
            General::B
        },
        round: 0,
        heard: Vec::new(),
        inbox: None,
        attacks: None,
    });
    let (a, b) = (NodeId(0), NodeId(1));
    for r in 0..protocol.rounds() {
        let _ = sim.heal();
        if !schedule.a_to_b.get(r).copied().unwrap_or(true) {
            let _ = sim.cut(a, b);
        }
        if !schedule.b_to_a.get(r).copied().unwrap_or(true) {
            let _ = sim.cut(b, a);
        }
        let _ = sim.run_for(ROUND);
    }
    let _ = sim.heal();
    let _ = sim.run_for(ROUND + ms(5));
    sim
}

/// A general running a [`Protocol`] in the simulator.
pub struct Replayed {
    protocol: Rc<dyn Protocol>,
    general: General,
    round: usize,
    heard: Vec<Option<u64>>,
    inbox: Option<u64>,
    attacks: Option<bool>,
}

impl fmt::Debug for Replayed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("General")
            .field("general", &self.general)
            .field("round", &self.round)
            .field("heard", &self.heard)
            .field("attacks", &self.attacks)
            .finish()
    }
}

/// A message of the replay: the protocol's `value`, sent in `round`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sent {
    round: usize,
    value: u64,
}

/// The start of a round.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Round(usize);

impl Node for Replayed {
    type Msg = Sent;
    type Timer = Round;
    type Request = ();
    type Reply = ();

    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        ctx.set_timer(Round(0), ms(1));
    }

    fn on_message(&mut self, _ctx: &mut Ctx<Self>, _from: NodeId, msg: Sent) {
        if msg.round == self.round {
            self.inbox = Some(msg.value);
        }
    }

    /// The start of round `r`: file what arrived in the last one, then
    /// send this round's message (or decide after the last round).
    fn on_timer(&mut self, ctx: &mut Ctx<Self>, Round(r): Round) {
        if r > 0 {
            self.heard.push(self.inbox.take());
        }
        self.round = r;
        if r == self.protocol.rounds() {
            self.attacks = Some(self.protocol.attacks(self.general, &self.heard));
            return;
        }
        if let Some(value) = self.protocol.send(self.general, r, &self.heard) {
            let other = ctx.peers()[0];
            ctx.send(other, Sent { round: r, value });
        }
        ctx.set_timer(Round(r + 1), ROUND);
    }
}
