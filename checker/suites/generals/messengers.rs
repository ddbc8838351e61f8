//! generals_messengers: how often both attack, measured over many seeded
//! runs for several loss rates and messenger budgets, against the
//! probability the strategy should reach; every run checked after every
//! event; and every run of three messengers explored exhaustively.

use crate::subject::generals::messengers::{
    General, Msg, Timer, GENERAL_A, GENERAL_B, RESEND_AFTER,
};
use dscheck::{ensure, expect_caught, metric, secs, Failure, Property, Suite};
use dsim::{Broken, Ctx, Event, Explorable, Explorer, Network, Node, NodeId, Sim, Step};
use std::time::Instant;

pub const PROB: Property = Property {
    name: "both generals attack as often as the strategy should",
    hint: "A sends a messenger at once and another every RESEND_AFTER until one is acknowledged or the budget is spent; B acknowledges every messenger; A attacks once acknowledged, B once told",
    when: &[],
};
pub const SAFE: Property = Property {
    name: "A never attacks unless B has been told",
    hint: "A may attack only after an acknowledgement has come back: an acknowledgement proves B was told",
    when: &[],
};
pub const BUDGET: Property = Property {
    name: "A sends at most its budget of messengers, and none after an acknowledgement",
    hint: "count the messengers in sent and stop at budget; stop as soon as acknowledged (cancel the Resend timer)",
    when: &[],
};

pub const CANCELLED: Property = Property {
    name: "A's resend timer is cancelled at the first acknowledgement",
    hint: "on the first Ack, cancel_timer(Timer::Resend): a timer left running fires for nothing",
    when: &[],
};

/// What the checks need of a general.
pub trait Observed: Explorable<M = Msg, T = Timer> {
    fn build(budget: u32) -> Self;
    fn attacks(&self, id: NodeId) -> bool;
}

impl Observed for General {
    fn build(budget: u32) -> Self {
        General::new(budget)
    }
    fn attacks(&self, id: NodeId) -> bool {
        General::attacks(self, id)
    }
}

pub fn tests(suite: Suite) -> Suite {
    suite
        .test(
            "messengers::both_attack_as_often_as_expected",
            measure::<General>,
        )
        .test(
            "messengers::every_run_of_three_messengers",
            explore::<General>,
        )
        .test("meta::messengers_stopping_after_one_is_caught", || {
            expect_caught(PROB, 1, |_| measure::<OneMessenger>())
        })
        .test(
            "meta::messengers_leaving_the_timer_running_is_caught",
            || expect_caught(CANCELLED, 1, |_| measure::<KeepsTimer>()),
        )
}

/// The loss rates and budgets measured.
const CONFIGS: &[(f64, u32)] = &[(0.1, 1), (0.3, 2), (0.5, 3), (0.5, 6), (0.7, 4)];
/// Runs per configuration.
const RUNS: u64 = 1000;

/// The probability that both attack: each messenger, and its
/// acknowledgement, gets through with probability `(1 - loss)²`, and
/// rounds are independent, so `1 - (1 - (1 - loss)²)^budget`.
pub fn expected(loss: f64, budget: u32) -> f64 {
    1.0 - (1.0 - (1.0 - loss).powi(2)).powi(budget as i32)
}

/// One run: both attack?
fn one_run<G: Observed>(seed: u64, loss: f64, budget: u32) -> Result<bool, Failure> {
    let mut sim = Sim::new(seed, 2, move |_| G::build(budget));
    sim.set_network(Network::default().with_loss(loss));
    sim.check(SAFE, |sim: &Sim<G>, _| {
        let a = sim.node(GENERAL_A).is_some_and(|g| g.attacks(GENERAL_A));
        let b = sim.node(GENERAL_B).is_some_and(|g| g.attacks(GENERAL_B));
        if a && !b {
            Err(Broken::new("A attacks, but no messenger has reached B")
                .nodes([GENERAL_A, GENERAL_B]))
        } else {
            Ok(())
        }
    });
    let (mut sent, mut acked) = (0u32, false);
    sim.check(BUDGET, move |_, step: Step<'_, G>| {
        for e in step {
            match &e.event {
                Event::Send {
                    from,
                    msg: Msg::Attack { .. },
                    ..
                } if *from == GENERAL_A => {
                    sent += 1;
                    if acked {
                        return Err(Broken::new(format!(
                            "A sent messenger {sent} after an acknowledgement had arrived"
                        ))
                        .nodes([GENERAL_A]));
                    }
                    if sent > budget {
                        return Err(Broken::new(format!(
                            "A sent {sent} messengers with a budget of {budget}"
                        ))
                        .nodes([GENERAL_A]));
                    }
                }
                Event::Deliver {
                    to,
                    msg: Msg::Ack { .. },
                    ..
                } if *to == GENERAL_A => acked = true,
                _ => {}
            }
        }
        Ok(())
    });
    let mut acknowledged = false;
    sim.check(CANCELLED, move |_, step: Step<'_, G>| {
        for e in step {
            match &e.event {
                Event::Deliver {
                    to,
                    msg: Msg::Ack { .. },
                    ..
                } if *to == GENERAL_A => acknowledged = true,
                Event::Timer { node, .. } if *node == GENERAL_A && acknowledged => {
                    return Err(Broken::new(
                        "A's Resend timer fired after an acknowledgement had arrived",
                    )
                    .nodes([GENERAL_A]));
                }
                _ => {}
            }
        }
        Ok(())
    });
    let limit = RESEND_AFTER * (budget + 2);
    dscheck::run(&mut sim, |s| s.run_for(limit.max(secs(1))))?;
    let a = sim.node(GENERAL_A).is_some_and(|g| g.attacks(GENERAL_A));
    let b = sim.node(GENERAL_B).is_some_and(|g| g.attacks(GENERAL_B));
    Ok(a && b)
}

/// Measures every configuration and compares with [`expected`], within
/// four standard errors (plus 0.01).
pub fn measure<G: Observed>() -> Result<(), Failure> {
    for (c, &(loss, budget)) in CONFIGS.iter().enumerate() {
        let mut both = 0;
        for run in 1..=RUNS {
            if one_run::<G>(c as u64 * 10_000 + run, loss, budget)? {
                both += 1;
            }
        }
        let measured = both as f64 / RUNS as f64;
        let p = expected(loss, budget);
        let tolerance = 4.0 * (p * (1.0 - p) / RUNS as f64).sqrt() + 0.005;
        metric(
            &format!("both attack, loss {loss}, {budget} messengers"),
            format!("{measured:.3} (expected {p:.3} ± {tolerance:.3})"),
        );
        ensure((measured - p).abs() <= tolerance, PROB, || {
            format!(
                "with loss {loss} and a budget of {budget} messengers, both attacked in {both} of {RUNS} runs ({measured:.3}); the strategy should reach {p:.3} ± {tolerance:.3}"
            )
        })?;
    }
    Ok(())
}

/// Every run of three messengers: every order, every loss (up to all six
/// messages), A's timer firing at any moment.
pub fn explore<G: Observed>() -> Result<(), Failure> {
    let started = Instant::now();
    let explored = Explorer::new(2, |_| G::build(3))
        .with_loss(6)
        .always(SAFE, |v| {
            let a = v.node(GENERAL_A).is_some_and(|g| g.attacks(GENERAL_A));
            let b = v.node(GENERAL_B).is_some_and(|g| g.attacks(GENERAL_B));
            if a && !b {
                Err(Broken::new("A attacks, but no messenger has reached B"))
            } else {
                Ok(())
            }
        })
        .goal("both attack", |v| {
            v.node(GENERAL_A).is_some_and(|g| g.attacks(GENERAL_A))
                && v.node(GENERAL_B).is_some_and(|g| g.attacks(GENERAL_B))
        })
        .goal("B attacks alone", |v| {
            v.in_flight() == 0
                && !v.node(GENERAL_A).is_some_and(|g| g.attacks(GENERAL_A))
                && v.node(GENERAL_B).is_some_and(|g| g.attacks(GENERAL_B))
        })
        .run()
        .map_err(Failure::from_counterexample)?;
    metric("states explored", explored.states);
    metric("exploration time (ms)", started.elapsed().as_millis());
    for (goal, run) in &explored.goals {
        metric(&format!("reachable: {goal}"), run.is_some());
    }
    ensure(explored.goals[0].1.is_some(), PROB, || {
        format!(
            "in none of the {} states of three messengers do both generals attack",
            explored.states
        )
    })
}

/// A strategy that sends one messenger and never another.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OneMessenger(General);

impl Node for OneMessenger {
    type Msg = Msg;
    type Timer = Timer;
    type Request = ();
    type Reply = ();
    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        if ctx.id() == GENERAL_A {
            self.0.sent = 1;
            ctx.send(GENERAL_B, Msg::Attack { n: 1 });
        }
    }
    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Attack { n } => {
                self.0.told = true;
                ctx.send(from, Msg::Ack { n });
            }
            Msg::Ack { .. } => self.0.acknowledged = true,
        }
    }
}

impl Observed for OneMessenger {
    fn build(budget: u32) -> Self {
        OneMessenger(General {
            budget,
            sent: 0,
            acknowledged: false,
            told: false,
        })
    }
    fn attacks(&self, id: NodeId) -> bool {
        if id == GENERAL_A {
            self.0.acknowledged
        } else {
            self.0.told
        }
    }
}

/// The strategy with its timer left running after the acknowledgement.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeepsTimer(General);

impl KeepsTimer {
    fn next(&mut self, ctx: &mut Ctx<Self>) {
        let g = &mut self.0;
        if g.acknowledged || g.sent >= g.budget {
            return;
        }
        g.sent += 1;
        ctx.send(GENERAL_B, Msg::Attack { n: g.sent });
        ctx.set_timer(Timer::Resend, RESEND_AFTER);
    }
}

impl Node for KeepsTimer {
    type Msg = Msg;
    type Timer = Timer;
    type Request = ();
    type Reply = ();
    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        if ctx.id() == GENERAL_A {
            self.next(ctx);
        }
    }
    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Attack { n } => {
                self.0.told = true;
                ctx.send(from, Msg::Ack { n });
            }
            Msg::Ack { .. } => self.0.acknowledged = true,
        }
    }
    fn on_timer(&mut self, ctx: &mut Ctx<Self>, _timer: Timer) {
        self.next(ctx);
    }
}

impl Observed for KeepsTimer {
    fn build(budget: u32) -> Self {
        KeepsTimer(General::new(budget))
    }
    fn attacks(&self, id: NodeId) -> bool {
        self.0.attacks(id)
    }
}
