//! # paxos_single_decree: agreeing on one value
//!
//! Several nodes must agree on one value although messages are lost,
//! duplicated and delayed and nodes crash and come back. Single-decree
//! Paxos splits the work among three roles (a node may play several):
//!
//! - a **proposer** suggests a value, numbering each attempt with a
//!   [`Ballot`] (a round and its own id, so no two proposers share one);
//! - an **acceptor** votes, and remembers its votes on disk;
//! - a **learner** finds out which value was chosen.
//!
//! A value is *chosen* once a majority of the acceptors accepted it in the
//! same ballot. An attempt has two phases:
//!
//! 1. **prepare / promise**: the proposer asks the acceptors to promise to
//!    ignore every lower ballot; each promise carries the highest ballot the
//!    acceptor has accepted, with its value.
//! 2. **accept / accepted**: with a majority of promises, the proposer asks
//!    them to accept one value in its ballot: the value of the
//!    highest-ballot acceptance among the promises, or, if none, its own.
//!    Each acceptor that has promised nothing higher accepts and tells the
//!    learners.
//!
//! Read `exercises/12_paxos/README.md` first. Then fill in the methods
//! below: the acceptor's two rules, the proposer's choice of value, the
//! learner's counting, durability and the backoff. The types, `Paxos::new`
//! and the dispatch in `impl Node for Paxos` are given.

use dsim::{Ctx, Node, NodeId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// A proposed value.
pub type Value = u64;

/// How long a proposer waits for an attempt to succeed before it tries
/// again with a higher ballot (its messages may have been lost).
pub const ROUND_TIMEOUT: Duration = Duration::from_millis(80);

/// With backoff on, a proposer waits a random time up to this long before
/// each new attempt, so that two proposers stop cutting each other off.
pub const BACKOFF_MAX: Duration = Duration::from_millis(100);

/// The storage key of an acceptor's highest promise.
pub const PROMISED_KEY: &str = "promised";
/// The storage key of an acceptor's highest acceptance.
pub const ACCEPTED_KEY: &str = "accepted";
/// The storage key of a proposer's last round.
pub const ROUND_KEY: &str = "round";

/// A proposal number: ordered by round, then by proposer, so that two
/// proposers never use the same ballot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Ballot {
    pub round: u64,
    pub proposer: NodeId,
}

/// A value accepted in a ballot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Vote {
    pub ballot: Ballot,
    pub value: Value,
}

/// What the nodes send each other.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Msg {
    /// Proposer to acceptors, phase 1: promise to ignore lower ballots.
    Prepare { ballot: Ballot },
    /// Acceptor to proposer: promised, with the highest vote it has cast.
    Promise {
        ballot: Ballot,
        accepted: Option<Vote>,
    },
    /// Proposer to acceptors, phase 2: accept `value` in `ballot`.
    Accept { ballot: Ballot, value: Value },
    /// Acceptor to learners: it accepted `value` in `ballot`.
    Accepted { ballot: Ballot, value: Value },
    /// Acceptor to proposer: `ballot` was refused, it promised `promised`.
    Nack { ballot: Ballot, promised: Ballot },
}

/// The proposer's timer.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Timer {
    /// Time to start a new attempt.
    Retry,
}

/// Who plays which role, and how the proposers behave.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Config {
    /// Every acceptor; a majority of them is a quorum.
    pub acceptors: Vec<NodeId>,
    /// Every learner: acceptors tell them what they accepted.
    pub learners: Vec<NodeId>,
    /// The value each proposer proposes.
    pub proposals: BTreeMap<NodeId, Value>,
    /// Whether proposers wait a random time before a new attempt.
    pub backoff: bool,
    /// A proposer makes no attempt past this round (tests bound the
    /// attempts so that every run of a small system can be explored).
    pub max_round: u64,
}

/// A node: an acceptor, a proposer, a learner, or several of them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Paxos {
    pub id: NodeId,
    pub config: Config,
    // Acceptor (durable: also in storage).
    /// The highest ballot promised.
    pub promised: Option<Ballot>,
    /// The highest-ballot vote cast.
    pub accepted: Option<Vote>,
    // Proposer.
    /// The ballot of the current attempt.
    pub ballot: Option<Ballot>,
    /// The promises for the current ballot, with the votes they carry.
    pub promises: BTreeMap<NodeId, Option<Vote>>,
    /// Whether the current ballot reached phase 2.
    pub proposed: Option<Value>,
    /// The highest round seen in any ballot, own or other.
    pub highest_round: u64,
    // Learner.
    /// For each ballot, its value and the acceptors that accepted it.
    pub votes: BTreeMap<Ballot, (Value, BTreeSet<NodeId>)>,
    /// The value learned, once a majority accepted it in one ballot.
    pub learned: Option<Value>,
}

impl Paxos {
    /// Node `id` of a system set up by `config`.
    pub fn new(id: NodeId, config: Config) -> Self {
        Paxos {
            id,
            config,
            promised: None,
            accepted: None,
            ballot: None,
            promises: BTreeMap::new(),
            proposed: None,
            highest_round: 0,
            votes: BTreeMap::new(),
            learned: None,
        }
    }

    fn is_acceptor(&self) -> bool {
        self.config.acceptors.contains(&self.id)
    }

    /// The value this node proposes, if it is a proposer.
    pub fn proposal(&self) -> Option<Value> {
        self.config.proposals.get(&self.id).copied()
    }

    /// How many acceptors make a majority: any two majorities share an
    /// acceptor, which is what carries a chosen value into later ballots.
    pub fn majority(&self) -> usize {
        self.config.acceptors.len() / 2 + 1
    }

    // ----- acceptor --------------------------------------------------------

    /// Phase 1b. Promise `ballot` unless a higher one was promised: from now
    /// on, refuse every lower ballot. The promise goes to disk before the
    /// answer, or a restarted acceptor could break it.
    fn on_prepare(&mut self, ctx: &mut Ctx<Paxos>, from: NodeId, ballot: Ballot) {
        todo!(
            "if ballot >= promised: promise it (store it first), answer Promise with \
             the accepted vote; otherwise answer Nack with the promised ballot"
        )
    }

    /// Phase 2b. Accept `value` in `ballot` unless a higher ballot was
    /// promised; the vote goes to disk, then to every learner.
    fn on_accept(&mut self, ctx: &mut Ctx<Paxos>, from: NodeId, ballot: Ballot, value: Value) {
        todo!(
            "if ballot >= promised: promise and accept it (store both first) and \
             send Accepted to every learner; otherwise answer Nack"
        )
    }

    // ----- proposer --------------------------------------------------------

    /// Phase 1a. A new attempt: a ballot above every round seen, stored
    /// before use so that a restarted proposer never reuses a ballot (with
    /// another value).
    fn start_ballot(&mut self, ctx: &mut Ctx<Paxos>) {
        let round = self.highest_round + 1;
        if self.learned.is_some() || round > self.config.max_round {
            return;
        }
        self.store_round(ctx, round);
        self.highest_round = round;
        let ballot = Ballot {
            round,
            proposer: self.id,
        };
        self.ballot = Some(ballot);
        self.promises.clear();
        self.proposed = None;
        for &acceptor in &self.config.acceptors.clone() {
            self.tell(ctx, acceptor, Msg::Prepare { ballot });
        }
        let wait = ROUND_TIMEOUT + self.backoff(ctx);
        ctx.set_timer(Timer::Retry, wait);
    }

    /// Writes the proposer's new round to disk before any message uses it.
    fn store_round(&mut self, ctx: &mut Ctx<Paxos>, round: u64) {
        todo!("store the new round under ROUND_KEY")
    }

    /// After a restart: read back what the node stored.
    fn recover(&mut self, ctx: &mut Ctx<Paxos>) {
        todo!("read back PROMISED_KEY, ACCEPTED_KEY and ROUND_KEY from ctx.storage()")
    }

    /// Phase 2a. Counts a promise for the current ballot; with a majority,
    /// asks the acceptors to accept [`Paxos::choose_value`].
    fn on_promise(
        &mut self,
        ctx: &mut Ctx<Paxos>,
        from: NodeId,
        ballot: Ballot,
        vote: Option<Vote>,
    ) {
        if self.ballot != Some(ballot) || self.proposed.is_some() {
            return;
        }
        self.promises.insert(from, vote);
        if self.promises.len() < self.majority() {
            return;
        }
        let Some(value) = self.choose_value() else {
            return;
        };
        self.proposed = Some(value);
        for &acceptor in &self.config.acceptors.clone() {
            self.tell(ctx, acceptor, Msg::Accept { ballot, value });
        }
    }

    /// The value to propose once a majority promised: the value of the
    /// highest-ballot vote among the promises (it may already be chosen,
    /// and a chosen value must be proposed again), else this proposer's own.
    pub fn choose_value(&self) -> Option<Value> {
        todo!(
            "the value of the highest-ballot vote among self.promises, if any, \
             else self.proposal()"
        )
    }

    /// Refused: someone holds a higher ballot. Give up this attempt and try
    /// again above it, after the backoff.
    fn on_nack(&mut self, ctx: &mut Ctx<Paxos>, ballot: Ballot, promised: Ballot) {
        self.highest_round = self.highest_round.max(promised.round);
        if self.ballot == Some(ballot) {
            self.ballot = None;
            let wait = self.backoff(ctx);
            ctx.set_timer(Timer::Retry, wait);
        }
    }

    /// How long to wait before the next attempt: nothing without backoff;
    /// with it, a random time up to [`BACKOFF_MAX`] from the node's own
    /// random stream (so the run stays the same for the same seed), which
    /// lets one proposer finish both phases before the other starts again.
    fn backoff(&mut self, ctx: &mut Ctx<Paxos>) -> Duration {
        todo!(
            "Duration::ZERO without config.backoff, else a random duration up to \
             BACKOFF_MAX from ctx.rng()"
        )
    }

    // ----- learner ---------------------------------------------------------

    /// Counts an acceptor's vote; a value accepted by a majority in one
    /// ballot is chosen, and learned. (Votes in different ballots never add
    /// up: each may be for another value.)
    fn on_accepted(&mut self, from: NodeId, ballot: Ballot, value: Value) {
        todo!(
            "record `from` among the acceptors of `ballot`; once a majority accepted \
             the ballot, learn its value"
        )
    }

    /// Sends `msg` to `to`, handling it here at once when `to` is this node
    /// (a node playing two roles talks to itself without the network).
    fn tell(&mut self, ctx: &mut Ctx<Paxos>, to: NodeId, msg: Msg) {
        if to == self.id {
            self.on_message(ctx, to, msg);
        } else {
            ctx.send(to, msg);
        }
    }
}

impl Node for Paxos {
    type Msg = Msg;
    type Timer = Timer;
    type Request = ();
    type Reply = ();

    /// At boot and after a restart: an acceptor reads back its promise and
    /// vote, a proposer its last round, then a proposer starts an attempt.
    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        self.recover(ctx);
        if self.proposal().is_some() {
            self.start_ballot(ctx);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Prepare { ballot } if self.is_acceptor() => self.on_prepare(ctx, from, ballot),
            Msg::Accept { ballot, value } if self.is_acceptor() => {
                self.on_accept(ctx, from, ballot, value)
            }
            Msg::Promise { ballot, accepted } => self.on_promise(ctx, from, ballot, accepted),
            Msg::Nack { ballot, promised } => self.on_nack(ctx, ballot, promised),
            Msg::Accepted { ballot, value } => self.on_accepted(from, ballot, value),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        let Timer::Retry = timer;
        self.start_ballot(ctx);
    }
}
