//! raft_kv: a key-value store on the Raft log, with client sessions.
//! Clients retry through lost messages, partitions, crashes and snapshots;
//! every history must be linearizable (checked by
//! `dscheck::linearizability`, per key), no command may take effect twice,
//! and a minority partition must complete nothing.

mod clients;
// A store without sessions, for the meta tests.
#[cfg(bugs)]
pub mod sessionless;

use super::observe::ELECTION_SAFETY;
use crate::subject::raft::kv::KvServer;
use crate::subject::raft::{Options, Raft, Role};
use clients::{Clients, Store};
use dscheck::{ensure, linearizability, ms, run, secs, Failure, Property};
use dsim::{Broken, Network, NodeId, Sim};
use std::collections::BTreeMap;
use std::rc::Rc;

pub const LINEARIZABLE: Property = Property {
    name: "the store is linearizable: one order of all operations respects \
           real time and gives every answer the clients saw (no write lost, none applied twice, no \
           stale read)",
    hint: "Kv::apply must apply each (client, seq) once: a command whose seq is at or below the \
           client's session's last_seq gets that session's last_output, and changes nothing; the \
           sessions go into the snapshot with the data",
    when: &[],
};
pub const COMPLETES: Property = Property {
    name:
        "once the network is whole and every node up, every client operation completes within 10 s",
    hint: "a copy of a command already applied still gets an answer: apply returns the remembered \
           output, and the leader replies to whoever waits on that index",
    when: &[],
};
pub const MINORITY: Property = Property {
    name: "no operation completes in a minority partition",
    hint: "the leader replies only when the entry is applied, and applies only what a majority \
           holds; a read goes through the log like a write",
    when: &[],
};

/// Builds a store node.
pub type KvBuild<S> = Rc<dyn Fn(NodeId, &[NodeId], Options) -> Raft<S>>;

/// The graded store.
pub fn subject() -> KvBuild<crate::subject::raft::kv::Kv> {
    Rc::new(KvServer::new)
}

struct Run<S: Store> {
    sim: Sim<Raft<S>>,
    clients: Clients,
    ids: Vec<NodeId>,
}

impl<S: Store> Run<S> {
    fn new(seed: u64, n: usize, build: &KvBuild<S>, options: Options) -> Self {
        let build = Rc::clone(build);
        let members: Vec<NodeId> = (0..n).map(NodeId).collect();
        let all = members.clone();
        let mut sim = Sim::new(seed, n, move |id| build(id, &all, options));
        if !dscheck::replaying() {
            sim.limit_trace(Some(5_000));
        }
        let mut leaders: BTreeMap<u64, NodeId> = BTreeMap::new();
        sim.check(ELECTION_SAFETY, move |sim, _| {
            for id in sim.ids() {
                let Some(node) = sim.node(id).filter(|n| n.role == Role::Leader) else {
                    continue;
                };
                let first = *leaders.entry(node.current_term).or_insert(id);
                if first != id {
                    let detail = format!(
                        "{first} and {id} both became leader of term {}",
                        node.current_term
                    );
                    return Err(Broken::new(detail).nodes([first, id]));
                }
            }
            Ok(())
        });
        let rng = sim.scenario_rng();
        Run {
            sim,
            clients: Clients::new(5, rng, ms(200)),
            ids: members,
        }
    }

    /// Clients at work for `d`, sending to `targets`.
    fn work(&mut self, d: std::time::Duration, targets: &[NodeId]) -> Result<(), Failure> {
        let end = self.sim.now() + d;
        while self.sim.now() < end {
            run(&mut self.sim, |s| s.run_for(ms(5)))?;
            self.clients.tick(&mut self.sim, targets);
        }
        Ok(())
    }

    /// Heals and restarts everything, reads every key, lets every client
    /// finish, and checks the history.
    fn finish(mut self) -> Result<(), Failure> {
        run(&mut self.sim, |s| s.heal())?;
        for id in self.ids.clone() {
            run(&mut self.sim, |s| s.restart(id))?;
        }
        self.sim.set_network(Network::reliable(ms(1), ms(10)));
        self.clients.issuing = false;
        self.clients.read_every_key();
        let ids = self.ids.clone();
        let end = self.sim.now() + secs(10);
        while self.sim.now() < end && !self.clients.idle() {
            self.work(ms(50), &ids)?;
        }
        let waiting = self.clients.waiting();
        if !waiting.is_empty() {
            return Err(Failure::after_run(
                &self.sim,
                COMPLETES,
                format!("after 10 s these operations are still unanswered: {waiting:?}"),
            ));
        }
        if self.sim.seed() == 1 {
            dscheck::metric("operations completed", self.clients.completed());
        }
        let history = self.clients.history();
        linearizability::check(&linearizability::KvModel, &history)
            .map_err(|why| Failure::after_run(&self.sim, LINEARIZABLE, why.to_string()))
    }
}

/// Three nodes, reliable network, five clients for 2 s.
pub fn reliable<S: Store>(seed: u64, build: &KvBuild<S>) -> Result<(), Failure> {
    let mut r = Run::new(seed, 3, build, Options::default());
    let ids = r.ids.clone();
    r.work(secs(2), &ids)?;
    r.finish()
}

/// Five nodes, 5% loss; every 200–600 ms a new random split into a
/// majority and a minority (or none).
pub fn partitions<S: Store>(seed: u64, build: &KvBuild<S>) -> Result<(), Failure> {
    let mut r = Run::new(seed, 5, build, Options::default());
    r.sim
        .set_network(Network::reliable(ms(1), ms(10)).with_loss(0.05));
    let mut rng = r.sim.scenario_rng();
    let ids = r.ids.clone();
    for _ in 0..8 {
        let mut order = ids.clone();
        rng.shuffle(&mut order);
        let (a, b) = order.split_at(3);
        if rng.chance(0.8) {
            run(&mut r.sim, |s| s.partition(&[a, b]))?;
        } else {
            run(&mut r.sim, |s| s.heal())?;
        }
        r.work(ms(rng.range(200..=600)), &ids)?;
    }
    r.finish()
}

/// Five nodes; every 200–500 ms a random node crashes (at most two down)
/// or a crashed one restarts.
pub fn crashes<S: Store>(seed: u64, build: &KvBuild<S>) -> Result<(), Failure> {
    crash_run(seed, build, Options::default(), 0.0)
}

/// [`crashes`] with snapshots every 20 entries, 10% loss and partitions.
pub fn snapshots_crashes_and_partitions<S: Store>(
    seed: u64,
    build: &KvBuild<S>,
) -> Result<(), Failure> {
    let options = Options {
        snapshot_after: Some(20),
    };
    crash_run(seed, build, options, 0.1)
}

fn crash_run<S: Store>(
    seed: u64,
    build: &KvBuild<S>,
    options: Options,
    loss: f64,
) -> Result<(), Failure> {
    let mut r = Run::new(seed, 5, build, options);
    r.sim
        .set_network(Network::reliable(ms(1), ms(10)).with_loss(loss));
    let mut rng = r.sim.scenario_rng();
    let ids = r.ids.clone();
    for _ in 0..10 {
        let victim = *rng.pick(&ids);
        let down = ids.iter().filter(|&&i| !r.sim.is_up(i)).count();
        if !r.sim.is_up(victim) {
            run(&mut r.sim, |s| s.restart(victim))?;
        } else if down < 2 {
            run(&mut r.sim, |s| s.crash(victim))?;
        }
        if loss > 0.0 && rng.chance(0.3) {
            let mut order = ids.clone();
            rng.shuffle(&mut order);
            let (a, b) = order.split_at(3);
            run(&mut r.sim, |s| s.partition(&[a, b]))?;
        } else {
            run(&mut r.sim, |s| s.heal())?;
        }
        r.work(ms(rng.range(200..=500)), &ids)?;
    }
    r.finish()
}

/// A lossy network (30% of messages lost, 10% delivered twice), and
/// impatient clients that send a command again after 30 ms without an
/// answer: many commands are in the log more than once, and each must
/// take effect once.
pub fn retries_take_effect_once<S: Store>(seed: u64, build: &KvBuild<S>) -> Result<(), Failure> {
    let mut r = Run::new(seed, 3, build, Options::default());
    r.sim.set_network(
        Network::reliable(ms(1), ms(10))
            .with_loss(0.3)
            .with_duplication(0.1),
    );
    r.clients = Clients::new(5, r.sim.scenario_rng(), ms(30));
    let ids = r.ids.clone();
    r.work(secs(3), &ids)?;
    r.finish()
}

/// Every commit takes longer than a client waits before it retries (links
/// of 20–35 ms make AppendEntries' round trip 40–70 ms; clients retry after
/// 30 ms), so nearly every command arrives again while its first copy is
/// still being replicated: the retry must not take effect a second time.
/// The clients only append to one key, so a copy applied twice stays
/// visible to the final read; nothing is lost, so this does not depend on
/// the seed hiding a reply.
pub fn retries_while_committing<S: Store>(seed: u64, build: &KvBuild<S>) -> Result<(), Failure> {
    let mut r = Run::new(seed, 3, build, Options::default());
    r.sim.set_network(Network::reliable(ms(20), ms(35)));
    r.clients = Clients::new(2, r.sim.scenario_rng(), ms(30));
    r.clients.append_only(6);
    let ids = r.ids.clone();
    r.work(secs(2), &ids)?;
    r.finish()
}

/// The leader and one follower are cut off from the three others, and the
/// clients send only to those two for 1 s: nothing may complete there.
pub fn minority_completes_nothing<S: Store>(seed: u64, build: &KvBuild<S>) -> Result<(), Failure> {
    let mut r = Run::new(seed, 5, build, Options::default());
    let ids = r.ids.clone();
    r.work(secs(1), &ids)?;
    let leader = ids
        .iter()
        .copied()
        .find(|&id| r.sim.node(id).is_some_and(|n| n.role == Role::Leader));
    let Some(leader) = leader else {
        return r.finish();
    };
    let other = *ids.iter().find(|&&i| i != leader).expect("5 nodes");
    let minority = [leader, other];
    let majority: Vec<NodeId> = ids
        .iter()
        .copied()
        .filter(|i| !minority.contains(i))
        .collect();
    run(&mut r.sim, |s| s.partition(&[&minority, &majority]))?;
    let cut_at = r.sim.now() + ms(20);
    r.work(secs(1), &minority)?;
    let answered = r
        .clients
        .answered
        .iter()
        .find(|&&(_, _, node, at)| at > cut_at && minority.contains(&node));
    ensure(answered.is_none(), MINORITY, || {
        let (client, seq, node, at) = answered.copied().expect("found");
        format!("{node}, cut off with {other} from the three others, answered client {client}'s command {seq} at {at}")
    })?;
    r.finish()
}
