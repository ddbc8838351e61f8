//! log_partition_leader: one partition on three replicas, a leader and its
//! in-sync replicas (ISR), under loss, duplication, delay, partitions,
//! crashes and skewed clocks. The suite plays the producers, the consumers
//! and the operator who tells the controller the leader is gone; the
//! properties of `watch.rs` are checked after every step. Written-out runs
//! show the rest: a follower cut off leaves the ISR and rejoins, the
//! controller refuses to elect a replica out of sync, an old leader cut off
//! is fenced, and `acks=1` loses acknowledged records in a failover.

pub mod watch;

use crate::subject::log::partition_leader::{
    replicas, Acks, PartitionLeader, Record, Reply, Request, CONTROLLER, FIRST_LEADER,
};
use dscheck::{ms, run, Failure, Property, Suite};
use dsim::{Broken, Clock, Network, NodeId, RequestId, Sim, SimRng};
use std::collections::BTreeSet;
use std::time::Duration;
use watch::{watch, Committed, Partition, AGREES, HIGH_WATERMARK, KEPT, READS};

/// The controller and three replicas.
const NODES: usize = 4;
/// How long the calm end of a run lasts before convergence is required.
const SETTLE: Duration = Duration::from_millis(600);

const ELECTS: Property = Property {
    name: "the controller answers Elect at once: Elected with a member of its ISR other than \
           the old leader, dropped from the ISR, and the new leader told at once; or \
           NoCandidate when the ISR holds only the old leader",
    hint: "elect: pick a member of isr other than leader, remove the old leader from isr and \
           announce (LeaderAndIsr to every replica) before replying; with none, reply \
           Reply::NoCandidate and change nothing",
    when: &[],
};

const CONVERGED: Property = Property {
    name: "once the network is calm and every replica up, every replica holds the leader's log \
           with the leader's high watermark at its end, the ISR is whole again, and every \
           acks=all producer of the last epoch is answered",
    hint: "followers fetch every FETCH_EVERY and again at once after records; the leader \
           proposes a caught-up follower back into the ISR (in_sync, end >= hw) and advances \
           the HW on every fetch; an old leader follows the controller's announcement",
    when: &[],
};

const LAGGARDS: Property = Property {
    name: "a follower that gets nothing from the leader leaves the ISR within 250 ms, and not \
           before LAG_TIMEOUT (from its last catching up, or from the leader taking over), \
           after which acks=all producers are answered again, even by a leader alone in its \
           ISR; it rejoins within 300 ms once the network heals",
    hint: "on every Tick, review_isr: drop a member not caught up within LAG_TIMEOUT (caught \
           up: its fetch reached your log end as of its previous fetch), add back a follower in \
           sync whose end reaches the HW; resend a pending proposal on each Tick, take the \
           controller's answer as the confirmation, and advance the HW then and on each produce",
    when: &[],
};

const QUICK: Property = Property {
    name: "on a network that delivers within 2 ms, a follower far behind, or with records the \
           leader does not hold, catches up at the speed of round trips, not of FETCH_EVERY",
    hint: "fetch again at once after records arrive (if any came) and after dropping a \
           diverged record",
    when: &[],
};

const LOSES: Property = Property {
    name: "with acks=1, a leader that dies before its followers fetch loses records it \
           acknowledged",
    hint: "for Acks::Leader, reply Produced as soon as the record is appended, without waiting \
           for any follower",
    when: &[],
};

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded(
            "partition_leader::failover_keeps_committed_records",
            4,
            |seed| failovers::<PartitionLeader>(seed, NONE),
        )
        .seeded("partition_leader::on_a_lossy_network", 4, |seed| {
            failovers::<PartitionLeader>(seed, LOSSY)
        })
        .seeded(
            "partition_leader::with_partitions_and_restarts",
            4,
            |seed| failovers::<PartitionLeader>(seed, CUTS),
        )
        .seeded(
            "partition_leader::every_fault_with_skewed_clocks",
            4,
            |seed| failovers::<PartitionLeader>(seed, ALL),
        )
        .seeded(
            "partition_leader::a_cut_off_follower_leaves_and_rejoins_the_isr",
            2,
            |seed| laggard::<PartitionLeader>(seed, false),
        )
        .seeded(
            "partition_leader::a_follower_that_fetches_but_gets_nothing_leaves_the_isr",
            2,
            |seed| laggard::<PartitionLeader>(seed, true),
        )
        .seeded(
            "partition_leader::a_new_leader_gives_its_followers_time",
            2,
            grace::<PartitionLeader>,
        )
        .seeded(
            "partition_leader::followers_catch_up_at_the_speed_of_round_trips",
            2,
            catch_up::<PartitionLeader>,
        )
        .seeded(
            "partition_leader::failover_after_a_follower_left_the_isr",
            2,
            laggard_elected::<PartitionLeader>,
        )
        .seeded("partition_leader::no_election_outside_the_isr", 2, |seed| {
            unclean::<PartitionLeader>(seed)
        })
        .seeded(
            "partition_leader::an_old_leader_cut_off_is_fenced",
            2,
            split_brain::<PartitionLeader>,
        )
        .seeded(
            "partition_leader::acks_1_loses_acknowledged_records",
            2,
            acks_one_loses::<PartitionLeader>,
        )
}

/// The checks, run on the reference with one bug each (`bugs/`).
#[cfg(bugs)]
pub fn meta(suite: Suite) -> Suite {
    use crate::bugs::elects_out_of_sync::partition_leader::PartitionLeader as Unclean;
    use crate::bugs::hw_at_log_end::partition_leader::PartitionLeader as Eager;
    use crate::bugs::no_log_check::partition_leader::PartitionLeader as Unchecked;
    use crate::bugs::reads_the_log_end::partition_leader::PartitionLeader as Uncommitted;
    use dscheck::expect_caught;
    suite
        .test("meta::a_high_watermark_at_the_log_end_is_caught", || {
            expect_caught(HIGH_WATERMARK, 3, |seed| failovers::<Eager>(seed, NONE))
        })
        .test("meta::an_out_of_sync_replica_elected_is_caught", || {
            expect_caught(KEPT, 3, laggard_elected::<Unclean>)
        })
        .test(
            "meta::a_leader_not_checking_a_follower_log_is_caught",
            || dscheck::expect_caught_by_any(&[AGREES, KEPT], 3, split_brain::<Unchecked>),
        )
        .test("meta::a_read_up_to_the_log_end_is_caught", || {
            expect_caught(READS, 3, |seed| failovers::<Uncommitted>(seed, NONE))
        })
}

#[cfg(bugs)]
watch::partition!(
    crate::bugs::elects_out_of_sync::partition_leader::PartitionLeader,
    crate::bugs::hw_at_log_end::partition_leader::PartitionLeader,
    crate::bugs::no_log_check::partition_leader::PartitionLeader,
    crate::bugs::reads_the_log_end::partition_leader::PartitionLeader,
);

/// What a run does to the network and the replicas.
#[derive(Clone, Copy, Debug)]
pub struct Faults {
    lossy: bool,
    crashes: bool,
    partitions: bool,
    skew: bool,
}

const NONE: Faults = Faults {
    lossy: false,
    crashes: false,
    partitions: false,
    skew: false,
};
const LOSSY: Faults = Faults {
    lossy: true,
    ..NONE
};
const CUTS: Faults = Faults {
    crashes: true,
    partitions: true,
    ..NONE
};
const ALL: Faults = Faults {
    lossy: true,
    crashes: true,
    partitions: true,
    skew: true,
};

/// A calm network: every message delivered within 1 to 10 ms.
fn calm() -> Network {
    Network::reliable(ms(1), ms(10))
}

/// The suite's side: producers, consumers and the operator.
struct Clients {
    /// The leader as the controller last named it.
    leader: NodeId,
    value: u64,
}

impl Clients {
    fn new() -> Self {
        Clients {
            leader: FIRST_LEADER,
            value: 0,
        }
    }

    /// Sends the next record to the leader.
    fn produce<N: Partition>(&mut self, sim: &mut Sim<N>, acks: Acks) -> RequestId {
        self.value += 1;
        let value = self.value;
        sim.request(self.leader, Request::Produce { value, acks })
    }

    /// Sends `count` records, `gap` apart.
    fn produce_every<N: Partition>(
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
    fn load<N: Partition>(
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
    fn elect<N: Partition>(&mut self, sim: &mut Sim<N>) -> Result<Reply, Failure> {
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
    fn elect_announced<N: Partition>(&mut self, sim: &mut Sim<N>) -> Result<(), Failure> {
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
    fn settle<N: Partition>(&mut self, sim: &mut Sim<N>) -> Result<(), Failure> {
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
type Acked = (u64, u64);

/// The acknowledged records `log` does not hold at their offset, as
/// (offset, value): acks=1 ones, and acks=all ones.
fn lost<N: Partition>(sim: &Sim<N>, log: &[Record]) -> (Vec<Acked>, Vec<Acked>) {
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
fn start<N: Partition>(seed: u64, faults: Faults) -> (Sim<N>, SimRng, Committed) {
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

/// One or two failovers under `faults`: load, then the leader crashes or
/// is cut off, the controller elects, load goes on, the old leader comes
/// back; then the calm end.
pub fn failovers<N: Partition>(seed: u64, faults: Faults) -> Result<(), Failure> {
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

/// The start of the written-out runs: a calm network, 10 acks=all
/// records 5 ms apart, and 30 ms for every follower to have them.
fn calm_start<N: Partition>(seed: u64) -> Result<(Sim<N>, Clients), Failure> {
    let (mut sim, _, _) = start::<N>(seed, NONE);
    let mut clients = Clients::new();
    clients.produce_every(&mut sim, 10, ms(5), Acks::All)?;
    run(&mut sim, |s| s.run_for(ms(30)))?;
    Ok((sim, clients))
}

/// The controller's ISR.
fn isr_of<N: Partition>(sim: &Sim<N>) -> BTreeSet<NodeId> {
    sim.node(CONTROLLER)
        .map(|c| c.isr().clone())
        .unwrap_or_default()
}

/// The controller's ISR, as a list.
fn isr<N: Partition>(sim: &Sim<N>) -> Vec<NodeId> {
    let c = sim.node(CONTROLLER);
    c.map(|c| c.isr().iter().copied().collect())
        .unwrap_or_default()
}

/// Written out: n3 is cut off (or, `one_way`, only what the leader sends
/// it is lost: it fetches and gets nothing) while acks=all records go on
/// every 5 ms. After 60 ms it must still be in the ISR; within 250 ms out of the ISR and the records after that
/// answered within 50 ms; healed, it must be back within 300 ms.
fn laggard<N: Partition>(seed: u64, one_way: bool) -> Result<(), Failure> {
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
fn laggard_elected<N: Partition>(seed: u64) -> Result<(), Failure> {
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
fn unclean<N: Partition>(seed: u64) -> Result<(), Failure> {
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
fn split_brain<N: Partition>(seed: u64) -> Result<(), Failure> {
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

/// Written out, the trade-off of acks=1: the leader is cut off, takes 5
/// acks=1 records (answered at once) and crashes; n2 is elected. The
/// records were acknowledged and are gone: that loss must show.
fn acks_one_loses<N: Partition>(seed: u64) -> Result<(), Failure> {
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

/// Written out: n1 crashes while n3 is cut off from n2; n2 is elected.
/// 60 ms later n3, unheard from since, must still be in the ISR: a new
/// leader gives each follower LAG_TIMEOUT to show up.
fn grace<N: Partition>(seed: u64) -> Result<(), Failure> {
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
fn catch_up<N: Partition>(seed: u64) -> Result<(), Failure> {
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
