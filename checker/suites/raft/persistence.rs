//! raft_persistence: term, vote and log survive crashes. Restarts of all
//! nodes, of the leader, of followers; the random Figure 8 test, on a
//! reliable and on an unreliable network; voters that crash right after
//! voting; clients at work while nodes crash.

use super::cluster::{Build, Cluster};
use super::observe::Observed;
use crate::subject::raft::{Options, Reply};
use dscheck::{ensure, ms, run, secs, Failure, Property};
use dsim::{Network, NodeId, RequestId, Sim};
use std::collections::BTreeMap;

pub const SURVIVES: Property = Property {
    name: "every command a client was told is committed is still applied, at \
           its index, on every node after the crashes",
    hint: "store term, vote and log before answering: Log::save after every change of the log and \
           Raft::persist after every change of term or vote, in the same handler that sends the \
           answer; restore must read all three back",
    when: &[],
};

fn cluster<N: Observed>(seed: u64, n: usize, build: &Build<N>) -> Cluster<N> {
    Cluster::new(seed, n, build, Options::default())
}

/// Every node crashes and restarts, twice; agreement goes on.
pub fn restart_all<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    let mut c = cluster(seed, 3, build);
    c.one(3)?;
    for _ in 0..2 {
        for id in c.ids() {
            c.crash(id)?;
        }
        c.run_for(ms(200))?;
        for id in c.ids() {
            c.restart(id)?;
        }
        c.one(3)?;
    }
    Ok(())
}

/// The leader crashes; the others agree; it restarts; three times.
pub fn restart_leader<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    let mut c = cluster(seed, 3, build);
    c.one(3)?;
    for _ in 0..3 {
        let leader = c.await_leader(&c.ids())?;
        c.crash(leader)?;
        c.one(2)?;
        c.restart(leader)?;
        c.one(3)?;
    }
    Ok(())
}

/// Five nodes: two followers crash, then the leader restarts while they
/// are down, and they come back one by one.
pub fn restart_followers<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    let mut c = cluster(seed, 5, build);
    c.one(5)?;
    let leader = c.await_leader(&c.ids())?;
    let followers: Vec<NodeId> = c.ids().into_iter().filter(|&i| i != leader).collect();
    c.crash(followers[0])?;
    c.crash(followers[1])?;
    c.one(3)?;
    c.crash(leader)?;
    c.restart(leader)?;
    c.one(3)?;
    c.restart(followers[0])?;
    c.one(4)?;
    c.restart(followers[1])?;
    c.one(5)?;
    Ok(())
}

/// The leader and one follower stay connected while the other is cut off;
/// the connected two agree, then both crash; the one cut off comes back,
/// then the old leader restarts: those two must agree (the restarted
/// leader remembers the entry the one cut off lacks); then all three.
pub fn restart_partitioned_leader_and_follower<N: Observed>(
    seed: u64,
    build: &Build<N>,
) -> Result<(), Failure> {
    let mut c = cluster(seed, 3, build);
    let ids = c.ids();
    c.one(3)?;
    let leader = c.await_leader(&ids)?;
    let others: Vec<NodeId> = ids.iter().copied().filter(|&i| i != leader).collect();
    let (partner, away) = (others[0], others[1]);
    run(&mut c.sim, |s| s.isolate(away))?;
    c.one(2)?;
    c.crash(leader)?;
    c.crash(partner)?;
    run(&mut c.sim, |s| s.heal())?;
    c.restart(leader)?;
    c.one(2)?;
    c.restart(partner)?;
    c.one(3)?;
    Ok(())
}

/// Five nodes on a network that loses 10% of messages and holds some back
/// up to 200 ms: 20 rounds of four commands given at once and one more
/// waited for; then, on a reliable network, all five agree.
pub fn unreliable_agreement<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    let mut c = cluster(seed, 5, build);
    let network = Network::reliable(ms(1), ms(10)).with_loss(0.1);
    c.sim.set_network(network.with_long_delays(0.05, ms(200)));
    for _ in 0..20 {
        if let Some(leader) = c.leader() {
            for _ in 0..4 {
                let command = c.command();
                c.submit(leader, command);
            }
        }
        c.one(1)?;
    }
    c.sim.set_network(Network::reliable(ms(1), ms(10)));
    c.one(5)?;
    Ok(())
}

/// The random Figure 8 test: 1000 times, give the leader (if any) a
/// command, wait a little (sometimes long), crash the leader, and restart
/// a node when fewer than a majority are up. Leaders die at every stage
/// of replication. Then everyone restarts and must agree.
pub fn figure8<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    figure8_on(seed, build, false)
}

/// The same, with 10% of messages lost and some held back up to 500 ms,
/// and nodes cut off (instead of crashed) half of the time.
pub fn figure8_unreliable<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    figure8_on(seed, build, true)
}

fn figure8_on<N: Observed>(seed: u64, build: &Build<N>, unreliable: bool) -> Result<(), Failure> {
    let n = 5;
    let mut c = cluster(seed, n, build);
    if unreliable {
        c.sim.set_network(
            Network::reliable(ms(1), ms(10))
                .with_loss(0.1)
                .with_long_delays(0.05, ms(500)),
        );
    }
    c.one(1)?;
    let mut rng = c.sim.scenario_rng();
    let mut cut = vec![false; n];
    for _ in 0..1000 {
        let leader = c.leader();
        if let Some(leader) = leader {
            let command = c.command();
            c.submit(leader, command);
        }
        let pause = if rng.chance(0.1) {
            rng.range(0..=500)
        } else {
            rng.range(0..=13)
        };
        c.run_for(ms(pause))?;
        if let Some(leader) = leader {
            if unreliable && rng.chance(0.5) {
                cut[leader.0] = true;
                apply_cuts(&mut c, &cut)?;
            } else {
                c.crash(leader)?;
            }
        }
        let working = |c: &Cluster<N>, cut: &[bool]| c.up().iter().filter(|id| !cut[id.0]).count();
        if working(&c, &cut) < 3 {
            let pick = NodeId(rng.below(n as u64) as usize);
            if !c.sim.is_up(pick) {
                c.restart(pick)?;
            } else if cut[pick.0] {
                cut[pick.0] = false;
                apply_cuts(&mut c, &cut)?;
            }
        }
    }
    c.sim.set_network(Network::reliable(ms(1), ms(10)));
    c.restore_all()?;
    c.one(n)?;
    Ok(())
}

/// Cuts off the nodes marked in `cut`; the others can all talk.
fn apply_cuts<N: Observed>(c: &mut Cluster<N>, cut: &[bool]) -> Result<(), Failure> {
    let connected: Vec<NodeId> = c.ids().into_iter().filter(|id| !cut[id.0]).collect();
    run(&mut c.sim, |s| s.partition(&[&connected]))
}

/// Five nodes on a slow network, so that elections collide; every node
/// that grants a vote crashes and restarts at once, before anything else
/// happens; every half second the leader is cut off to force an election.
/// A restarted voter must remember its vote.
pub fn voters_crash_right_after_voting<N: Observed>(
    seed: u64,
    build: &Build<N>,
) -> Result<(), Failure> {
    let mut c = cluster(seed, 5, build);
    c.sim.set_network(Network::reliable(ms(5), ms(40)));
    let mut seen: BTreeMap<NodeId, (u64, Option<NodeId>)> = BTreeMap::new();
    let end = c.sim.now() + secs(10);
    let mut next_cut = c.sim.now() + ms(500);
    while c.sim.now() < end {
        let before = seen.clone();
        let voted = move |s: &Sim<N>| new_vote(s, &before).is_some();
        let limit = next_cut.saturating_since(c.sim.now());
        run(&mut c.sim, |s| s.run_until(limit, voted))?;
        if let Some(voter) = new_vote(&c.sim, &seen) {
            let node = c.sim.node(voter).expect("a voter is up");
            seen.insert(voter, (node.term(), node.voted_for()));
            c.crash(voter)?;
            c.restart(voter)?;
        } else {
            run(&mut c.sim, |s| s.heal())?;
            if let Some(leader) = c.leader() {
                run(&mut c.sim, |s| s.isolate(leader))?;
            }
            next_cut = c.sim.now() + ms(500);
        }
    }
    run(&mut c.sim, |s| s.heal())?;
    c.sim.set_network(Network::reliable(ms(1), ms(10)));
    c.one(5)?;
    Ok(())
}

/// A node that voted for another since `seen` was noted.
fn new_vote<N: Observed>(
    sim: &Sim<N>,
    seen: &BTreeMap<NodeId, (u64, Option<NodeId>)>,
) -> Option<NodeId> {
    sim.ids().find(|&id| {
        sim.node(id).is_some_and(|n| {
            n.voted_for().is_some_and(|v| v != id)
                && seen.get(&id) != Some(&(n.term(), n.voted_for()))
        })
    })
}

/// Three clients give commands to random nodes (every 10–30 ms each) for
/// 5 s while nodes crash, restart and are cut off; then all is restored.
/// Every command a client saw committed must be applied at its index on
/// every node at the end.
pub fn churn<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    churn_on(seed, build, false)
}

/// The same on a network that loses 10% of messages and reorders some.
pub fn churn_unreliable<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    churn_on(seed, build, true)
}

fn churn_on<N: Observed>(seed: u64, build: &Build<N>, unreliable: bool) -> Result<(), Failure> {
    let n = 5;
    let mut c = cluster(seed, n, build);
    if unreliable {
        c.sim.set_network(
            Network::reliable(ms(1), ms(10))
                .with_loss(0.1)
                .with_long_delays(0.05, ms(200)),
        );
    }
    let mut rng = c.sim.scenario_rng();
    let mut sent: Vec<(RequestId, u64)> = Vec::new();
    let end = c.sim.now() + secs(5);
    let mut next_fault = c.sim.now() + ms(100);
    while c.sim.now() < end {
        for _ in 0..3 {
            let to = NodeId(rng.below(n as u64) as usize);
            let command = c.command();
            sent.push((c.submit(to, command), command));
        }
        c.run_for(ms(rng.range(10..=30)))?;
        if c.sim.now() >= next_fault {
            next_fault = c.sim.now() + ms(rng.range(50..=200));
            let victim = NodeId(rng.below(n as u64) as usize);
            match rng.below(4) {
                0 if c.up().len() > 3 => c.crash(victim)?,
                1 => c.restart(victim)?,
                2 => run(&mut c.sim, |s| s.isolate(victim))?,
                _ => run(&mut c.sim, |s| s.heal())?,
            }
        }
    }
    c.sim.set_network(Network::reliable(ms(1), ms(10)));
    c.restore_all()?;
    let last = c.one(n)?;
    let ledger = c.ledger.borrow();
    for (id, command) in sent {
        let Some(Reply::Applied { index, .. }) = c.reply(id) else {
            continue;
        };
        let applied = ledger.applied.get(index).map(|&(cmd, _)| cmd);
        ensure(applied == Some(command) && *index <= last, SURVIVES, || {
            format!(
                "a client was told command {command} was committed at index {index}, but the \
                 cluster applied {applied:?} there"
            )
        })?;
    }
    drop(ledger);
    ensure(c.applied_on(last) == n, SURVIVES, || {
        format!(
            "only {} of {n} nodes applied index {last} at the end",
            c.applied_on(last)
        )
    })
}
