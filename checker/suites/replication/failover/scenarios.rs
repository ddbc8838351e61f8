//! The runs: failovers under random faults, and written-out runs of one
//! rule each (`Async` mode losing acknowledged writes, an old leader cut
//! off stepping down, a quick and cheap calm failover, followers restarted
//! right after adopting a new epoch).

use super::manager::Manager;
use super::{PROMOTES, QUICK};
use crate::replication::guard::{acknowledged, guard, missing, Failing, LOSES};
use crate::replication::log_shipping::{set_up, Faults};
use crate::subject::replication::log_shipping::{Request, LEADER};
use crate::subject::replication::AckMode;
use dscheck::{ms, run, Failure};
use dsim::{Broken, Network, NodeId, Sim, Time};
use std::time::Duration;

/// Nodes per run: a leader and four followers.
const NODES: usize = 5;

/// One or two failovers under `faults` (loss and skew from `set_up`,
/// follower restarts if `faults.crashes`): writes, then the leader crashes
/// or is cut off right after a write, the manager promotes, writes go on,
/// the old leader comes back; then the calm end.
pub fn failovers<N: Failing>(seed: u64, mode: AckMode, faults: Faults) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, NODES, move |_| N::fresh(mode));
    let mut rng = sim.scenario_rng();
    set_up(&mut sim, &mut rng, faults);
    guard(&mut sim, mode);
    let mut manager = Manager::new(mode);
    let mut since = Time::ZERO;
    for _ in 0..1 + rng.below(2) {
        manager.load(&mut sim, &mut rng, ms(300), faults.crashes)?;
        let old = manager.leader;
        for _ in 0..rng.range(1..=4) {
            manager.write(&mut sim, old);
        }
        let crash = rng.below(2) == 0;
        if crash {
            run(&mut sim, |s| s.run_for(Duration::from_micros(500)))?;
            run(&mut sim, |s| s.crash(old))?;
        } else {
            let rest: Vec<NodeId> = sim.ids().filter(|&n| n != old).collect();
            run(&mut sim, |s| s.partition(&[&[old], &rest]))?;
        }
        run(&mut sim, |s| s.run_for(ms(50)))?;
        for n in sim.ids().filter(|&n| n != old).collect::<Vec<_>>() {
            run(&mut sim, |s| s.restart(n))?;
        }
        manager.promote(&mut sim, old)?;
        since = sim.now();
        manager.load(&mut sim, &mut rng, ms(300), faults.crashes)?;
        if crash {
            run(&mut sim, |s| s.restart(old))?;
        } else {
            run(&mut sim, |s| s.heal())?;
        }
    }
    manager.settle(&mut sim, since)
}

/// The start of the written-out runs: five nodes in `mode` on a calm
/// network, 20 writes to n0 5 ms apart, and 50 ms for every follower to
/// have them.
fn calm_start<N: Failing>(seed: u64, mode: AckMode) -> Result<(Sim<N>, Manager), Failure> {
    let mut sim = Sim::new(seed, NODES, move |_| N::fresh(mode));
    sim.set_network(Network::reliable(ms(1), ms(10)));
    guard(&mut sim, mode);
    let mut manager = Manager::new(mode);
    manager.writes(&mut sim, 20, ms(5))?;
    run(&mut sim, |s| s.run_for(ms(50)))?;
    Ok((sim, manager))
}

/// Written out, `Async` mode on a calm network: 20 writes, then a burst of
/// 5 and the leader crashes before shipping them; n1 is promoted. The
/// burst was acknowledged and is gone: that loss must show.
pub(super) fn async_loses<N: Failing>(seed: u64) -> Result<(), Failure> {
    let (mut sim, mut manager) = calm_start::<N>(seed, AckMode::Async)?;
    for _ in 0..5 {
        manager.write(&mut sim, LEADER);
    }
    run(&mut sim, |s| s.run_for(Duration::from_micros(500)))?;
    run(&mut sim, |s| s.crash(LEADER))?;
    run(&mut sim, |s| s.run_for(ms(50)))?;
    manager.promote(&mut sim, LEADER)?;
    manager.writes(&mut sim, 10, ms(5))?;
    let truth = sim.node(manager.leader).map_or(&[][..], |n| n.log());
    let lost = missing(&acknowledged(&sim), truth).len();
    if lost == 0 {
        let detail = "the leader crashed right after acknowledging a burst of 5 writes, before \
                      shipping them, and the promoted follower holds every acknowledged write: \
                      were they acknowledged only once replicated?";
        return Err(Failure::after_run(&sim, LOSES, detail));
    }
    manager.settle(&mut sim, Time::ZERO)
}

/// Written out, split brain (`Async` mode): n0 is cut off from the others
/// and still takes 5 writes; n1 is promoted and, if `busy`, takes 10; the
/// partition heals and n0, which still thinks it leads, is sent more
/// writes (if `busy`). It must hear of the new epoch, step down, append
/// none of them, and end with the new leader's log, its own 5 writes
/// dropped: with no write to the new leader, only its own announcement
/// and retransmissions can tell n0.
pub(super) fn split_brain<N: Failing>(seed: u64, busy: bool) -> Result<(), Failure> {
    let (mut sim, mut manager) = calm_start::<N>(seed, AckMode::Async)?;
    let rest: Vec<NodeId> = sim.ids().filter(|&n| n != LEADER).collect();
    run(&mut sim, |s| s.partition(&[&[LEADER], &rest]))?;
    manager.writes(&mut sim, 5, ms(5))?;
    manager.promote(&mut sim, LEADER)?;
    manager.writes(&mut sim, if busy { 10 } else { 0 }, ms(5))?;
    run(&mut sim, |s| s.heal())?;
    for _ in 0..if busy { 20 } else { 0 } {
        manager.write(&mut sim, LEADER);
        manager.write(&mut sim, manager.leader);
        run(&mut sim, |s| s.run_for(ms(10)))?;
    }
    manager.settle(&mut sim, Time::ZERO)
}

/// Written out, `Majority` mode on a calm network: n4 is cut off and lags
/// 10 writes, n0 crashes, n4 comes back as n1 is promoted. Within 30 ms
/// every live node must hold the new leader's log (the new leader finds
/// out where n4 stands at once, not after a retransmission); a promotion
/// of n2 to that same epoch must then be ignored; and each write, 25 ms
/// apart (more than a round trip), must cost at most one batch and one
/// acknowledgement per follower.
pub(super) fn calm<N: Failing>(seed: u64) -> Result<(), Failure> {
    let (mut sim, mut manager) = calm_start::<N>(seed, AckMode::Majority)?;
    let n4 = NodeId(4);
    let rest: Vec<NodeId> = sim.ids().filter(|&n| n != n4).collect();
    run(&mut sim, |s| s.partition(&[&rest, &[n4]]))?;
    manager.writes(&mut sim, 10, ms(5))?;
    run(&mut sim, |s| s.run_for(ms(50)))?;
    run(&mut sim, |s| s.crash(LEADER))?;
    run(&mut sim, |s| s.heal())?;
    manager.promote(&mut sim, LEADER)?;
    run(&mut sim, |s| s.run_for(ms(30)))?;
    let truth = sim
        .node(manager.leader)
        .map_or(&[][..], |n| n.log())
        .to_vec();
    for n in sim.ids().filter(|&n| sim.is_up(n)) {
        let has = sim.node(n).map_or(0, |node| node.log().len());
        if sim.node(n).map(|node| node.log()) != Some(&truth[..]) {
            let detail = format!(
                "30 ms after {} was promoted on a calm network, {n} holds {has} entries of its \
                 {}",
                manager.leader,
                truth.len()
            );
            return Err(Failure::after_run(
                &sim,
                QUICK,
                Broken::new(detail).nodes([n]),
            ));
        }
    }
    let again = sim.request(
        NodeId(2),
        Request::Promote {
            epoch: manager.epoch,
        },
    );
    run(&mut sim, |s| s.run_for(ms(1)))?;
    if let Some(reply) = sim.operation(again).reply() {
        let detail = format!("n2, in epoch 1, answered {reply:?} to a promotion to epoch 1");
        return Err(Failure::after_run(
            &sim,
            PROMOTES,
            Broken::new(detail).nodes([NodeId(2)]),
        ));
    }
    let before = sim.stats().sent;
    let writes = 20;
    manager.writes(&mut sim, writes, ms(25))?;
    run(&mut sim, |s| s.run_for(ms(40)))?;
    let sent = sim.stats().sent - before;
    let cap = 2 * (NODES as u64 - 1) * writes;
    if sent > cap {
        let detail = format!(
            "after the failover, {writes} writes cost {sent} messages on a calm network: more \
             than a batch and an acknowledgement per follower per write ({cap}, with room \
             for the retransmissions to the crashed n0)"
        );
        return Err(Failure::after_run(&sim, QUICK, detail));
    }
    manager.settle(&mut sim, Time::ZERO)
}

/// Written out, `Majority` mode on a calm network: n0 crashes, n1 is
/// promoted to epoch 1 and takes 5 writes, which every live follower
/// applies (adopting epoch 1 from the batches); then each follower in turn
/// crashes and restarts at once, before anything can tell it the epoch
/// again: each must come back in epoch 1. More writes, then the calm end.
pub(super) fn restarted<N: Failing>(seed: u64) -> Result<(), Failure> {
    let (mut sim, mut manager) = calm_start::<N>(seed, AckMode::Majority)?;
    run(&mut sim, |s| s.crash(LEADER))?;
    run(&mut sim, |s| s.run_for(ms(20)))?;
    manager.promote(&mut sim, LEADER)?;
    let since = sim.now();
    manager.writes(&mut sim, 5, ms(5))?;
    run(&mut sim, |s| s.run_for(ms(30)))?;
    let followers: Vec<NodeId> = (sim.ids())
        .filter(|&n| n != manager.leader && sim.is_up(n))
        .collect();
    for n in followers {
        run(&mut sim, |s| s.crash(n))?;
        run(&mut sim, |s| s.restart(n))?;
    }
    manager.writes(&mut sim, 5, ms(5))?;
    manager.settle(&mut sim, since)
}
