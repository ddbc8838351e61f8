//! A run of the store: the nodes, the clients and the observer, the
//! clients' work, and the calm end that judges what the faults left.

use super::clients::Clients;
use super::observe::{holes, leader, watch, Observed, Observer, COMPLETES, LINEARIZABLE, NO_HOLES};
use dscheck::{linearizability, ms, run, secs, Failure};
use dsim::{Network, NodeId, Sim};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// A run: the nodes, the clients and the observer.
pub struct Run<N: Observed> {
    pub sim: Sim<N>,
    pub(super) clients: Clients,
    pub(super) observer: Rc<RefCell<Observer>>,
    pub(super) ids: Vec<NodeId>,
    /// The network of the calm end.
    pub(super) calm: Network,
}

impl<N: Observed> Run<N> {
    pub fn new(seed: u64, n: usize) -> Self {
        let mut sim = Sim::new(seed, n, N::make);
        if !dscheck::replaying() {
            sim.limit_trace(Some(5_000));
        }
        sim.set_network(Network::reliable(ms(1), ms(10)));
        let observer = watch(&mut sim);
        let clients = Clients::new(3, sim.scenario_rng());
        let ids = sim.ids().collect();
        Run {
            sim,
            clients,
            observer,
            ids,
            calm: Network::reliable(ms(1), ms(10)),
        }
    }

    /// The clients at work for `d`.
    pub fn work(&mut self, d: Duration) -> Result<(), Failure> {
        let end = self.sim.now() + d;
        while self.sim.now() < end {
            run(&mut self.sim, |s| s.run_for(ms(5)))?;
            self.clients.tick(&mut self.sim, &self.ids);
        }
        Ok(())
    }

    /// The calm end: the network whole and reliable, every node up, the
    /// clients finish and read every key; no hole may stay open below a
    /// chosen slot, every command must complete, and the history must be
    /// linearizable.
    pub fn finish(mut self) -> Result<(), Failure> {
        self.sim
            .note("faults stop: the network heals, every node is back");
        self.sim.set_network(Network::reliable(ms(1), ms(10)));
        run(&mut self.sim, |s| s.heal())?;
        for id in self.ids.clone() {
            run(&mut self.sim, |s| s.restart(id))?;
        }
        self.clients.issuing = false;
        self.clients.read_every_key();
        let end = self.sim.now() + secs(5);
        while self.sim.now() < end && !self.clients.idle() {
            self.work(ms(50))?;
        }
        self.work(secs(1))?;
        let open = holes(&self.observer.borrow());
        if let Some(&slot) = open.first() {
            let top = self.observer.borrow().chosen.keys().last().copied();
            let detail = format!(
                "the network has been calm for over a second and slot {slot} is still empty (no \
                 majority accepted anything there), below chosen slot {top:?}; open slots: \
                 {open:?}"
            );
            return Err(Failure::after_run(&self.sim, NO_HOLES, detail));
        }
        let waiting = self.clients.waiting();
        if !waiting.is_empty() {
            let detail = format!(
                "6 s after the faults stopped these commands are still unanswered: {waiting:?}"
            );
            return Err(Failure::after_run(&self.sim, COMPLETES, detail));
        }
        if self.sim.seed() == 1 {
            dscheck::metric("commands completed", self.clients.completed());
        }
        let history = self.clients.history();
        linearizability::check(&linearizability::KvModel, &history)
            .map_err(|why| Failure::after_run(&self.sim, LINEARIZABLE, why.to_string()))
    }

    /// The node that leads now, once the clients have found it.
    pub(super) fn leader(&mut self) -> Result<NodeId, Failure> {
        let found = run(&mut self.sim, |s| {
            s.run_until(secs(2), |s| leader(s).is_some())
        })?;
        match (found, leader(&self.sim)) {
            (true, Some(l)) => Ok(l),
            _ => Err(Failure::after_run(
                &self.sim,
                COMPLETES,
                "on a calm network no node became leader within 2 s",
            )),
        }
    }
}
