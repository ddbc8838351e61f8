//! # raft_replication: AppendEntries, the commit rule, applying
//!
//! The leader appends each client command to its log and sends followers
//! the entries they lack. A follower accepts entries only after an entry it
//! already holds (the consistency check on `prev_log_index` and
//! `prev_log_term`); a conflicting entry and all that follow it are deleted.
//! An entry is committed once stored on a majority *and* of the leader's
//! own term (Figure 8); committed entries are applied in index order.
// exercise: begin
// stub: //!
// stub: //! Save the log with `self.log.save(ctx.storage(), from)` whenever you
// stub: //! change it (from the first index that changed): until `raft_persistence`
// stub: //! nothing reads it back, but it must be there when something does.
// exercise: end

use crate::raft::{AppendEntries, AppendReply, Index, Msg, Raft, Role, Term};
use dsim::{Ctx, NodeId, RequestId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
// exercise: begin
use std::collections::BTreeSet;
// exercise: end
use std::fmt::Debug;
// exercise: begin
// stub: // You will also need `std::collections::BTreeSet`.
// exercise: end

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
        // exercise: begin "not the leader: reply Reply::NotLeader {{ leader }}; a Command: append_as_leader(Payload::Command, Some(id)); AddServer/RemoveServer: change_membership(ctx, id, node, add)"
        if self.role != Role::Leader {
            ctx.reply(
                id,
                Reply::NotLeader {
                    leader: self.leader,
                },
            );
            return;
        }
        let command = match req {
            Request::Command(command) => command,
            Request::AddServer(node) => return self.change_membership(ctx, id, node, true),
            Request::RemoveServer(node) => return self.change_membership(ctx, id, node, false),
        };
        self.append_as_leader(ctx, Payload::Command(command), Some(id));
        // exercise: end
    }

    /// The leader appends `payload` in its term, saves the log, and sends
    /// the entry to every follower; `id` is answered once it is applied.
    pub fn append_as_leader(
        &mut self,
        ctx: &mut Ctx<Self>,
        payload: Payload<S::Command>,
        id: Option<RequestId>,
    ) {
        // exercise: begin "log.append, log.save from that index, waiting.insert(index, (term, id)), broadcast_append_entries, advance_commit_index (a one-node cluster commits at once)"
        let index = self.log.append(Entry {
            term: self.current_term,
            payload,
        });
        self.log.save(ctx.storage(), index);
        if let Some(id) = id {
            self.waiting.insert(index, (self.current_term, id));
        }
        self.broadcast_append_entries(ctx);
        self.advance_commit_index(ctx);
        // exercise: end
    }

    /// Sends `peer` the entries from its `next_index` on (at most
    /// `MAX_ENTRIES_PER_MESSAGE`), after the entry before them; or the
    /// snapshot ([`Raft::send_snapshot`]), if the log no longer holds the
    /// entry before them.
    pub fn replicate_to(&mut self, ctx: &mut Ctx<Self>, peer: NodeId) {
        // exercise: begin "for raft_election, AppendEntries with no entries and prev_log_index, prev_log_term, leader_commit 0 is enough; for raft_replication: next = next_index[peer] (a new member starts at last index + 1); prev = next - 1; log.term_at(prev) is None -> send_snapshot; else Msg::AppendEntries with log.entries_from(next, …) and commit_index"
        let next = *self
            .next_index
            .entry(peer)
            .or_insert(self.log.last_index() + 1);
        self.match_index.entry(peer).or_insert(0);
        let prev_log_index = next - 1;
        let Some(prev_log_term) = self.log.term_at(prev_log_index) else {
            return self.send_snapshot(ctx, peer);
        };
        let request = Msg::AppendEntries(AppendEntries {
            term: self.current_term,
            prev_log_index,
            prev_log_term,
            entries: self.log.entries_from(next, MAX_ENTRIES_PER_MESSAGE),
            leader_commit: self.commit_index,
        });
        ctx.send(peer, request);
        // exercise: end
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
        // exercise: begin "observe_term; older term: reply_append(false); follow(leader); consistency check (failure: retry_from = last + 1, or log.first_index_of_term_at(prev)); merge the entries; log.save; commit_index = max(commit_index, min(leader_commit, last new index)); apply_committed; reply_append(true, last new index)"
        self.observe_term(ctx, term);
        if term < self.current_term {
            return self.reply_append(ctx, leader, false, 0, 0);
        }
        self.follow(ctx, leader);
        // Entries the snapshot already covers are committed: skip them.
        let skip = self.log.base_index().saturating_sub(prev_log_index);
        if skip > entries.len() as Index {
            return self.reply_append(ctx, leader, true, self.log.base_index(), 0);
        }
        let (prev_log_index, prev_log_term, entries) = if skip > 0 {
            let at = prev_log_index + skip;
            let term = entries[skip as usize - 1].term;
            (at, term, entries[skip as usize..].to_vec())
        } else {
            (prev_log_index, prev_log_term, entries)
        };
        if self.log.term_at(prev_log_index) != Some(prev_log_term) {
            let retry_from = if prev_log_index > self.log.last_index() {
                self.log.last_index() + 1
            } else {
                self.log.first_index_of_term_at(prev_log_index)
            };
            return self.reply_append(ctx, leader, false, 0, retry_from);
        }
        let last_new = prev_log_index + entries.len() as Index;
        let mut changed_from = None;
        for (index, entry) in (prev_log_index + 1..).zip(entries) {
            match self.log.term_at(index) {
                Some(term) if term == entry.term => continue,
                Some(_) => self.log.truncate_after(index - 1),
                None => {}
            }
            changed_from.get_or_insert(index);
            self.log.append(entry);
        }
        if let Some(from) = changed_from {
            self.log.save(ctx.storage(), from);
        }
        if leader_commit > self.commit_index {
            self.commit_index = leader_commit.min(last_new).max(self.commit_index);
            self.apply_committed(ctx);
        }
        self.reply_append(ctx, leader, true, last_new, 0);
        // exercise: end
    }

    /// Accepts `leader` as this term's leader: a candidate that hears from
    // exercise: begin
    // stub: /// it gives up, and the election timer starts again. (Given.)
    /// it gives up, and the election timer starts again.
    // exercise: end
    pub fn follow(&mut self, ctx: &mut Ctx<Self>, leader: NodeId) {
        self.role = Role::Follower;
        self.leader = Some(leader);
        self.reset_election_timer(ctx);
    }

    // exercise: begin
    // stub: /// Answers an AppendEntries. (Given.)
    /// Answers an AppendEntries.
    // exercise: end
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
        // exercise: begin "observe_term; ignore unless leader of that same term; success: match_index = max(old, m), next_index = max(old, match + 1), advance_commit_index; failure: next_index = max(min(retry_from, next_index - 1), match + 1), replicate_to"
        self.observe_term(ctx, term);
        if self.role != Role::Leader || term != self.current_term {
            return;
        }
        let matched = self.match_index.entry(follower).or_insert(0);
        if success {
            *matched = (*matched).max(match_index);
            let next = *matched + 1;
            let next_index = self.next_index.entry(follower).or_insert(next);
            *next_index = (*next_index).max(next);
            self.advance_commit_index(ctx);
        } else {
            let floor = *matched + 1;
            let next_index = self.next_index.entry(follower).or_insert(floor);
            *next_index = retry_from.min(*next_index - 1).max(floor);
            self.replicate_to(ctx, follower);
        }
        // exercise: end
    }

    /// The commit rule: the highest index `n` held by a majority (the
    /// leader counts itself if it is a member) whose entry is of the
    /// current term. Entries of earlier terms are committed only with it,
    /// never by counting their own replicas (Figure 8).
    pub fn advance_commit_index(&mut self, ctx: &mut Ctx<Self>) {
        // exercise: begin "only a leader: for n from the last index down to commit_index + 1, while log.term_at(n) is the current term: if the nodes with match_index >= n, plus yourself, are a quorum, commit_index = n, apply_committed, stop"
        if self.role != Role::Leader {
            return;
        }
        for n in (self.commit_index + 1..=self.log.last_index()).rev() {
            if self.log.term_at(n) != Some(self.current_term) {
                break;
            }
            let mut holders: BTreeSet<NodeId> = self
                .match_index
                .iter()
                .filter(|&(_, &m)| m >= n)
                .map(|(&peer, _)| peer)
                .collect();
            holders.insert(self.id);
            if self.is_quorum(&holders) {
                self.commit_index = n;
                self.apply_committed(ctx);
                return;
            }
        }
        // exercise: end
    }

    /// Applies the committed entries not yet applied, one by one in index
    /// order, answering the client that waits for each (if its entry is
    /// still the one it was given). Then [`Raft::step_down_if_removed`]
    /// and [`Raft::maybe_snapshot`] (both do nothing until their steps).
    pub fn apply_committed(&mut self, ctx: &mut Ctx<Self>) {
        // exercise: begin "while last_applied < commit_index: last_applied += 1; a Command: state_machine.apply(index, command) -> Reply::Applied; a Config: Reply::Reconfigured; a Noop: nothing; reply to waiting.remove(index) if its term is the entry's"
        while self.last_applied < self.commit_index {
            self.last_applied += 1;
            let index = self.last_applied;
            let entry = self
                .log
                .get(index)
                .expect("a committed entry not yet applied is in the log");
            let term = entry.term;
            let reply = match &entry.payload {
                Payload::Command(command) => Reply::Applied {
                    index,
                    output: self.state_machine.apply(index, command),
                },
                Payload::Config(_) => Reply::Reconfigured { index },
                Payload::Noop => continue,
            };
            if let Some((waited_term, id)) = self.waiting.remove(&index) {
                if waited_term == term {
                    ctx.reply(id, reply);
                }
            }
        }
        self.step_down_if_removed(ctx);
        self.maybe_snapshot(ctx);
        // exercise: end
    }
}
