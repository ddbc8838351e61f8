//! # raft_snapshots: compaction and InstallSnapshot
//!
//! The log cannot grow for ever. Once it holds more than
//! `options.snapshot_after` entries, a node writes its state machine into a
//! [`Snapshot`] of everything applied so far and discards those entries.
//! A follower so far behind that the leader has discarded the entries it
//! needs gets the leader's snapshot instead (Figure 13).
//!
//! Keep the node's latest snapshot in storage under the key "snapshot":
//! [`Raft::restore`] reads it from there after a restart.

use crate::raft::{Index, InstallSnapshot, Raft, StateMachine, Term};
use dsim::{Ctx, NodeId};
use serde::{Deserialize, Serialize};
// You will also need `crate::raft::{AppendReply, Msg}`.

/// How a node is set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Options {
    /// Take a snapshot once the log holds more than this many entries
    /// (`None`: never compact).
    pub snapshot_after: Option<usize>,
}

/// A compacted prefix of the log: the state machine as it was after
/// applying entry `last_included_index`, and what is needed to keep
/// checking the log after it (Figure 13).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The last entry the snapshot replaces.
    pub last_included_index: Index,
    /// That entry's term: the consistency check of the next AppendEntries
    /// and the election restriction both need it.
    pub last_included_term: Term,
    /// The membership as of that entry.
    pub config: Vec<NodeId>,
    /// The state machine, as [`StateMachine::snapshot`] wrote it.
    pub state: Vec<u8>,
}

// ----- the rules of snapshots ---------------------------------------------------

impl<S: StateMachine> Raft<S> {
    /// After applying: if the log is longer than allowed, snapshot the state
    /// machine as of `last_applied` (with that entry's term and the
    /// membership as of it), save the snapshot, and compact the log.
    pub fn maybe_snapshot(&mut self, ctx: &mut Ctx<Self>) {
        let Some(limit) = self.options.snapshot_after else {
            return;
        };
        todo!("if log.len() > limit and last_applied > log.base_index(): build the Snapshot (state_machine.snapshot(), log.config_at), storage put \"snapshot\", log.compact(index, term), log.save")
    }

    /// The leader sends its snapshot to `peer`.
    pub fn send_snapshot(&mut self, ctx: &mut Ctx<Self>, peer: NodeId) {
        todo!("read the snapshot from storage and send Msg::InstallSnapshot in the current term")
    }

    /// InstallSnapshot from `leader`. Refuse an older term; otherwise
    /// follow the leader. A snapshot this node has already passed (its
    /// commit index is at or after the snapshot's last entry) changes
    /// nothing. Otherwise keep the log entries after the snapshot if the
    /// log agrees with its last entry, else drop the whole log; save the
    /// snapshot and the log; load the state machine from it. Either way,
    /// answer like a successful AppendEntries up to the snapshot's end.
    pub fn on_install_snapshot(
        &mut self,
        ctx: &mut Ctx<Self>,
        leader: NodeId,
        request: InstallSnapshot,
    ) {
        let InstallSnapshot { term, snapshot } = request;
        todo!("observe_term; older term: refuse; follow; if newer than commit_index: log.compact or log.reset_to, S::restore, commit_index = last_applied = its index, save both; reply_append(true, its index)")
    }
}
