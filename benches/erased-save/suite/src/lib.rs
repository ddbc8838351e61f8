//! A clocks_lamport check compiled once, against the protocol's types: the
//! node under test is a trait object, so a change to the learner's crate
//! never recompiles this crate. One property, after every event, over 30
//! seeds: a node's clock after an event is past every timestamp in its
//! causal past (the kit's suite checks more; this is for timing).
use dsim::{Broken, DynNode, Erased, Event, Network, NodeId, Property, Sim};
use proto::{Msg, Request};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

/// What the suite reads of a node's state; the glue crate implements it.
pub trait LamportView {
    fn time(&self) -> u64;
}

/// A node under test, of whatever type.
pub trait LamportNode:
    DynNode<Msg = Msg, Timer = (), Request = Request, Reply = ()> + LamportView
{
}

impl<T: DynNode<Msg = Msg, Timer = (), Request = Request, Reply = ()> + LamportView> LamportNode
    for T
{
}

type Boxed = Erased<dyn LamportNode>;

const CAUSAL: Property = Property {
    name: "if event a happens before event b, then L(a) < L(b)",
    hint: "tick before every local event and send; on receipt take the larger of your clock and \
           the message's timestamp, then add one",
    when: &[],
};

fn causality(seed: u64, make: fn() -> Box<dyn LamportNode>) -> Result<(), String> {
    let nodes = 4;
    let mut sim: Sim<Boxed> = Sim::new(seed, nodes, move |_| Erased(make()));
    sim.set_network(
        Network::reliable(Duration::from_millis(1), Duration::from_millis(20))
            .with_loss(0.15)
            .with_duplication(0.15)
            .with_long_delays(0.1, Duration::from_millis(200)),
    );
    // The largest timestamp in each node's causal past, and each send's.
    let mut floor = vec![0u64; nodes];
    let sends = Rc::new(RefCell::new(BTreeMap::<u64, u64>::new()));
    sim.check(CAUSAL, move |sim, step| {
        let mut sends = sends.borrow_mut();
        for e in step.iter() {
            match &e.event {
                Event::Deliver { to, msg_id, .. } => {
                    if let Some(&t) = sends.get(msg_id) {
                        floor[to.0] = floor[to.0].max(t);
                    }
                }
                Event::Send { from, msg_id, .. } => {
                    let t = sim.node(*from).map_or(0, |n| n.0.time());
                    sends.insert(*msg_id, t);
                }
                _ => {}
            }
        }
        let ticks = matches!(
            step.trigger_event(),
            Some(Event::Request { .. } | Event::Deliver { .. })
        );
        let handled = step.iter().find_map(|e| e.event.handled_by());
        let Some(id) = handled.filter(|_| ticks) else {
            return Ok(());
        };
        let Some(node) = sim.node(id) else {
            return Ok(());
        };
        let t = node.0.time();
        if t <= floor[id.0] {
            return Err(
                Broken::new(format!("{id} is at {t}, not past {}", floor[id.0])).nodes([id]),
            );
        }
        floor[id.0] = t;
        Ok(())
    });
    let mut rng = sim.scenario_rng();
    for i in 0..200u64 {
        let node = NodeId(rng.below(nodes as u64) as usize);
        let req = if rng.chance(0.5) {
            Request::Local
        } else {
            Request::Send {
                to: NodeId(rng.below(nodes as u64) as usize),
            }
        };
        sim.request_after(Duration::from_millis(i * 3), node, req);
    }
    sim.run_for(Duration::from_secs(2))
        .map_err(|v| v.detail.clone())
}

/// Runs the check against nodes made by `make`; exits 1 on a failure.
pub fn run(make: fn() -> Box<dyn LamportNode>) {
    let failed: Vec<String> = (1..=30)
        .filter_map(|seed| {
            causality(seed, make)
                .err()
                .map(|why| format!("seed {seed}: {why}"))
        })
        .collect();
    println!("lamport: {} of 30 seeds passed", 30 - failed.len());
    if let Some(first) = failed.first() {
        println!("{first}");
        std::process::exit(1);
    }
}
