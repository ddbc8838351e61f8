//! byzantine_oral_messages: OM(1) among 4 and 5 generals, OM(2) among 7,
//! with traitors that stay silent, tell two stories, lie, or act at
//! random, wherever they sit (the commander included).

use super::model::{Model, CORRECT, COUNTS_ITSELF_TWICE, MISSING_IS_ATTACK, ROUND_TOO_FEW};
use super::rounds::{
    judge, om_messages, random_setup, run, Loyal, Setup, Strategy, Suite as Traitors, COUNT,
    DECIDES, IC1, RELAY,
};
use crate::subject::byzantine::oral_messages::{
    command, majority, Lieutenant, OralMessage, Order, Outbox, COMMANDER, DEFAULT,
};
use dscheck::{ensure, expect_accepted, expect_caught, metric, Failure, Property, Suite};
use dsim::NodeId;
use std::collections::BTreeSet;

impl Loyal for Lieutenant {
    fn command(n: usize, order: Order) -> Outbox {
        command(n, order)
    }
    fn new(id: NodeId, n: usize, m: usize) -> Self {
        Lieutenant::new(id, n, m)
    }
    fn receive(&mut self, from: NodeId, msg: OralMessage) -> Outbox {
        Lieutenant::receive(self, from, msg)
    }
    fn decide(&self) -> Order {
        Lieutenant::decide(self)
    }
}

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded(
            "oral_messages::om1_among_four_with_one_traitor",
            60,
            |seed| traitor_run::<Lieutenant>(seed, 4, 1, 1),
        )
        .seeded(
            "oral_messages::om1_among_five_with_one_traitor",
            30,
            |seed| traitor_run::<Lieutenant>(seed, 5, 1, 1),
        )
        .seeded(
            "oral_messages::om2_among_seven_with_two_traitors",
            60,
            |seed| traitor_run::<Lieutenant>(seed, 7, 2, 2),
        )
        .test(
            "oral_messages::message_count_without_traitors",
            loyal_counts::<Lieutenant>,
        )
        .test("oral_messages::majority_needs_more_than_half", || {
            majorities(majority)
        })
        .test(
            "oral_messages::silent_and_half_silent_traitors_in_every_place",
            silences::<Lieutenant>,
        )
        .test(
            "oral_messages::two_faced_and_lying_traitors_in_every_place",
            || every_placement::<Lieutenant>(&[Strategy::TwoFaced, Strategy::Liar], true),
        )
        .test("meta::om_correct_model_passes", || {
            expect_accepted("OM(2) with two traitors", 60, |seed| {
                traitor_run::<Model<CORRECT>>(seed, 7, 2, 2)
            })?;
            loyal_counts::<Model<CORRECT>>()
        })
        .test("meta::om_one_round_too_few_breaks_agreement", || {
            expect_caught(IC1, 60, |_| {
                every_placement::<Model<ROUND_TOO_FEW>>(&[Strategy::TwoFaced], false)
            })
        })
        .test("meta::om_one_round_too_few_sends_too_few_messages", || {
            expect_caught(RELAY, 60, |_| loyal_counts::<Model<ROUND_TOO_FEW>>())
        })
        .test("meta::om_missing_message_as_attack_is_caught", || {
            expect_caught(DECIDES, 1, |_| silences::<Model<MISSING_IS_ATTACK>>())
        })
        .test("meta::om_tie_as_attack_is_caught", || {
            expect_caught(MAJORITY, 1, |_| {
                majorities(|orders| {
                    let attacks = orders.iter().filter(|&&o| o == Order::Attack).count();
                    if 2 * attacks >= orders.len() {
                        Order::Attack
                    } else {
                        Order::Retreat
                    }
                })
            })
        })
        .test("meta::om_correct_model_passes_the_silences", || {
            expect_accepted("silent traitors", 1, |_| silences::<Model<CORRECT>>())
        })
        .test("meta::om_counting_itself_twice_is_caught", || {
            expect_caught(IC1, 60, |_| {
                every_placement::<Model<COUNTS_ITSELF_TWICE>>(&[Strategy::TwoFaced], false)
            })
        })
}

/// One run with `traitors` traitors placed at random, all playing one
/// strategy chosen by the seed.
pub fn traitor_run<L: Loyal>(
    seed: u64,
    n: usize,
    m: usize,
    traitors: usize,
) -> Result<(), Failure> {
    let (setup, strategy) = random_setup(seed, n, m, traitors);
    let outcome = run::<L>(&setup, &mut Traitors(strategy));
    judge(
        &setup,
        &outcome,
        &format!(
            "traitors {strategy:?}, the commander orders {:?}",
            setup.order
        ),
    )
}

/// Without traitors, OM(m) sends (n-1) + (n-1)(n-2) + … messages, and
/// every lieutenant obeys.
pub fn loyal_counts<L: Loyal>() -> Result<(), Failure> {
    for (n, m) in [(4, 1), (5, 1), (7, 2)] {
        for order in [Order::Attack, Order::Retreat] {
            let setup = Setup {
                n,
                m,
                traitors: BTreeSet::new(),
                order,
                seed: n as u64,
            };
            let outcome = run::<L>(&setup, &mut Traitors(Strategy::Silent));
            judge(&setup, &outcome, "no traitors")?;
            let expected = om_messages(n, m);
            metric(
                &format!("messages, n = {n}, OM({m})"),
                outcome.loyal_messages,
            );
            ensure(outcome.loyal_messages == expected, COUNT, || {
                format!(
                    "n = {n}, OM({m}): {} messages sent, the algorithm sends {expected}",
                    outcome.loyal_messages
                )
            })?;
        }
    }
    Ok(())
}

pub const MAJORITY: Property = Property {
    name: "majority() is the order held by more than half, and DEFAULT otherwise",
    hint: "count both orders: Attack only with more attacks than retreats, Retreat only with more retreats than attacks, DEFAULT for a tie (and for no orders at all)",
    when: &[],
};

/// `majority` on lists with a clear majority, with ties, and empty.
fn majorities(majority: impl Fn(&[Order]) -> Order) -> Result<(), Failure> {
    use Order::{Attack as A, Retreat as R};
    let cases: [(&[Order], Order); 9] = [
        (&[], DEFAULT),
        (&[A], A),
        (&[R], R),
        (&[A, R], DEFAULT),
        (&[R, A], DEFAULT),
        (&[A, A, R], A),
        (&[R, A, R], R),
        (&[A, R, R, A], DEFAULT),
        (&[A, R, A, A, R, R], DEFAULT),
    ];
    for (orders, due) in cases {
        let got = majority(orders);
        ensure(got == due, MAJORITY, || {
            format!("majority({orders:?}) returned {got:?}; it is {due:?}")
        })?;
    }
    Ok(())
}

/// Every placement of m traitors among the generals of OM(1) with 4 and 5
/// and OM(2) with 7, each traitor silent or half silent (see
/// [`Strategy::Gaps`]), for both orders: wherever a message is missing, a
/// lieutenant's DEFAULT decides, and every loyal lieutenant must decide
/// what OM(m) computes.
pub fn silences<L: Loyal>() -> Result<(), Failure> {
    every_placement::<L>(&[Strategy::Silent, Strategy::Gaps], true)
}

/// Every placement of m traitors among the generals of OM(1) with 4 and 5
/// and OM(2) with 7, all playing each of `strategies`, for both orders;
/// judged on everything, or (`all` false) on IC1 and IC2 alone. Scripted,
/// so the placement that splits the lieutenants (a two-faced commander
/// with a traitor among those told to retreat) is always among them.
pub fn every_placement<L: Loyal>(strategies: &[Strategy], all: bool) -> Result<(), Failure> {
    for (n, m) in [(4, 1), (5, 1), (7, 2)] {
        for traitors in placements(n, m) {
            for &strategy in strategies {
                for order in [Order::Attack, Order::Retreat] {
                    let setup = Setup {
                        n,
                        m,
                        traitors: traitors.clone(),
                        order,
                        seed: n as u64,
                    };
                    let mut outcome = run::<L>(&setup, &mut Traitors(strategy));
                    if !all {
                        outcome.relay_error = None;
                        outcome.decision_error = None;
                    }
                    let commander = if traitors.contains(&COMMANDER) {
                        "a traitor".to_string()
                    } else {
                        format!("loyal, orders {order:?}")
                    };
                    judge(
                        &setup,
                        &outcome,
                        &format!("traitors {strategy:?}, the commander {commander}"),
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// Every set of `m` generals out of `n`.
fn placements(n: usize, m: usize) -> Vec<BTreeSet<NodeId>> {
    let mut sets = vec![BTreeSet::new()];
    for g in (0..n).map(NodeId) {
        let mut more = Vec::new();
        for set in &sets {
            if set.len() < m {
                let mut bigger = set.clone();
                bigger.insert(g);
                more.push(bigger);
            }
        }
        sets.extend(more);
    }
    sets.retain(|s| s.len() == m);
    sets
}
