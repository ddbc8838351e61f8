//! # raft_election: the node, its terms, votes and heartbeats
//!
//! Raft keeps a log of commands identical on a majority of nodes, so that a
//! state machine fed from it gives the same results everywhere, as long as
//! a majority is up and can talk. This file holds the node: its state
//! (named as in Figure 2 of the Raft paper), its messages, the [`Node`]
//! handlers (which only dispatch), and the rules of elections. The other
//! steps add their rules in their own files, each graded by its own suite
//! group:
//!
//! 1. `election.rs` (`raft_election`): terms, votes, randomised election
//!    timeouts, heartbeats;
//! 2. `replication.rs` (`raft_replication`): client commands, AppendEntries
//!    and its consistency check, the commit rule, applying;
//! 3. `persist.rs` (`raft_persistence`): the log, and term, vote and log on
//!    durable storage before any answer, read back after a restart;
//! 4. `snapshot.rs` (`raft_snapshots`): compaction and InstallSnapshot;
//! 5. `membership.rs` (`raft_membership`): one server at a time.
//! 6. `kv.rs` (`raft_kv`): a key-value store on the log, with client
//!    sessions.
//!
//! Read `exercises/05_raft/README.md` first: it explains each rule and why
//! it is needed.
//!
//! Time is cut into terms; each begins with an election. A follower that
//! hears nothing from a leader for an election timeout becomes a candidate
//! in the next term and asks every member for its vote; a member votes at
//! most once per term, and only for a candidate whose log is at least as up
//! to date as its own; a majority of votes makes a leader, which asserts
//! itself with AppendEntries every [`HEARTBEAT_INTERVAL`].
//!
//! Fill in the `todo!()`s from the top down. Until `replication.rs` is
//! done, a leader's AppendEntries go through its stubs: write first
//! versions of [`Raft::replicate_to`] (send `AppendEntries` with no entries,
//! `prev_log_index` and `prev_log_term` 0), [`Raft::on_append_entries`]
//! (refuse an older term, otherwise [`Raft::follow`] the sender and answer)
//! and [`Raft::on_append_reply`] (only [`Raft::observe_term`]).

use crate::raft::{Entry, Log, Options, Reply, Request, Snapshot, StateMachine};
use dsim::{Ctx, Node, NodeId, RequestId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

/// A term: Raft's logical clock. Each term begins with an election and has
/// at most one leader. Terms only grow, and a message from an older term is
/// stale.
pub type Term = u64;

/// A position in the log, counted from 1 (index 0 is "before the log").
pub type Index = u64;

/// A follower starts an election when it has heard nothing from a leader
/// for a random time drawn from this range. Randomness makes it unlikely
/// that two followers time out together and split the votes.
pub const ELECTION_TIMEOUT_MIN: Duration = Duration::from_millis(150);
/// The upper end of the election timeout range.
pub const ELECTION_TIMEOUT_MAX: Duration = Duration::from_millis(300);
/// How often a leader sends AppendEntries (empty ones are heartbeats): well
/// below the election timeout, so that followers stay followers.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_millis(50);

/// A node's role in its current term.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// Answers leaders and candidates; starts an election on a timeout.
    Follower,
    /// Asks for votes in its term.
    Candidate,
    /// Won its term's election: takes client commands and replicates them.
    Leader,
}

/// A node's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Timer {
    /// No word from a leader for a while: start an election.
    Election,
    /// Time for the leader's next round of AppendEntries.
    Heartbeat,
}

/// What Raft nodes send each other: the two RPCs of Figure 2 and
/// InstallSnapshot of Figure 13, each request with its reply.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound = "C: Serialize + DeserializeOwned")]
pub enum Msg<C> {
    RequestVote(RequestVote),
    Vote(Vote),
    AppendEntries(AppendEntries<C>),
    AppendReply(AppendReply),
    InstallSnapshot(InstallSnapshot),
}

/// A candidate asks for a vote (the sender is the candidate).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestVote {
    /// The candidate's term.
    pub term: Term,
    /// Index of the candidate's last log entry…
    pub last_log_index: Index,
    /// …and its term: a voter refuses a candidate whose log is less up to
    /// date than its own (the election restriction, §5.4.1).
    pub last_log_term: Term,
}

/// The answer to RequestVote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    /// The voter's current term, for the candidate to update itself.
    pub term: Term,
    /// Whether the voter voted for the candidate.
    pub granted: bool,
}

/// A leader replicates entries, or only asserts itself (a heartbeat, with
/// no entries). The sender is the leader.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound = "C: Serialize + DeserializeOwned")]
pub struct AppendEntries<C> {
    /// The leader's term.
    pub term: Term,
    /// The index of the entry just before the new ones…
    pub prev_log_index: Index,
    /// …and its term: the follower accepts only if its own log has this
    /// entry (the consistency check).
    pub prev_log_term: Term,
    /// The entries that follow `prev_log_index` (empty for a heartbeat).
    pub entries: Vec<Entry<C>>,
    /// The leader's commit index.
    pub leader_commit: Index,
}

/// The answer to AppendEntries (and to InstallSnapshot).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendReply {
    /// The follower's current term, for the leader to update itself.
    pub term: Term,
    /// Whether the follower's log now matches the leader's up to
    /// `match_index`.
    pub success: bool,
    /// On success: the index of the last entry the follower now holds from
    /// this request (`prev_log_index` + the entries sent).
    pub match_index: Index,
    /// On failure: where the leader should try next. The follower's last
    /// index + 1 if its log is too short, otherwise the first index of the
    /// term of its conflicting entry, so the leader skips a whole term of
    /// divergent entries in one round trip.
    pub retry_from: Index,
}

/// A leader sends its snapshot to a follower that needs entries the leader
/// has already compacted away.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallSnapshot {
    /// The leader's term.
    pub term: Term,
    /// The snapshot.
    pub snapshot: Snapshot,
}

/// A message shows as the request or reply it carries
/// (`AppendEntries { term: 2, … }`), as in the paper.
impl<C: fmt::Debug> fmt::Debug for Msg<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Msg::RequestVote(request) => request.fmt(f),
            Msg::Vote(vote) => vote.fmt(f),
            Msg::AppendEntries(request) => request.fmt(f),
            Msg::AppendReply(reply) => reply.fmt(f),
            Msg::InstallSnapshot(request) => request.fmt(f),
        }
    }
}

/// One Raft node driving the state machine `S`.
#[derive(Debug)]
pub struct Raft<S: StateMachine> {
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
}

impl<S: StateMachine> Raft<S> {
    /// A node that has never run, in a cluster whose initial members are
    /// `members` (a node not among them waits to be added).
    pub fn new(id: NodeId, members: &[NodeId], options: Options) -> Self {
        Raft {
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

impl<S: StateMachine> Node for Raft<S> {
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
            Msg::RequestVote(request) => self.on_request_vote(ctx, from, request),
            Msg::Vote(vote) => self.on_vote(ctx, from, vote),
            Msg::AppendEntries(request) => self.on_append_entries(ctx, from, request),
            Msg::AppendReply(reply) => self.on_append_reply(ctx, from, reply),
            Msg::InstallSnapshot(request) => self.on_install_snapshot(ctx, from, request),
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

// ----- the rules of elections ------------------------------------------------

impl<S: StateMachine> Raft<S> {
    /// Any message with a newer term: adopt the term, forget the vote, and
    /// become (or stay) a follower with no known leader; save the term and
    /// vote ([`Raft::persist`]) (Figure 2, "Rules for Servers").
    pub fn observe_term(&mut self, ctx: &mut Ctx<Self>, term: Term) {
        todo!("if term > current_term: adopt it, voted_for = None, leader = None, role = Follower, persist")
    }

    /// The election timeout fired (the timer runs on every node, always;
    /// hearing from the leader or granting a vote sets it again): a member
    /// that is not the leader starts an election in the next term, voting
    /// for itself.
    pub fn start_election(&mut self, ctx: &mut Ctx<Self>) {
        todo!("reset the election timer; unless leader or not a member: term + 1, candidate, vote for yourself (persist), RequestVote to the other members; a one-node quorum wins at once. This step also needs first versions of replicate_to, on_append_entries and on_append_reply in replication.rs: see exercises/05_raft/README.md")
    }

    /// RequestVote: grant the vote if the candidate's term is current, this
    /// node has not voted for another in it, and the candidate's log is at
    /// least as up to date as this one (last term higher, or equal with an
    /// index at least as high).
    pub fn on_request_vote(
        &mut self,
        ctx: &mut Ctx<Self>,
        candidate: NodeId,
        request: RequestVote,
    ) {
        let RequestVote {
            term,
            last_log_index,
            last_log_term,
        } = request;
        todo!("observe_term; decide; on a grant: remember the vote, persist, reset the election timer; answer Msg::Vote with your term")
    }

    /// A vote came back: count it if it is for this candidacy; a majority
    /// makes this node the leader.
    pub fn on_vote(&mut self, ctx: &mut Ctx<Self>, voter: NodeId, vote: Vote) {
        let Vote { term, granted } = vote;
        todo!("observe_term; only a candidate in that same term counts a granted vote; is_quorum(votes) -> become_leader")
    }

    /// Won the election: start tracking each follower's log, and assert
    /// leadership at once with a round of AppendEntries.
    pub fn become_leader(&mut self, ctx: &mut Ctx<Self>) {
        todo!("role = Leader, leader = self; next_index = last index + 1 and match_index = 0 for every other member; broadcast_append_entries")
    }

    /// The heartbeat timer fired: a leader sends every follower what it is
    /// missing (nothing, for one that is up to date).
    pub fn on_heartbeat(&mut self, ctx: &mut Ctx<Self>) {
        todo!("only a leader: broadcast_append_entries (which sets the next heartbeat)")
    }

    /// One round of AppendEntries to every other member, and the next
    /// heartbeat timer. (Given.)
    pub fn broadcast_append_entries(&mut self, ctx: &mut Ctx<Self>) {
        for peer in self.other_members() {
            self.replicate_to(ctx, peer);
        }
        ctx.set_timer(Timer::Heartbeat, HEARTBEAT_INTERVAL);
    }
}
