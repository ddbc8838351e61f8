//! What the checks read of an implementation, so that the subject's two
//! exercises and the known-wrong model of the meta tests go through the
//! same checks.

use crate::subject::tpc::{basic, recovery};
use dsim::{Explorable, NodeId, Storage};
use std::rc::Rc;

/// The outcome of the transaction, as the checks see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Commit,
    Abort,
}

/// What the checks need from a two-phase commit node.
pub trait Observed: Explorable {
    /// The client's request to run the transaction.
    fn begin() -> Self::Request;
    /// The outcome the node decided or applied, if any.
    fn decision(&self) -> Option<Outcome>;
    /// The vote a participant sent (`None` before it votes, and always for
    /// the coordinator).
    fn vote(&self) -> Option<bool>;
    /// The decision in a node's durable log (`None` where nothing is logged).
    fn logged(storage: &Storage) -> Option<Outcome>;
    /// The outcome a reply tells the client.
    fn outcome(reply: &Self::Reply) -> Outcome;
    /// The vote a message carries, if it is a vote.
    fn vote_in(msg: &Self::Msg) -> Option<bool>;
    /// The decision a message carries, if it is a `Decide`.
    fn decision_in(msg: &Self::Msg) -> Option<Outcome>;
    /// Whether a message is a `Prepare`.
    fn is_prepare(msg: &Self::Msg) -> bool;
}

/// Builds node `id`; a participant can commit when the flag says so.
pub type Build<N> = Rc<dyn Fn(NodeId, bool) -> N>;

fn outcome_of_basic(d: basic::Decision) -> Outcome {
    match d {
        basic::Decision::Commit => Outcome::Commit,
        basic::Decision::Abort => Outcome::Abort,
    }
}

fn outcome_of_recovery(d: recovery::Decision) -> Outcome {
    match d {
        recovery::Decision::Commit => Outcome::Commit,
        recovery::Decision::Abort => Outcome::Abort,
    }
}

impl Observed for basic::Tpc {
    fn begin() -> basic::Request {
        basic::Request::Begin
    }
    fn decision(&self) -> Option<Outcome> {
        basic::Tpc::decision(self).map(outcome_of_basic)
    }
    fn vote(&self) -> Option<bool> {
        basic::Tpc::vote(self)
    }
    fn logged(_: &Storage) -> Option<Outcome> {
        None
    }
    fn outcome(reply: &basic::Reply) -> Outcome {
        let basic::Reply::Outcome(d) = reply;
        outcome_of_basic(*d)
    }
    fn vote_in(msg: &basic::Msg) -> Option<bool> {
        match msg {
            basic::Msg::Vote { yes } => Some(*yes),
            _ => None,
        }
    }
    fn decision_in(msg: &basic::Msg) -> Option<Outcome> {
        match msg {
            basic::Msg::Decide(d) => Some(outcome_of_basic(*d)),
            _ => None,
        }
    }
    fn is_prepare(msg: &basic::Msg) -> bool {
        matches!(msg, basic::Msg::Prepare)
    }
}

impl Observed for recovery::Tpc {
    fn begin() -> recovery::Request {
        recovery::Request::Begin
    }
    fn decision(&self) -> Option<Outcome> {
        recovery::Tpc::decision(self).map(outcome_of_recovery)
    }
    fn vote(&self) -> Option<bool> {
        recovery::Tpc::vote(self)
    }
    fn logged(storage: &Storage) -> Option<Outcome> {
        recovery::logged_decision(storage).map(outcome_of_recovery)
    }
    fn outcome(reply: &recovery::Reply) -> Outcome {
        let recovery::Reply::Outcome(d) = reply;
        outcome_of_recovery(*d)
    }
    fn vote_in(msg: &recovery::Msg) -> Option<bool> {
        match msg {
            recovery::Msg::Vote { yes } => Some(*yes),
            _ => None,
        }
    }
    fn decision_in(msg: &recovery::Msg) -> Option<Outcome> {
        match msg {
            recovery::Msg::Decide(d) => Some(outcome_of_recovery(*d)),
            _ => None,
        }
    }
    fn is_prepare(msg: &recovery::Msg) -> bool {
        matches!(msg, recovery::Msg::Prepare)
    }
}

/// The subject's `tpc_basic` nodes.
pub fn basic() -> Build<basic::Tpc> {
    Rc::new(basic::Tpc::new)
}

/// The subject's `tpc_recovery` nodes.
pub fn recovery() -> Build<recovery::Tpc> {
    Rc::new(recovery::Tpc::new)
}
