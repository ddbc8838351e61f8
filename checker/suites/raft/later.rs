//! Tests of a step's code that only a later step's code can reach. The
//! replication step writes how a follower treats entries its snapshot
//! already covers, and routes membership requests; the persistence step
//! writes how a node restarts from its snapshot. None of that runs until
//! the later step exists, so these scenarios run in the earlier step's
//! group once the later file is written: until then they stop at its
//! `todo!()`, and pass, having nothing yet to check.

use super::cluster::{Build, Cluster};
use super::observe::Observed;
use crate::subject::raft::{Options, Reply, Request};
use dscheck::{ensure, metric, ms, run, secs, Failure, Property, TODO_PROPERTY};
use dsim::{Network, NodeId, Sim};

pub const MEMBERSHIP_REQUESTS: Property = Property {
    name: "AddServer adds the node and RemoveServer removes it",
    hint: "on_client_request: Request::AddServer(node) is change_membership(ctx, id, node, true), \
           Request::RemoveServer(node) is change_membership(ctx, id, node, false)",
    when: &[],
};

/// `result`, unless it stopped at a `todo!()` in `file`: then the later
/// step is not written yet, and there is nothing to check.
pub fn once_written(file: &str, result: Result<(), Failure>) -> Result<(), Failure> {
    match result {
        Err(f) if f.property() == TODO_PROPERTY && f.detail().contains(file) => {
            metric("not run yet: it needs", file);
            Ok(())
        }
        other => other,
    }
}

/// raft_replication: with snapshots every 20 entries, on a network that
/// duplicates messages and holds some back, a follower gets AppendEntries
/// whose first entries its snapshot already covers; it must skip them,
/// check the rest after the snapshot's last entry, and accept (the rules of
/// `rules.rs` check each answer); and applying entries must keep the log
/// short (apply_committed calls maybe_snapshot). Needs `snapshot.rs`.
pub fn entries_inside_the_snapshot<N: Observed>(
    seed: u64,
    build: &Build<N>,
) -> Result<(), Failure> {
    let options = Options {
        snapshot_after: Some(20),
    };
    let result = (|| {
        let mut c = Cluster::new(seed, 3, build, options);
        let network = Network::reliable(ms(1), ms(10)).with_duplication(0.3);
        c.sim.set_network(network.with_long_delays(0.3, ms(120)));
        for _ in 0..15 {
            if let Some(leader) = c.leader() {
                for _ in 0..8 {
                    let command = c.command();
                    c.submit(leader, command);
                }
            }
            c.one(2)?;
        }
        c.sim.set_network(Network::reliable(ms(1), ms(10)));
        c.one(3)?;
        super::snapshots::small(&c)
    })();
    once_written("snapshot.rs", result)
}

/// raft_replication: a leader asked to add a node that is already a member,
/// or to remove one that is not, has nothing to change and answers
/// Reconfigured; asked the opposite, it changes the configuration; a
/// leader that removes itself steps down once that is applied. Needs
/// `membership.rs`.
pub fn membership_requests<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    let result = (|| {
        let members = [NodeId(0), NodeId(1), NodeId(2)];
        let mut c = Cluster::with_members(seed, 4, &members, build, Options::default());
        c.one(3)?;
        let first = c.await_leader(&members)?;
        for (request, members_after) in [
            (Request::AddServer(NodeId(3)), 4),
            (Request::RemoveServer(NodeId(3)), 3),
            (Request::RemoveServer(first), 2),
        ] {
            let what = format!("{request:?}");
            let mut done = false;
            let deadline = c.sim.now() + secs(5);
            while !done && c.sim.now() < deadline {
                let Some(leader) = c.leader() else {
                    c.run_for(ms(50))?;
                    continue;
                };
                let id = c.sim.request(leader, request.clone());
                let answered =
                    move |s: &Sim<N>| s.history().iter().any(|o| o.id == id && o.is_complete());
                run(&mut c.sim, |s| s.run_until(secs(1), answered))?;
                done = matches!(c.reply(id), Some(Reply::Reconfigured { .. }));
                if done {
                    let config = c.sim.node(leader).map(|n| n.log().config().to_vec());
                    let size = config.as_ref().map_or(0, Vec::len);
                    ensure(size == members_after, MEMBERSHIP_REQUESTS, || {
                        format!("after {what} was answered Reconfigured, the configuration is {config:?}")
                    })?;
                }
                c.run_for(ms(50))?;
            }
            ensure(done, MEMBERSHIP_REQUESTS, || {
                format!("{what} was not answered Reconfigured within 5 s")
            })?;
        }
        // The removed leader steps down (checked after every event).
        c.run_for(ms(300))?;
        Ok(())
    })();
    once_written("membership.rs", result)
}

/// raft_persistence: every node restarts after a snapshot: restore must
/// start each from its snapshot (state machine, commit and applied index).
/// Needs `snapshot.rs`.
pub fn restart_from_snapshot<N: Observed>(seed: u64, build: &Build<N>) -> Result<(), Failure> {
    once_written(
        "snapshot.rs",
        super::snapshots::reload_rounds(seed, build, 2),
    )
}
