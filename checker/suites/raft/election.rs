//! raft_election: one leader, elected quickly, re-elected when cut off,
//! never without a majority, and quiet when all is well.

use super::cluster::{names, Build, Cluster};
use super::observe::Observed;
use crate::subject::raft::{Options, Role};
use dscheck::{ensure, metric, run, secs, Failure, Property};
use dsim::NodeId;

pub const STEADY_LEADER: Property = Property {
    name: "with no failure, the leader keeps leading and the term stays the same",
    hint: "followers must reset their election timer on every AppendEntries from the current \
           leader, and the leader must send one to every follower well within the shortest \
           election timeout (HEARTBEAT_INTERVAL)",
    when: &[],
};
pub const NO_MINORITY_LEADER: Property = Property {
    name: "no node becomes leader without the votes of a majority",
    hint: "count votes only from members, only for the candidate's current term, and become \
           leader only when the votes (your own included) are more than half the members",
    when: &[],
};
pub const ELECTION_MESSAGES: Property = Property {
    name: "an election among 3 nodes takes at most 20 messages",
    hint: "one RequestVote per peer per election is enough; draw each election timeout at \
           random from ELECTION_TIMEOUT_MIN..=ELECTION_TIMEOUT_MAX so that elections rarely \
           collide",
    when: &[],
};
pub const IDLE_MESSAGES: Property = Property {
    name: "an idle cluster of 3 nodes sends at most 120 messages a second",
    hint: "an idle leader sends one AppendEntries per follower per HEARTBEAT_INTERVAL and no \
           more; followers answer each once and send nothing else",
    when: &[],
};

fn three<N: Observed>(seed: u64, build: &Build<N>) -> Cluster<N> {
    Cluster::new(seed, 3, build, Options::default())
}

/// A leader is elected, every node agrees on the term, and with no failure
/// nothing changes for two seconds.
pub fn initial_election<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    let mut c = three(seed, build);
    let leader = c.await_leader(&c.ids())?;
    c.run_for(secs(1))?;
    let term = c.sim.node(leader).map(|n| n.term());
    c.run_for(secs(2))?;
    let now = c.sim.node(leader).map(|n| (n.term(), n.role()));
    let agreed = c
        .ids()
        .iter()
        .all(|&id| c.sim.node(id).map(|n| n.term()) == term);
    ensure(
        now == term.map(|t| (t, Role::Leader)) && agreed,
        STEADY_LEADER,
        || {
            format!(
                "{leader} led term {term:?} but two quiet seconds later:{}",
                c.terms()
            )
        },
    )
}

/// A cluster of one node: its own vote is a majority, so it elects itself
/// as soon as its election timer fires, with no one to ask.
pub fn alone<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    let mut c = Cluster::new(seed, 1, build, Options::default());
    c.await_leader(&c.ids())?;
    Ok(())
}

/// The leader is cut off: the others elect a new one; it comes back and
/// the cluster has one leader; two of three are cut off: the one left
/// stays without a leader; one comes back: a leader again.
pub fn reelection<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    let mut c = three(seed, build);
    let ids = c.ids();
    let first = c.await_leader(&ids)?;
    run(&mut c.sim, |s| s.isolate(first))?;
    let rest: Vec<NodeId> = ids.iter().copied().filter(|&id| id != first).collect();
    let second = c.await_leader(&rest)?;
    run(&mut c.sim, |s| s.heal())?;
    c.await_leader(&ids)?;
    let alone = *ids.iter().find(|&&id| id != second).expect("3 nodes");
    run(&mut c.sim, |s| s.partition(&[&[alone]]))?;
    no_leader_among(&mut c, &[alone], secs(2))?;
    let back = *ids.iter().find(|&&id| id != alone).expect("3 nodes");
    run(&mut c.sim, |s| s.partition(&[&[alone, back]]))?;
    c.await_leader(&[alone, back])?;
    run(&mut c.sim, |s| s.heal())?;
    c.await_leader(&ids)?;
    Ok(())
}

/// Runs for `d` and fails if a node of `group` (a minority) becomes leader.
pub fn no_leader_among<N: Observed>(
    c: &mut Cluster<N>,
    group: &[NodeId],
    d: std::time::Duration,
) -> Result<(), Failure> {
    let watched = group.to_vec();
    let leads = move |s: &dsim::Sim<N>| {
        watched
            .iter()
            .any(|&id| s.node(id).is_some_and(|n| n.role() == Role::Leader))
    };
    let before: Vec<_> = group
        .iter()
        .map(|&id| c.sim.node(id).map(|n| n.term()))
        .collect();
    let started_leading = group
        .iter()
        .any(|&id| c.sim.node(id).is_some_and(|n| n.role() == Role::Leader));
    if started_leading {
        // A leader cut off stays leader of its old term; only a new term counts.
        c.run_for(d)?;
        let after: Vec<_> = group
            .iter()
            .map(|&id| c.sim.node(id).map(|n| n.term()))
            .collect();
        let new_leader = group
            .iter()
            .zip(before.iter().zip(&after))
            .any(|(&id, (b, a))| {
                b != a && c.sim.node(id).is_some_and(|n| n.role() == Role::Leader)
            });
        return ensure(!new_leader, NO_MINORITY_LEADER, || {
            format!(
                "a node of the minority {} became leader:{}",
                names(group),
                c.terms()
            )
        });
    }
    let led = run(&mut c.sim, |s| s.run_until(d, leads))?;
    ensure(!led, NO_MINORITY_LEADER, || {
        format!(
            "{} cannot reach a majority, yet one of them became leader:{}",
            names(group),
            c.terms()
        )
    })
}

/// Seven nodes, ten rounds: three random nodes are cut off each round, and
/// the four others must elect a leader.
pub fn many_elections<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    let mut c = Cluster::new(seed, 7, build, Options::default());
    let ids = c.ids();
    c.await_leader(&ids)?;
    let mut rng = c.sim.scenario_rng();
    for _ in 0..10 {
        let mut order = ids.clone();
        rng.shuffle(&mut order);
        let majority: Vec<NodeId> = order[..4].to_vec();
        run(&mut c.sim, |s| s.partition(&[&majority]))?;
        c.await_leader(&majority)?;
        run(&mut c.sim, |s| s.heal())?;
    }
    c.await_leader(&ids)?;
    Ok(())
}

/// The messages of the first election, and of an idle second after it.
pub fn message_caps<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    let mut c = three(seed, build);
    let ids = c.ids();
    c.await_leader(&ids)?;
    let election = c.sim.stats().sent;
    if seed == 1 {
        metric("messages to elect the first leader", election);
    }
    ensure(election <= 20, ELECTION_MESSAGES, || {
        format!("the first election took {election} messages")
    })?;
    c.run_for(secs(1))?;
    let before = c.sim.stats().sent;
    c.run_for(secs(1))?;
    let idle = c.sim.stats().sent - before;
    if seed == 1 {
        metric("messages in an idle second", idle);
    }
    ensure(idle <= 120, IDLE_MESSAGES, || {
        format!("one idle second took {idle} messages")
    })
}
