//! The runs: failovers under random faults, and written-out runs of one
//! rule each (a laggard leaves the ISR and rejoins, a new leader's grace,
//! catching up at the speed of round trips, no election outside the ISR,
//! an old leader fenced).

use super::clients::{calm_start, isr, start, Clients, Faults};
use super::watch::Partition;
use super::{ELECTS, LAGGARDS, QUICK};
use crate::subject::log::partition_leader::{Acks, Reply, Request, CONTROLLER, FIRST_LEADER};
use dscheck::{ms, run, Failure};
use dsim::{Broken, Network, NodeId};
use std::time::Duration;

/// One or two failovers under `faults`: load, then the leader crashes or
/// is cut off, the controller elects, load goes on, the old leader comes
/// back; then the calm end.
pub(super) fn failovers<N: Partition>(seed: u64, faults: Faults) -> Result<(), Failure> {
    let (mut sim, mut rng, _) = start::<N>(seed, faults);
    let mut clients = Clients::new();
    for _ in 0..1 + rng.below(2) {
        clients.load(&mut sim, &mut rng, ms(250), faults)?;
        let old = clients.leader;
        let crash = rng.chance(0.5);
        if crash {
            run(&mut sim, |s| s.crash(old))?;
        } else {
            let rest: Vec<NodeId> = sim.ids().filter(|&n| n != old).collect();
            run(&mut sim, |s| s.partition(&[&[old], &rest]))?;
        }
        run(&mut sim, |s| s.run_for(ms(30)))?;
        clients.elect(&mut sim)?;
        clients.load(&mut sim, &mut rng, ms(250), faults)?;
        if crash {
            run(&mut sim, |s| s.restart(old))?;
        } else {
            run(&mut sim, |s| s.heal())?;
        }
    }
    clients.settle(&mut sim)
}

/// Written out: n3 is cut off (or, `one_way`, only what the leader sends
/// it is lost: it fetches and gets nothing) while acks=all records go on
/// every 5 ms. After 60 ms it must still be in the ISR; within 250 ms out of the ISR and the records after that
/// answered within 50 ms; healed, it must be back within 300 ms.
pub(super) fn laggard<N: Partition>(seed: u64, one_way: bool) -> Result<(), Failure> {
    let (mut sim, mut clients) = calm_start::<N>(seed)?;
    let n3 = NodeId(3);
    if one_way {
        run(&mut sim, |s| s.cut(FIRST_LEADER, n3))?;
    } else {
        let rest: Vec<NodeId> = sim.ids().filter(|&n| n != n3).collect();
        run(&mut sim, |s| s.partition(&[&rest, &[n3]]))?;
    }
    clients.produce_every(&mut sim, 12, ms(5), Acks::All)?;
    if !isr(&sim).contains(&n3) {
        let detail = format!("60 ms after n3 was cut off, the ISR is {:?}", isr(&sim));
        return Err(Failure::after_run(
            &sim,
            LAGGARDS,
            Broken::new(detail).nodes([FIRST_LEADER, n3]),
        ));
    }
    clients.produce_every(&mut sim, 38, ms(5), Acks::All)?;
    if isr(&sim).contains(&n3) {
        let detail = format!("250 ms after n3 was cut off, the ISR is {:?}", isr(&sim));
        return Err(Failure::after_run(
            &sim,
            LAGGARDS,
            Broken::new(detail).nodes([FIRST_LEADER, n3]),
        ));
    }
    let ids = clients.produce_every(&mut sim, 10, ms(5), Acks::All)?;
    run(&mut sim, |s| s.run_for(ms(50)))?;
    if let Some(id) = ids.iter().find(|&&id| !sim.operation(id).is_complete()) {
        let detail = format!(
            "with n3 out of the ISR {:?}, the acks=all producer {id} was not answered within 50 ms",
            isr(&sim)
        );
        return Err(Failure::after_run(
            &sim,
            LAGGARDS,
            Broken::new(detail).nodes([FIRST_LEADER]),
        ));
    }
    run(&mut sim, |s| s.heal())?;
    clients.produce_every(&mut sim, 60, ms(5), Acks::All)?;
    if !isr(&sim).contains(&n3) {
        let detail = format!(
            "300 ms after the network healed, the ISR is {:?}",
            isr(&sim)
        );
        return Err(Failure::after_run(
            &sim,
            LAGGARDS,
            Broken::new(detail).nodes([FIRST_LEADER, n3]),
        ));
    }
    clients.settle(&mut sim)
}

/// Written out: n2 is cut off, leaves the ISR and misses acks=all
/// records; then the network heals, the leader crashes at once and the
/// controller is told. It must elect n3, which holds them all.
pub(super) fn laggard_elected<N: Partition>(seed: u64) -> Result<(), Failure> {
    let (mut sim, mut clients) = calm_start::<N>(seed)?;
    let n2 = NodeId(2);
    let rest: Vec<NodeId> = sim.ids().filter(|&n| n != n2).collect();
    run(&mut sim, |s| s.partition(&[&rest, &[n2]]))?;
    clients.produce_every(&mut sim, 50, ms(5), Acks::All)?;
    run(&mut sim, |s| s.heal())?;
    run(&mut sim, |s| s.crash(FIRST_LEADER))?;
    clients.elect_announced(&mut sim)?;
    clients.produce_every(&mut sim, 10, ms(5), Acks::All)?;
    run(&mut sim, |s| s.restart(FIRST_LEADER))?;
    clients.settle(&mut sim)
}

/// Written out: both followers are cut off from the leader (and the
/// controller); 5 acks=all records must be answered once the ISR shrinks
/// to the leader alone (250 ms), and 5 more at once. The leader crashes: the controller must
/// answer NoCandidate (the followers lack committed records). The leader
/// comes back and leads again, the network heals, and all converge.
pub(super) fn unclean<N: Partition>(seed: u64) -> Result<(), Failure> {
    let (mut sim, mut clients) = calm_start::<N>(seed)?;
    let far = [NodeId(2), NodeId(3)];
    run(&mut sim, |s| {
        s.partition(&[&[CONTROLLER, FIRST_LEADER], &far])
    })?;
    let cut = sim.now();
    for wait in [ms(250), ms(1)] {
        let ids = clients.produce_every(&mut sim, 5, Duration::ZERO, Acks::All)?;
        run(&mut sim, |s| s.run_for(wait))?;
        if let Some(id) = ids.iter().find(|&&id| !sim.operation(id).is_complete()) {
            let detail = format!(
                "with both followers cut off for {} ms and the ISR {:?}, the acks=all producer \
                 {id} was not answered within {} ms",
                sim.now().saturating_since(cut).as_millis(),
                isr(&sim),
                wait.as_millis()
            );
            return Err(Failure::after_run(
                &sim,
                LAGGARDS,
                Broken::new(detail).nodes([FIRST_LEADER]),
            ));
        }
    }
    run(&mut sim, |s| s.crash(FIRST_LEADER))?;
    if clients.elect(&mut sim)? != Reply::NoCandidate {
        let detail = "the ISR held only the leader, and the controller elected another";
        return Err(Failure::after_run(&sim, ELECTS, detail));
    }
    run(&mut sim, |s| s.restart(FIRST_LEADER))?;
    run(&mut sim, |s| s.heal())?;
    clients.produce_every(&mut sim, 10, ms(5), Acks::All)?;
    clients.settle(&mut sim)
}

/// Written out: the leader n1 is cut off from everyone and still takes
/// records (acks=1 answered, acks=all not); n2 is elected and takes
/// records; the network heals and n1, told of the new epoch, follows and
/// drops its own records.
pub(super) fn split_brain<N: Partition>(seed: u64) -> Result<(), Failure> {
    let (mut sim, mut clients) = calm_start::<N>(seed)?;
    let rest: Vec<NodeId> = sim.ids().filter(|&n| n != FIRST_LEADER).collect();
    run(&mut sim, |s| s.partition(&[&[FIRST_LEADER], &rest]))?;
    clients.produce_every(&mut sim, 5, ms(5), Acks::Leader)?;
    clients.produce_every(&mut sim, 5, ms(5), Acks::All)?;
    clients.elect_announced(&mut sim)?;
    clients.produce_every(&mut sim, 10, ms(5), Acks::All)?;
    run(&mut sim, |s| s.heal())?;
    for _ in 0..10 {
        sim.request(
            FIRST_LEADER,
            Request::Produce {
                value: 0,
                acks: Acks::All,
            },
        );
        clients.produce_every(&mut sim, 1, ms(10), Acks::All)?;
    }
    clients.settle(&mut sim)
}

/// Written out: n1 crashes while n3 is cut off from n2; n2 is elected.
/// 60 ms later n3, unheard from since, must still be in the ISR: a new
/// leader gives each follower LAG_TIMEOUT to show up.
pub(super) fn grace<N: Partition>(seed: u64) -> Result<(), Failure> {
    let (mut sim, mut clients) = calm_start::<N>(seed)?;
    let n3 = NodeId(3);
    run(&mut sim, |s| s.crash(FIRST_LEADER))?;
    run(&mut sim, |s| {
        s.partition(&[&[CONTROLLER, NodeId(2)], &[n3]])
    })?;
    clients.elect_announced(&mut sim)?;
    run(&mut sim, |s| s.run_for(ms(60)))?;
    if !isr(&sim).contains(&n3) {
        let detail = format!(
            "60 ms after {} took over, the ISR is {:?}: n3 was dropped before LAG_TIMEOUT",
            clients.leader,
            isr(&sim)
        );
        return Err(Failure::after_run(
            &sim,
            LAGGARDS,
            Broken::new(detail).nodes([clients.leader, n3]),
        ));
    }
    run(&mut sim, |s| s.restart(FIRST_LEADER))?;
    clients.settle(&mut sim)
}

/// Written out, on a network delivering within 1 to 2 ms: n1, cut off,
/// takes 60 acks=1 records that no one else gets and crashes; n2 is
/// elected and takes 480 records while n3 is cut off. Healed (n1
/// restarted), within 200 ms n3 must hold the 480 (30 batches) and within
/// 350 ms n1 must have dropped its 60: a round trip per batch fetched or
/// record dropped (at most 4 ms), not a FETCH_EVERY (10 ms).
pub(super) fn catch_up<N: Partition>(seed: u64) -> Result<(), Failure> {
    let (mut sim, mut clients) = calm_start::<N>(seed)?;
    sim.set_network(Network::reliable(ms(1), ms(2)));
    let rest: Vec<NodeId> = sim.ids().filter(|&n| n != FIRST_LEADER).collect();
    run(&mut sim, |s| s.partition(&[&[FIRST_LEADER], &rest]))?;
    clients.produce_every(&mut sim, 60, Duration::ZERO, Acks::Leader)?;
    run(&mut sim, |s| s.crash(FIRST_LEADER))?;
    run(&mut sim, |s| s.heal())?;
    clients.elect_announced(&mut sim)?;
    let n3 = NodeId(3);
    let rest: Vec<NodeId> = sim.ids().filter(|&n| n != n3).collect();
    run(&mut sim, |s| s.partition(&[&rest, &[n3]]))?;
    clients.produce_every(&mut sim, 480, Duration::ZERO, Acks::Leader)?;
    run(&mut sim, |s| s.run_for(ms(10)))?;
    run(&mut sim, |s| s.heal())?;
    run(&mut sim, |s| s.restart(FIRST_LEADER))?;
    for (r, whole, after) in [(n3, true, ms(200)), (FIRST_LEADER, false, ms(150))] {
        run(&mut sim, |s| s.run_for(after))?;
        let truth = sim.node(clients.leader).map_or(&[][..], |n| n.log());
        let log = sim.node(r).map_or(&[][..], |n| n.log());
        let same = log.iter().zip(truth).take_while(|(a, b)| a == b).count();
        if same < log.len() || (whole && log.len() < truth.len()) {
            let detail = format!(
                "{} ms after the network healed, {r} holds {} records, {same} of them the \
                 leader's, and the leader {} holds {}",
                if whole { 200 } else { 350 },
                log.len(),
                clients.leader,
                truth.len()
            );
            return Err(Failure::after_run(
                &sim,
                QUICK,
                Broken::new(detail).nodes([r]),
            ));
        }
    }
    clients.settle(&mut sim)
}
