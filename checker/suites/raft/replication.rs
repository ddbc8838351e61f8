//! raft_replication: commands reach every connected node, in the same
//! order, through failures of followers and leaders and partitions; a
//! minority commits nothing; a follower far behind is brought back
//! quickly; the commit rule of Figure 8 holds.

use super::cluster::{names, Build, Cluster};
use super::election::no_leader_among;
use super::observe::Observed;
use crate::subject::raft::{Options, Reply, Role};
use dscheck::{ensure, metric, ms, run, secs, Failure, Property};
use dsim::{NodeId, Sim};

pub const NO_MINORITY_COMMIT: Property = Property {
    name: "nothing is committed without a majority",
    hint: "the leader commits index n only when match_index >= n on a majority of the members, \
           itself included; a reply from an older term does not count",
    when: &[],
};
pub const CONSECUTIVE: Property = Property {
    name: "commands given one after another get consecutive indices",
    hint: "append each command at last_index + 1 of the leader's log, once; do not append \
           anything else between commands",
    when: &[],
};
pub const MESSAGE_CAP: Property = Property {
    name: "agreeing on 10 commands among 3 nodes takes at most 80 messages, and an idle second at most 120",
    hint: "send AppendEntries when there is something to send (a new command) and on the \
           heartbeat timer, not on every reply; followers answer each request once",
    when: &[],
};
pub const BYTE_CAP: Property = Property {
    name: "agreeing on 20 commands on a 100-entry log takes at most 24,000 bytes \
           (a leader sends a follower only the entries it lacks)",
    hint: "send a follower only the entries from its next_index on, and advance next_index to \
           match_index + 1 on success, so that heartbeats after that carry no entries",
    when: &[],
};
pub const CATCH_UP: Property = Property {
    name: "a follower 150 entries behind (its log too short) is caught up within 80 messages",
    hint: "a follower whose log ends before prev_log_index answers retry_from = its last index + \
           1, so that the leader jumps there at once; the leader then sends up to \
           MAX_ENTRIES_PER_MESSAGE entries per AppendEntries and, on each success, the next ones \
           at once or with the next heartbeat",
    when: &[],
};
pub const FAST_BACKUP: Property = Property {
    name: "a follower 50 entries behind on a divergent branch is caught up within 50 messages",
    hint: "on a failed consistency check, answer with retry_from: your last index + 1 if your \
           log is too short, else the first index of the term of your conflicting entry; the \
           leader sets next_index to it and sends again at once",
    when: &[],
};

/// Three commands, one after another, at consecutive indices on all nodes.
pub fn basic_agreement<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    let mut c = Cluster::new(seed, 3, build, Options::default());
    c.await_leader(&c.ids())?;
    let mut last = None;
    for _ in 0..3 {
        let index = c.one(3)?;
        ensure(last.is_none_or(|l| index == l + 1), CONSECUTIVE, || {
            format!("a command after index {last:?} was committed at index {index}")
        })?;
        last = Some(index);
    }
    Ok(())
}

/// A cluster of one node commits each command as it appends it: its own
/// log is a majority, and no reply will ever come to count.
pub fn alone<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    let mut c = Cluster::new(seed, 1, build, Options::default());
    c.await_leader(&c.ids())?;
    for _ in 0..3 {
        c.one(1)?;
    }
    Ok(())
}

/// Gives a command to `leader` and runs for 2 s: it must not be applied.
fn not_committed<N: Observed>(
    c: &mut Cluster<N>,
    leader: NodeId,
    why: &str,
) -> Result<(), Failure> {
    let command = c.command();
    c.submit(leader, command);
    c.run_for(secs(2))?;
    ensure(c.index_of(command).is_none(), NO_MINORITY_COMMIT, || {
        format!(
            "command {command}, given to {leader} when {why}, was applied at index {:?}",
            c.index_of(command)
        )
    })
}

/// A follower is cut off: the two others agree; the second follower is cut
/// off too: the leader alone commits nothing.
pub fn follower_failure<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    let mut c = Cluster::new(seed, 3, build, Options::default());
    let ids = c.ids();
    c.one(3)?;
    let leader = c.await_leader(&ids)?;
    let followers: Vec<NodeId> = ids.iter().copied().filter(|&i| i != leader).collect();
    run(&mut c.sim, |s| s.isolate(followers[0]))?;
    c.one(2)?;
    c.run_for(ms(500))?;
    c.one(2)?;
    let leader = c.await_leader(&[leader, followers[1]])?;
    let other = if leader == followers[1] {
        ids.iter()
            .copied()
            .find(|&i| i != leader && i != followers[0])
            .unwrap()
    } else {
        followers[1]
    };
    run(&mut c.sim, |s| s.isolate(other))?;
    not_committed(&mut c, leader, "both followers were cut off")
}

/// The leader is cut off: the others elect a leader and agree; that one is
/// cut off too: nothing is committed anywhere.
pub fn leader_failure<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    let mut c = Cluster::new(seed, 3, build, Options::default());
    let ids = c.ids();
    c.one(3)?;
    let first = c.await_leader(&ids)?;
    run(&mut c.sim, |s| s.isolate(first))?;
    let rest: Vec<NodeId> = ids.iter().copied().filter(|&i| i != first).collect();
    c.one(2)?;
    let second = c.await_leader(&rest)?;
    run(&mut c.sim, |s| s.isolate(second))?;
    for id in ids {
        not_committed(&mut c, id, "every node was cut off from the others")?;
    }
    Ok(())
}

/// Five nodes; three followers cut off: the leader commits nothing; they
/// come back: agreement resumes.
pub fn no_agreement_without_majority<N: Observed>(
    seed: u64,
    build: &Build<N>,
) -> Result<(), Failure> {
    let mut c = Cluster::new(seed, 5, build, Options::default());
    let ids = c.ids();
    c.one(5)?;
    let leader = c.await_leader(&ids)?;
    let keep = *ids.iter().find(|&&i| i != leader).unwrap();
    run(&mut c.sim, |s| s.partition(&[&[leader, keep]]))?;
    not_committed(&mut c, leader, "three of five followers were cut off")?;
    no_leader_among(&mut c, &[leader, keep], secs(1))?;
    run(&mut c.sim, |s| s.heal())?;
    c.await_leader(&ids)?;
    c.one(5)?;
    Ok(())
}

/// Five commands given to the leader at once are all committed, each at
/// its own index.
pub fn concurrent_starts<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    let mut c = Cluster::new(seed, 3, build, Options::default());
    let ids = c.ids();
    let leader = c.await_leader(&ids)?;
    let ledger = std::rc::Rc::clone(&c.ledger);
    let commands: Vec<u64> = (0..5).map(|_| c.command()).collect();
    for &command in &commands {
        c.submit(leader, command);
    }
    let wanted = commands.clone();
    let all = move |s: &Sim<N>| {
        let ledger = ledger.borrow();
        let applied: Vec<u64> = ledger.applied.values().map(|&(c, _)| c).collect();
        let everywhere = s
            .ids()
            .all(|id| s.node(id).is_some_and(|n| n.recorder().applied.len() >= 5));
        wanted.iter().all(|w| applied.contains(w)) && everywhere
    };
    let done = run(&mut c.sim, |s| s.run_until(secs(3), all))?;
    ensure(done, super::cluster::AGREEMENT, || {
        format!(
            "five commands given at once to {leader} were not all applied on every node within 3 s:{}",
            c.terms()
        )
    })
}

/// The leader is cut off and given three commands it cannot commit; the
/// others elect a leader and commit one; that leader is cut off, the first
/// comes back: its uncommitted entries are replaced, and all agree.
pub fn rejoin_of_partitioned_leader<N: Observed>(
    seed: u64,
    build: &Build<N>,
) -> Result<(), Failure> {
    let mut c = Cluster::new(seed, 3, build, Options::default());
    let ids = c.ids();
    c.one(3)?;
    let first = c.await_leader(&ids)?;
    run(&mut c.sim, |s| s.isolate(first))?;
    for _ in 0..3 {
        let command = c.command();
        c.submit(first, command);
    }
    c.run_for(ms(100))?;
    let rest: Vec<NodeId> = ids.iter().copied().filter(|&i| i != first).collect();
    c.one(2)?;
    let second = c.await_leader(&rest)?;
    let third = *rest.iter().find(|&&i| i != second).unwrap();
    run(&mut c.sim, |s| s.partition(&[&[first, third]]))?;
    c.one(2)?;
    run(&mut c.sim, |s| s.heal())?;
    c.one(3)?;
    Ok(())
}

/// Five nodes agree on 40 commands. A leader and one follower are then cut
/// off and given 50 commands
/// they cannot commit; the three others commit 50; one of these is cut off
/// and the two left are given 50 they cannot commit; then the first two
/// and the one cut off come back together and must commit 50 more, which
/// needs the two to skip back over their divergent entries; at last all
/// five agree.
pub fn fast_backup<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    let mut c = Cluster::new(seed, 5, build, Options::default());
    let ids = c.ids();
    for _ in 0..40 {
        c.one(5)?;
    }
    let leader1 = c.await_leader(&ids)?;
    let others: Vec<NodeId> = ids.iter().copied().filter(|&i| i != leader1).collect();
    let partner = others[0];
    let three = others[1..].to_vec();
    run(&mut c.sim, |s| s.partition(&[&[leader1, partner], &three]))?;
    for _ in 0..50 {
        let command = c.command();
        c.submit(leader1, command);
    }
    c.run_for(ms(500))?;
    let leader2 = c.await_leader(&three)?;
    for _ in 0..50 {
        c.one(3)?;
    }
    let dropped = *three.iter().find(|&&i| i != leader2).unwrap();
    let pair: Vec<NodeId> = three.iter().copied().filter(|&i| i != dropped).collect();
    run(&mut c.sim, |s| {
        s.partition(&[&pair, &[leader1, partner, dropped]])
    })?;
    let leader2 = c.await_leader(&pair)?;
    for _ in 0..50 {
        let command = c.command();
        c.submit(leader2, command);
    }
    c.run_for(ms(500))?;
    let sent = c.sim.stats().sent;
    let group = [leader1, partner, dropped];
    c.await_leader(&group)?;
    c.one(3)?;
    let catch_up = c.sim.stats().sent - sent;
    if seed == 1 {
        metric(
            "messages for the first agreement after the rejoin",
            catch_up,
        );
    }
    ensure(catch_up <= 50, FAST_BACKUP, || {
        format!(
            "{} rejoined with 50 divergent entries each; the first command after took {catch_up} messages",
            names(&[leader1, partner])
        )
    })?;
    for _ in 0..50 {
        c.one(3)?;
    }
    run(&mut c.sim, |s| s.heal())?;
    c.one(5)?;
    Ok(())
}

/// Messages to agree on 10 commands given at once, and in an idle second.
pub fn message_caps<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    let mut c = Cluster::new(seed, 3, build, Options::default());
    let ids = c.ids();
    c.one(3)?;
    let leader = c.await_leader(&ids)?;
    let term = c.sim.node(leader).map(|n| n.term());
    let before = c.sim.stats().sent;
    let mut last = None;
    for _ in 0..10 {
        let command = c.command();
        last = Some(c.submit(leader, command));
    }
    let last = last.expect("ten requests");
    run(&mut c.sim, |s| {
        s.run_until(secs(3), |s| {
            s.ids()
                .all(|id| s.node(id).is_some_and(|n| n.recorder().applied.len() >= 11))
        })
    })?;
    if c.sim.node(leader).map(|n| (n.term(), n.role())) != term.map(|t| (t, Role::Leader)) {
        return Ok(()); // the leader changed: the count means nothing (rare)
    }
    let agreement = c.sim.stats().sent - before;
    let answered = matches!(c.reply(last), Some(Reply::Applied { .. }));
    let before = c.sim.stats().sent;
    c.run_for(secs(1))?;
    let idle = c.sim.stats().sent - before;
    if seed == 1 {
        metric("messages to agree on 10 commands", agreement);
        metric("messages in an idle second", idle);
    }
    ensure(answered, super::cluster::AGREEMENT, || {
        "the leader did not answer the last of 10 commands within 3 s".to_string()
    })?;
    ensure(agreement <= 80 && idle <= 120, MESSAGE_CAP, || {
        format!("10 commands took {agreement} messages, and an idle second {idle}")
    })
}

/// Bytes sent while agreeing on 20 commands of a 100-entry log, compared
/// with the bytes of the entries themselves.
pub fn byte_cap<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    let mut c = Cluster::new(seed, 3, build, Options::default());
    for _ in 0..100 {
        c.one(3)?;
    }
    c.sim.measure_bytes(true);
    let before = c.sim.stats().bytes;
    for _ in 0..20 {
        c.one(3)?;
    }
    let sent = c.sim.stats().bytes - before;
    // An AppendEntries with one entry, its reply and a heartbeat or two
    // are about 400 bytes per follower; resending the log is 4,000 or more.
    let budget = 24_000;
    if seed == 1 {
        metric("bytes sent for 20 commands", sent);
    }
    ensure(sent <= budget, BYTE_CAP, || {
        format!("20 commands on a 100-entry log took {sent} bytes (at most {budget})")
    })
}

/// The situation of Figure 8 of the Raft paper, played with partitions on
/// five nodes. (a) The leader L gets X to one follower only. (b) Another
/// node S is elected without them, gets Y at the same index, and is cut
/// off at once. (c) L's side elects a leader again (L or its follower),
/// which copies X onto a third node: X is now on a majority, but of an
/// older term, and must not be committed by counting. (d) S is elected by
/// the other three and overwrites X with Y: had X been applied anywhere,
/// two commands would be committed at one index.
pub fn figure8_commit_rule<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    let mut c = Cluster::new(seed, 5, build, Options::default());
    let ids = c.ids();
    c.one(5)?;
    let l = c.await_leader(&ids)?;
    let others: Vec<NodeId> = ids.iter().copied().filter(|&i| i != l).collect();
    let a = others[0];
    let rest = others[1..].to_vec();
    // (a)
    run(&mut c.sim, |s| s.partition(&[&[l, a], &rest]))?;
    let x = c.command();
    c.submit(l, x);
    c.run_for(ms(50))?;
    // (b)
    let s5 = c.await_leader(&rest)?;
    let two: Vec<NodeId> = rest.iter().copied().filter(|&i| i != s5).collect();
    run(&mut c.sim, |s| s.partition(&[&[l, a], &[s5], &two]))?;
    let y = c.command();
    c.submit(s5, y);
    c.run_for(ms(50))?;
    // (c)
    let (c1, d1) = (two[0], two[1]);
    run(&mut c.sim, |s| s.partition(&[&[l, a, c1], &[s5], &[d1]]))?;
    let l2 = c.await_leader(&[l, a, c1])?;
    c.run_for(ms(500))?;
    // (d)
    let other = if l2 == l { a } else { l };
    run(&mut c.sim, |s| {
        s.partition(&[&[s5, c1, d1], &[l2], &[other]])
    })?;
    c.await_leader(&[s5, c1, d1])?;
    c.one(3)?;
    run(&mut c.sim, |s| s.heal())?;
    c.one(5)?;
    Ok(())
}

/// Four nodes, then six: the leader with half of the nodes (itself
/// included) commits nothing, since half is not a majority; with one node
/// more it commits.
pub fn even_majorities<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    for n in [4, 6] {
        let mut c = Cluster::new(seed, n, build, Options::default());
        let ids = c.ids();
        c.one(n)?;
        let leader = c.await_leader(&ids)?;
        let mut half: Vec<NodeId> = vec![leader];
        half.extend(ids.iter().copied().filter(|&i| i != leader).take(n / 2 - 1));
        let rest: Vec<NodeId> = ids.iter().copied().filter(|i| !half.contains(i)).collect();
        run(&mut c.sim, |s| s.partition(&[&half, &rest]))?;
        let why = format!("it could reach only {} of {n} nodes", names(&half));
        not_committed(&mut c, leader, &why)?;
        run(&mut c.sim, |s| s.heal())?;
        c.one(n)?;
        let leader = c.await_leader(&ids)?;
        let mut more: Vec<NodeId> = vec![leader];
        more.extend(ids.iter().copied().filter(|&i| i != leader).take(n / 2));
        let rest: Vec<NodeId> = ids.iter().copied().filter(|i| !more.contains(i)).collect();
        run(&mut c.sim, |s| s.partition(&[&more, &rest]))?;
        c.one(more.len())?;
        run(&mut c.sim, |s| s.heal())?;
    }
    Ok(())
}

/// A follower is cut off while the two others commit 150 commands; it comes
/// back: the messages until it has applied them all. Backing up one entry
/// per round trip, or sending one entry per message, takes hundreds.
pub fn catch_up_far_behind<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    let mut c = Cluster::new(seed, 3, build, Options::default());
    let ids = c.ids();
    c.one(3)?;
    let leader = c.await_leader(&ids)?;
    let follower = *ids.iter().find(|&&i| i != leader).expect("3 nodes");
    run(&mut c.sim, |s| s.isolate(follower))?;
    let mut last = 0;
    for _ in 0..150 {
        last = c.one(2)?;
    }
    let sent = c.sim.stats().sent;
    run(&mut c.sim, |s| s.heal())?;
    let caught_up = move |s: &Sim<N>| {
        s.node(follower)
            .is_some_and(|n| n.recorder().through() >= last)
    };
    run(&mut c.sim, |s| s.run_until(secs(3), caught_up))?;
    let messages = c.sim.stats().sent - sent;
    if seed == 1 {
        metric(
            "messages to catch up a follower 150 entries behind",
            messages,
        );
    }
    let through = c.sim.node(follower).map_or(0, |n| n.recorder().through());
    ensure(through >= last && messages <= 80, CATCH_UP, || {
        format!(
            "{follower} came back 150 entries behind; {messages} messages later it had applied \
             up to {through} of {last}"
        )
    })
}
