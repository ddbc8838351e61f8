//! Two-phase commit with recovery, written independently of the subject,
//! with one [`Flaw`] built in (or none): the known-wrong implementations
//! of the meta tests ([`super::wrong`]).

use super::observed::{Build, Observed, Outcome};
use dsim::{Ctx, Node, NodeId, RequestId, Storage};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

/// One mistake a learner could make, built into the [`Model`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Flaw {
    /// No mistake: the model is correct.
    None,
    /// The coordinator commits once a majority of participants voted yes.
    MajorityCommits,
    /// A participant that voted yes aborts when the coordinator is silent.
    AbortsOnTimeoutAfterYes,
    /// The coordinator does not read its logged decision on restart (and
    /// so presumes abort).
    ForgetsDecisionOnRestart,
    /// A participant that votes yes commits there and then.
    CommitsWhenVotingYes,
    /// A participant sends its vote without keeping it.
    KeepsNoVote,
    /// A participant logs its vote but does not read it back on restart.
    ForgetsVoteOnRestart,
    /// The coordinator sends no Prepare on Begin (its vote timer aborts).
    NoPrepareOnBegin,
    /// The coordinator decides without telling anyone; its resend timer
    /// tells them later.
    DecidesSilently,
    /// A restarted coordinator with a logged decision waits for its resend
    /// timer to send it.
    RestartsSilently,
    /// The coordinator ignores a no vote and waits for the timeout.
    IgnoresNoVotes,
    /// A participant that votes no waits for the coordinator's Decide.
    NoVoterWaits,
    /// The coordinator does not answer a vote that comes after its decision.
    IgnoresLateVotes,
    /// A prepared participant asks the coordinator once, not again.
    AsksOnce,
    /// A restarted coordinator without a logged decision waits for the
    /// votes again instead of presuming abort.
    NoPresumedAbort,
    /// The coordinator starts no vote timeout.
    NoVoteTimeout,
    /// The coordinator does not record acknowledgements.
    IgnoresAcks,
    /// The coordinator never answers the client.
    ForgetsClient,
}

pub fn model(flaw: Flaw) -> Build<Model> {
    Rc::new(move |id, can_commit| Model {
        flaw,
        coordinator: id == NodeId(0),
        can_commit,
        begun: false,
        client: None,
        yes: BTreeSet::new(),
        acks: BTreeSet::new(),
        vote: None,
        decision: None,
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Dec {
    Commit,
    Abort,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum M {
    Prepare,
    Vote(bool),
    Decide(Dec),
    Ack,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum T {
    Votes,
    Resend,
    Inquire,
}

const RETRY: Duration = Duration::from_millis(30);

/// Coordinator and participant in one struct; `coordinator` says which.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Model {
    flaw: Flaw,
    coordinator: bool,
    can_commit: bool,
    begun: bool,
    client: Option<RequestId>,
    yes: BTreeSet<NodeId>,
    acks: BTreeSet<NodeId>,
    vote: Option<bool>,
    decision: Option<Dec>,
}

impl Model {
    fn decide(&mut self, ctx: &mut Ctx<Self>, d: Dec) {
        if self.decision.is_none() {
            ctx.storage().put("decision", &d);
            self.decision = Some(d);
            if self.flaw != Flaw::DecidesSilently {
                ctx.broadcast(M::Decide(d));
            }
            ctx.set_timer(T::Resend, RETRY);
            if let (Some(c), false) = (self.client, self.flaw == Flaw::ForgetsClient) {
                ctx.reply(c, d);
            }
        }
    }

    fn apply(&mut self, ctx: &mut Ctx<Self>, d: Dec) {
        if self.decision.is_none() {
            ctx.storage().put("decision", &d);
            self.decision = Some(d);
        }
    }
}

impl Node for Model {
    type Msg = M;
    type Timer = T;
    type Request = ();
    type Reply = Dec;

    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        self.begun = ctx.storage().get("begun").unwrap_or(false);
        if self.flaw != Flaw::ForgetsVoteOnRestart {
            self.vote = ctx.storage().get("vote");
        }
        let logged = ctx.storage().get("decision");
        if self.coordinator {
            match logged {
                Some(d) if self.flaw != Flaw::ForgetsDecisionOnRestart => {
                    self.decision = Some(d);
                    if self.flaw != Flaw::RestartsSilently {
                        ctx.broadcast(M::Decide(d));
                    }
                    ctx.set_timer(T::Resend, RETRY);
                }
                _ if self.begun && self.flaw != Flaw::NoPresumedAbort => {
                    self.decide(ctx, Dec::Abort)
                }
                _ => {}
            }
        } else {
            self.decision = logged;
            if self.vote == Some(true) && self.decision.is_none() {
                ctx.set_timer(T::Inquire, RETRY);
            }
        }
    }

    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, _: ()) {
        if !self.coordinator {
            return;
        }
        if let Some(d) = self.decision {
            ctx.reply(id, d);
        } else if !self.begun {
            self.begun = true;
            self.client = Some(id);
            ctx.storage().put("begun", &true);
            if self.flaw != Flaw::NoPrepareOnBegin {
                ctx.broadcast(M::Prepare);
            }
            if self.flaw != Flaw::NoVoteTimeout {
                ctx.set_timer(T::Votes, Duration::from_millis(100));
            }
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: M) {
        match msg {
            M::Vote(yes) if self.coordinator => match self.decision {
                Some(_) if self.flaw == Flaw::IgnoresLateVotes => {}
                Some(d) => ctx.send(from, M::Decide(d)),
                None if !yes && self.flaw == Flaw::IgnoresNoVotes => {}
                None if !yes => self.decide(ctx, Dec::Abort),
                None => {
                    self.yes.insert(from);
                    let all = ctx.peers().len();
                    let needed = if self.flaw == Flaw::MajorityCommits {
                        all / 2 + 1
                    } else {
                        all
                    };
                    if self.yes.len() >= needed {
                        self.decide(ctx, Dec::Commit);
                    }
                }
            },
            M::Ack if self.coordinator && self.flaw != Flaw::IgnoresAcks => {
                self.acks.insert(from);
            }
            M::Prepare if !self.coordinator => {
                let yes = *self.vote.get_or_insert(self.can_commit);
                if self.flaw == Flaw::KeepsNoVote {
                    self.vote = None;
                }
                ctx.storage().put("vote", &yes);
                if !yes {
                    if self.flaw != Flaw::NoVoterWaits {
                        self.apply(ctx, Dec::Abort);
                    }
                } else if self.flaw == Flaw::CommitsWhenVotingYes {
                    self.apply(ctx, Dec::Commit);
                } else if self.decision.is_none() {
                    ctx.set_timer(T::Inquire, RETRY);
                }
                ctx.send(from, M::Vote(yes));
            }
            M::Decide(d) if !self.coordinator => {
                self.apply(ctx, d);
                ctx.send(from, M::Ack);
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: T) {
        match timer {
            T::Votes => self.decide(ctx, Dec::Abort),
            T::Resend => {
                if let Some(d) = self.decision {
                    let missing: Vec<NodeId> = ctx
                        .peers()
                        .iter()
                        .copied()
                        .filter(|p| !self.acks.contains(p))
                        .collect();
                    for &p in &missing {
                        ctx.send(p, M::Decide(d));
                    }
                    if !missing.is_empty() {
                        ctx.set_timer(T::Resend, RETRY);
                    }
                }
            }
            T::Inquire if self.decision.is_none() => {
                if self.flaw == Flaw::AbortsOnTimeoutAfterYes {
                    self.apply(ctx, Dec::Abort);
                } else {
                    ctx.send(NodeId(0), M::Vote(true));
                    if self.flaw != Flaw::AsksOnce {
                        ctx.set_timer(T::Inquire, RETRY);
                    }
                }
            }
            T::Inquire => {}
        }
    }
}

impl Observed for Model {
    fn begin() {}
    fn decision(&self) -> Option<Outcome> {
        self.decision.map(outcome)
    }
    fn vote(&self) -> Option<bool> {
        if self.coordinator {
            None
        } else {
            self.vote
        }
    }
    fn logged(storage: &Storage) -> Option<Outcome> {
        storage.get("decision").map(outcome)
    }
    fn outcome(reply: &Dec) -> Outcome {
        outcome(*reply)
    }
    fn vote_in(msg: &M) -> Option<bool> {
        match msg {
            M::Vote(yes) => Some(*yes),
            _ => None,
        }
    }
    fn decision_in(msg: &M) -> Option<Outcome> {
        match msg {
            M::Decide(d) => Some(outcome(*d)),
            _ => None,
        }
    }
    fn is_prepare(msg: &M) -> bool {
        matches!(msg, M::Prepare)
    }
}

fn outcome(d: Dec) -> Outcome {
    match d {
        Dec::Commit => Outcome::Commit,
        Dec::Abort => Outcome::Abort,
    }
}
