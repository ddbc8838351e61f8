//! # tpc_basic: two-phase commit
//!
//! One transaction touches data on several nodes, the participants, and
//! must take effect on all of them or on none: **atomicity**. A participant
//! may be unable to commit (a constraint fails, a lock is taken), so no node
//! can decide alone. Two-phase commit gives the decision to one node, the
//! coordinator ([`COORDINATOR`]), and splits it in two phases:
//!
//! 1. **prepare** (voting): the coordinator asks every participant
//!    `Prepare`; each answers `Vote { yes }`. A participant that votes no may
//!    abort at once: the transaction can no longer commit. A participant
//!    that votes yes promises to commit if told to, and from then on may not
//!    decide by itself.
//! 2. **decide**: with a yes from every participant the coordinator decides
//!    commit; with any no, or when the votes do not all arrive within
//!    [`VOTE_TIMEOUT`], it decides abort. It sends `Decide(decision)` to every
//!    participant and answers the client.
//!
// exercise: begin
// stub: //! Read `exercises/07_two_phase_commit/README.md` first. Then fill in the
// stub: //! coordinator's four handlers and the participant's two: each `todo!()` is
// stub: //! one line of the protocol. The types, `Tpc::new` and the dispatch in
// stub: //! `impl Node for Tpc` are given.
//! The reference solution: each handler is one line of the protocol.
// exercise: end

use dsim::{Ctx, Node, NodeId, RequestId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::time::Duration;

/// The node that runs the vote and decides.
pub const COORDINATOR: NodeId = NodeId(0);

/// How long the coordinator waits for every vote before it aborts.
pub const VOTE_TIMEOUT: Duration = Duration::from_millis(100);

/// The outcome of the transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Decision {
    Commit,
    Abort,
}

/// What a client asks the coordinator.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Request {
    /// Run the transaction on every participant.
    Begin,
}

/// What the client gets back.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reply {
    /// The transaction committed everywhere, or aborted everywhere.
    Outcome(Decision),
}

/// What the nodes send each other.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Msg {
    /// Coordinator to participant: can you commit?
    Prepare,
    /// Participant to coordinator: its vote.
    Vote { yes: bool },
    /// Coordinator to participant: the outcome.
    Decide(Decision),
}

/// The coordinator's timer.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Timer {
    /// The votes did not all arrive in time.
    VoteTimeout,
}

/// A node: [`COORDINATOR`] coordinates, every other node participates.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Tpc {
    Coordinator(Coordinator),
    Participant(Participant),
}

/// The coordinator's state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Coordinator {
    /// The client waiting for the outcome, once the transaction has begun.
    pub client: Option<RequestId>,
    /// The participants that voted yes.
    pub yes_votes: BTreeSet<NodeId>,
    /// The outcome, once decided.
    pub decision: Option<Decision>,
}

/// A participant's state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Participant {
    /// Whether this participant is able to commit (given by the scenario).
    pub can_commit: bool,
    /// The vote it sent, once it has voted.
    pub vote: Option<bool>,
    /// The outcome it applied, once it knows it.
    pub decision: Option<Decision>,
}

impl Tpc {
    /// Node `id`; a participant votes yes exactly when `can_commit`.
    pub fn new(id: NodeId, can_commit: bool) -> Self {
        if id == COORDINATOR {
            Tpc::Coordinator(Coordinator::default())
        } else {
            Tpc::Participant(Participant {
                can_commit,
                vote: None,
                decision: None,
            })
        }
    }

    /// The outcome this node has decided or applied, if any.
    pub fn decision(&self) -> Option<Decision> {
        match self {
            Tpc::Coordinator(c) => c.decision,
            Tpc::Participant(p) => p.decision,
        }
    }

    /// The vote this node sent (`None` for the coordinator).
    pub fn vote(&self) -> Option<bool> {
        match self {
            Tpc::Coordinator(_) => None,
            Tpc::Participant(p) => p.vote,
        }
    }
}

impl Coordinator {
    /// On the client's `Begin`: phase one, ask every participant to prepare,
    /// and start the clock on the votes. A second `Begin` changes nothing.
    fn on_begin(&mut self, ctx: &mut Ctx<Tpc>, client: RequestId) {
        // exercise: begin "unless already begun: remember the client, broadcast Prepare, start the VoteTimeout"
        if self.client.is_some() {
            return;
        }
        self.client = Some(client);
        ctx.broadcast(Msg::Prepare);
        ctx.set_timer(Timer::VoteTimeout, VOTE_TIMEOUT);
        // exercise: end
    }

    /// On a vote: a no aborts; the last of the yes votes commits.
    fn on_vote(&mut self, ctx: &mut Ctx<Tpc>, from: NodeId, yes: bool) {
        // exercise: begin "a no vote decides Abort; record a yes, and decide Commit once every participant (ctx.peers()) voted yes"
        if !yes {
            self.decide(ctx, Decision::Abort);
            return;
        }
        self.yes_votes.insert(from);
        if self.yes_votes.len() == ctx.peers().len() {
            self.decide(ctx, Decision::Commit);
        }
        // exercise: end
    }

    /// On the vote timeout: a missing vote counts as a no.
    fn on_vote_timeout(&mut self, ctx: &mut Ctx<Tpc>) {
        // exercise: begin "a missing vote counts as a no: decide Abort"
        self.decide(ctx, Decision::Abort);
        // exercise: end
    }

    /// Phase two: decide once, tell every participant and the client.
    pub fn decide(&mut self, ctx: &mut Ctx<Tpc>, decision: Decision) {
        // exercise: begin "decide only once: record it, cancel the VoteTimeout, broadcast Decide, answer the client"
        if self.decision.is_some() {
            return;
        }
        self.decision = Some(decision);
        ctx.cancel_timer(Timer::VoteTimeout);
        ctx.broadcast(Msg::Decide(decision));
        if let Some(client) = self.client {
            ctx.reply(client, Reply::Outcome(decision));
        }
        // exercise: end
    }
}

impl Participant {
    /// On `Prepare`: vote (the same vote again if asked twice). A no vote
    /// aborts at once: without this participant nothing can commit.
    fn on_prepare(&mut self, ctx: &mut Ctx<Tpc>, from: NodeId) {
        // exercise: begin "vote can_commit (or the vote already sent); a no vote aborts at once; send the vote back"
        let yes = *self.vote.get_or_insert(self.can_commit);
        if !yes {
            self.decision = Some(Decision::Abort);
        }
        ctx.send(from, Msg::Vote { yes });
        // exercise: end
    }

    /// On the coordinator's decision: apply it.
    fn on_decide(&mut self, decision: Decision) {
        // exercise: begin "apply the decision"
        self.decision = Some(decision);
        // exercise: end
    }
}

impl Node for Tpc {
    type Msg = Msg;
    type Timer = Timer;
    type Request = Request;
    type Reply = Reply;

    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, req: Request) {
        let Request::Begin = req;
        if let Tpc::Coordinator(c) = self {
            c.on_begin(ctx, id);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        match (self, msg) {
            (Tpc::Coordinator(c), Msg::Vote { yes }) => c.on_vote(ctx, from, yes),
            (Tpc::Participant(p), Msg::Prepare) => p.on_prepare(ctx, from),
            (Tpc::Participant(p), Msg::Decide(d)) => p.on_decide(d),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        if let (Tpc::Coordinator(c), Timer::VoteTimeout) = (self, timer) {
            c.on_vote_timeout(ctx);
        }
    }
}
