//! raft_election with prepared logs and even cluster sizes: the election
//! restriction in both orders (a higher last term beats a longer log; an
//! equal last term needs a log at least as long), leadership moving among
//! nodes whose logs differ (so that a leader's indices must be reset at
//! each election), and majorities of 4 and 6 nodes split evenly. The rules
//! of each message are checked in every step (`rules.rs`).

use super::cluster::{names, Build, Cluster};
use super::election::no_leader_among;
use super::observe::Observed;
use crate::subject::raft::{Options, Term};
use dscheck::{ensure, ms, run, secs, Failure, Property, TODO_PROPERTY};
use dsim::{Network, NodeId};
use std::rc::Rc;

pub const MORE_UP_TO_DATE_WINS: Property = Property {
    name: "of two nodes that can reach only each other, the one with the more up-to-date log \
           is elected",
    hint: "compare (last_log_term, last_log_index) as a pair: a higher last term wins whatever \
           the lengths; with equal last terms the longer log wins; grant only if the candidate's \
           pair is >= yours",
    when: &[],
};

/// A cluster whose nodes start with logs of these terms (node i gets
/// `logs[i]`).
fn prepared<N: Observed>(seed: u64, build: &Build<N>, logs: &[&[Term]]) -> Cluster<N> {
    let n = logs.len();
    let logs: Vec<Vec<Term>> = logs.iter().map(|l| l.to_vec()).collect();
    let inner = Rc::clone(build);
    let build: Build<N> = Rc::new(move |id: NodeId, members: &[NodeId], options| {
        let mut node = inner(id, members, options);
        node.prepare(&logs[id.0]);
        node
    });
    Cluster::new(seed, n, &build, Options::default())
}

/// Three nodes, the third cut off from the start: for each pair of logs,
/// the first two must elect the one whose log is more up to date. Each
/// pair is played three times, with other timeouts, so that the node
/// whose log is behind asks first in some of them (and must be refused).
pub fn up_to_date_votes<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    // (log of n0, log of n1, the node that must win)
    let cases: [(&[Term], &[Term], usize); 4] = [
        (&[1, 2], &[1, 1, 1], 0), // higher last term, shorter log
        (&[1, 1], &[1, 1, 1], 1), // equal last term, longer log
        (&[1, 1, 1, 1], &[2], 1), // higher last term, much shorter
        (&[1, 2, 2], &[1, 2], 0), // equal last term, longer log
    ];
    for (round, (first, second, winner)) in cases.iter().cycle().take(12).enumerate() {
        let (first, second, winner) = (*first, *second, *winner);
        let mut c = prepared(seed * 16 + round as u64, build, &[first, second, &[]]);
        run(&mut c.sim, |s| s.isolate(NodeId(2)))?;
        let pair = [NodeId(0), NodeId(1)];
        let leader = c.await_leader(&pair)?;
        ensure(leader == NodeId(winner), MORE_UP_TO_DATE_WINS, || {
            format!(
                "n0's log has terms {first:?} and n1's {second:?}, yet {leader} was elected:{}",
                c.terms()
            )
        })?;
    }
    Ok(())
}

/// Three nodes with logs of different lengths and terms; six times the
/// leader is cut off and the two others elect one, then all are healed.
/// Leadership moves around, so some node leads twice, and must start each
/// term with fresh next_index and match_index.
pub fn leadership_moves<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    let mut c = prepared(seed, build, &[&[1, 1], &[1, 1, 1], &[1, 2]]);
    let ids = c.ids();
    for _ in 0..6 {
        let leader = c.await_leader(&ids)?;
        c.run_for(ms(200))?;
        run(&mut c.sim, |s| s.isolate(leader))?;
        let rest: Vec<NodeId> = ids.iter().copied().filter(|&i| i != leader).collect();
        c.await_leader(&rest)?;
        c.run_for(ms(200))?;
        run(&mut c.sim, |s| s.heal())?;
    }
    c.await_leader(&ids)?;
    Ok(())
}

/// Four nodes, then six: split evenly, neither half elects a leader (two
/// of four, three of six, are not a majority); healed, they do; split
/// unevenly, the larger side does.
pub fn even_splits<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    for n in [4, 6] {
        let mut c = Cluster::new(seed, n, build, Options::default());
        let ids = c.ids();
        c.await_leader(&ids)?;
        let (left, right) = ids.split_at(n / 2);
        run(&mut c.sim, |s| s.partition(&[left, right]))?;
        no_leader_among(&mut c, left, secs(1))?;
        no_leader_among(&mut c, right, secs(1))?;
        run(&mut c.sim, |s| s.heal())?;
        c.await_leader(&ids)?;
        let (small, large) = ids.split_at(n / 2 - 1);
        run(&mut c.sim, |s| s.partition(&[small, large]))?;
        c.await_leader(large).map_err(|f| {
            let detail = format!("{} of {n} nodes: {}", names(large), f.detail());
            f.with_detail(detail)
        })?;
        run(&mut c.sim, |s| s.heal())?;
    }
    Ok(())
}

/// Five nodes; n0 crashes at once and the others hold two more elections
/// (so their term is at least 3). n0 restarts able to reach only one
/// follower, which keeps hearing from its leader: n0 times out, asks it for
/// its vote in an old term, and the refusal carries the newer term, which
/// n0 must adopt (a candidate learns a newer term from a Vote reply). Then
/// n0, now in that term, runs again: the leader learns the newer term from
/// an AppendEntries reply and steps down.
pub fn newer_term_in_replies<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    let mut c = Cluster::new(seed, 5, build, Options::default());
    let ids = c.ids();
    let c0 = NodeId(0);
    c.crash(c0)?;
    let rest: Vec<NodeId> = ids[1..].to_vec();
    for _ in 0..2 {
        let leader = c.await_leader(&rest)?;
        run(&mut c.sim, |s| s.isolate(leader))?;
        let three: Vec<NodeId> = rest.iter().copied().filter(|&i| i != leader).collect();
        c.await_leader(&three)?;
        run(&mut c.sim, |s| s.heal())?;
    }
    c.await_leader(&rest)?;
    // Let a leader cut off learn that it was replaced.
    c.run_for(ms(300))?;
    let leader = c.await_leader(&rest)?;
    let voter = *rest.iter().find(|&&i| i != leader).expect("four nodes");
    c.restart(c0)?;
    for &other in ids.iter().filter(|&&i| i != c0 && i != voter) {
        run(&mut c.sim, |s| s.cut(c0, other))?;
        run(&mut c.sim, |s| s.cut(other, c0))?;
    }
    c.run_for(ms(700))?;
    run(&mut c.sim, |s| s.heal())?;
    c.await_leader(&ids)?;
    Ok(())
}

/// Five nodes on a slow network (20 to 80 ms a message, as long as the
/// spread of election timeouts), so that candidates collide: twelve times
/// the leader is cut off, the others elect one, and it comes back. A
/// candidate that loses gets AppendEntries from the winner of its own term
/// and must become its follower (checked in every step).
pub fn colliding_candidates<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    let mut c = Cluster::new(seed, 5, build, Options::default());
    c.sim.set_network(Network::reliable(ms(10), ms(30)));
    let ids = c.ids();
    for _ in 0..20 {
        let leader = c.await_leader(&ids)?;
        run(&mut c.sim, |s| s.isolate(leader))?;
        let rest: Vec<NodeId> = ids.iter().copied().filter(|&i| i != leader).collect();
        c.await_leader(&rest)?;
        c.run_for(ms(100))?;
        run(&mut c.sim, |s| s.heal())?;
    }
    c.await_leader(&ids)?;
    Ok(())
}

/// A `todo!()` reached in `replication.rs` during a raft_election test: the
/// election step needs first versions of three functions there.
pub fn explain_todo(result: Result<(), Failure>) -> Result<(), Failure> {
    result.map_err(|failure| {
        let in_replication = failure.detail().contains("replication.rs");
        if failure.property() != TODO_PROPERTY || !in_replication {
            return failure;
        }
        let detail = format!(
            "raft_election needs first versions of three functions of replication.rs: \
             replicate_to (AppendEntries with no entries, prev_log_index, prev_log_term and \
             leader_commit 0), on_append_entries (refuse an older term, else follow the sender and \
             answer) and on_append_reply (only observe_term); see exercises/05_raft/README.md.\n{}",
            failure.detail()
        );
        failure.with_detail(detail)
    })
}
