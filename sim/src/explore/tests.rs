//! The explorer on toy models whose state spaces are counted by hand.

use super::*;
use crate::node::Ctx;
use serde::{Deserialize, Serialize};

/// A property without a hint.
fn named(name: &'static str) -> Property {
    Property {
        name,
        hint: "",
        when: &[],
    }
}

/// n0 sends `Add(1)` and `Add(2)` to n1 at start; n1 logs what arrives.
/// n0 also counts its starts in storage.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Toy {
    log: Vec<u8>,
    starts: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct Add(u8);

impl Node for Toy {
    type Msg = Add;
    type Timer = u8;
    type Request = ();
    type Reply = ();

    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        if ctx.id() == NodeId(0) {
            self.starts = ctx.storage().get("starts").unwrap_or(0) + 1;
            let starts = self.starts;
            ctx.storage().put("starts", &starts);
            ctx.send(NodeId(1), Add(1));
            ctx.send(NodeId(1), Add(2));
        }
    }

    fn on_message(&mut self, _ctx: &mut Ctx<Self>, _from: NodeId, msg: Add) {
        self.log.push(msg.0);
    }
}

fn toy() -> Explorer<Toy> {
    Explorer::new(2, |_| Toy {
        log: Vec::new(),
        starts: 0,
    })
}

fn log_of(v: &View<Toy>) -> Vec<u8> {
    v.node(NodeId(1)).map(|n| n.log.clone()).unwrap_or_default()
}

#[test]
fn counts_every_ordering_once() {
    // initial, [1], [2], [1, 2], [2, 1]
    let explored = toy().run().unwrap();
    assert_eq!(explored.states, 5);
    assert_eq!(explored.depth, 2);
}

#[test]
fn loss_adds_the_runs_that_miss_messages() {
    // in flight {1,2}: []; {2}: [] or [1]; {1}: [] or [2]; {}: 5 logs
    let explored = toy().with_loss(2).run().unwrap();
    assert_eq!(explored.states, 10);
}

#[test]
fn finds_the_shortest_counterexample() {
    let found = toy()
        .always(named("2 never arrives before 1"), |v| {
            if log_of(v).first() == Some(&2) {
                Err(Broken::new("n1 got 2 first").nodes([NodeId(1)]))
            } else {
                Ok(())
            }
        })
        .run()
        .unwrap_err();
    assert_eq!(found.property.name, "2 never arrives before 1");
    assert_eq!(found.trace.len(), 2, "{found}");
    assert!(
        found.trace[1].contains("n0 → n1 delivered: Add(2)"),
        "{found}"
    );
}

#[test]
fn storage_survives_crashes_and_restarts() {
    let found = toy()
        .with_crashes(2, &[NodeId(0)])
        .always(named("n0 starts at most twice"), |v| {
            match v.storage(NodeId(0)).get::<u64>("starts") {
                Some(n) if n > 2 => Err(Broken::new(format!("n0 started {n} times"))),
                _ => Ok(()),
            }
        })
        .run()
        .unwrap_err();
    // start, crash, restart, crash, restart
    assert_eq!(found.trace.len(), 5, "{found}");
    assert!(found.trace[4].contains("n0 restarts"), "{found}");
}

#[test]
fn step_checks_see_both_states() {
    let found = toy()
        .every_step(named("the log only grows"), |step| {
            if log_of(&step.after).len() >= log_of(&step.before).len() {
                Ok(())
            } else {
                Err(Broken::new("shrank"))
            }
        })
        .every_step(named("nothing arrives"), |step| {
            if log_of(&step.after) == log_of(&step.before) {
                Ok(())
            } else {
                Err(Broken::new(format!(
                    "{:?} became {:?}",
                    log_of(&step.before),
                    log_of(&step.after)
                )))
            }
        })
        .run()
        .unwrap_err();
    assert_eq!(found.property.name, "nothing arrives");
    assert_eq!(found.trace.len(), 2);
}

#[test]
fn goals_report_the_shortest_run_to_them() {
    let explored = toy()
        .goal("both arrive", |v| log_of(v).len() == 2)
        .goal("three arrive", |v| log_of(v).len() == 3)
        .run()
        .unwrap();
    assert_eq!(explored.goals[0].1.as_ref().map(Vec::len), Some(3));
    assert_eq!(explored.goals[1].1, None);
}

#[test]
fn a_panic_is_a_counterexample() {
    let found = Explorer::new(2, |_| Panicky).run().unwrap_err();
    assert_eq!(found.property, PANIC_PROPERTY);
    assert!(found.detail.contains("n1 panicked"), "{found}");
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Panicky;

impl Node for Panicky {
    type Msg = Add;
    type Timer = u8;
    type Request = ();
    type Reply = ();
    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        ctx.send(NodeId(1), Add(0));
    }
    fn on_message(&mut self, _ctx: &mut Ctx<Self>, _from: NodeId, _msg: Add) {
        panic!("boom");
    }
}

#[test]
fn the_state_limit_stops_a_growing_model() {
    let found = toy().with_loss(2).max_states(3).run().unwrap_err();
    assert_eq!(found.property, LIMIT_PROPERTY);
}

#[test]
fn the_loss_budget_bounds_the_losses_of_a_run() {
    // as with two losses, but never both messages lost
    let explored = toy().with_loss(1).run().unwrap();
    assert_eq!(explored.states, 9);
}

/// n0 sends `Add(1)` at start and `Add(9)` when its timer fires.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Timed(Vec<u8>);

impl Node for Timed {
    type Msg = Add;
    type Timer = u8;
    type Request = ();
    type Reply = ();
    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        if ctx.id() == NodeId(0) {
            ctx.send(NodeId(1), Add(1));
            ctx.set_timer(0, std::time::Duration::from_millis(30));
        }
    }
    fn on_message(&mut self, _ctx: &mut Ctx<Self>, _from: NodeId, msg: Add) {
        self.0.push(msg.0);
    }
    fn on_timer(&mut self, ctx: &mut Ctx<Self>, _timer: u8) {
        ctx.send(NodeId(1), Add(9));
    }
}

#[test]
fn quiet_timers_wait_for_the_network_unless_a_message_is_lost() {
    let nine_first = |v: &View<Timed>| v.node(NodeId(1)).unwrap().0.first() == Some(&9);
    let any = Explorer::new(2, |_| Timed(Vec::new())).goal("9 first", nine_first);
    assert!(any.run().unwrap().goals[0].1.is_some());
    let quiet = Explorer::new(2, |_| Timed(Vec::new()))
        .timers_when_quiet()
        .goal("9 first", nine_first);
    assert!(quiet.run().unwrap().goals[0].1.is_none());
    let lossy = Explorer::new(2, |_| Timed(Vec::new()))
        .timers_when_quiet()
        .with_loss(1)
        .goal("9 first", nine_first);
    assert!(lossy.run().unwrap().goals[0].1.is_some());
}

#[test]
fn a_message_to_a_crashed_node_may_be_dropped() {
    let explored = toy()
        .with_crashes(1, &[NodeId(1)])
        .goal("n1 back with nothing in flight", |v| {
            v.node(NodeId(1)).is_some_and(|n| n.log.is_empty()) && v.in_flight() == 0
        })
        .run()
        .unwrap();
    // crash n1, drop both messages, restart
    assert_eq!(explored.goals[0].1.as_ref().map(Vec::len), Some(5));
}

#[test]
fn duplication_delivers_a_message_again() {
    let at_most_once = |v: &View<Toy>| {
        if log_of(v).iter().filter(|&&x| x == 1).count() > 1 {
            Err(Broken::new("1 arrived twice"))
        } else {
            Ok(())
        }
    };
    assert!(toy()
        .always(named("1 arrives once"), at_most_once)
        .run()
        .is_ok());
    let found = toy()
        .with_duplication()
        .max_states(1_000)
        .always(named("1 arrives once"), at_most_once)
        .run()
        .unwrap_err();
    assert_eq!(found.property.name, "1 arrives once");
    // start, deliver 1, deliver 1 again
    assert_eq!(found.trace.len(), 3, "{found}");
}
