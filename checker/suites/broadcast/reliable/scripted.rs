//! Schedules that random faults reach only now and then, made certain:
//! each scenario plays its faults at chosen moments, on nodes the seed
//! picks, over links that lose nothing (so what fails is the protocol, not
//! luck), with a few broadcasts of the other nodes around it.

use super::super::observe::{everyone_delivered, settle, watch, Order, Shared};
use super::records::{falls_silent, prompt, watch_records, Records};
use dscheck::{ms, run, secs, Failure};
use dsim::{Network, NodeId, Sim};
use std::time::Duration;

const NODES: usize = 5;
/// How long the correct nodes have to catch up once the faults stop.
const LIVENESS: Duration = secs(5);
/// The value the scripted message carries; the others carry 1, 2, 3, ….
const SCRIPTED: u64 = 100;

/// The links of the scripted scenarios: 1–20 ms, nothing lost.
fn links() -> Network {
    Network::reliable(ms(1), ms(20))
}

/// The nodes in an order the seed picks: the scenario's roles.
fn roles<N: Records>(sim: &Sim<N>) -> Vec<NodeId> {
    let mut order: Vec<NodeId> = sim.ids().collect();
    sim.scenario_rng().shuffle(&mut order);
    order
}

/// A new run with the checks of every event on.
fn start<N: Records>(seed: u64, make: impl FnMut(NodeId) -> N + 'static) -> (Sim<N>, Shared) {
    let mut sim = Sim::new(seed, NODES, make);
    sim.set_network(links());
    let seen = watch(&mut sim, Order::Any);
    watch_records(&mut sim);
    (sim, seen)
}

/// Runs until `node` has delivered `value` (at most `limit`).
fn until_delivered<N: Records>(
    sim: &mut Sim<N>,
    seen: &Shared,
    node: NodeId,
    value: u64,
    limit: Duration,
) -> Result<bool, Failure> {
    let seen = seen.clone();
    run(sim, |s| {
        s.run_until(limit, move |_| seen.borrow().has(node, value))
    })
}

/// Broadcasts `first..first + count`, one every 15 ms, from `senders` in
/// turn.
fn background<N: Records>(sim: &mut Sim<N>, senders: &[NodeId], first: u64, count: u64) {
    for (i, value) in (first..first + count).enumerate() {
        let at = ms(15 * i as u64);
        sim.request_after(at, senders[i % senders.len()], N::broadcast(value));
    }
}

/// The origin reaches one node only, R, and crashes; R relays, reaches
/// one node only, X, and crashes too. X delivered the message, so every
/// correct node must: X has to relay what it got from R, not only what
/// comes from an origin.
pub fn origin_and_first_receiver_crash<N: Records>(
    seed: u64,
    make: impl FnMut(NodeId) -> N + 'static,
) -> Result<(), Failure> {
    let (mut sim, seen) = start(seed, make);
    let order = roles(&sim);
    let (origin, first, second, rest) = (order[0], order[1], order[2], &order[3..]);
    background(&mut sim, &order[2..], 1, 6);
    run(&mut sim, |s| s.run_for(ms(100)))?;
    for &node in &order[2..] {
        run(&mut sim, |s| s.cut(origin, node))?;
    }
    for &node in rest {
        run(&mut sim, |s| s.cut(first, node))?;
    }
    sim.note(format!(
        "{origin} broadcasts {SCRIPTED} reaching only {first}, whose copies reach only {second}; both crash once {second} has it"
    ));
    sim.request(origin, N::broadcast(SCRIPTED));
    until_delivered(&mut sim, &seen, second, SCRIPTED, ms(500))?;
    run(&mut sim, |s| s.crash(origin))?;
    run(&mut sim, |s| s.crash(first))?;
    run(&mut sim, |s| s.heal())?;
    settle(&mut sim, &seen, LIVENESS)?;
    everyone_delivered(&sim, &seen, LIVENESS, "the two crashes")
}

/// The origin reaches one node only, R, and crashes; R's first copies to
/// the others are lost (their links are cut for 200 ms). R must keep
/// sending its relays until each is acknowledged.
pub fn relays_lost_after_the_origin_crashes<N: Records>(
    seed: u64,
    make: impl FnMut(NodeId) -> N + 'static,
) -> Result<(), Failure> {
    let (mut sim, seen) = start(seed, make);
    let order = roles(&sim);
    let (origin, first, rest) = (order[0], order[1], &order[2..]);
    background(&mut sim, rest, 1, 6);
    run(&mut sim, |s| s.run_for(ms(100)))?;
    for &node in rest {
        run(&mut sim, |s| s.cut(origin, node))?;
        run(&mut sim, |s| s.cut(first, node))?;
    }
    sim.note(format!(
        "{origin} broadcasts {SCRIPTED} reaching only {first} and crashes; {first}'s links to the others are down for 200 ms"
    ));
    sim.request(origin, N::broadcast(SCRIPTED));
    until_delivered(&mut sim, &seen, first, SCRIPTED, ms(500))?;
    run(&mut sim, |s| s.crash(origin))?;
    run(&mut sim, |s| s.run_for(ms(200)))?;
    run(&mut sim, |s| s.heal())?;
    settle(&mut sim, &seen, LIVENESS)?;
    everyone_delivered(&sim, &seen, LIVENESS, "the links came back")
}

/// One node is cut off from everyone for 300 ms while a message spreads
/// among the others, who all acknowledge each other; when the links come
/// back it must still get the message, and then the nodes fall silent.
pub fn one_node_cut_off_while_a_message_spreads<N: Records>(
    seed: u64,
    make: impl FnMut(NodeId) -> N + 'static,
) -> Result<(), Failure> {
    let (mut sim, seen) = start(seed, make);
    let order = roles(&sim);
    let (origin, lonely) = (order[0], order[1]);
    background(&mut sim, &order[2..], 1, 6);
    run(&mut sim, |s| s.run_for(ms(100)))?;
    run(&mut sim, |s| s.isolate(lonely))?;
    sim.note(format!(
        "{origin} broadcasts {SCRIPTED} while {lonely} is cut off for 300 ms"
    ));
    sim.request(origin, N::broadcast(SCRIPTED));
    run(&mut sim, |s| s.run_for(ms(300)))?;
    run(&mut sim, |s| s.heal())?;
    settle(&mut sim, &seen, LIVENESS)?;
    everyone_delivered(&sim, &seen, LIVENESS, "the links came back")?;
    falls_silent(&mut sim, secs(1), ms(500))
}

/// 20 broadcasts from random nodes over 400 ms on links of 1–20 ms that
/// lose nothing: each reaches every node within 40 ms (two links), and
/// then the nodes fall silent.
pub fn prompt_without_loss<N: Records>(
    seed: u64,
    make: impl FnMut(NodeId) -> N + 'static,
) -> Result<(), Failure> {
    let (mut sim, seen) = start(seed, make);
    let all: Vec<NodeId> = sim.ids().collect();
    super::super::observe::schedule(&mut sim, 1, 20, ms(400), &all);
    run(&mut sim, |s| s.run_for(ms(500)))?;
    settle(&mut sim, &seen, LIVENESS)?;
    everyone_delivered(&sim, &seen, LIVENESS, "the last broadcast")?;
    prompt(&sim, &seen, ms(40))?;
    falls_silent(&mut sim, secs(1), ms(500))
}
