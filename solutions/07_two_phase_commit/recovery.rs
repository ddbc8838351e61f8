//! # tpc_recovery: two-phase commit that survives crashes
//!
//! The protocol of `tpc_basic`, now on nodes that crash and restart and a
//! network that loses messages. Three rules make it safe:
//!
//! - **log before you speak**: a node writes to durable storage what it is
//!   about to promise before the message that promises it leaves: the
//!   coordinator logs that the transaction began before `Prepare` and its
//!   decision before `Decide`; a participant logs its vote before `Vote`
//!   and its decision when it learns it ([`log_vote`], [`log_decision`]).
//! - **a prepared participant waits**: once it has voted yes, a participant
//!   may not decide by itself, however long the coordinator is silent
//!   (that is the price of 2PC: it *blocks*). It asks again every
//!   [`RETRY_AFTER`] by sending its yes vote again, and the coordinator
//!   answers a vote that comes after the decision with the decision.
//! - **recover from the log**: on restart the coordinator re-sends a logged
//!   decision; a transaction that began but has no logged decision cannot
//!   have committed anywhere, so the coordinator decides abort (*presumed
//!   abort*). A participant reloads its vote and decision, and asks again
//!   if it is prepared.
//!
//! The coordinator re-sends `Prepare` while it waits for votes and `Decide`
//! until every participant has acknowledged it (`Ack`), every
//! [`RETRY_AFTER`], so that lost messages cost only time.
//!
// exercise: begin
// stub: //! Read `exercises/07_two_phase_commit/README.md` first. Start from your
// stub: //! `tpc_basic`: the handlers are the same, plus the log, the resends and the
// stub: //! recovery in `on_start`. The types, the log helpers, `Tpc::new` and the
// stub: //! dispatch in `impl Node for Tpc` are given.
//! The reference solution.
// exercise: end

use dsim::{Ctx, Node, NodeId, RequestId, Storage};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::time::Duration;

/// The node that runs the vote and decides.
pub const COORDINATOR: NodeId = NodeId(0);

/// How long the coordinator waits for every vote before it aborts.
pub const VOTE_TIMEOUT: Duration = Duration::from_millis(100);

/// How often an unanswered message is sent again.
pub const RETRY_AFTER: Duration = Duration::from_millis(30);

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
    /// Participant to coordinator: its vote (sent again while it waits).
    Vote { yes: bool },
    /// Coordinator to participant: the outcome.
    Decide(Decision),
    /// Participant to coordinator: the outcome is applied.
    Ack,
}

/// The timers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Timer {
    /// Coordinator: the votes did not all arrive in time.
    VoteTimeout,
    /// Coordinator: send `Prepare` or `Decide` again to whoever has not
    /// answered.
    Resend,
    /// Participant: prepared and still undecided; ask again.
    Inquire,
}

// ----- the durable log (given) -----------------------------------------------

/// The coordinator logs that the transaction began.
pub fn log_begun(storage: &mut Storage) {
    storage.put("begun", &true);
}

/// Whether the coordinator logged that the transaction began.
pub fn logged_begun(storage: &Storage) -> bool {
    storage.get("begun").unwrap_or(false)
}

/// A participant logs its vote.
pub fn log_vote(storage: &mut Storage, yes: bool) {
    storage.put("vote", &yes);
}

/// The vote a participant logged, if any.
pub fn logged_vote(storage: &Storage) -> Option<bool> {
    storage.get("vote")
}

/// Any node logs the decision it made or learnt.
pub fn log_decision(storage: &mut Storage, decision: Decision) {
    storage.put("decision", &decision);
}

/// The decision a node logged, if any.
pub fn logged_decision(storage: &Storage) -> Option<Decision> {
    storage.get("decision")
}

// ----- the nodes ---------------------------------------------------------------

/// A node: [`COORDINATOR`] coordinates, every other node participates.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Tpc {
    Coordinator(Coordinator),
    Participant(Participant),
}

/// The coordinator's state (volatile; the log is in storage).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Coordinator {
    /// Whether the transaction has begun.
    pub begun: bool,
    /// The client waiting for the outcome (lost in a crash).
    pub client: Option<RequestId>,
    /// The participants that voted yes.
    pub yes_votes: BTreeSet<NodeId>,
    /// The outcome, once decided.
    pub decision: Option<Decision>,
    /// The participants that acknowledged the decision.
    pub acks: BTreeSet<NodeId>,
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
    /// On start and restart: a logged decision is re-sent; a transaction
    /// that began without a logged decision is aborted (presumed abort: no
    /// participant can have committed it).
    fn on_start(&mut self, ctx: &mut Ctx<Tpc>) {
        // exercise: begin "reload begun and the decision from the log; re-send a logged decision (and set Resend); presume abort if begun without a decision"
        self.begun = logged_begun(ctx.storage());
        if let Some(decision) = logged_decision(ctx.storage()) {
            self.decision = Some(decision);
            ctx.broadcast(Msg::Decide(decision));
            ctx.set_timer(Timer::Resend, RETRY_AFTER);
        } else if self.begun {
            self.decide(ctx, Decision::Abort);
        }
        // exercise: end
    }

    /// On the client's `Begin`: log it, then phase one. A client that asks
    /// after the decision gets the outcome.
    fn on_begin(&mut self, ctx: &mut Ctx<Tpc>, client: RequestId) {
        // exercise: begin "after the decision: reply with it; else remember the client and, unless begun, log begun, broadcast Prepare, set VoteTimeout and Resend"
        if let Some(decision) = self.decision {
            ctx.reply(client, Reply::Outcome(decision));
            return;
        }
        self.client = Some(client);
        if self.begun {
            return;
        }
        self.begun = true;
        log_begun(ctx.storage());
        ctx.broadcast(Msg::Prepare);
        ctx.set_timer(Timer::VoteTimeout, VOTE_TIMEOUT);
        ctx.set_timer(Timer::Resend, RETRY_AFTER);
        // exercise: end
    }

    /// On a vote: after the decision, answer with it (the participant is
    /// asking); before, a no aborts and the last yes commits.
    fn on_vote(&mut self, ctx: &mut Ctx<Tpc>, from: NodeId, yes: bool) {
        // exercise: begin "after the decision: send it to the voter; else a no decides Abort and the last yes (while begun) decides Commit"
        if let Some(decision) = self.decision {
            ctx.send(from, Msg::Decide(decision));
        } else if !yes {
            self.decide(ctx, Decision::Abort);
        } else if self.begun {
            self.yes_votes.insert(from);
            if self.yes_votes.len() == ctx.peers().len() {
                self.decide(ctx, Decision::Commit);
            }
        }
        // exercise: end
    }

    /// On an ack: that participant needs the decision no more.
    fn on_ack(&mut self, from: NodeId) {
        // exercise: begin "remember that this participant has the decision"
        self.acks.insert(from);
        // exercise: end
    }

    /// On the vote timeout: a missing vote counts as a no.
    fn on_vote_timeout(&mut self, ctx: &mut Ctx<Tpc>) {
        // exercise: begin "a missing vote counts as a no: decide Abort"
        self.decide(ctx, Decision::Abort);
        // exercise: end
    }

    /// On the resend timer: `Prepare` to whoever has not voted yes, or
    /// `Decide` to whoever has not acknowledged, until nobody is left.
    fn on_resend(&mut self, ctx: &mut Ctx<Tpc>) {
        // exercise: begin "send Decide to whoever has not acked (or Prepare to whoever has not voted yes), and set Resend again while anyone is missing"
        let (answered, msg) = match self.decision {
            Some(decision) => (&self.acks, Msg::Decide(decision)),
            None => (&self.yes_votes, Msg::Prepare),
        };
        let missing: Vec<NodeId> = ctx
            .peers()
            .iter()
            .copied()
            .filter(|p| !answered.contains(p))
            .collect();
        for &p in &missing {
            ctx.send(p, msg.clone());
        }
        if !missing.is_empty() {
            ctx.set_timer(Timer::Resend, RETRY_AFTER);
        }
        // exercise: end
    }

    /// Phase two: decide once, log the decision before anyone hears of it,
    /// then tell every participant and the client.
    pub fn decide(&mut self, ctx: &mut Ctx<Tpc>, decision: Decision) {
        // exercise: begin "decide only once: log the decision first, then cancel VoteTimeout, broadcast Decide, set Resend, answer the client"
        if self.decision.is_some() {
            return;
        }
        log_decision(ctx.storage(), decision);
        self.decision = Some(decision);
        ctx.cancel_timer(Timer::VoteTimeout);
        ctx.broadcast(Msg::Decide(decision));
        ctx.set_timer(Timer::Resend, RETRY_AFTER);
        if let Some(client) = self.client {
            ctx.reply(client, Reply::Outcome(decision));
        }
        // exercise: end
    }
}

impl Participant {
    /// On start and restart: reload the vote and the decision; a prepared,
    /// undecided participant asks the coordinator again.
    fn on_start(&mut self, ctx: &mut Ctx<Tpc>) {
        // exercise: begin "reload the vote and the decision from the log; if blocked, set the Inquire timer"
        self.vote = logged_vote(ctx.storage());
        self.decision = logged_decision(ctx.storage());
        if self.is_blocked() {
            ctx.set_timer(Timer::Inquire, RETRY_AFTER);
        }
        // exercise: end
    }

    /// Voted yes and does not know the outcome: it must wait.
    pub fn is_blocked(&self) -> bool {
        // exercise: begin "voted yes and undecided"
        self.vote == Some(true) && self.decision.is_none()
        // exercise: end
    }

    /// On `Prepare`: vote (the logged vote again if asked twice), logging it
    /// first. A no vote aborts at once.
    fn on_prepare(&mut self, ctx: &mut Ctx<Tpc>, from: NodeId) {
        // exercise: begin "vote (log a new vote first; a no applies Abort), send the vote, and set Inquire if now blocked"
        let yes = match self.vote {
            Some(yes) => yes,
            None => {
                let yes = self.can_commit;
                log_vote(ctx.storage(), yes);
                self.vote = Some(yes);
                if !yes {
                    self.apply(ctx, Decision::Abort);
                }
                yes
            }
        };
        ctx.send(from, Msg::Vote { yes });
        if self.is_blocked() {
            ctx.set_timer(Timer::Inquire, RETRY_AFTER);
        }
        // exercise: end
    }

    /// On the coordinator's decision: apply it (once) and acknowledge it
    /// (every time: the last ack may have been lost).
    fn on_decide(&mut self, ctx: &mut Ctx<Tpc>, from: NodeId, decision: Decision) {
        // exercise: begin "apply the decision if undecided; acknowledge every copy"
        if self.decision.is_none() {
            self.apply(ctx, decision);
        }
        ctx.send(from, Msg::Ack);
        // exercise: end
    }

    /// On the inquire timer: still blocked, so ask again with the yes vote.
    fn on_inquire(&mut self, ctx: &mut Ctx<Tpc>) {
        // exercise: begin "while blocked: send the yes vote to the coordinator again and set Inquire again"
        if self.is_blocked() {
            ctx.send(COORDINATOR, Msg::Vote { yes: true });
            ctx.set_timer(Timer::Inquire, RETRY_AFTER);
        }
        // exercise: end
    }

    pub fn apply(&mut self, ctx: &mut Ctx<Tpc>, decision: Decision) {
        // exercise: begin "log the decision, record it, cancel Inquire"
        log_decision(ctx.storage(), decision);
        self.decision = Some(decision);
        ctx.cancel_timer(Timer::Inquire);
        // exercise: end
    }
}

impl Node for Tpc {
    type Msg = Msg;
    type Timer = Timer;
    type Request = Request;
    type Reply = Reply;

    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        match self {
            Tpc::Coordinator(c) => c.on_start(ctx),
            Tpc::Participant(p) => p.on_start(ctx),
        }
    }

    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, req: Request) {
        let Request::Begin = req;
        if let Tpc::Coordinator(c) = self {
            c.on_begin(ctx, id);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        match (self, msg) {
            (Tpc::Coordinator(c), Msg::Vote { yes }) => c.on_vote(ctx, from, yes),
            (Tpc::Coordinator(c), Msg::Ack) => c.on_ack(from),
            (Tpc::Participant(p), Msg::Prepare) => p.on_prepare(ctx, from),
            (Tpc::Participant(p), Msg::Decide(d)) => p.on_decide(ctx, from, d),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        match (self, timer) {
            (Tpc::Coordinator(c), Timer::VoteTimeout) => c.on_vote_timeout(ctx),
            (Tpc::Coordinator(c), Timer::Resend) => c.on_resend(ctx),
            (Tpc::Participant(p), Timer::Inquire) => p.on_inquire(ctx),
            _ => {}
        }
    }
}
