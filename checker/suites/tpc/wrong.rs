//! Meta tests: the checks of both exercises catch known-wrong
//! implementations. The [`Model`] is two-phase commit with recovery,
//! written independently of the subject, with one [`Flaw`] built in (or
//! none), run through the very same checks.

use super::basic::{random_run, ALL_YES, ONE_NO};
use super::exhaustive::explore;
use super::observed::{Build, Observed, Outcome};
use super::properties::{STABLE, VALID, VOTE_KEPT, WAITS};
use super::recovery::{crash_after_prepare, lost_acks, random_crashes, ONE_CRASH};
use dscheck::{expect_accepted, expect_caught, expect_caught_saying, Failure, Suite};
use dsim::{Ctx, Node, NodeId, RequestId, Storage};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

pub fn tests(suite: Suite) -> Suite {
    suite
        .test("meta::tpc_correct_model_passes", correct_model_passes)
        .test("meta::tpc_commit_on_a_majority_is_caught", || {
            expect_caught(VALID, 1, |_| {
                explore(model(Flaw::MajorityCommits), ONE_NO, false)
            })
        })
        .test("meta::tpc_abort_on_timeout_after_yes_is_caught", || {
            expect_caught(WAITS, 1, |_| {
                explore(model(Flaw::AbortsOnTimeoutAfterYes), ALL_YES, false)
            })
        })
        .test("meta::tpc_forgotten_decision_is_caught", || {
            expect_caught(STABLE, 1, |_| {
                explore(model(Flaw::ForgetsDecisionOnRestart), ONE_CRASH, false)
            })
        })
        // The participant's mistakes are named as the participant's, not
        // blamed on the coordinator's counting.
        .test(
            "meta::tpc_participant_committing_on_its_own_is_caught",
            || {
                expect_caught_saying(
                    WAITS,
                    10,
                    &["voted yes and decided Commit", "has decided nothing"],
                    &["yes vote from every participant"],
                    |seed| random_run(seed, model(Flaw::CommitsWhenVotingYes)).map(|_| ()),
                )
            },
        )
        .test("meta::tpc_vote_not_kept_is_caught", || {
            expect_caught_saying(
                VOTE_KEPT,
                10,
                &[
                    "sent the coordinator a yes vote, but its vote is None",
                    "set vote",
                ],
                &["restart", "log_vote"],
                |seed| random_run(seed, model(Flaw::KeepsNoVote)).map(|_| ()),
            )
        })
        .test("meta::tpc_vote_forgotten_on_restart_is_caught", || {
            expect_caught_saying(
                VOTE_KEPT,
                10,
                &["since its restart its vote is None", "logged_vote"],
                &[],
                |seed| lost_acks(seed, model(Flaw::ForgetsVoteOnRestart)),
            )
        })
}

fn correct_model_passes() -> Result<(), Failure> {
    let m = || model(Flaw::None);
    expect_accepted("basic random runs", 10, |seed| {
        random_run(seed, m()).map(|_| ())
    })?;
    expect_accepted("crash after prepare", 3, |seed| {
        crash_after_prepare(seed, m())
    })?;
    expect_accepted("lost acks", 3, |seed| lost_acks(seed, m()))?;
    expect_accepted("random crashes", 10, |seed| random_crashes(seed, m()))?;
    expect_accepted("exhaustive, one crash", 1, |_| {
        explore(m(), ONE_CRASH, true)
    })
}

/// One mistake a learner could make, built into the [`Model`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Flaw {
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
}

fn model(flaw: Flaw) -> Build<Model> {
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
enum Dec {
    Commit,
    Abort,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
enum M {
    Prepare,
    Vote(bool),
    Decide(Dec),
    Ack,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
enum T {
    Votes,
    Resend,
    Inquire,
}

const RETRY: Duration = Duration::from_millis(30);

/// Coordinator and participant in one struct; `coordinator` says which.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Model {
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
            ctx.broadcast(M::Decide(d));
            ctx.set_timer(T::Resend, RETRY);
            if let Some(c) = self.client {
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
                    ctx.broadcast(M::Decide(d));
                    ctx.set_timer(T::Resend, RETRY);
                }
                _ if self.begun => self.decide(ctx, Dec::Abort),
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
        if self.coordinator && !self.begun && self.decision.is_none() {
            self.begun = true;
            self.client = Some(id);
            ctx.storage().put("begun", &true);
            ctx.broadcast(M::Prepare);
            ctx.set_timer(T::Votes, Duration::from_millis(100));
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: M) {
        match msg {
            M::Vote(yes) if self.coordinator => match self.decision {
                Some(d) => ctx.send(from, M::Decide(d)),
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
            M::Ack if self.coordinator => {
                self.acks.insert(from);
            }
            M::Prepare if !self.coordinator => {
                let yes = *self.vote.get_or_insert(self.can_commit);
                if self.flaw == Flaw::KeepsNoVote {
                    self.vote = None;
                }
                ctx.storage().put("vote", &yes);
                if !yes {
                    self.apply(ctx, Dec::Abort);
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
                    ctx.set_timer(T::Inquire, RETRY);
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
}

fn outcome(d: Dec) -> Outcome {
    match d {
        Dec::Commit => Outcome::Commit,
        Dec::Abort => Outcome::Abort,
    }
}
