//! Written-out runs of a new leader's recovery: a stale vote of a lower
//! ballot, a value chosen that no live node knows of, a hole below a chosen
//! slot, and every node restarting at once after it.

use super::observe::Observed;
use super::run::Run;
use crate::subject::paxos::multi::{Command, Op};
use dscheck::{ms, run, secs, Failure};
use dsim::{Network, NodeId};

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
pub(super) fn scripted(client: u64, key: &str, value: &str) -> Command {
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
pub(super) fn quiet_leader<N: Observed>(
    seed: u64,
) -> Result<(Run<N>, NodeId, Vec<NodeId>), Failure> {
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
pub(super) fn leave_hole<N: Observed>(seed: u64) -> Result<(Run<N>, NodeId), Failure> {
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
