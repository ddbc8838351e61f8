//! The reference node's replication, snapshots and membership changes,
//! copied with a [`Bug`] switch (see `mod.rs`).

use super::{Bug, Wrong};
use crate::subject::raft::{
    Entry, Index, Msg, Payload, Reply, Request, Role, Snapshot, StateMachine, Term, Timer,
    MAX_ENTRIES_PER_MESSAGE,
};
use dsim::{Ctx, NodeId, RequestId};
use std::collections::BTreeSet;

impl<S: StateMachine> Wrong<S> {
    /// A client request. Only the leader takes commands: it appends the
    /// command to its log (saved before anything is sent), remembers whom
    /// to answer once the entry is applied, and sends it out at once.
    pub fn on_client_request(
        &mut self,
        ctx: &mut Ctx<Self>,
        id: RequestId,
        req: Request<S::Command>,
    ) {
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
    }

    /// The leader appends `payload` in its term, saves the log, and sends
    /// the entry to every follower; `id` is answered once it is applied.
    pub fn append_as_leader(
        &mut self,
        ctx: &mut Ctx<Self>,
        payload: Payload<S::Command>,
        id: Option<RequestId>,
    ) {
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
    }

    /// Sends `peer` the entries from its `next_index` on (at most
    /// [`MAX_ENTRIES_PER_MESSAGE`]), after the entry before them; or the
    /// snapshot, if those entries are compacted away.
    pub fn replicate_to(&mut self, ctx: &mut Ctx<Self>, peer: NodeId) {
        let next = *self
            .next_index
            .entry(peer)
            .or_insert(self.log.last_index() + 1);
        self.match_index.entry(peer).or_insert(0);
        let prev_log_index = next - 1;
        let Some(prev_log_term) = self.log.term_at(prev_log_index) else {
            return self.send_snapshot(ctx, peer);
        };
        let request = Msg::AppendEntries {
            term: self.current_term,
            prev_log_index,
            prev_log_term,
            entries: self.log.entries_from(next, MAX_ENTRIES_PER_MESSAGE),
            leader_commit: self.commit_index,
        };
        ctx.send(peer, request);
    }

    /// AppendEntries from `leader`. Refuse an older term. Otherwise the
    /// sender is this term's leader: follow it and reset the election
    /// timer. Then the consistency check; on success, append the entries
    /// not already held (deleting a conflicting suffix), save, and commit
    /// up to the leader's commit index, but never past the last entry this
    /// request vouched for.
    #[allow(clippy::too_many_arguments)] // the arguments of Figure 2
    pub fn on_append_entries(
        &mut self,
        ctx: &mut Ctx<Self>,
        leader: NodeId,
        term: Term,
        prev_log_index: Index,
        prev_log_term: Term,
        entries: Vec<Entry<S::Command>>,
        leader_commit: Index,
    ) {
        self.observe_term(ctx, term);
        if term < self.current_term && self.bug != Bug::AcceptsOlderTerm {
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
                Some(_) if self.bug == Bug::KeepsConflictingEntries => continue,
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
            let last_new = match self.bug {
                Bug::CommitsPastNewEntries => self.log.last_index(),
                _ => last_new,
            };
            self.commit_index = leader_commit.min(last_new).max(self.commit_index);
            self.apply_committed(ctx);
        }
        self.reply_append(ctx, leader, true, last_new, 0);
    }

    /// Accepts `leader` as this term's leader: a candidate that hears from
    /// it gives up, and the election timer starts again.
    pub fn follow(&mut self, ctx: &mut Ctx<Self>, leader: NodeId) {
        self.role = Role::Follower;
        self.leader = Some(leader);
        self.reset_election_timer(ctx);
    }

    fn reply_append(
        &self,
        ctx: &mut Ctx<Self>,
        to: NodeId,
        success: bool,
        match_index: Index,
        retry_from: Index,
    ) {
        let reply = Msg::AppendReply {
            term: self.current_term,
            success,
            match_index,
            retry_from,
        };
        ctx.send(to, reply);
    }

    /// A follower's answer. On success, record how far its log matches and
    /// see whether more is committed; on failure, back up its
    /// `next_index` to where it said to retry, and send again at once.
    pub fn on_append_reply(
        &mut self,
        ctx: &mut Ctx<Self>,
        follower: NodeId,
        term: Term,
        success: bool,
        match_index: Index,
        retry_from: Index,
    ) {
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
    }

    /// The commit rule: the highest index `n` held by a majority (the
    /// leader counts itself if it is a member) whose entry is of the
    /// current term. Entries of earlier terms are committed only with it,
    /// never by counting their own replicas (Figure 8).
    pub fn advance_commit_index(&mut self, ctx: &mut Ctx<Self>) {
        if self.role != Role::Leader {
            return;
        }
        for n in (self.commit_index + 1..=self.log.last_index()).rev() {
            if self.log.term_at(n) != Some(self.current_term)
                && self.bug != Bug::CountsOldTermReplicas
            {
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
    }

    /// Applies the committed entries not yet applied, one by one in index
    /// order, answering the client that waits for each (if its entry is
    /// still the one it was given).
    pub fn apply_committed(&mut self, ctx: &mut Ctx<Self>) {
        let mut order: Vec<Index> = (self.last_applied + 1..=self.commit_index).collect();
        if self.bug == Bug::AppliesOutOfOrder {
            order.reverse();
        }
        self.last_applied = self.last_applied.max(self.commit_index);
        for index in order {
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
    }
}

impl<S: StateMachine> Wrong<S> {
    /// After applying: if the log is longer than allowed, snapshot the state
    /// machine as of `last_applied` (with that entry's term and the
    /// membership as of it), save the snapshot, and compact the log.
    pub fn maybe_snapshot(&mut self, ctx: &mut Ctx<Self>) {
        let Some(limit) = self.options.snapshot_after else {
            return;
        };
        if self.log.len() <= limit || self.last_applied <= self.log.base_index() {
            return;
        }
        let index = self.last_applied;
        let term = self
            .log
            .term_at(index)
            .expect("an applied entry is in the log");
        let term = if self.bug == Bug::SnapshotForgetsTerm {
            0
        } else {
            term
        };
        let snapshot = Snapshot {
            last_included_index: index,
            last_included_term: term,
            config: self.log.config_at(index).to_vec(),
            state: self.state_machine.snapshot(),
        };
        ctx.storage().put("snapshot", &snapshot);
        self.log.compact(index, term);
        self.log.save(ctx.storage(), index + 1);
    }

    /// The leader sends its snapshot to `peer`.
    pub fn send_snapshot(&mut self, ctx: &mut Ctx<Self>, peer: NodeId) {
        let snapshot: Snapshot = ctx
            .storage()
            .get("snapshot")
            .expect("a leader that compacted its log has a snapshot");
        let request = Msg::InstallSnapshot {
            term: self.current_term,
            snapshot,
        };
        ctx.send(peer, request);
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
        term: Term,
        snapshot: Snapshot,
    ) {
        self.observe_term(ctx, term);
        let reply = |node: &Self, ctx: &mut Ctx<Self>, success: bool, match_index| {
            let reply = Msg::AppendReply {
                term: node.current_term,
                success,
                match_index,
                retry_from: 0,
            };
            ctx.send(leader, reply);
        };
        if term < self.current_term {
            return reply(self, ctx, false, 0);
        }
        self.follow(ctx, leader);
        let index = snapshot.last_included_index;
        if index > self.commit_index || self.bug == Bug::InstallsStaleSnapshot {
            if self.log.term_at(index) == Some(snapshot.last_included_term) {
                self.log.compact(index, snapshot.last_included_term);
            } else {
                self.log.reset_to(&snapshot);
            }
            self.state_machine = S::restore(&snapshot.state);
            self.commit_index = index;
            self.last_applied = index;
            ctx.storage().put("snapshot", &snapshot);
            self.log.save(ctx.storage(), index + 1);
        }
        debug_assert!(self.role == Role::Follower);
        reply(self, ctx, true, index);
    }
}

impl<S: StateMachine> Wrong<S> {
    /// The leader is asked to add (`add`) or remove `node`. If no entry of
    /// this term is committed yet, answer [`Reply::Busy`] and append a
    /// [`Payload::Noop`] (once) so that one will be; if a change is still
    /// uncommitted, answer [`Reply::Busy`]. A change that changes
    /// nothing is answered at once. Otherwise append the new configuration;
    /// `id` is answered when it is applied.
    pub fn change_membership(
        &mut self,
        ctx: &mut Ctx<Self>,
        id: RequestId,
        node: NodeId,
        add: bool,
    ) {
        if self.log.term_at(self.commit_index) != Some(self.current_term) {
            if self.log.last_term() != self.current_term {
                self.append_as_leader(ctx, Payload::Noop, None);
            }
            return ctx.reply(id, Reply::Busy);
        }
        if self.log.config_index() > self.commit_index {
            return ctx.reply(id, Reply::Busy);
        }
        let mut members = self.log.config().to_vec();
        if members.contains(&node) == add {
            return ctx.reply(
                id,
                Reply::Reconfigured {
                    index: self.log.config_index(),
                },
            );
        }
        if add {
            members.push(node);
            members.sort();
        } else {
            members.retain(|&m| m != node);
        }
        self.append_as_leader(ctx, Payload::Config(members), Some(id));
    }

    /// A leader whose removal is committed steps down (it went on leading
    /// until then, without counting itself).
    pub fn step_down_if_removed(&mut self, ctx: &mut Ctx<Self>) {
        if self.role == Role::Leader
            && !self.is_member()
            && self.log.config_index() <= self.commit_index
        {
            self.role = Role::Follower;
            self.leader = None;
            ctx.cancel_timer(Timer::Heartbeat);
        }
    }
}
