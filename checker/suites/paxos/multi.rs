//! paxos_multi: a replicated key-value store on a Multi-Paxos log. Clients
//! retry their commands through loss, duplication, long delays, partitions,
//! crashes and restarts (the leader's too, or every node at once) on
//! skewed, drifting clocks. After every event (`observe.rs`): each slot has
//! chosen at most one value (judged from the acceptors' votes over the whole
//! run), only a no-op or a client's command is accepted, each node has
//! applied only chosen values in slot order, acceptors refuse lower ballots
//! with a Nack and keep their promises and votes on disk, campaigns go above
//! every round seen, and a node leads only with a majority's promises. Once
//! the network is calm, no slot below a chosen one may stay empty, every
//! command must complete, and the clients' history must be linearizable.
//! Written-out runs leave a hole, a value chosen that no live node knows
//! of, and a stale vote of a lower ballot before a recovery; a stable
//! leader must pay phase 2 only.
mod clients;
#[cfg(bugs)]
pub mod meta;
pub mod observe;

use crate::subject::paxos::multi::{Command, Kv, Msg, Multi, Op, Output, ELECTION_MAX};
use clients::Clients;
use dscheck::{linearizability, ms, run, secs, Failure, Suite};
use dsim::{Broken, Clock, Event, Network, NodeId, Sim, SimRng};
use observe::{
    holes, leader, watch, Observed, Observer, COMPLETES, LINEARIZABLE, NO_HOLES, PHASE_TWO_ONLY,
};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

pub fn tests(suite: Suite) -> Suite {
    suite
        .test(
            "multi::the_store_applies_a_retried_command_once",
            applies_once,
        )
        .seeded(
            "multi::safe_and_live_under_loss_duplication_and_delay",
            4,
            |seed| chaos::<Multi>(seed, false),
        )
        .seeded(
            "multi::safe_and_live_across_crashes_restarts_and_partitions",
            4,
            |seed| chaos::<Multi>(seed, true),
        )
        .seeded(
            "multi::live_when_every_message_arrives_twice",
            2,
            twice::<Multi>,
        )
        .seeded(
            "multi::a_crashed_leader_is_replaced_and_comes_back",
            3,
            leader_crash::<Multi>,
        )
        .seeded(
            "multi::competing_leaders_the_higher_ballot_wins",
            3,
            split_brain::<Multi>,
        )
        .seeded(
            "multi::a_new_leader_fills_holes_with_noops",
            3,
            hole::<Multi>,
        )
        .seeded(
            "multi::every_node_restarts_at_once",
            3,
            power_failure::<Multi>,
        )
        .seeded(
            "multi::the_highest_ballot_decides_each_slot",
            2,
            stale_vote::<Multi>,
        )
        .seeded(
            "multi::a_new_leader_keeps_a_value_chosen_unseen",
            3,
            unseen::<Multi>,
        )
        .seeded(
            "multi::a_stable_leader_runs_phase_two_only",
            2,
            steady::<Multi>,
        )
}

/// A run: the nodes, the clients and the observer.
pub struct Run<N: Observed> {
    pub sim: Sim<N>,
    clients: Clients,
    observer: Rc<RefCell<Observer>>,
    ids: Vec<NodeId>,
    /// The network of the calm end.
    calm: Network,
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
    fn leader(&mut self) -> Result<NodeId, Failure> {
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

/// The store's duplicate check, on its own: a command applied a second
/// time (chosen again in another slot after its client retried) changes
/// nothing and returns the first output; an older one too.
fn applies_once() -> Result<(), Failure> {
    let command = |seq, op| Command { client: 7, seq, op };
    let append = |v: &str| Op::Append {
        key: "x".into(),
        value: v.into(),
    };
    let get = Op::Get { key: "x".into() };
    let mut kv = Kv::default();
    let steps = [
        (command(1, append("a")), Some(Output::Done), "a"),
        (command(1, append("a")), Some(Output::Done), "a"),
        (
            command(2, get.clone()),
            Some(Output::Value(Some("a".into()))),
            "a",
        ),
        (command(3, append("b")), Some(Output::Done), "ab"),
        (command(1, append("a")), None, "ab"),
        (command(3, append("b")), Some(Output::Done), "ab"),
    ];
    for (i, (c, output, data)) in steps.into_iter().enumerate() {
        let got = kv.apply(&c);
        let held = kv.data.get("x").map_or("", String::as_str);
        if output.as_ref().is_some_and(|o| *o != got) || held != data {
            let detail = format!(
                "applying (client 7) seq {}, {:?} as step {} of appends a, a again, a get, \
                 append b, the first append again and append b again: it returned {got:?} and x holds \
                 {held:?}; expected {output:?} and {data:?}",
                c.seq,
                c.op,
                i + 1
            );
            return Err(Failure::new(LINEARIZABLE, detail));
        }
    }
    Ok(())
}

/// 3 or 5 nodes with skewed and drifting clocks on a network that loses,
/// duplicates and holds back messages; with `crashes`, any node (leader
/// included) may crash and come back (a minority down at a time) and the
/// network splits at random. 1.5 s of clients, then the calm end.
pub fn chaos<N: Observed>(seed: u64, crashes: bool) -> Result<(), Failure> {
    let mut rng = SimRng::new(seed);
    let n = if rng.chance(0.5) { 3 } else { 5 };
    let mut r = Run::<N>::new(seed, n);
    for id in r.ids.clone() {
        let clock = Clock {
            skew_nanos: rng.range(0..=100_000_000) as i64 - 50_000_000,
            drift_ppm: 400.0 * rng.unit() - 200.0,
        };
        r.sim.set_clock(id, clock);
    }
    r.sim.set_network(
        Network::reliable(ms(1), ms(15))
            .with_loss(0.1)
            .with_duplication(0.1)
            .with_long_delays(0.03, ms(120)),
    );
    let ids = r.ids.clone();
    let end = r.sim.now() + ms(1_500);
    while r.sim.now() < end {
        r.work(ms(rng.range(40..=120)))?;
        if !crashes {
            continue;
        }
        let down = ids.iter().filter(|&&i| !r.sim.is_up(i)).count();
        let victim = match leader(&r.sim) {
            Some(l) if rng.chance(0.4) => l,
            _ => *rng.pick(&ids),
        };
        match rng.below(4) {
            0 if r.sim.is_up(victim) && down < (n - 1) / 2 => run(&mut r.sim, |s| s.crash(victim))?,
            0 | 1 => run(&mut r.sim, |s| s.restart(victim))?,
            2 => {
                let mut order = ids.clone();
                rng.shuffle(&mut order);
                let cut = 1 + rng.below(n as u64 - 1) as usize;
                let (a, b) = order.split_at(cut);
                run(&mut r.sim, |s| s.partition(&[a, b]))?;
            }
            _ => run(&mut r.sim, |s| s.heal())?,
        }
    }
    r.finish()
}

/// Three nodes on a network that delivers every message twice, to the
/// end: every handler must take a message it has seen before in its
/// stride (a second Prepare or Accept of the ballot promised is answered
/// again, a second Accepted is not counted twice): once a leader is
/// established it stays (no Prepare is sent), and commands complete.
pub fn twice<N: Observed>(seed: u64) -> Result<(), Failure> {
    let mut r = Run::<N>::new(seed, 3);
    let twice = Network::reliable(ms(1), ms(10)).with_duplication(1.0);
    r.sim.set_network(twice.clone());
    r.calm = twice;
    r.leader()?;
    run(&mut r.sim, |s| s.run_for(ms(100)))?;
    no_prepare(&mut r.sim);
    r.work(ms(800))?;
    r.finish()
}

/// Five nodes, a calm network: the leader and one follower crash under
/// load, and the three left (just a majority) elect a new leader, which
/// must recover the open slots and go on choosing with their three votes;
/// then both come back, the old leader as a follower, and the clients go
/// on throughout.
pub fn leader_crash<N: Observed>(seed: u64) -> Result<(), Failure> {
    let mut r = Run::<N>::new(seed, 5);
    r.work(ms(500))?;
    let old = r.leader()?;
    let other = NodeId((old.0 + 1) % r.ids.len());
    run(&mut r.sim, |s| s.crash(old))?;
    run(&mut r.sim, |s| s.crash(other))?;
    let before = r.clients.completed();
    r.work(ms(800))?;
    if r.clients.completed() == before {
        let detail = format!(
            "{old} (the leader) and {other} crashed; in the 800 ms since, with the three other \
             nodes up, no command completed"
        );
        return Err(Failure::after_run(&r.sim, COMPLETES, detail));
    }
    run(&mut r.sim, |s| s.restart(old))?;
    run(&mut r.sim, |s| s.restart(other))?;
    r.work(ms(400))?;
    r.finish()
}

/// Five nodes: the leader and one follower are cut off from the other
/// three, and the old leader takes a command it cannot get chosen; the
/// majority elects a leader of a higher ballot. Then the old leader, still
/// leading in its own eyes, can reach everyone but hears no one (every link
/// into it cut) for a while: its Accepts, sent again, reach acceptors that
/// promised the higher ballot, and must be refused. Then the network heals.
pub fn split_brain<N: Observed>(seed: u64) -> Result<(), Failure> {
    let mut r = Run::<N>::new(seed, 5);
    r.work(ms(500))?;
    let old = r.leader()?;
    let mate = r.ids.iter().copied().find(|&i| i != old).unwrap_or(old);
    let rest: Vec<NodeId> = r
        .ids
        .iter()
        .copied()
        .filter(|&i| i != old && i != mate)
        .collect();
    run(&mut r.sim, |s| s.partition(&[&[old, mate], &rest]))?;
    r.sim.request(old, scripted(102, "split", "stale;"));
    r.work(ELECTION_MAX * 3)?;
    r.sim
        .note("the old leader reaches everyone and hears no one");
    run(&mut r.sim, |s| s.heal())?;
    for &from in r.ids.iter().filter(|&&i| i != old) {
        run(&mut r.sim, |s| s.cut(from, old))?;
    }
    r.work(ms(200))?;
    run(&mut r.sim, |s| s.heal())?;
    r.work(ms(300))?;
    r.finish()
}

/// Five nodes, a calm network. Once the clients are idle the leader, cut
/// off with x (the lowest id of the others), takes command A: only the two
/// of them vote for it, at slot s. The leader crashes, x stays cut off, and
/// the three others elect a leader that fills s with a no-op (no promise
/// it gets has a vote there), chosen in a higher ballot. Then every node
/// crashes, and only x and two others come back: the next leader's
/// promises are theirs, and at slot s they carry A in the older ballot
/// (x's, the first by id) and the no-op in the newer. Only the no-op may
/// be proposed: the vote of the highest ballot decides.
pub fn stale_vote<N: Observed>(seed: u64) -> Result<(), Failure> {
    let (mut r, old, others) = quiet_leader::<N>(seed)?;
    let x = others[0];
    let rest: Vec<NodeId> = others[1..].to_vec();
    r.sim
        .note("the leader and x alone vote for A; then the leader crashes");
    run(&mut r.sim, |s| s.partition(&[&[old, x], &rest]))?;
    r.sim.request(old, scripted(104, "stale", "a;"));
    run(&mut r.sim, |s| s.run_for(ms(10)))?;
    run(&mut r.sim, |s| s.crash(old))?;
    run(&mut r.sim, |s| s.partition(&[&[x], &rest]))?;
    r.clients.issuing = true;
    r.work(ms(700))?;
    r.sim.note("every node crashes; x and two others come back");
    for id in r.ids.clone() {
        run(&mut r.sim, |s| s.crash(id))?;
    }
    run(&mut r.sim, |s| s.heal())?;
    run(&mut r.sim, |s| s.run_for(ms(20)))?;
    for id in [x, rest[0], rest[1]] {
        run(&mut r.sim, |s| s.restart(id))?;
    }
    r.work(ms(700))?;
    r.finish()
}

/// A command outside the clients' keys, for the written-out runs.
fn scripted(client: u64, key: &str, value: &str) -> Command {
    let op = Op::Append {
        key: key.into(),
        value: value.into(),
    };
    Command { client, seq: 1, op }
}

/// Five nodes, a calm network (1 to 4 ms). Once the clients are idle the
/// leader takes command C, with every message taking 2 ms; at 3 ms, every
/// Accept has arrived (C is chosen: every node voted for it) and no
/// `Accepted` has, and the leader is cut off, so no `Decide` ever leaves it,
/// and crashes. No live node knows C was chosen: the
/// next leader must find it in the promises and propose it again.
pub fn unseen<N: Observed>(seed: u64) -> Result<(), Failure> {
    let (mut r, old, others) = quiet_leader::<N>(seed)?;
    r.sim
        .note("the leader takes C, is cut off once every Accept arrived, and crashes");
    r.sim.set_network(Network::reliable(ms(2), ms(2)));
    r.sim.request(old, scripted(103, "unseen", "c;"));
    run(&mut r.sim, |s| s.run_for(ms(3)))?;
    run(&mut r.sim, |s| s.partition(&[&[old], &others]))?;
    run(&mut r.sim, |s| s.run_for(ms(1)))?;
    run(&mut r.sim, |s| s.crash(old))?;
    run(&mut r.sim, |s| s.heal())?;
    r.sim.set_network(Network::reliable(ms(1), ms(4)));
    r.clients.issuing = true;
    r.work(ms(800))?;
    r.finish()
}

/// Five nodes on a calm network (1 to 4 ms), the clients at work for a
/// while and then idle: the run, its leader and the other nodes.
fn quiet_leader<N: Observed>(seed: u64) -> Result<(Run<N>, NodeId, Vec<NodeId>), Failure> {
    let mut r = Run::<N>::new(seed, 5);
    r.sim.set_network(Network::reliable(ms(1), ms(4)));
    r.work(ms(400))?;
    r.clients.issuing = false;
    let end = r.sim.now() + secs(2);
    while r.sim.now() < end && !r.clients.idle() {
        r.work(ms(20))?;
    }
    let old = r.leader()?;
    let others = r.ids.iter().copied().filter(|&i| i != old).collect();
    Ok((r, old, others))
}

/// Five nodes, a calm network. Once the clients are idle, the leader is
/// cut off alone and takes command A (its Accepts go nowhere: slot s has
/// only the leader's own vote), then reaches two followers and takes B
/// (chosen at slot s + 1), then crashes. The next leader finds a vote at
/// s + 1 and none at s: it must fill s with a no-op, or nothing after it
/// is ever applied.
pub fn hole<N: Observed>(seed: u64) -> Result<(), Failure> {
    let (mut r, _) = leave_hole::<N>(seed)?;
    r.work(ms(800))?;
    r.finish()
}

/// The start of [`hole`]: the run and the crashed old leader, the network
/// healed and the clients at work again.
fn leave_hole<N: Observed>(seed: u64) -> Result<(Run<N>, NodeId), Failure> {
    let (mut r, old, others) = quiet_leader::<N>(seed)?;
    r.sim
        .note("the leader, cut off, takes A; with two followers back, B; then it crashes");
    run(&mut r.sim, |s| s.partition(&[&[old], &others]))?;
    r.sim.request(old, scripted(100, "hole", "a;"));
    run(&mut r.sim, |s| s.run_for(ms(1)))?;
    let (near, far) = others.split_at(2);
    let near: Vec<NodeId> = near.iter().copied().chain([old]).collect();
    run(&mut r.sim, |s| s.partition(&[&near, far]))?;
    r.sim.request(old, scripted(101, "hole", "b;"));
    run(&mut r.sim, |s| s.run_for(ms(10)))?;
    run(&mut r.sim, |s| s.crash(old))?;
    run(&mut r.sim, |s| s.heal())?;
    r.clients.issuing = true;
    Ok((r, old))
}

/// [`hole`], and then, once the next leader has filled the hole, the old
/// leader comes back (its vote for A at slot s still on disk, in an older
/// ballot than the no-op chosen there) and every node crashes and restarts
/// at once. Every node has forgotten the log: the next leader recovers it
/// from slot 1, from votes of several ballots (the highest ballot wins at
/// each slot), and its campaign must go above the rounds its own promise
/// records.
pub fn power_failure<N: Observed>(seed: u64) -> Result<(), Failure> {
    let (mut r, old) = leave_hole::<N>(seed)?;
    r.work(ms(500))?;
    run(&mut r.sim, |s| s.restart(old))?;
    r.work(ms(200))?;
    r.sim.note("every node crashes, and all restart together");
    for id in r.ids.clone() {
        run(&mut r.sim, |s| s.crash(id))?;
    }
    run(&mut r.sim, |s| s.run_for(ms(20)))?;
    for id in r.ids.clone() {
        run(&mut r.sim, |s| s.restart(id))?;
    }
    r.work(ms(800))?;
    r.finish()
}

/// PHASE_TWO_ONLY from now on: no node sends a Prepare.
fn no_prepare<N: Observed>(sim: &mut Sim<N>) {
    sim.check(PHASE_TWO_ONLY, move |_, step| {
        for e in step.iter() {
            if let Event::Send { from, msg, .. } = &e.event {
                if matches!(msg, Msg::Prepare { .. }) {
                    let detail =
                        format!("{from} sent {msg:?} while a leader was established and no message was lost");
                    return Err(Broken::new(detail).nodes([*from]).events([e.index]));
                }
            }
        }
        Ok(())
    });
}

/// How many messages a command may cost, per other node, with a stable
/// leader on a calm network: the reference sends about 4 per other node
/// (Accept, Accepted, Decide, and its share of the heartbeats at one
/// command every 10 to 20 ms); this leaves room for other designs.
pub const PER_NODE_PER_COMMAND: u64 = 10;

/// Five nodes on a calm network: once a leader is established, one client
/// sends 30 commands, one after another. No Prepare may be sent (the
/// leader's one phase 1 covers every slot), and the messages stay within
/// [`PER_NODE_PER_COMMAND`] per other node per command.
pub fn steady<N: Observed>(seed: u64) -> Result<(), Failure> {
    let n = 5;
    let mut r = Run::<N>::new(seed, n);
    r.sim.set_network(Network::reliable(ms(1), ms(5)));
    let l = r.leader()?;
    run(&mut r.sim, |s| s.run_for(ms(100)))?;
    no_prepare(&mut r.sim);
    let before = r.sim.stats().sent;
    let commands = 30;
    for seq in 1..=commands {
        let op = Op::Append {
            key: "x".into(),
            value: format!("{seq};"),
        };
        let id = r.sim.request(l, Command { client: 9, seq, op });
        let done = run(&mut r.sim, |s| {
            s.run_until(ms(200), |s| {
                s.history().iter().any(|op| op.id == id && op.is_complete())
            })
        })?;
        if !done {
            let detail =
                format!("command {seq}, sent to the leader {l}, was not applied within 200 ms");
            return Err(Failure::after_run(&r.sim, PHASE_TWO_ONLY, detail));
        }
        run(&mut r.sim, |s| s.run_for(ms(10)))?;
    }
    let sent = r.sim.stats().sent - before;
    let cap = PER_NODE_PER_COMMAND * (n as u64 - 1) * commands;
    if seed == 1 {
        dscheck::metric("messages per command, stable leader", sent / commands);
    }
    if sent > cap {
        let detail = format!(
            "{commands} commands to a stable leader on a calm network cost {sent} messages, more \
             than {cap} ({PER_NODE_PER_COMMAND} per other node per command)"
        );
        return Err(Failure::after_run(&r.sim, PHASE_TWO_ONLY, detail));
    }
    Ok(())
}
