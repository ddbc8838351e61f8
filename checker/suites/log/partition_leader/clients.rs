//! The suite's side of every run: how a run starts (the network, the
//! clocks, the checks), the producers, consumers and operator that drive
//! it, and the calm end where every replica must converge.

use super::watch::{watch, Committed, Partition, KEPT};
use super::{CONVERGED, ELECTS};
use crate::subject::log::partition_leader::{
    replicas, Acks, Record, Reply, Request, CONTROLLER, FIRST_LEADER,
};
use dscheck::{ms, run, Failure};
use dsim::{Broken, Clock, Network, NodeId, RequestId, Sim, SimRng};
use std::collections::BTreeSet;
use std::time::Duration;

/// The controller and three replicas.
const NODES: usize = 4;
/// How long the calm end of a run lasts before convergence is required.
const SETTLE: Duration = Duration::from_millis(600);

/// What a run does to the network and the replicas.
#[derive(Clone, Copy, Debug)]
pub(super) struct Faults {
    lossy: bool,
    crashes: bool,
    partitions: bool,
    skew: bool,
}

pub(super) const NONE: Faults = Faults {
    lossy: false,
    crashes: false,
    partitions: false,
    skew: false,
};
pub(super) const LOSSY: Faults = Faults {
    lossy: true,
    ..NONE
};
pub(super) const CUTS: Faults = Faults {
    crashes: true,
    partitions: true,
    ..NONE
};
pub(super) const ALL: Faults = Faults {
    lossy: true,
    crashes: true,
    partitions: true,
    skew: true,
};

/// A calm network: every message delivered within 1 to 10 ms.
pub(super) fn calm() -> Network {
    Network::reliable(ms(1), ms(10))
}

/// The suite's side: producers, consumers and the operator.
pub(super) struct Clients {
    /// The leader as the controller last named it.
    pub(super) leader: NodeId,
    value: u64,
}

impl Clients {
    pub(super) fn new() -> Self {
        Clients {
            leader: FIRST_LEADER,
            value: 0,
        }
    }

    /// Sends the next record to the leader.
    pub(super) fn produce<N: Partition>(&mut self, sim: &mut Sim<N>, acks: Acks) -> RequestId {
        self.value += 1;
        let value = self.value;
        sim.request(self.leader, Request::Produce { value, acks })
    }

    /// Sends `count` records, `gap` apart.
    pub(super) fn produce_every<N: Partition>(
        &mut self,
        sim: &mut Sim<N>,
        count: u64,
        gap: Duration,
        acks: Acks,
    ) -> Result<Vec<RequestId>, Failure> {
        let mut ids = Vec::new();
        for _ in 0..count {
            ids.push(self.produce(sim, acks));
            run(sim, |s| s.run_for(gap))?;
        }
        Ok(ids)
    }

    /// For `span`: a record every 2 to 20 ms (acks=1 or acks=all), a
    /// consumer's read at a replica now and then, and the faults' dice.
    pub(super) fn load<N: Partition>(
        &mut self,
        sim: &mut Sim<N>,
        rng: &mut SimRng,
        span: Duration,
        faults: Faults,
    ) -> Result<(), Failure> {
        let end = sim.now() + span;
        while sim.now() < end {
            let acks = if rng.chance(0.5) {
                Acks::All
            } else {
                Acks::Leader
            };
            self.produce(sim, acks);
            let all: Vec<NodeId> = replicas().collect();
            if rng.chance(0.3) {
                let offset = rng.below(self.value + 2);
                sim.request(*rng.pick(&all), Request::Read { offset });
            }
            let others: Vec<NodeId> = replicas().filter(|&r| r != self.leader).collect();
            let f = *rng.pick(&others);
            let roll = rng.below(100);
            if faults.crashes && roll < 4 {
                if sim.is_up(f) {
                    run(sim, |s| s.crash(f))?;
                } else {
                    run(sim, |s| s.restart(f))?;
                }
            } else if faults.partitions && roll < 7 {
                let rest: Vec<NodeId> = sim.ids().filter(|&n| n != f).collect();
                run(sim, |s| s.partition(&[&[f], &rest]))?;
            } else if faults.partitions && roll < 9 {
                run(sim, |s| s.heal())?;
            }
            let pause = rng.duration(ms(2)..=ms(20));
            run(sim, |s| s.run_for(pause))?;
        }
        Ok(())
    }

    /// Tells the controller the leader is gone; returns its answer.
    pub(super) fn elect<N: Partition>(&mut self, sim: &mut Sim<N>) -> Result<Reply, Failure> {
        let isr = sim
            .node(CONTROLLER)
            .map(|c| c.isr().clone())
            .unwrap_or_default();
        let id = sim.request(CONTROLLER, Request::Elect);
        run(sim, |s| s.run_for(ms(1)))?;
        let reply = sim.operation(id).reply().cloned();
        let fair = match &reply {
            Some(Reply::Elected { leader, .. }) => isr.contains(leader) && *leader != self.leader,
            Some(Reply::NoCandidate) => isr.iter().all(|&m| m == self.leader),
            _ => false,
        };
        if !fair {
            let detail = format!(
                "the controller, with the ISR {isr:?} and {} leading, answered Elect with \
                 {reply:?}",
                self.leader
            );
            return Err(Failure::after_run(
                sim,
                ELECTS,
                Broken::new(detail).nodes([CONTROLLER]),
            ));
        }
        if let Some(Reply::Elected { leader, .. }) = reply {
            if isr_of(sim).contains(&self.leader) {
                let detail = format!(
                    "the controller elected {leader} and kept the old leader {} in its ISR {:?}",
                    self.leader,
                    isr_of(sim)
                );
                return Err(Failure::after_run(
                    sim,
                    ELECTS,
                    Broken::new(detail).nodes([CONTROLLER]),
                ));
            }
            self.leader = leader;
        }
        Ok(reply.expect("checked above"))
    }

    /// [`Clients::elect`] where the replica elected is up and reachable:
    /// within 12 ms it must know it leads.
    pub(super) fn elect_announced<N: Partition>(
        &mut self,
        sim: &mut Sim<N>,
    ) -> Result<(), Failure> {
        self.elect(sim)?;
        run(sim, |s| s.run_for(ms(11)))?;
        if !sim.node(self.leader).is_some_and(|n| n.leading()) {
            let detail = format!(
                "12 ms after the controller elected {} on a calm network, it does not lead",
                self.leader
            );
            return Err(Failure::after_run(
                sim,
                ELECTS,
                Broken::new(detail).nodes([CONTROLLER, self.leader]),
            ));
        }
        Ok(())
    }

    /// The calm end: network whole and calm, every replica up; after
    /// [`SETTLE`] and three acks=all records, every replica must hold the
    /// leader's log and HW, the ISR be whole, every acknowledged acks=all
    /// record be in the leader's log and every acks=all producer of the
    /// last epoch be answered. Reports the acks=1 records lost.
    pub(super) fn settle<N: Partition>(&mut self, sim: &mut Sim<N>) -> Result<(), Failure> {
        sim.set_network(calm());
        run(sim, |s| s.heal())?;
        for r in replicas() {
            run(sim, |s| s.restart(r))?;
        }
        run(sim, |s| s.run_for(SETTLE))?;
        let since = sim.now();
        self.produce_every(sim, 3, ms(5), Acks::All)?;
        run(sim, |s| s.run_for(ms(100)))?;
        let leader = sim.node(CONTROLLER).map_or(self.leader, |c| c.leader());
        let truth = sim
            .node(leader)
            .map(|n| n.log().to_vec())
            .unwrap_or_default();
        let (lost_one, lost_all) = lost(sim, &truth);
        dscheck::metric("acks=1 records acknowledged and lost", lost_one.len());
        if let Some((offset, value)) = lost_all.first() {
            let detail = format!(
                "{value} was acknowledged to an acks=all producer at offset {offset}, and the \
                 leader {leader} does not hold it there at the end"
            );
            return Err(Failure::after_run(
                sim,
                KEPT,
                Broken::new(detail).nodes([leader]),
            ));
        }
        for r in replicas() {
            let Some(node) = sim.node(r) else { continue };
            if node.log() != truth || node.hw() != truth.len() as u64 {
                let detail = format!(
                    "{} ms after the faults stopped, {r} holds {} records with its high \
                     watermark at {}, and the leader {leader} holds {}",
                    sim.now().saturating_since(since).as_millis() + SETTLE.as_millis(),
                    node.log().len(),
                    node.hw(),
                    truth.len()
                );
                return Err(Failure::after_run(
                    sim,
                    CONVERGED,
                    Broken::new(detail).nodes([r, leader]),
                ));
            }
        }
        let isr = sim
            .node(CONTROLLER)
            .map(|c| c.isr().clone())
            .unwrap_or_default();
        if isr.len() != replicas().count() {
            let detail = format!("the ISR is {isr:?} at the end of a calm run");
            return Err(Failure::after_run(sim, CONVERGED, detail));
        }
        let unanswered = sim.history().iter().find(|op| {
            op.node == leader
                && op.invoked_at >= since
                && matches!(
                    op.request,
                    Request::Produce {
                        acks: Acks::All,
                        ..
                    }
                )
                && !op.is_complete()
        });
        if let Some(op) = unanswered {
            let detail = format!("{leader} never answered the acks=all producer {}", op.id);
            return Err(Failure::after_run(
                sim,
                CONVERGED,
                Broken::new(detail).nodes([leader]),
            ));
        }
        Ok(())
    }
}

/// An acknowledged record: (offset, value).
pub(super) type Acked = (u64, u64);

/// The acknowledged records `log` does not hold at their offset, as
/// (offset, value): acks=1 ones, and acks=all ones.
pub(super) fn lost<N: Partition>(sim: &Sim<N>, log: &[Record]) -> (Vec<Acked>, Vec<Acked>) {
    let mut one = Vec::new();
    let mut all = Vec::new();
    for op in sim.history() {
        let (Request::Produce { value, acks }, Some(Reply::Produced { offset })) =
            (&op.request, op.reply())
        else {
            continue;
        };
        if log.get(*offset as usize).is_none_or(|r| r.value != *value) {
            match acks {
                Acks::Leader => one.push((*offset, *value)),
                Acks::All => all.push((*offset, *value)),
            }
        }
    }
    (one, all)
}

/// A run of `nodes` under `faults`: the network (lossy or calm) and the
/// clocks (skewed or true), the checks registered.
pub(super) fn start<N: Partition>(seed: u64, faults: Faults) -> (Sim<N>, SimRng, Committed) {
    let mut sim = Sim::new(seed, NODES, |_| N::fresh());
    let mut rng = sim.scenario_rng();
    if faults.lossy {
        let lossy = calm()
            .with_loss(0.05 + 0.1 * rng.unit())
            .with_duplication(0.1)
            .with_long_delays(0.05, ms(100));
        sim.set_network(lossy);
    } else {
        sim.set_network(calm());
    }
    if faults.skew {
        for id in sim.ids().collect::<Vec<_>>() {
            let clock = Clock {
                skew_nanos: rng.range(0..=100_000_000) as i64 - 50_000_000,
                drift_ppm: 400.0 * rng.unit() - 200.0,
            };
            sim.set_clock(id, clock);
        }
    }
    let committed = watch(&mut sim);
    (sim, rng, committed)
}

/// The start of the written-out runs: a calm network, 10 acks=all
/// records 5 ms apart, and 30 ms for every follower to have them.
pub(super) fn calm_start<N: Partition>(seed: u64) -> Result<(Sim<N>, Clients), Failure> {
    let (mut sim, _, _) = start::<N>(seed, NONE);
    let mut clients = Clients::new();
    clients.produce_every(&mut sim, 10, ms(5), Acks::All)?;
    run(&mut sim, |s| s.run_for(ms(30)))?;
    Ok((sim, clients))
}

/// The controller's ISR.
pub(super) fn isr_of<N: Partition>(sim: &Sim<N>) -> BTreeSet<NodeId> {
    sim.node(CONTROLLER)
        .map(|c| c.isr().clone())
        .unwrap_or_default()
}

/// The controller's ISR, as a list.
pub(super) fn isr<N: Partition>(sim: &Sim<N>) -> Vec<NodeId> {
    let c = sim.node(CONTROLLER);
    c.map(|c| c.isr().iter().copied().collect())
        .unwrap_or_default()
}
