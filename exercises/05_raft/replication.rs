//! # raft_replication: AppendEntries, the commit rule, applying
//!
//! The leader appends each client command to its log and sends followers
//! the entries they lack. A follower accepts entries only after an entry it
//! already holds (the consistency check on `prev_log_index` and
//! `prev_log_term`); a conflicting entry and all that follow it are deleted.
//! An entry is committed once stored on a majority *and* of the leader's
//! own term (Figure 8); committed entries are applied in index order.
//!
//! Save the log with `self.log.save(ctx.storage(), from)` whenever you
//! change it (from the first index that changed): until `raft_persistence`
//! nothing reads it back, but it must be there when something does.

use crate::raft::{AppendEntries, AppendReply, Index, Msg, Raft, Role, Term};
use dsim::{Ctx, NodeId, RequestId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;
// You will also need `std::collections::BTreeSet`.

/// At most this many entries travel in one AppendEntries, so that a
/// follower far behind is caught up in several rounds of bounded messages.
pub const MAX_ENTRIES_PER_MESSAGE: usize = 32;

/// What a log entry carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Payload<C> {
    /// A client's command, applied to the state machine once committed.
    Command(C),
    /// The cluster's new set of voting members (membership changes): it
    /// takes effect on each node as soon as it is in that node's log.
    Config(Vec<NodeId>),
    /// Nothing: a leader appends one to commit an entry of its own term
    /// before it changes the membership.
    Noop,
}

/// One entry of the log: a payload and the term of the leader that created
/// it. Once committed, an entry never changes on any node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry<C> {
    /// The term in which a leader received the entry.
    pub term: Term,
    /// What the entry carries.
    pub payload: Payload<C>,
}

/// What a client asks a node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request<C> {
    /// Append this command to the log and apply it once committed.
    Command(C),
    /// Make this node a voting member (one server at a time).
    AddServer(NodeId),
    /// Stop counting this node as a member (one server at a time).
    RemoveServer(NodeId),
}

/// What the client gets back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply<O> {
    /// The command was committed at `index` and applied, with this output.
    Applied { index: Index, output: O },
    /// The membership change was committed at `index`.
    Reconfigured { index: Index },
    /// This node is not the leader; try `leader` if it is known.
    NotLeader { leader: Option<NodeId> },
    /// The leader cannot start a membership change yet (another change is
    /// not committed, or no entry of its term is): try again shortly.
    Busy,
}

/// The application the log drives: entries are applied to it in index
/// order, once committed, on every node.
pub trait StateMachine: Debug + Default + 'static {
    /// What a client command is.
    type Command: Clone + Debug + PartialEq + Serialize + DeserializeOwned;
    /// What applying a command returns to the client.
    type Output: Clone + Debug + Serialize;

    /// Applies the command of entry `index` and returns its output.
    fn apply(&mut self, index: Index, command: &Self::Command) -> Self::Output;

    /// The whole state, as bytes for a snapshot.
    fn snapshot(&self) -> Vec<u8>;

    /// The state a snapshot holds.
    fn restore(snapshot: &[u8]) -> Self;
}

// ----- the rules of replication -------------------------------------------------

impl<S: StateMachine> Raft<S> {
    /// A client request. Only the leader takes commands: it appends the
    /// command to its log (saved before anything is sent), remembers whom
    /// to answer once the entry is applied, and sends it out at once.
    /// Membership requests go to [`Raft::change_membership`].
    pub fn on_client_request(
        &mut self,
        ctx: &mut Ctx<Self>,
        id: RequestId,
        req: Request<S::Command>,
    ) {
        todo!("not the leader: reply Reply::NotLeader {{ leader }}; a Command: append_as_leader(Payload::Command, Some(id)); AddServer/RemoveServer: change_membership(ctx, id, node, add)")
    }

    /// The leader appends `payload` in its term, saves the log, and sends
    /// the entry to every follower; `id` is answered once it is applied.
    pub fn append_as_leader(
        &mut self,
        ctx: &mut Ctx<Self>,
        payload: Payload<S::Command>,
        id: Option<RequestId>,
    ) {
        todo!("log.append, log.save from that index, waiting.insert(index, (term, id)), broadcast_append_entries, advance_commit_index (a one-node cluster commits at once)")
    }

    /// Sends `peer` the entries from its `next_index` on (at most
    /// `MAX_ENTRIES_PER_MESSAGE`), after the entry before them; or the
    /// snapshot ([`Raft::send_snapshot`]), if the log no longer holds the
    /// entry before them.
    pub fn replicate_to(&mut self, ctx: &mut Ctx<Self>, peer: NodeId) {
        todo!("for raft_election, AppendEntries with no entries and prev_log_index, prev_log_term, leader_commit 0 is enough; for raft_replication: next = next_index[peer] (a new member starts at last index + 1); prev = next - 1; log.term_at(prev) is None -> send_snapshot; else Msg::AppendEntries with log.entries_from(next, …) and commit_index")
    }

    /// AppendEntries from `leader`. Refuse an older term. Otherwise the
    /// sender is this term's leader: follow it and reset the election
    /// timer. Then the consistency check; on success, append the entries
    /// not already held (deleting a conflicting suffix), save, and commit
    /// up to the leader's commit index, but never past the last entry this
    /// request vouched for. Entries at or before the snapshot
    /// (`log.base_index()`) are committed already: skip them.
    pub fn on_append_entries(
        &mut self,
        ctx: &mut Ctx<Self>,
        leader: NodeId,
        request: AppendEntries<S::Command>,
    ) {
        let AppendEntries {
            term,
            prev_log_index,
            prev_log_term,
            entries,
            leader_commit,
        } = request;
        todo!("observe_term; older term: reply_append(false); follow(leader); consistency check (failure: retry_from = last + 1, or log.first_index_of_term_at(prev)); merge the entries; log.save; commit_index = max(commit_index, min(leader_commit, last new index)); apply_committed; reply_append(true, last new index)")
    }

    /// Accepts `leader` as this term's leader: a candidate that hears from
    /// it gives up, and the election timer starts again. (Given.)
    pub fn follow(&mut self, ctx: &mut Ctx<Self>, leader: NodeId) {
        self.role = Role::Follower;
        self.leader = Some(leader);
        self.reset_election_timer(ctx);
    }

    /// Answers an AppendEntries. (Given.)
    pub fn reply_append(
        &self,
        ctx: &mut Ctx<Self>,
        to: NodeId,
        success: bool,
        match_index: Index,
        retry_from: Index,
    ) {
        let reply = Msg::AppendReply(AppendReply {
            term: self.current_term,
            success,
            match_index,
            retry_from,
        });
        ctx.send(to, reply);
    }

    /// A follower's answer. On success, record how far its log matches and
    /// see whether more is committed; on failure, back up its
    /// `next_index` to where it said to retry, and send again at once.
    pub fn on_append_reply(&mut self, ctx: &mut Ctx<Self>, follower: NodeId, reply: AppendReply) {
        let AppendReply {
            term,
            success,
            match_index,
            retry_from,
        } = reply;
        todo!("observe_term; ignore unless leader of that same term; success: match_index = max(old, m), next_index = max(old, match + 1), advance_commit_index; failure: next_index = max(min(retry_from, next_index - 1), match + 1), replicate_to")
    }

    /// The commit rule: the highest index `n` held by a majority (the
    /// leader counts itself if it is a member) whose entry is of the
    /// current term. Entries of earlier terms are committed only with it,
    /// never by counting their own replicas (Figure 8).
    pub fn advance_commit_index(&mut self, ctx: &mut Ctx<Self>) {
        todo!("only a leader: for n from the last index down to commit_index + 1, while log.term_at(n) is the current term: if the nodes with match_index >= n, plus yourself, are a quorum, commit_index = n, apply_committed, stop")
    }

    /// Applies the committed entries not yet applied, one by one in index
    /// order, answering the client that waits for each (if its entry is
    /// still the one it was given). Then [`Raft::step_down_if_removed`]
    /// and [`Raft::maybe_snapshot`] (both do nothing until their steps).
    pub fn apply_committed(&mut self, ctx: &mut Ctx<Self>) {
        todo!("while last_applied < commit_index: last_applied += 1; a Command: state_machine.apply(index, command) -> Reply::Applied; a Config: Reply::Reconfigured; a Noop: nothing; reply to waiting.remove(index) if its term is the entry's")
    }
}
