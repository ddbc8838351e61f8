//! The reference node's state, helpers, handlers, election and persistence,
//! copied with a [`Bug`] switch (see `mod.rs`).

use super::Bug;
use crate::subject::raft::Log;
use crate::subject::raft::{
    Index, Msg, Options, Reply, Request, Role, Snapshot, StateMachine, Term, Timer,
    ELECTION_TIMEOUT_MAX, ELECTION_TIMEOUT_MIN, HEARTBEAT_INTERVAL,
};
use dsim::{Ctx, Node, NodeId, RequestId};
use std::collections::{BTreeMap, BTreeSet};

/// One Raft node driving the state machine `S`.
#[derive(Debug)]
pub struct Wrong<S: StateMachine> {
    /// This node.
    pub id: NodeId,

    // ----- persistent state: on storage before answering any message -----
    /// The latest term this node has seen (0 at first, only ever grows).
    pub current_term: Term,
    /// The candidate this node voted for in `current_term`, if any.
    pub voted_for: Option<NodeId>,
    /// The log (and the snapshot's place in it).
    pub log: Log<S::Command>,

    // ----- volatile state -----
    /// The highest index known to be committed.
    pub commit_index: Index,
    /// The highest index applied to the state machine.
    pub last_applied: Index,
    /// Follower, candidate or leader.
    pub role: Role,
    /// The leader of `current_term`, once known.
    pub leader: Option<NodeId>,
    /// The application.
    pub state_machine: S,
    /// As a candidate: the members that voted for this node in its term.
    pub votes: BTreeSet<NodeId>,

    // ----- volatile state on leaders, reset after each election -----
    /// For each other member: the index of the next entry to send it.
    pub next_index: BTreeMap<NodeId, Index>,
    /// For each other member: the highest index known to match its log.
    pub match_index: BTreeMap<NodeId, Index>,

    /// Client requests waiting for their entry to be applied: index →
    /// (the entry's term, the request).
    pub waiting: BTreeMap<Index, (Term, RequestId)>,
    /// How the node is set up.
    pub options: Options,
    /// The planted mistake.
    pub bug: Bug,
}

impl<S: StateMachine> Wrong<S> {
    /// A node that has never run, in a cluster whose initial members are
    /// `members` (a node not among them waits to be added).
    pub fn new(id: NodeId, members: &[NodeId], options: Options, bug: Bug) -> Self {
        Wrong {
            id,
            current_term: 0,
            voted_for: None,
            log: Log::new(members),
            commit_index: 0,
            last_applied: 0,
            role: Role::Follower,
            leader: None,
            state_machine: S::default(),
            votes: BTreeSet::new(),
            next_index: BTreeMap::new(),
            match_index: BTreeMap::new(),
            waiting: BTreeMap::new(),
            options,
            bug,
        }
    }

    // ----- given helpers --------------------------------------------------------

    /// Whether this node is a voting member (in the newest configuration in
    /// its log).
    pub fn is_member(&self) -> bool {
        self.log.config().contains(&self.id)
    }

    /// The other members, in order.
    pub fn other_members(&self) -> Vec<NodeId> {
        self.log
            .config()
            .iter()
            .copied()
            .filter(|&m| m != self.id)
            .collect()
    }

    /// Whether `nodes` hold a majority of the current configuration.
    pub fn is_quorum(&self, nodes: &BTreeSet<NodeId>) -> bool {
        let config = self.log.config();
        let present = config.iter().filter(|m| nodes.contains(m)).count();
        2 * present > config.len()
    }

    /// Sets the election timer to a random timeout.
    pub fn reset_election_timer(&self, ctx: &mut Ctx<Self>) {
        let timeout = ctx
            .rng()
            .duration(ELECTION_TIMEOUT_MIN..=ELECTION_TIMEOUT_MAX);
        ctx.set_timer(Timer::Election, timeout);
    }
}

impl<S: StateMachine> Node for Wrong<S> {
    type Msg = Msg<S::Command>;
    type Timer = Timer;
    type Request = Request<S::Command>;
    type Reply = Reply<S::Output>;

    /// At boot and after every restart: read back what storage holds, and
    /// start the election timer.
    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        self.restore(ctx);
        self.reset_election_timer(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Self::Msg) {
        match msg {
            Msg::RequestVote {
                term,
                last_log_index,
                last_log_term,
            } => self.on_request_vote(ctx, from, term, last_log_index, last_log_term),
            Msg::Vote { term, granted } => self.on_vote(ctx, from, term, granted),
            Msg::AppendEntries {
                term,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
            } => self.on_append_entries(
                ctx,
                from,
                term,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
            ),
            Msg::AppendReply {
                term,
                success,
                match_index,
                retry_from,
            } => self.on_append_reply(ctx, from, term, success, match_index, retry_from),
            Msg::InstallSnapshot { term, snapshot } => {
                self.on_install_snapshot(ctx, from, term, snapshot)
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        match timer {
            Timer::Election => self.start_election(ctx),
            Timer::Heartbeat => self.on_heartbeat(ctx),
        }
    }

    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, req: Self::Request) {
        self.on_client_request(ctx, id, req);
    }
}

impl<S: StateMachine> Wrong<S> {
    /// Any message with a newer term: adopt the term, forget the vote, and
    /// become (or stay) a follower (Figure 2, "Rules for Servers").
    pub fn observe_term(&mut self, ctx: &mut Ctx<Self>, term: Term) {
        if term > self.current_term {
            self.current_term = term;
            self.voted_for = None;
            self.leader = None;
            self.role = Role::Follower;
            self.persist(ctx);
        }
    }

    /// The election timeout fired (the timer runs on every node, always;
    /// hearing from the leader or granting a vote sets it again): a member
    /// that is not the leader starts an election in the next term, voting
    /// for itself.
    pub fn start_election(&mut self, ctx: &mut Ctx<Self>) {
        self.reset_election_timer(ctx);
        if self.role == Role::Leader || !self.is_member() {
            return;
        }
        self.current_term += 1;
        self.role = Role::Candidate;
        self.leader = None;
        self.voted_for = Some(self.id);
        self.votes = BTreeSet::from([self.id]);
        self.persist(ctx);
        for peer in self.other_members() {
            let request = Msg::RequestVote {
                term: self.current_term,
                last_log_index: self.log.last_index(),
                last_log_term: self.log.last_term(),
            };
            ctx.send(peer, request);
        }
        if self.is_quorum(&self.votes) {
            self.become_leader(ctx);
        }
    }

    /// RequestVote: grant the vote if the candidate's term is current, this
    /// node has not voted for another in it, and the candidate's log is at
    /// least as up to date as this one (last term higher, or equal with an
    /// index at least as high).
    pub fn on_request_vote(
        &mut self,
        ctx: &mut Ctx<Self>,
        candidate: NodeId,
        term: Term,
        last_log_index: Index,
        last_log_term: Term,
    ) {
        self.observe_term(ctx, term);
        let up_to_date =
            (last_log_term, last_log_index) >= (self.log.last_term(), self.log.last_index());
        let up_to_date = up_to_date || self.bug == Bug::VotesForShorterLog;
        let free = self.voted_for.is_none_or(|v| v == candidate);
        let granted = term == self.current_term && free && up_to_date;
        if granted {
            self.voted_for = Some(candidate);
            self.persist(ctx);
            self.reset_election_timer(ctx);
        }
        let reply = Msg::Vote {
            term: self.current_term,
            granted,
        };
        ctx.send(candidate, reply);
    }

    /// A vote came back: count it if it is for this candidacy; a majority
    /// makes this node the leader.
    pub fn on_vote(&mut self, ctx: &mut Ctx<Self>, voter: NodeId, term: Term, granted: bool) {
        self.observe_term(ctx, term);
        if self.role != Role::Candidate || term != self.current_term || !granted {
            return;
        }
        self.votes.insert(voter);
        if self.is_quorum(&self.votes) {
            self.become_leader(ctx);
        }
    }

    /// Won the election: start tracking each follower's log, and assert
    /// leadership at once with a round of AppendEntries.
    pub fn become_leader(&mut self, ctx: &mut Ctx<Self>) {
        self.role = Role::Leader;
        self.leader = Some(self.id);
        self.next_index.clear();
        self.match_index.clear();
        for peer in self.other_members() {
            self.next_index.insert(peer, self.log.last_index() + 1);
            self.match_index.insert(peer, 0);
        }
        self.broadcast_append_entries(ctx);
    }

    /// The heartbeat timer fired: a leader sends every follower what it is
    /// missing (nothing, for one that is up to date).
    pub fn on_heartbeat(&mut self, ctx: &mut Ctx<Self>) {
        if self.role == Role::Leader {
            self.broadcast_append_entries(ctx);
        }
    }

    /// One round of AppendEntries to every other member, and the next
    /// heartbeat timer.
    pub fn broadcast_append_entries(&mut self, ctx: &mut Ctx<Self>) {
        for peer in self.other_members() {
            self.replicate_to(ctx, peer);
        }
        ctx.set_timer(Timer::Heartbeat, HEARTBEAT_INTERVAL);
    }
}

impl<S: StateMachine> Wrong<S> {
    /// Writes the current term and vote to durable storage. Call it whenever
    /// either changes, before sending anything that depends on it: a vote
    /// forgotten in a crash can be given twice in one term.
    pub fn persist(&self, ctx: &mut Ctx<Self>) {
        ctx.storage().put("term", &self.current_term);
        if self.bug != Bug::VoteNotPersisted {
            ctx.storage().put("voted_for", &self.voted_for);
        }
    }

    /// At start: reads term, vote, log and snapshot back from storage (a
    /// node that never ran finds nothing and keeps its fresh state).
    pub fn restore(&mut self, ctx: &mut Ctx<Self>) {
        self.current_term = ctx.storage().get("term").unwrap_or(0);
        self.voted_for = ctx.storage().get("voted_for").flatten();
        if let Some(log) = Log::load(ctx.storage()) {
            self.log = log;
        }
        if let Some(snapshot) = ctx.storage().get::<Snapshot>("snapshot") {
            self.state_machine = S::restore(&snapshot.state);
            self.commit_index = snapshot.last_included_index;
            self.last_applied = snapshot.last_included_index;
        }
    }
}
