//! raft_membership: a 3-node cluster grows to 5 and shrinks to 3 again,
//! one server at a time, with commands between the changes; then the same
//! with crashes and partitions during the changes. Every safety property
//! is checked after every event throughout.

use super::cluster::{names, Build, Cluster};
use super::observe::Observed;
use crate::subject::raft::{Options, Reply, Request};
use dscheck::{ensure, ms, run, secs, Failure, Property};
use dsim::{NodeId, Sim};

pub const CHANGED: Property = Property {
    name: "a membership change asked of the leader is committed within 10 s, \
           when a majority of the old and of the new members is up and connected",
    hint: "on AddServer/RemoveServer the leader answers Busy while its newest configuration is \
           uncommitted or nothing of its term is committed (then it appends a Noop), otherwise \
           appends Payload::Config with the new members; the new member is in other_members() at \
           once, so replicate_to starts sending it entries (next_index defaults to the last index + 1)",
    when: &[],
};
pub const CONFIG_AGREED: Property = Property {
    name: "after the changes, every member's newest configuration lists exactly the members",
    hint: "a node's configuration is the newest Config entry in its log (log.config()), committed \
           or not, and the snapshot keeps the configuration as of its last entry",
    when: &[],
};

/// The initial members; n3 and n4 wait to be added.
const INITIAL: [NodeId; 3] = [NodeId(0), NodeId(1), NodeId(2)];

fn cluster<N: Observed>(seed: u64, build: &Build<N>) -> Cluster<N> {
    Cluster::with_members(seed, 5, &INITIAL, build, Options::default())
}

/// Asks whichever node leads to add (or remove) `node`, again after
/// `Busy`, `NotLeader` or silence, until the change is committed.
fn change<N: Observed>(c: &mut Cluster<N>, node: NodeId, add: bool) -> Result<(), Failure> {
    let deadline = c.sim.now() + secs(10);
    while c.sim.now() < deadline {
        let Some(leader) = c.leader() else {
            c.run_for(ms(50))?;
            continue;
        };
        let request = if add {
            Request::AddServer(node)
        } else {
            Request::RemoveServer(node)
        };
        let id = c.sim.request(leader, request);
        let answered = move |s: &Sim<N>| {
            s.history()
                .iter()
                .rev()
                .any(|op| op.id == id && op.is_complete())
        };
        run(&mut c.sim, |s| s.run_until(secs(1), answered))?;
        if let Some(Reply::Reconfigured { .. }) = c.reply(id) {
            return Ok(());
        }
        c.run_for(ms(50))?;
    }
    let what = if add { "adding" } else { "removing" };
    Err(Failure::after_run(
        &c.sim,
        CHANGED,
        format!("{what} {node} was not committed within 10 s:{}", c.terms()),
    ))
}

/// Every up member's newest configuration is `members`.
fn agreed<N: Observed>(c: &Cluster<N>, members: &[NodeId]) -> Result<(), Failure> {
    for &id in members {
        let Some(node) = c.sim.node(id) else { continue };
        let config = node.log().config().to_vec();
        ensure(config == members, CONFIG_AGREED, || {
            format!(
                "{id}'s configuration is {}, not {}",
                names(&config),
                names(members)
            )
        })?;
    }
    Ok(())
}

/// Adds n3 and n4, then removes n0 and n1, with commands between; each
/// removed node is shut down once its removal is committed.
pub fn add_and_remove<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    let mut c = cluster(seed, build);
    c.one(3)?;
    change(&mut c, NodeId(3), true)?;
    c.one(4)?;
    change(&mut c, NodeId(4), true)?;
    c.one(5)?;
    agreed(&c, &c.ids())?;
    for (gone, left) in [(0, 4), (1, 3)] {
        change(&mut c, NodeId(gone), false)?;
        c.crash(NodeId(gone))?;
        c.one(left)?;
    }
    c.run_for(ms(200))?;
    agreed(&c, &[NodeId(2), NodeId(3), NodeId(4)])
}

/// The same changes, but before each one a random node crashes or a
/// random node is cut off (never two at once), and it comes back during
/// or after the change.
pub fn changes_under_faults<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    let mut c = cluster(seed, build);
    let mut rng = c.sim.scenario_rng();
    c.one(3)?;
    let mut members: Vec<NodeId> = INITIAL.to_vec();
    let steps = [(3, true), (4, true), (0, false), (1, false)];
    for (node, add) in steps {
        let node = NodeId(node);
        let victim = *rng.pick(&members);
        let crash = rng.chance(0.5);
        if crash {
            c.crash(victim)?;
        } else {
            run(&mut c.sim, |s| s.isolate(victim))?;
        }
        let back_after = ms(rng.range(0..=400));
        c.run_for(back_after)?;
        if rng.chance(0.5) {
            restore(&mut c, victim, &members)?;
        }
        change(&mut c, node, add)?;
        restore(&mut c, victim, &members)?;
        if add {
            members.push(node);
            members.sort();
        } else {
            members.retain(|&m| m != node);
            c.crash(node)?;
        }
        c.one(members.len())?;
    }
    c.run_for(ms(200))?;
    agreed(&c, &members)
}

/// Brings `victim` back (if it is still a member, or not yet removed).
fn restore<N: Observed>(
    c: &mut Cluster<N>,
    victim: NodeId,
    members: &[NodeId],
) -> Result<(), Failure> {
    if members.contains(&victim) {
        c.restart(victim)?;
    }
    run(&mut c.sim, |s| s.heal())
}

/// The four changes one right after the other, with no command between:
/// once a change is committed, the next may start at once (a committed
/// configuration entry is no reason to answer Busy). Then the leader
/// removes itself: it must step down once that is committed, and the
/// others go on.
pub fn back_to_back_changes<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    let mut c = cluster(seed, build);
    c.one(3)?;
    for (node, add) in [(3, true), (4, true), (0, false)] {
        change(&mut c, NodeId(node), add)?;
    }
    c.crash(NodeId(0))?;
    let left = [NodeId(1), NodeId(2), NodeId(3), NodeId(4)];
    let leader = c.await_leader(&left)?;
    change(&mut c, leader, false)?;
    c.run_for(ms(300))?;
    let rest: Vec<NodeId> = left.iter().copied().filter(|&i| i != leader).collect();
    c.await_leader(&rest)?;
    c.crash(leader)?;
    c.one(3)?;
    agreed(&c, &rest)
}
