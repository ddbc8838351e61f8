//! Late copies of old answers. For a few milliseconds at two moments of a
//! run, the network delivers every message twice, each copy held back up
//! to 80 ms, so that copies of an answer arrive after the exchange they
//! belong to is over:
//! - the controller's answers to a proposal to shrink the ISR, arriving
//!   once the ISR has grown back: taken as the answer to the newer
//!   proposal, they drop from the leader's count a follower the controller
//!   still holds in sync;
//! - the leader's `Diverged` telling an old leader to drop a record,
//!   arriving once it has dropped its own records and taken the new
//!   leader's up to the same offset: taken at face value, it drops a
//!   committed record below its high watermark.
//!
//! The rest of the run is calm (1 to 10 ms, no copies), and no proposal is
//! ever sent on the stale network: the controller never gets an old
//! proposal late, only the leader and the followers get old answers.

use super::clients::{calm, calm_start, Clients};
use super::watch::Partition;
use super::{CONVERGED, LAGGARDS};
use crate::subject::log::partition_leader::{replicas, Acks, CONTROLLER};
use dscheck::{ms, run, Failure, Property};
use dsim::{Broken, Network, NodeId, Sim};
use std::time::Duration;

/// How many times a run plays each of the two exchanges.
const ROUNDS: usize = 2;

/// Every message twice, each copy held back up to 80 ms past its latency.
fn stale() -> Network {
    calm().with_duplication(1.0).with_long_delays(1.0, ms(80))
}

/// Written out, on a calm network but for the stale moments: twice, a
/// follower leaves the ISR and rejoins it, then the leader is cut off and
/// the old leader comes back to drop its records; then the calm end.
pub(super) fn late_answers<N: Partition>(seed: u64) -> Result<(), Failure> {
    let (mut sim, mut clients) = calm_start::<N>(seed)?;
    for _ in 0..ROUNDS {
        shrink_and_grow(&mut sim, &mut clients)?;
        diverged_failover(&mut sim, &mut clients)?;
    }
    clients.settle(&mut sim)
}

/// Runs until `done` holds, for at most `limit`; else `property` fails
/// with `what`.
fn wait_until<N: Partition>(
    sim: &mut Sim<N>,
    limit: Duration,
    property: Property,
    what: &str,
    nodes: [NodeId; 2],
    done: impl Fn(&Sim<N>) -> bool,
) -> Result<(), Failure> {
    let end = sim.now() + limit;
    while !done(sim) {
        if sim.now() >= end {
            let detail = format!("{what} within {} ms", limit.as_millis());
            return Err(Failure::after_run(
                sim,
                property,
                Broken::new(detail).nodes(nodes),
            ));
        }
        run(sim, |s| s.run_for(ms(1)))?;
    }
    Ok(())
}

/// A follower cut off leaves the ISR. As soon as the leader proposes the
/// smaller ISR, the controller pauses for 50 ms (holding the proposal and
/// its two resends) and the network heals; the controller answers all
/// three at once, on the stale network. The follower rejoins; then it is
/// cut off for 40 ms while acks=all records go on, when late copies of the
/// first answers arrive: every committed record must stay on every replica
/// the controller holds in sync.
fn shrink_and_grow<N: Partition>(sim: &mut Sim<N>, clients: &mut Clients) -> Result<(), Failure> {
    let leader = clients.leader;
    let far = replicas()
        .filter(|&r| r != leader)
        .last()
        .expect("two followers");
    let rest: Vec<NodeId> = sim.ids().filter(|&n| n != far).collect();
    run(sim, |s| s.partition(&[&rest, &[far]]))?;
    let what = format!("the leader {leader} did not propose an ISR without {far}, cut off,");
    wait_until(sim, ms(250), LAGGARDS, &what, [leader, far], |sim| {
        sim.node(leader)
            .and_then(|n| n.proposed())
            .is_some_and(|p| !p.contains(&far))
    })?;
    run(sim, |s| s.pause(CONTROLLER, ms(50)))?;
    run(sim, |s| s.heal())?;
    run(sim, |s| s.run_for(ms(49)))?;
    stale_for(sim, ms(2))?;
    let what = format!("{far}, healed, was not back in the ISR of {leader}");
    wait_until(sim, ms(300), LAGGARDS, &what, [leader, far], |sim| {
        sim.node(leader)
            .is_some_and(|n| n.isr().contains(&far) && n.proposed().is_none())
    })?;
    run(sim, |s| s.partition(&[&rest, &[far]]))?;
    clients.produce_every(sim, 10, ms(4), Acks::All)?;
    run(sim, |s| s.heal())?;
    run(sim, |s| s.run_for(ms(60)))
}

/// The leader is cut off and takes 4 acks=1 records no one else gets; the
/// controller elects another, which commits 2. Healed, the old leader
/// drops its records one by one; as it comes down to the new leader's log
/// end, the leader's answer telling it to drop one more goes out on the
/// stale network. Its late copies find the old leader holding the new
/// leader's 2 records, committed.
fn diverged_failover<N: Partition>(sim: &mut Sim<N>, clients: &mut Clients) -> Result<(), Failure> {
    let old = clients.leader;
    let rest: Vec<NodeId> = sim.ids().filter(|&n| n != old).collect();
    run(sim, |s| s.partition(&[&[old], &rest]))?;
    clients.produce_every(sim, 4, ms(1), Acks::Leader)?;
    clients.elect_announced(sim)?;
    clients.produce_every(sim, 2, ms(5), Acks::All)?;
    run(sim, |s| s.run_for(ms(30)))?;
    let new = clients.leader;
    let (epoch, end) = sim.node(new).map_or((0, 0), |n| (n.epoch(), n.log().len()));
    run(sim, |s| s.heal())?;
    let what = format!("{old}, the old leader, did not come down to {new}'s log end {end}");
    wait_until(sim, ms(300), CONVERGED, &what, [old, new], |sim| {
        sim.node(old)
            .is_some_and(|n| n.epoch() == epoch && n.log().len() == end)
    })?;
    stale_for(sim, ms(11))?;
    run(sim, |s| s.run_for(ms(150)))
}

/// Runs `span` on the stale network, then goes back to the calm one.
fn stale_for<N: Partition>(sim: &mut Sim<N>, span: Duration) -> Result<(), Failure> {
    sim.set_network(stale());
    run(sim, |s| s.run_for(span))?;
    sim.set_network(calm());
    Ok(())
}
