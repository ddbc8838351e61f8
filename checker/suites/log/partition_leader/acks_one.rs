//! The trade-off of `acks=1`: faster, and lost when the leader dies
//! before its followers fetch. The loss must show.

use super::clients::{calm_start, lost};
use super::watch::Partition;
use crate::subject::log::partition_leader::{Acks, FIRST_LEADER};
use dscheck::{ms, run, Failure, Property};
use dsim::NodeId;

const LOSES: Property = Property {
    name: "with acks=1, a leader that dies before its followers fetch loses records it \
           acknowledged",
    hint: "for Acks::Leader, reply Produced as soon as the record is appended, without waiting \
           for any follower",
    when: &[],
};

/// Written out, the trade-off of acks=1: the leader is cut off, takes 5
/// acks=1 records (answered at once) and crashes; n2 is elected. The
/// records were acknowledged and are gone: that loss must show.
pub(super) fn acks_one_loses<N: Partition>(seed: u64) -> Result<(), Failure> {
    let (mut sim, mut clients) = calm_start::<N>(seed)?;
    let rest: Vec<NodeId> = sim.ids().filter(|&n| n != FIRST_LEADER).collect();
    run(&mut sim, |s| s.partition(&[&[FIRST_LEADER], &rest]))?;
    let ids = clients.produce_every(&mut sim, 5, ms(1), Acks::Leader)?;
    run(&mut sim, |s| s.crash(FIRST_LEADER))?;
    run(&mut sim, |s| s.heal())?;
    clients.elect_announced(&mut sim)?;
    clients.produce_every(&mut sim, 5, ms(5), Acks::All)?;
    let answered = ids
        .iter()
        .filter(|&&id| sim.operation(id).is_complete())
        .count();
    let truth = sim
        .node(clients.leader)
        .map(|n| n.log().to_vec())
        .unwrap_or_default();
    let (lost_one, _) = lost(&sim, &truth);
    if answered < ids.len() || lost_one.is_empty() {
        let detail = format!(
            "the leader, cut off, answered {answered} of 5 acks=1 producers before it crashed, \
             and the new leader {} holds every one it answered",
            clients.leader
        );
        return Err(Failure::after_run(&sim, LOSES, detail));
    }
    run(&mut sim, |s| s.restart(FIRST_LEADER))?;
    clients.settle(&mut sim)
}
