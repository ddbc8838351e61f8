//! The failover manager the suite plays: it writes, asks the followers
//! where they stand, promotes the most up-to-date one to the next epoch,
//! and at the calm end requires every node to hold the leader's log.

use super::{ANSWERS, PROMOTES};
use crate::replication::guard::{acknowledged, missing, Failing, CONVERGED, KEPT};
use crate::subject::replication::log_shipping::{Reply, Request, LEADER};
use crate::subject::replication::AckMode;
use dscheck::{ms, run, Failure};
use dsim::{Broken, Network, NodeId, RequestId, Sim, SimRng, Time};
use std::time::Duration;

/// How long the calm end of a run lasts before convergence is required.
const SETTLE: Duration = Duration::from_millis(1_500);

/// The failover manager's view: who leads which epoch, and the next value.
pub(super) struct Manager {
    pub(super) leader: NodeId,
    pub(super) epoch: u64,
    pub(super) value: u64,
    pub(super) mode: AckMode,
}

impl Manager {
    pub(super) fn new(mode: AckMode) -> Self {
        Manager {
            leader: LEADER,
            epoch: 0,
            value: 0,
            mode,
        }
    }

    /// Sends the next write to `to`.
    pub(super) fn write<N: Failing>(&mut self, sim: &mut Sim<N>, to: NodeId) -> RequestId {
        self.value += 1;
        sim.request(to, Request::Write { value: self.value })
    }

    /// Sends `count` writes to the leader, `gap` apart.
    pub(super) fn writes<N: Failing>(
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
    pub(super) fn load<N: Failing>(
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
    pub(super) fn promote<N: Failing>(
        &mut self,
        sim: &mut Sim<N>,
        gone: NodeId,
    ) -> Result<(), Failure> {
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
    pub(super) fn kept<N: Failing>(
        &self,
        sim: &Sim<N>,
        node: NodeId,
        when: &str,
    ) -> Result<(), Failure> {
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
    pub(super) fn settle<N: Failing>(&self, sim: &mut Sim<N>, since: Time) -> Result<(), Failure> {
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
