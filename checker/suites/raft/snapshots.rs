//! raft_snapshots: with a snapshot every 20 entries, logs and storage stay
//! small; a follower left behind catches up through InstallSnapshot (cut
//! off, crashed, or both, and while the leader crashes); a full restart
//! starts every node from its snapshot.

use super::cluster::{Build, Cluster};
use super::observe::Observed;
use crate::subject::raft::{Options, Snapshot};
use dscheck::{ensure, metric, ms, run, Failure, Property};
use dsim::{Network, NodeId};

/// The log length after which nodes take a snapshot.
const SNAPSHOT_AFTER: usize = 20;

pub const LOG_CAP: Property = Property {
    name: "with a snapshot every 20 entries, no log holds more than 60 entries \
           and no node stores more than 6,000 bytes",
    hint: "after applying, when log.len() > options.snapshot_after, snapshot the state machine at \
           last_applied, store it under \"snapshot\", log.compact(last_applied, its term) and \
           log.save: save removes the compacted entries from storage",
    when: &[],
};
pub const CAUGHT_UP: Property = Property {
    name:
        "a follower that missed entries the leader compacted catches up from the leader's snapshot",
    hint: "replicate_to: when log.term_at(next_index - 1) is None the entries are gone: send \
           InstallSnapshot; the follower installs it (log.reset_to or log.compact, S::restore, \
           commit_index = last_applied = its index) and answers like AppendEntries, so that the \
           leader moves next_index past it",
    when: &[],
};
pub const RELOADED: Property = Property {
    name:
        "a restarted node starts from its snapshot: state machine, commit index and applied index",
    hint: "restore: read \"snapshot\" back; the state machine is S::restore(&snapshot.state), and \
           commit_index and last_applied start at its last included index",
    when: &[],
};

fn cluster<N: Observed>(seed: u64, n: usize, build: &Build<N>) -> Cluster<N> {
    let options = Options {
        snapshot_after: Some(SNAPSHOT_AFTER),
    };
    Cluster::new(seed, n, build, options)
}

/// Fails unless every up node keeps its log and storage small.
pub fn small<N: Observed>(c: &Cluster<N>) -> Result<(), Failure> {
    for id in c.up() {
        let log = c.sim.node(id).map_or(0, |n| n.log().len());
        let stored = c.sim.storage(id).size();
        ensure(log <= 60 && stored <= 6_000, LOG_CAP, || {
            format!("{id}'s log holds {log} entries and its storage {stored} bytes")
        })?;
    }
    Ok(())
}

/// 200 commands among 3 nodes, logs and storage checked after each.
pub fn log_size_cap<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    let mut c = cluster(seed, 3, build);
    for _ in 0..200 {
        c.one(3)?;
        small(&c)?;
    }
    if seed == 1 {
        let most = c.ids().iter().map(|&id| c.sim.storage(id).size()).max();
        metric(
            "bytes stored per node after 200 commands",
            most.unwrap_or(0),
        );
    }
    Ok(())
}

/// A follower is cut off (or crashed, with `crash`) while 60 commands are
/// committed; when it is back, it must catch up, from a snapshot.
fn lagging<N: Observed>(seed: u64, build: &Build<N>, crash: bool) -> Result<(), Failure> {
    let mut c = cluster(seed, 3, build);
    c.one(3)?;
    let leader = c.await_leader(&c.ids())?;
    let follower = c.ids().into_iter().find(|&i| i != leader).expect("3 nodes");
    if crash {
        c.crash(follower)?;
    } else {
        run(&mut c.sim, |s| s.isolate(follower))?;
    }
    for _ in 0..60 {
        c.one(2)?;
    }
    c.restore_all()?;
    let index = c.one(3)?;
    caught_up(&c, follower, index)
}

fn caught_up<N: Observed>(c: &Cluster<N>, follower: NodeId, index: u64) -> Result<(), Failure> {
    let base = c.sim.node(follower).map_or(0, |n| n.log().base_index());
    let through = c.sim.node(follower).map_or(0, |n| n.recorder().through());
    ensure(base > 0 && through >= index, CAUGHT_UP, || {
        format!("{follower} came back, but its log starts after index {base} and it applied up to {through} of {index}")
    })
}

/// A follower cut off while the others commit 60 commands.
pub fn install_to_lagging_follower<N: Observed>(
    seed: u64,
    build: &Build<N>,
) -> Result<(), Failure> {
    lagging(seed, build, false)
}

/// A follower crashed while the others commit 60 commands.
pub fn install_to_crashed_follower<N: Observed>(
    seed: u64,
    build: &Build<N>,
) -> Result<(), Failure> {
    lagging(seed, build, true)
}

/// A follower is cut off while 60 commands are committed; as it comes
/// back, the leader crashes. The node that is up to date holds only its
/// snapshot, and must still refuse its vote to the follower, whose log is
/// shorter: the snapshot's last term decides.
pub fn lagging_follower_and_leader_crash<N: Observed>(
    seed: u64,
    build: &Build<N>,
) -> Result<(), Failure> {
    let mut c = cluster(seed, 3, build);
    c.one(3)?;
    let leader = c.await_leader(&c.ids())?;
    let follower = c.ids().into_iter().find(|&i| i != leader).expect("3 nodes");
    run(&mut c.sim, |s| s.isolate(follower))?;
    for _ in 0..60 {
        c.one(2)?;
    }
    run(&mut c.sim, |s| s.heal())?;
    c.crash(leader)?;
    c.one(2)?;
    c.restart(leader)?;
    let index = c.one(3)?;
    caught_up(&c, follower, index)
}

/// Five nodes, 12 rounds: a random node crashes (or, on an unreliable
/// network, is cut off), 15 commands are committed without it, it comes
/// back and the next command must reach all five.
pub fn install_with_crashes<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    with_crashes(seed, build, false)
}

/// [`install_with_crashes`] with 10% of messages lost, 5% held back up to
/// 300 ms (so that old snapshots arrive late), and nodes cut off instead
/// of crashed every other round.
pub fn install_with_crashes_unreliable<N: Observed>(
    seed: u64,
    build: &Build<N>,
) -> Result<(), Failure> {
    with_crashes(seed, build, true)
}

fn with_crashes<N: Observed>(seed: u64, build: &Build<N>, unreliable: bool) -> Result<(), Failure> {
    let mut c = cluster(seed, 5, build);
    if unreliable {
        let network = Network::reliable(ms(1), ms(10)).with_loss(0.1);
        c.sim.set_network(network.with_long_delays(0.05, ms(300)));
    }
    let mut rng = c.sim.scenario_rng();
    c.one(5)?;
    for round in 0..12 {
        let victim = NodeId(rng.below(5) as usize);
        if unreliable && round % 2 == 1 {
            run(&mut c.sim, |s| s.isolate(victim))?;
        } else {
            c.crash(victim)?;
        }
        for _ in 0..15 {
            c.one(4)?;
        }
        c.restore_all()?;
        c.one(5)?;
        small(&c)?;
    }
    Ok(())
}

/// Three nodes, five rounds: 25 commands, then every node crashes and
/// restarts; each must start from its snapshot, and agreement goes on at
/// higher indices.
pub fn reload_after_full_restart<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    reload_rounds(seed, build, 5)
}

/// [`reload_after_full_restart`] for `rounds` rounds.
pub fn reload_rounds<N: Observed>(
    seed: u64,
    build: &Build<N>,
    rounds: usize,
) -> Result<(), Failure> {
    let mut c = cluster(seed, 3, build);
    let mut last = 0;
    for _ in 0..rounds {
        for _ in 0..25 {
            last = c.one(3)?;
        }
        for id in c.ids() {
            c.crash(id)?;
        }
        for id in c.ids() {
            c.restart(id)?;
            let snapshot: Option<Snapshot> = c.sim.storage(id).get("snapshot");
            let expected = snapshot.map_or(0, |s| s.last_included_index);
            let node = c.sim.node(id).expect("just restarted");
            let got = (node.recorder().base, node.commit_index());
            ensure(
                expected > 0 && got == (expected, expected),
                RELOADED,
                || {
                    format!(
                    "{id} restarted with a snapshot through index {expected} in storage, but its \
                     state machine starts at {} and its commit index is {}",
                    got.0, got.1
                )
                },
            )?;
        }
        let index = c.one(3)?;
        ensure(index > last, super::replication::CONSECUTIVE, || {
            format!("after a restart a new command was committed at {index}, not after {last}")
        })?;
        last = index;
    }
    Ok(())
}

/// The leader is cut off with 40 commands it cannot commit; the two others
/// elect a leader and commit 30, which compacts its log past the index
/// where the first leader's uncommitted entries begin. The old leader comes
/// back: its log conflicts with the snapshot at and beyond the snapshot's
/// last index, so installing it must drop that log, not keep the suffix
/// (a log's terms never decrease, checked after every event).
pub fn install_over_conflicting_log<N: Observed>(
    seed: u64,
    build: &Build<N>,
) -> Result<(), Failure> {
    let mut c = cluster(seed, 3, build);
    let ids = c.ids();
    for _ in 0..3 {
        c.one(3)?;
    }
    let old = c.await_leader(&ids)?;
    run(&mut c.sim, |s| s.isolate(old))?;
    for _ in 0..40 {
        let command = c.command();
        c.submit(old, command);
    }
    c.run_for(ms(100))?;
    let rest: Vec<NodeId> = ids.iter().copied().filter(|&i| i != old).collect();
    c.await_leader(&rest)?;
    for _ in 0..30 {
        c.one(2)?;
    }
    run(&mut c.sim, |s| s.heal())?;
    let index = c.one(3)?;
    caught_up(&c, old, index)
}

/// Twice, a follower is cut off while 60 commands are committed; it comes
/// back on a network that duplicates half the messages and holds half back
/// up to 300 ms, while 30 more are committed: copies of the leader's
/// InstallSnapshot arrive after the follower has committed past them, and
/// must change nothing (its commit index never goes back).
pub fn stale_snapshots<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    let mut c = cluster(seed, 3, build);
    c.one(3)?;
    let leader = c.await_leader(&c.ids())?;
    let follower = c.ids().into_iter().find(|&i| i != leader).expect("3 nodes");
    for _ in 0..2 {
        c.sim.set_network(Network::reliable(ms(1), ms(10)));
        run(&mut c.sim, |s| s.isolate(follower))?;
        for _ in 0..60 {
            c.one(2)?;
        }
        let network = Network::reliable(ms(1), ms(10)).with_duplication(0.5);
        c.sim.set_network(network.with_long_delays(0.5, ms(300)));
        run(&mut c.sim, |s| s.heal())?;
        for _ in 0..30 {
            c.one(2)?;
        }
    }
    c.sim.set_network(Network::reliable(ms(1), ms(10)));
    let index = c.one(3)?;
    caught_up(&c, follower, index)
}
