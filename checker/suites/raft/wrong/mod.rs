//! Known-wrong Raft nodes: a copy of the reference (`node.rs`,
//! `replication.rs`) with one mistake switched on by a [`Bug`]. The
//! `meta::` tests run the graded scenarios on them and require the
//! intended property to fail; [`Bug::None`] must pass.

mod node;
mod replication;

use super::cluster::Build;
use super::observe::Observed;
use super::recorder::Recorder;
use crate::subject::raft::Log;
use crate::subject::raft::{Index, Role, Term};
use dsim::NodeId;
use std::rc::Rc;

pub use node::Wrong;

/// One mistake a learner could make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bug {
    /// None: the reference as it is.
    None,
    /// Commits an entry of an earlier term once a majority holds it
    /// (Figure 8).
    CountsOldTermReplicas,
    /// Keeps the vote only in memory: a restarted node can vote again in
    /// the same term.
    VoteNotPersisted,
    /// Grants its vote without the election restriction.
    VotesForShorterLog,
    /// Takes AppendEntries from a leader of an older term.
    AcceptsOlderTerm,
    /// On a conflict, keeps its own entry instead of deleting it and all
    /// that follow.
    KeepsConflictingEntries,
    /// Commits up to min(leader_commit, its last index), past the entries
    /// the request vouched for.
    CommitsPastNewEntries,
    /// Applies newly committed entries from the highest index down.
    AppliesOutOfOrder,
    /// Writes term 0 for the snapshot's last entry.
    SnapshotForgetsTerm,
    /// Installs a snapshot older than what it has already committed.
    InstallsStaleSnapshot,
}

/// Builds wrong nodes with `bug`.
pub fn build(bug: Bug) -> Build<Wrong<Recorder>> {
    Rc::new(move |id, members, options| Wrong::new(id, members, options, bug))
}

impl Observed for Wrong<Recorder> {
    fn role(&self) -> Role {
        self.role
    }
    fn term(&self) -> Term {
        self.current_term
    }
    fn voted_for(&self) -> Option<NodeId> {
        self.voted_for
    }
    fn commit_index(&self) -> Index {
        self.commit_index
    }
    fn log(&self) -> &Log<u64> {
        &self.log
    }
    fn recorder(&self) -> &Recorder {
        &self.state_machine
    }
}
