//! # paxos_multi: a replicated log (Multi-Paxos)
//!
//! Every node keeps a copy of a key-value store, and every copy must go
//! through the same commands in the same order. The order is a log of
//! numbered **slots**, and each slot is one instance of Paxos: the value
//! chosen at slot `s` is the `s`-th command. Running both phases of
//! `single_decree.rs` per slot would cost two round trips per command;
//! Multi-Paxos keeps a **leader** and pays phase 1 once:
//!
//! - **One phase 1 for all slots.** A node that hears no leader for a while
//!   picks a [`Ballot`] above every round it has seen and sends
//!   `Prepare { ballot, from }`: a promise asked for *every* slot from
//!   `from` on. Each promise carries the acceptor's votes for those slots.
//! - **Recovery of open slots.** With a majority of promises the node
//!   leads. For each slot from `from` to the highest slot any promise
//!   mentions, it proposes the value of the highest-ballot vote, or a
//!   **no-op** where no promise has one: a hole left by the old leader must
//!   be filled, or the slots after it could never be applied.
//! - **Phase 2 per command.** A client's command goes into the next free
//!   slot: `Accept` to every acceptor, `Accepted` back; a majority chooses
//!   it, and the leader tells everyone with `Decide`.
//! - **In order, once.** A node applies chosen slots strictly in slot order.
//!   A client retries a command (same client id and sequence number) when
//!   it hears nothing, so the same command may be chosen in two slots: the
//!   store remembers each client's last sequence number and applies a
//!   command only once.
//! - **Leadership.** The leader sends a `Heartbeat` every [`HEARTBEAT`]; a
//!   node that hears one (or an `Accept`) from a ballot at least its
//!   promise backs off for a random election timeout. The higher ballot
//!   wins: a leader that sees a higher one steps down.
//!
// exercise: begin
// stub: //! Read `exercises/12_paxos/README.md` first. Then fill in the methods
// stub: //! below: the acceptor's two rules and its recovery, the campaign, the
// stub: //! new leader's recovery of open slots, the counting of `Accepted`, the
// stub: //! in-order apply and the store's duplicate check. The types, the client
// stub: //! API (`on_request`), the heartbeats, catch-up and the dispatch are given.
//! The reference solution: each method is one rule of the protocol.
// exercise: end

use dsim::{Ctx, Node, NodeId, RequestId, Time};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// A position in the log, from 1.
pub type Slot = u64;
/// Who sent a command.
pub type ClientId = u64;

/// How often the leader tells the others it is alive (and resends the
/// `Accept`s that have waited [`RETRANSMIT`]).
pub const HEARTBEAT: Duration = Duration::from_millis(20);
/// How long an `Accept` waits for a majority before it is sent again.
pub const RETRANSMIT: Duration = Duration::from_millis(50);
/// A node that hears no leader for a random time in
/// `ELECTION_MIN..=ELECTION_MAX` campaigns.
pub const ELECTION_MIN: Duration = Duration::from_millis(150);
pub const ELECTION_MAX: Duration = Duration::from_millis(300);
/// The most chosen values one `Decide` carries to a node catching up.
pub const BATCH: usize = 64;

/// The storage key of an acceptor's promise (one for every slot).
pub const PROMISED_KEY: &str = "promised";
/// The storage key of the highest slot this acceptor has a vote for.
pub const TOP_SLOT_KEY: &str = "top_slot";

/// The storage key of an acceptor's vote at `slot`.
pub fn vote_key(slot: Slot) -> String {
    format!("vote/{slot}")
}

/// A proposal number: by round, then by proposer, so no two share one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Ballot {
    pub round: u64,
    pub proposer: NodeId,
}

/// What a client asks of the store.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Op {
    Get { key: String },
    Put { key: String, value: String },
    Append { key: String, value: String },
}

/// A client's command: its `seq`-th, which it sends again, unchanged,
/// until it is answered.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Command {
    pub client: ClientId,
    pub seq: u64,
    pub op: Op,
}

/// What a slot holds.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Value {
    /// Fills a hole; applying it changes nothing.
    Noop,
    Command(Command),
}

/// A value accepted in a ballot.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Vote {
    pub ballot: Ballot,
    pub value: Value,
}

/// What a command returns.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Output {
    /// A `Get`'s value (`None`: never written).
    Value(Option<String>),
    /// A `Put` or an `Append` took effect.
    Done,
}

/// The answer to a client.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reply {
    /// The command was applied (once), with its output.
    Applied { output: Output },
    /// This node does not lead; try `leader` if it names one.
    NotLeader { leader: Option<NodeId> },
}

/// What the nodes send each other.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Msg {
    /// Phase 1a, for every slot from `from` on.
    Prepare { ballot: Ballot, from: Slot },
    /// Phase 1b: promised, with the acceptor's votes for slots from `from`.
    Promise {
        ballot: Ballot,
        votes: BTreeMap<Slot, Vote>,
    },
    /// Phase 2a: accept `value` at `slot` in `ballot`.
    Accept {
        ballot: Ballot,
        slot: Slot,
        value: Value,
    },
    /// Phase 2b, to the leader.
    Accepted { ballot: Ballot, slot: Slot },
    /// `ballot` refused: the acceptor promised `promised`.
    Nack { ballot: Ballot, promised: Ballot },
    /// The leader is alive and has applied up to `applied`.
    Heartbeat { ballot: Ballot, applied: Slot },
    /// A node behind the leader asks for the chosen values from `from`.
    Catchup { from: Slot },
    /// Chosen values.
    Decide { entries: Vec<(Slot, Value)> },
}

/// The timers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Timer {
    /// No leader heard for a while: campaign.
    Election,
    /// The leader's beat.
    Heartbeat,
}

/// The replicated store, with a session per client for the duplicate check.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Kv {
    pub data: BTreeMap<String, String>,
    /// Each client's last applied sequence number and its output.
    pub sessions: BTreeMap<ClientId, (u64, Output)>,
}

impl Kv {
    /// Runs `op` on the data.
    pub fn execute(&mut self, op: &Op) -> Output {
        match op {
            Op::Get { key } => Output::Value(self.data.get(key).cloned()),
            Op::Put { key, value } => {
                self.data.insert(key.clone(), value.clone());
                Output::Done
            }
            Op::Append { key, value } => {
                self.data.entry(key.clone()).or_default().push_str(value);
                Output::Done
            }
        }
    }

    /// Applies `command` once: a command at or below its client's last
    /// sequence number was applied before (it was retried and chosen in
    /// another slot too), and gets the remembered output without running.
    pub fn apply(&mut self, command: &Command) -> Output {
        // exercise: begin "if the client's session has seq >= command.seq, return its output "
        //   "unchanged; otherwise execute the op and record (seq, output) in the session"
        if let Some((seq, output)) = self.sessions.get(&command.client) {
            if command.seq <= *seq {
                return output.clone();
            }
        }
        let output = self.execute(&command.op);
        let session = (command.seq, output.clone());
        self.sessions.insert(command.client, session);
        output
        // exercise: end
    }
}

/// A slot this leader proposed and that is not chosen yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    pub value: Value,
    /// The acceptors that accepted it in this leader's ballot.
    pub acks: BTreeSet<NodeId>,
    /// When its `Accept` was last sent.
    pub sent_at: Time,
}

/// A node: acceptor, proposer (leader or not) and learner at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Multi {
    pub id: NodeId,
    // Acceptor (durable: also in storage).
    /// The promise, for every slot.
    pub promised: Option<Ballot>,
    /// This acceptor's vote per slot.
    pub accepted: BTreeMap<Slot, Vote>,
    // Proposer.
    /// The highest round seen in a promise or a refusal. (A campaign's
    /// ballot is promised by the node itself, on disk, in the same handler:
    /// the promise is its durable record of the rounds it used.)
    pub highest_round: u64,
    /// The ballot of this node's campaign or leadership.
    pub ballot: Option<Ballot>,
    /// Whether phase 1 of `ballot` succeeded.
    pub leading: bool,
    /// The first slot of the campaign's phase 1.
    pub from: Slot,
    /// The promises for `ballot`, with their votes.
    pub promises: BTreeMap<NodeId, BTreeMap<Slot, Vote>>,
    /// The next free slot (leader).
    pub next_slot: Slot,
    /// The leader's slots in phase 2.
    pub proposals: BTreeMap<Slot, Proposal>,
    /// The clients waiting for their command, by (client, seq).
    pub waiting: BTreeMap<(ClientId, u64), RequestId>,
    /// The leader this node last heard of.
    pub leader: Option<NodeId>,
    // Learner.
    /// The chosen values this node knows.
    pub log: BTreeMap<Slot, Value>,
    /// Every slot up to this one is applied to `kv`, in order.
    pub applied: Slot,
    pub kv: Kv,
}

impl Multi {
    /// Node `id`, before it has started.
    pub fn new(id: NodeId) -> Self {
        Multi {
            id,
            promised: None,
            accepted: BTreeMap::new(),
            highest_round: 0,
            ballot: None,
            leading: false,
            from: 1,
            promises: BTreeMap::new(),
            next_slot: 1,
            proposals: BTreeMap::new(),
            waiting: BTreeMap::new(),
            leader: None,
            log: BTreeMap::new(),
            applied: 0,
            kv: Kv::default(),
        }
    }

    /// A majority of the `n` nodes: any two share a node.
    pub fn majority(n: usize) -> usize {
        n / 2 + 1
    }

    // ----- acceptor --------------------------------------------------------

    /// Phase 1b. Promise `ballot` for every slot unless a higher ballot was
    /// promised; answer with the votes from `from` on. The promise goes to
    /// disk first.
    fn on_prepare(&mut self, ctx: &mut Ctx<Multi>, from: NodeId, ballot: Ballot, first: Slot) {
        // exercise: begin "below the promise: Nack; otherwise promise(ballot) and answer Promise "
        //   "with the votes of accepted from `first` on"
        if let Some(promised) = self.promised.filter(|&p| ballot < p) {
            self.tell(ctx, from, Msg::Nack { ballot, promised });
            return;
        }
        self.promise(ctx, ballot);
        let votes = self.accepted.range(first..);
        let votes = votes.map(|(&s, v)| (s, v.clone())).collect();
        self.tell(ctx, from, Msg::Promise { ballot, votes });
        // exercise: end
    }

    /// Phase 2b. Accept `value` at `slot` unless a higher ballot was
    /// promised (accepting a ballot promises it too); the vote goes to disk,
    /// then `Accepted` to the leader.
    fn on_accept(
        &mut self,
        ctx: &mut Ctx<Multi>,
        from: NodeId,
        ballot: Ballot,
        slot: Slot,
        value: Value,
    ) {
        // exercise: begin "below the promise: Nack; otherwise promise(ballot), store the vote "
        //   "(store_vote) and answer Accepted"
        if let Some(promised) = self.promised.filter(|&p| ballot < p) {
            self.tell(ctx, from, Msg::Nack { ballot, promised });
            return;
        }
        self.promise(ctx, ballot);
        self.store_vote(ctx, slot, Vote { ballot, value });
        self.tell(ctx, from, Msg::Accepted { ballot, slot });
        // exercise: end
    }

    /// Raises the promise to `ballot` (durably) and follows its proposer:
    /// a node whose own ballot is lower stops campaigning or leading.
    fn promise(&mut self, ctx: &mut Ctx<Multi>, ballot: Ballot) {
        if self.promised != Some(ballot) {
            self.promised = Some(ballot);
            ctx.storage().put(PROMISED_KEY, &ballot);
        }
        self.highest_round = self.highest_round.max(ballot.round);
        if ballot.proposer != self.id {
            self.step_down();
            self.leader = Some(ballot.proposer);
            self.back_off(ctx);
        }
    }

    /// Records a vote, on disk (with the highest slot voted) before memory.
    pub fn store_vote(&mut self, ctx: &mut Ctx<Multi>, slot: Slot, vote: Vote) {
        ctx.storage().put(&vote_key(slot), &vote);
        if self
            .accepted
            .last_key_value()
            .is_none_or(|(&top, _)| slot > top)
        {
            ctx.storage().put(TOP_SLOT_KEY, &slot);
        }
        self.accepted.insert(slot, vote);
    }

    /// After a restart: the promise and every vote (slots 1 to the top one
    /// stored).
    fn recover(&mut self, ctx: &mut Ctx<Multi>) {
        // exercise: begin "read PROMISED_KEY into promised, and the vote_key of every slot up to "
        //   "TOP_SLOT_KEY (0 if absent) into accepted"
        self.promised = ctx.storage().get(PROMISED_KEY);
        let top: Slot = ctx.storage().get(TOP_SLOT_KEY).unwrap_or(0);
        for slot in 1..=top {
            if let Some(vote) = ctx.storage().get::<Vote>(&vote_key(slot)) {
                self.accepted.insert(slot, vote);
            }
        }
        // exercise: end
    }

    // ----- proposer --------------------------------------------------------

    /// Phase 1a for every slot past those applied: a ballot above every
    /// round seen (in `highest_round`, and in the node's own promise, which
    /// is all a restarted node knows), promised by this node first.
    fn campaign(&mut self, ctx: &mut Ctx<Multi>) {
        // exercise: begin "round: 1 + the highest of highest_round and the promise's round; ballot "
        //   "(round, id); clear promises; from = applied + 1; Prepare to every node, this one too"
        let promised = self.promised.map_or(0, |b| b.round);
        let round = self.highest_round.max(promised) + 1;
        let ballot = Ballot {
            round,
            proposer: self.id,
        };
        self.ballot = Some(ballot);
        self.promises.clear();
        self.from = self.applied + 1;
        let from = self.from;
        for to in self.everyone(ctx) {
            self.tell(ctx, to, Msg::Prepare { ballot, from });
        }
        // exercise: end
    }

    /// Counts a promise for the campaign's ballot; with a majority, leads.
    fn on_promise(
        &mut self,
        ctx: &mut Ctx<Multi>,
        from: NodeId,
        ballot: Ballot,
        votes: BTreeMap<Slot, Vote>,
    ) {
        if self.ballot != Some(ballot) || self.leading {
            return;
        }
        self.promises.insert(from, votes);
        if self.promises.len() >= Self::majority(ctx.cluster_size()) {
            self.leading = true;
            self.leader = Some(self.id);
            self.take_over(ctx);
            self.beat(ctx);
        }
    }

    /// The new leader's recovery: every slot from `from` to the highest
    /// slot in any promise is proposed again, with the value of its
    /// highest-ballot vote among the promises (it may have been chosen), or
    /// a no-op where none voted (a hole: nothing can have been chosen
    /// there). New commands go after.
    fn take_over(&mut self, ctx: &mut Ctx<Multi>) {
        // exercise: begin "for each slot from self.from to the highest slot in the promises: "
        //   "propose the highest-ballot vote's value, or Value::Noop; next_slot after them"
        let mut highest: BTreeMap<Slot, &Vote> = BTreeMap::new();
        for vote in self.promises.values().flatten() {
            let best = highest.entry(*vote.0).or_insert(vote.1);
            if vote.1.ballot > best.ballot {
                *best = vote.1;
            }
        }
        let top = highest.keys().last().copied().unwrap_or(0);
        let values: Vec<(Slot, Value)> = (self.from..=top)
            .map(|slot| {
                let value = highest.get(&slot).map(|v| v.value.clone());
                (slot, value.unwrap_or(Value::Noop))
            })
            .collect();
        self.next_slot = self.from.max(top + 1);
        for (slot, value) in values {
            self.propose(ctx, slot, value);
        }
        // exercise: end
    }

    /// Phase 2a: asks every acceptor to accept `value` at `slot`.
    fn propose(&mut self, ctx: &mut Ctx<Multi>, slot: Slot, value: Value) {
        let Some(ballot) = self.ballot else { return };
        let proposal = Proposal {
            value: value.clone(),
            acks: BTreeSet::new(),
            sent_at: ctx.now(),
        };
        self.proposals.insert(slot, proposal);
        for to in self.everyone(ctx) {
            let value = value.clone();
            self.tell(
                ctx,
                to,
                Msg::Accept {
                    ballot,
                    slot,
                    value,
                },
            );
        }
    }

    /// Counts an acceptance in this leader's ballot (an acceptance of any
    /// other ballot, an older one of this node's included, says nothing of
    /// this one); at a majority the slot's value is chosen: learn it, and
    /// tell everyone. (Only a leader has proposals.)
    fn on_accepted(&mut self, ctx: &mut Ctx<Multi>, from: NodeId, ballot: Ballot, slot: Slot) {
        // exercise: begin "only for this node's ballot and a slot in proposals: add `from` to its "
        //   "acks; at a majority remove it, learn it and broadcast Decide"
        if self.ballot != Some(ballot) {
            return;
        }
        let Some(proposal) = self.proposals.get_mut(&slot) else {
            return;
        };
        proposal.acks.insert(from);
        if proposal.acks.len() < Self::majority(ctx.cluster_size()) {
            return;
        }
        let Some(Proposal { value, .. }) = self.proposals.remove(&slot) else {
            return;
        };
        let entries = vec![(slot, value.clone())];
        ctx.broadcast(Msg::Decide { entries });
        self.learn(ctx, slot, value);
        // exercise: end
    }

    /// A higher ballot exists: note its round, and stop if it beat ours.
    fn on_nack(&mut self, ctx: &mut Ctx<Multi>, ballot: Ballot, promised: Ballot) {
        self.highest_round = self.highest_round.max(promised.round);
        if self.ballot == Some(ballot) {
            self.step_down();
            self.back_off(ctx);
        }
    }

    /// No longer campaigning or leading: the proposals in flight and the
    /// clients waiting on them are dropped (the clients will retry).
    fn step_down(&mut self) {
        self.ballot = None;
        self.leading = false;
        self.promises.clear();
        self.proposals.clear();
        self.waiting.clear();
    }

    /// Waits a fresh random election timeout before campaigning.
    fn back_off(&mut self, ctx: &mut Ctx<Multi>) {
        let wait = ctx.rng().duration(ELECTION_MIN..=ELECTION_MAX);
        ctx.set_timer(Timer::Election, wait);
    }

    /// The leader's beat: a heartbeat to everyone, and the `Accept`s that
    /// waited too long sent again to the acceptors that did not answer.
    fn beat(&mut self, ctx: &mut Ctx<Multi>) {
        let (Some(ballot), true) = (self.ballot, self.leading) else {
            return;
        };
        let applied = self.applied;
        ctx.broadcast(Msg::Heartbeat { ballot, applied });
        let now = ctx.now();
        let peers = ctx.peers().to_vec();
        for (&slot, p) in self.proposals.iter_mut() {
            if now.saturating_since(p.sent_at) < RETRANSMIT {
                continue;
            }
            p.sent_at = now;
            for &to in peers.iter().filter(|to| !p.acks.contains(to)) {
                let value = p.value.clone();
                ctx.send(
                    to,
                    Msg::Accept {
                        ballot,
                        slot,
                        value,
                    },
                );
            }
        }
        ctx.set_timer(Timer::Heartbeat, HEARTBEAT);
    }

    /// A heartbeat: a ballot below the promise is refused (so an old leader
    /// learns it was replaced); otherwise follow, and ask for what is
    /// missing.
    fn on_heartbeat(&mut self, ctx: &mut Ctx<Multi>, from: NodeId, ballot: Ballot, applied: Slot) {
        if let Some(promised) = self.promised.filter(|&p| ballot < p) {
            ctx.send(from, Msg::Nack { ballot, promised });
            return;
        }
        self.promise(ctx, ballot);
        if applied > self.applied {
            let first = self.applied + 1;
            ctx.send(from, Msg::Catchup { from: first });
        }
    }

    /// Sends a node behind the chosen values it asked for, up to [`BATCH`].
    fn on_catchup(&mut self, ctx: &mut Ctx<Multi>, to: NodeId, first: Slot) {
        let known = self.log.range(first..=self.applied).take(BATCH);
        let entries: Vec<(Slot, Value)> = known.map(|(&s, v)| (s, v.clone())).collect();
        if !entries.is_empty() {
            ctx.send(to, Msg::Decide { entries });
        }
    }

    // ----- learner ---------------------------------------------------------

    /// Records a chosen value, then applies what can be applied.
    fn learn(&mut self, ctx: &mut Ctx<Multi>, slot: Slot, value: Value) {
        if slot > self.applied {
            self.log.entry(slot).or_insert(value);
        }
        self.apply_chosen(ctx);
    }

    /// Applies the chosen slots right after `applied`, in slot order,
    /// stopping at the first slot not known to be chosen; answers the
    /// clients waiting on this leader. (The log keeps what was applied: a
    /// node catching up is served from it.)
    fn apply_chosen(&mut self, ctx: &mut Ctx<Multi>) {
        // exercise: begin "while log has applied + 1: advance applied; apply a command with "
        //   "kv.apply and reply Applied to its waiting client, if any"
        while let Some(value) = self.log.get(&(self.applied + 1)).cloned() {
            self.applied += 1;
            let Value::Command(command) = value else {
                continue;
            };
            let output = self.kv.apply(&command);
            if let Some(id) = self.waiting.remove(&(command.client, command.seq)) {
                ctx.reply(id, Reply::Applied { output });
            }
        }
        // exercise: end
    }

    // ----- helpers ---------------------------------------------------------

    /// Every node, this one included.
    fn everyone(&self, ctx: &Ctx<Multi>) -> Vec<NodeId> {
        let mut all = ctx.peers().to_vec();
        all.push(self.id);
        all
    }

    /// Sends `msg`, handling it at once when `to` is this node.
    fn tell(&mut self, ctx: &mut Ctx<Multi>, to: NodeId, msg: Msg) {
        if to == self.id {
            self.on_message(ctx, to, msg);
        } else {
            ctx.send(to, msg);
        }
    }
}

impl Node for Multi {
    type Msg = Msg;
    type Timer = Timer;
    type Request = Command;
    type Reply = Reply;

    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        self.recover(ctx);
        self.back_off(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Prepare {
                ballot,
                from: first,
            } => self.on_prepare(ctx, from, ballot, first),
            Msg::Promise { ballot, votes } => self.on_promise(ctx, from, ballot, votes),
            Msg::Accept {
                ballot,
                slot,
                value,
            } => self.on_accept(ctx, from, ballot, slot, value),
            Msg::Accepted { ballot, slot } => self.on_accepted(ctx, from, ballot, slot),
            Msg::Nack { ballot, promised } => self.on_nack(ctx, ballot, promised),
            Msg::Heartbeat { ballot, applied } => self.on_heartbeat(ctx, from, ballot, applied),
            Msg::Catchup { from: first } => self.on_catchup(ctx, from, first),
            Msg::Decide { entries } => {
                for (slot, value) in entries {
                    self.learn(ctx, slot, value);
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        match timer {
            Timer::Heartbeat => self.beat(ctx),
            Timer::Election if self.leading => {}
            Timer::Election => {
                self.campaign(ctx);
                self.back_off(ctx);
            }
        }
    }

    /// A client's command: only the leader takes it. One already applied
    /// is answered from its session; one already in phase 2 is not proposed
    /// again; any other goes into the next free slot.
    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, command: Command) {
        if !self.leading {
            let leader = self.leader;
            ctx.reply(id, Reply::NotLeader { leader });
            return;
        }
        if let Some((seq, output)) = self.kv.sessions.get(&command.client) {
            if command.seq <= *seq {
                let output = output.clone();
                ctx.reply(id, Reply::Applied { output });
                return;
            }
        }
        self.waiting.insert((command.client, command.seq), id);
        let value = Value::Command(command);
        if self.proposals.values().any(|p| p.value == value) {
            return;
        }
        let slot = self.next_slot;
        self.next_slot += 1;
        self.propose(ctx, slot, value);
    }
}
