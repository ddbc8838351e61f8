//! replication_failover: the suite plays the failover manager. It crashes
//! or cuts off the leader, asks the followers where they stand, promotes
//! the most up-to-date one to the next epoch, and goes on writing; the
//! properties of `guard.rs` are checked after every step, the promoted
//! leader must hold every write acknowledged in `Majority` mode, and once
//! the network is calm every node must hold the last leader's log. Two
//! scripted runs show the other side: in `Async` mode a crash loses
//! acknowledged writes (counted), and an old leader cut off by a partition
//! (split brain) steps down and drops its own writes when it heals. A third
//! restarts every follower right after it adopted a new epoch.

use super::guard::{
    acknowledged, guard, missing, Failing, AGREES, CONVERGED, EPOCHS, FENCED, KEPT, LOSES,
};
use super::log_shipping::{set_up, Faults, ALL, LOSSY, NONE};
use crate::subject::replication::log_shipping::{Reply, Request, LEADER};
use crate::subject::replication::{AckMode, LogShipping};
use dscheck::{ms, run, Failure, Property, Suite};
use dsim::{Broken, Network, NodeId, RequestId, Sim, SimRng, Time};
use std::time::Duration;

/// Nodes per run: a leader and four followers.
const NODES: usize = 5;
/// How long the calm end of a run lasts before convergence is required.
const SETTLE: Duration = Duration::from_millis(1_500);

const PROMOTES: Property = Property {
    name: "a node answers Position at once, and a promotion with Promoted at once if its epoch \
           is newer than the node's, never if not",
    hint: "on Request::Position reply Reply::Position { index, last_epoch, epoch }; on \
           Request::Promote { epoch } with a newer epoch, adopt it, lead, ship to every \
           follower and reply Reply::Promoted { epoch }",
    when: &[],
};

const QUICK: Property = Property {
    name: "on a calm network, a promoted leader brings every live follower to its log within \
           30 ms, and then each write costs a batch and an acknowledgement per follower",
    hint: "on promotion ship to every follower at once; on Mismatch move next_index back and \
           ship at once; take a batch whose prev_index is your last index (matches: \
           prev_index <= last_index())",
    when: &[],
};

const ANSWERS: Property = Property {
    name: "with Majority acknowledgement, the leader answers every write once a majority has it",
    hint: "call release_writes after every acknowledgement: answer each waiting write whose \
           index is at most majority_index(), and only those",
    when: &[],
};

pub fn tests(suite: Suite) -> Suite {
    use AckMode::{Async, Majority};
    suite
        .seeded("failover::majority_keeps_acknowledged_writes", 6, |seed| {
            failovers::<LogShipping>(seed, Majority, NONE)
        })
        .seeded("failover::on_a_lossy_network", 6, |seed| {
            failovers::<LogShipping>(seed, Majority, LOSSY)
        })
        .seeded("failover::with_restarts_and_skewed_clocks", 6, |seed| {
            failovers::<LogShipping>(seed, Majority, ALL)
        })
        .seeded("failover::async_mode_under_faults", 4, |seed| {
            failovers::<LogShipping>(seed, Async, ALL)
        })
        .test("failover::async_acknowledgement_loses_writes", || {
            async_loses::<LogShipping>(1)
        })
        .seeded("failover::split_brain_old_leader_steps_down", 3, |seed| {
            split_brain::<LogShipping>(seed, true)
        })
        .test(
            "failover::a_new_leader_announces_itself_without_writes",
            || split_brain::<LogShipping>(1, false),
        )
        .seeded("failover::a_calm_failover_is_quick_and_frugal", 2, |seed| {
            calm::<LogShipping>(seed)
        })
        .seeded(
            "failover::followers_restarted_in_a_new_epoch_keep_it",
            1,
            restarted::<LogShipping>,
        )
}

/// The checks, run on the reference with one bug each (`bugs/`).
#[cfg(bugs)]
pub fn meta(suite: Suite) -> Suite {
    use crate::bugs::acknowledges_early::log_shipping::LogShipping as Early;
    use crate::bugs::epoch_not_stored::log_shipping::LogShipping as Forgets;
    use crate::bugs::keeps_conflicts::log_shipping::LogShipping as Keeps;
    use crate::bugs::no_fencing::log_shipping::LogShipping as Unfenced;
    use dscheck::expect_caught;
    suite
        .test("meta::an_old_leader_without_a_fence_is_caught", || {
            expect_caught(FENCED, 3, |seed| split_brain::<Unfenced>(seed, true))
        })
        .test(
            "meta::a_follower_keeping_conflicting_entries_is_caught",
            || expect_caught(AGREES, 3, |seed| split_brain::<Keeps>(seed, true)),
        )
        .test("meta::an_epoch_not_stored_is_caught", || {
            expect_caught(EPOCHS, 6, |seed| {
                restarted::<Forgets>(seed)?;
                failovers::<Forgets>(seed, AckMode::Majority, ALL)
            })
        })
        .test(
            "meta::a_leader_acknowledging_before_a_majority_is_caught",
            || {
                expect_caught(KEPT, 6, |seed| {
                    failovers::<Early>(seed, AckMode::Majority, NONE)
                })
            },
        )
}

#[cfg(bugs)]
super::guard::failing!(
    crate::bugs::acknowledges_early::log_shipping::LogShipping,
    crate::bugs::epoch_not_stored::log_shipping::LogShipping,
    crate::bugs::keeps_conflicts::log_shipping::LogShipping,
    crate::bugs::no_fencing::log_shipping::LogShipping,
);

/// The failover manager's view: who leads which epoch, and the next value.
struct Manager {
    leader: NodeId,
    epoch: u64,
    value: u64,
    mode: AckMode,
}

impl Manager {
    fn new(mode: AckMode) -> Self {
        Manager {
            leader: LEADER,
            epoch: 0,
            value: 0,
            mode,
        }
    }

    /// Sends the next write to `to`.
    fn write<N: Failing>(&mut self, sim: &mut Sim<N>, to: NodeId) -> RequestId {
        self.value += 1;
        sim.request(to, Request::Write { value: self.value })
    }

    /// Sends `count` writes to the leader, `gap` apart.
    fn writes<N: Failing>(
        &mut self,
        sim: &mut Sim<N>,
        count: u64,
        gap: Duration,
    ) -> Result<(), Failure> {
        for _ in 0..count {
            self.write(sim, self.leader);
            run(sim, |s| s.run_for(gap))?;
        }
        Ok(())
    }

    /// Writes to the leader every 2 to 20 ms for `span`; with `restarts`, a
    /// follower may crash or come back at each write.
    fn load<N: Failing>(
        &mut self,
        sim: &mut Sim<N>,
        rng: &mut SimRng,
        span: Duration,
        restarts: bool,
    ) -> Result<(), Failure> {
        let end = sim.now() + span;
        while sim.now() < end {
            self.write(sim, self.leader);
            let others: Vec<NodeId> = sim.ids().filter(|&n| n != self.leader).collect();
            let f = *rng.pick(&others);
            if restarts && rng.below(100) < 4 {
                if sim.is_up(f) {
                    run(sim, |s| s.crash(f))?;
                } else {
                    run(sim, |s| s.restart(f))?;
                }
            }
            let pause = rng.duration(ms(2)..=ms(20));
            run(sim, |s| s.run_for(pause))?;
        }
        Ok(())
    }

    /// Failover: asks every live node but `gone` (the old leader) for its
    /// position, promotes the one with the highest (last entry's epoch,
    /// index) to the next epoch, and requires that in `Majority` mode it
    /// holds every acknowledged write.
    fn promote<N: Failing>(&mut self, sim: &mut Sim<N>, gone: NodeId) -> Result<(), Failure> {
        let live: Vec<NodeId> = sim.ids().filter(|&n| n != gone && sim.is_up(n)).collect();
        let asked: Vec<(NodeId, RequestId)> = (live.into_iter())
            .map(|n| (n, sim.request(n, Request::Position)))
            .collect();
        run(sim, |s| s.run_for(ms(1)))?;
        let mut best: Option<((u64, u64), NodeId)> = None;
        for (n, id) in asked {
            let Some(&Reply::Position {
                index,
                last_epoch,
                epoch,
            }) = sim.operation(id).reply()
            else {
                let detail = format!("{n} did not answer Request::Position");
                return Err(Failure::after_run(
                    sim,
                    PROMOTES,
                    Broken::new(detail).nodes([n]),
                ));
            };
            self.epoch = self.epoch.max(epoch);
            if best.is_none_or(|(at, _)| (last_epoch, index) > at) {
                best = Some(((last_epoch, index), n));
            }
        }
        let Some((_, chosen)) = best else {
            return Ok(());
        };
        self.epoch += 1;
        let id = sim.request(chosen, Request::Promote { epoch: self.epoch });
        run(sim, |s| s.run_for(ms(1)))?;
        if sim.operation(id).reply() != Some(&Reply::Promoted { epoch: self.epoch }) {
            let detail = format!(
                "{chosen} did not answer Promote {{ epoch: {} }}",
                self.epoch
            );
            return Err(Failure::after_run(
                sim,
                PROMOTES,
                Broken::new(detail).nodes([chosen]),
            ));
        }
        self.leader = chosen;
        if self.mode == AckMode::Majority {
            self.kept(sim, chosen, "promoted")?;
        }
        Ok(())
    }

    /// KEPT: `node` holds every acknowledged write.
    fn kept<N: Failing>(&self, sim: &Sim<N>, node: NodeId, when: &str) -> Result<(), Failure> {
        let log = sim.node(node).map_or(&[][..], |n| n.log());
        if let Some((index, value)) = missing(&acknowledged(sim), log).first() {
            let detail = format!(
                "write {value} was acknowledged at index {index}, and {node}, {when} in epoch \
                 {}, does not hold it",
                self.epoch
            );
            return Err(Failure::after_run(
                sim,
                KEPT,
                Broken::new(detail).nodes([node]),
            ));
        }
        Ok(())
    }

    /// The calm end: network whole and reliable, every node up; after
    /// [`SETTLE`] every node must hold the leader's log (and, in `Majority`
    /// mode, every acknowledged write, and every write to the leader of the
    /// last epoch must be answered). Reports the writes `Async` mode lost.
    fn settle<N: Failing>(&self, sim: &mut Sim<N>, since: Time) -> Result<(), Failure> {
        sim.set_network(Network::reliable(ms(1), ms(10)));
        run(sim, |s| s.heal())?;
        for n in sim.ids().collect::<Vec<_>>() {
            run(sim, |s| s.restart(n))?;
        }
        run(sim, |s| s.run_for(SETTLE))?;
        let truth = sim.node(self.leader).map_or(&[][..], |n| n.log()).to_vec();
        let lost = missing(&acknowledged(sim), &truth).len();
        dscheck::metric("acknowledged writes lost in failover", lost);
        for n in sim.ids() {
            let log = sim.node(n).map_or(&[][..], |n| n.log());
            if log != truth {
                let detail = format!(
                    "{} ms after the last failover and fault, {n} holds {} entries (last {:?}) \
                     and {}, the leader of epoch {}, holds {} (last {:?})",
                    SETTLE.as_millis(),
                    log.len(),
                    log.last(),
                    self.leader,
                    self.epoch,
                    truth.len(),
                    truth.last()
                );
                return Err(Failure::after_run(
                    sim,
                    CONVERGED,
                    Broken::new(detail).nodes([n]),
                ));
            }
        }
        if self.mode == AckMode::Majority {
            self.kept(sim, self.leader, "the leader at the end")?;
            let unanswered = (sim.history().iter()).find(|op| {
                op.node == self.leader
                    && op.invoked_at.as_nanos() >= since.as_nanos()
                    && matches!(op.request, Request::Write { .. })
                    && !op.is_complete()
            });
            if let Some(op) = unanswered {
                let detail = format!(
                    "{} got write {} in epoch {}, every node has had it for a while, and it was \
                     never answered",
                    self.leader, op.id, self.epoch
                );
                return Err(Failure::after_run(sim, ANSWERS, detail));
            }
        }
        Ok(())
    }
}

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
fn async_loses<N: Failing>(seed: u64) -> Result<(), Failure> {
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
fn split_brain<N: Failing>(seed: u64, busy: bool) -> Result<(), Failure> {
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
fn calm<N: Failing>(seed: u64) -> Result<(), Failure> {
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
fn restarted<N: Failing>(seed: u64) -> Result<(), Failure> {
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
