//! # log_partition_leader: one partition, a leader and its in-sync replicas
//!
//! A partition of a log is an append-only sequence of records, numbered
//! by offset from 0, kept on three replicas (n1, n2, n3). One replica
//! leads: producers append to it, and the others (followers) copy its log
//! by fetching. A controller (n0) records who leads which epoch and which
//! replicas are in sync; it stands for the cluster's metadata store, which
//! is replicated in its own right, so it never fails here. The rules:
//!
//! - Fetching. A follower asks the leader for the records from its log end
//!   offset, naming the epoch of its last record. The leader answers with
//!   the records from there (at most [`BATCH`]) and its high watermark, if
//!   its own log holds that last record; if not, it answers `Diverged`,
//!   and the follower drops its last record and asks again. A fetch is how
//!   the leader learns where each follower stands.
//! - The in-sync set (ISR). A follower that has not caught up with the
//!   leader's log end for [`LAG_TIMEOUT`] leaves the ISR; one that is back
//!   to the high watermark and keeping up rejoins. The leader proposes
//!   each change to the controller (`AlterIsr`) and, until it is confirmed,
//!   counts both the old and the new set: the stricter of the two.
//! - The high watermark (HW). The first offset not yet held by every
//!   replica of the ISR: the records below it are committed. Consumers
//!   read only below it, and a producer that asked for `acks=all` is
//!   answered once its record is below it. With `acks=1` the leader
//!   answers at once: faster, and lost if the leader dies first.
//! - Failover. Told the leader is gone, the controller elects another
//!   member of the ISR (never a replica out of sync: that would lose
//!   committed records) for the next epoch, and announces it. Replicas
//!   drop replication messages of any other epoch than theirs.
//!
// exercise: begin
// stub: //! Read `exercises/17_log/README.md` first. Then fill in the handlers
// stub: //! below: each `todo!()` is one step of the protocol.
//! The reference solution.
// exercise: end

use dsim::{Ctx, Node, NodeId, RequestId, Time};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The node that records the leader and the ISR, and elects.
pub const CONTROLLER: NodeId = NodeId(0);
/// The replicas are n1..=n3.
pub const REPLICAS: usize = 3;
/// The leader of epoch 0.
pub const FIRST_LEADER: NodeId = NodeId(1);
/// How often a follower fetches when it has nothing else to do.
pub const FETCH_EVERY: Duration = Duration::from_millis(10);
/// How long a follower may go without catching up before it leaves the ISR.
pub const LAG_TIMEOUT: Duration = Duration::from_millis(100);
/// How often the leader reviews its ISR (and proposes a change again).
pub const TICK: Duration = Duration::from_millis(20);
/// How often the controller announces the leader and the ISR.
pub const ANNOUNCE_EVERY: Duration = Duration::from_millis(50);
/// The most records in one answer to a fetch or a read.
pub const BATCH: usize = 16;
/// Storage keys: the log's length, the HW, and (epoch, leader).
pub const END_KEY: &str = "end";
pub const HW_KEY: &str = "hw";
pub const EPOCH_KEY: &str = "epoch";

/// The storage key of the record at `offset`.
pub fn record_key(offset: u64) -> String {
    format!("record/{offset}")
}

/// Every replica: n1..=n3.
pub fn replicas() -> impl Iterator<Item = NodeId> {
    (1..=REPLICAS).map(NodeId)
}

/// One record: its value, and the epoch of the leader that appended it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub epoch: u64,
    pub value: u64,
}

/// When the leader answers a producer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Acks {
    /// `acks=1`: once the leader has appended the record.
    Leader,
    /// `acks=all`: once every replica of the ISR has it (below the HW).
    All,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// A producer appends `value`, at the leader.
    Produce { value: u64, acks: Acks },
    /// A consumer reads from `offset`, at any replica.
    Read { offset: u64 },
    /// To the controller: the leader is gone, elect another.
    Elect,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// The record is in the leader's log at `offset`.
    Produced { offset: u64 },
    /// This node does not lead: ask another.
    NotLeader,
    /// The committed records from `offset` on (maybe none).
    Records { offset: u64, values: Vec<u64> },
    /// `leader` leads `epoch` now.
    Elected { epoch: u64, leader: NodeId },
    /// No replica of the ISR is left to lead: the partition waits.
    NoCandidate,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    /// Follower to leader: "send me the records from `offset`; my record
    /// before it is of `last_epoch`" (0 when `offset` is 0).
    Fetch {
        epoch: u64,
        offset: u64,
        last_epoch: u64,
    },
    /// Leader to follower: the records from `offset`, and the leader's HW.
    Records {
        epoch: u64,
        offset: u64,
        records: Vec<Record>,
        hw: u64,
    },
    /// Leader to follower: "my log does not hold your record before
    /// `offset` of `last_epoch`" (the fetch's own fields, echoed).
    Diverged {
        epoch: u64,
        offset: u64,
        last_epoch: u64,
    },
    /// Leader to controller: "make the ISR `isr`".
    AlterIsr { epoch: u64, isr: BTreeSet<NodeId> },
    /// Controller to leader, in answer: the ISR of `epoch` now.
    IsrChanged { epoch: u64, isr: BTreeSet<NodeId> },
    /// Controller to replicas: who leads `epoch`, and the ISR.
    LeaderAndIsr {
        epoch: u64,
        leader: NodeId,
        isr: BTreeSet<NodeId>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Timer {
    /// A follower fetches.
    Fetch,
    /// The leader reviews its ISR and sends a pending proposal.
    Tick,
    /// The controller announces.
    Announce,
}

/// What the leader knows of a follower, from its fetches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Follower {
    /// Its log end offset, as its last fetch said.
    pub end: u64,
    /// The leader's log end when that fetch came, and when it came.
    pub end_at_last_fetch: u64,
    pub last_fetch_at: Time,
    /// The last time it was known to hold the leader's whole log.
    pub caught_up_at: Time,
}

impl Follower {
    /// A follower the leader has not heard from yet, given one
    /// [`LAG_TIMEOUT`] from `now` to show up.
    pub fn new(now: Time) -> Self {
        Follower {
            end: 0,
            end_at_last_fetch: 0,
            last_fetch_at: now,
            caught_up_at: now,
        }
    }
}

/// An `acks=all` producer waiting for its record to be committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Waiting {
    pub id: RequestId,
    pub offset: u64,
}

/// A replica (n1..=n3), or the controller (n0), which uses only `epoch`,
/// `leader` and `isr`.
#[derive(Debug)]
pub struct PartitionLeader {
    /// The records, `log[offset]` (durable).
    pub log: Vec<Record>,
    /// The high watermark: records below it are committed (durable).
    pub hw: u64,
    /// The newest epoch this node knows of, and its leader (durable).
    pub epoch: u64,
    pub leader: NodeId,
    /// Whether this replica leads `epoch` now.
    pub leading: bool,
    /// The ISR as the controller confirmed it (on the leader and the
    /// controller).
    pub isr: BTreeSet<NodeId>,
    /// The leader's proposed ISR, not yet confirmed.
    pub proposed: Option<BTreeSet<NodeId>>,
    /// The leader's view of each follower.
    pub followers: BTreeMap<NodeId, Follower>,
    /// The leader's `acks=all` producers.
    pub waiting: Vec<Waiting>,
}

impl Default for PartitionLeader {
    fn default() -> Self {
        PartitionLeader::new()
    }
}

impl PartitionLeader {
    pub fn new() -> Self {
        PartitionLeader {
            log: Vec::new(),
            hw: 0,
            epoch: 0,
            leader: FIRST_LEADER,
            leading: false,
            isr: BTreeSet::new(),
            proposed: None,
            followers: BTreeMap::new(),
            waiting: Vec::new(),
        }
    }

    /// The log end offset: the offset the next record gets.
    pub fn end(&self) -> u64 {
        self.log.len() as u64
    }

    /// The epoch of the record before `offset` (0 for offset 0 or beyond).
    pub fn epoch_before(&self, offset: u64) -> u64 {
        let at = offset.checked_sub(1).and_then(|i| self.log.get(i as usize));
        at.map_or(0, |r| r.epoch)
    }

    /// The ISR the HW waits for: the confirmed one and the proposed one.
    pub fn counted(&self) -> BTreeSet<NodeId> {
        let proposed = self.proposed.iter().flatten();
        self.isr.iter().chain(proposed).copied().collect()
    }

    /// Appends `record`, durably.
    pub fn append(&mut self, ctx: &mut Ctx<Self>, record: Record) {
        ctx.storage().put(&record_key(self.end()), &record);
        self.log.push(record);
        ctx.storage().put(END_KEY, &self.end());
    }

    /// Keeps the first `keep` records, durably.
    pub fn truncate(&mut self, ctx: &mut Ctx<Self>, keep: u64) {
        self.log.truncate(keep as usize);
        ctx.storage().put(END_KEY, &keep);
    }

    /// Moves the HW to `hw`, durably.
    pub fn set_hw(&mut self, ctx: &mut Ctx<Self>, hw: u64) {
        self.hw = hw;
        ctx.storage().put(HW_KEY, &hw);
    }

    /// Follower: asks the leader for what follows its log, and fetches
    /// again after [`FETCH_EVERY`] if nothing comes sooner.
    fn fetch(&mut self, ctx: &mut Ctx<Self>) {
        if !self.leading && self.leader != ctx.id() {
            let (epoch, offset) = (self.epoch, self.end());
            let last_epoch = self.epoch_before(offset);
            ctx.send(
                self.leader,
                Msg::Fetch {
                    epoch,
                    offset,
                    last_epoch,
                },
            );
        }
        ctx.set_timer(Timer::Fetch, FETCH_EVERY);
    }

    /// Controller: tells every replica who leads and the ISR.
    fn announce(&mut self, ctx: &mut Ctx<Self>) {
        for to in replicas() {
            ctx.send(to, self.leader_and_isr());
        }
    }

    fn leader_and_isr(&self) -> Msg {
        let (epoch, leader, isr) = (self.epoch, self.leader, self.isr.clone());
        Msg::LeaderAndIsr { epoch, leader, isr }
    }

    /// Leader: whether its log holds the record before `offset` with
    /// `last_epoch`, so that a follower at `offset` holds a prefix of it.
    pub fn holds(&self, offset: u64, last_epoch: u64) -> bool {
        // exercise: begin "true for offset 0; otherwise offset must be within your log and the "
        //   "record before it of last_epoch"
        offset == 0 || (offset <= self.end() && self.epoch_before(offset) == last_epoch)
        // exercise: end
    }

    /// Leader, on a fetch from `from` at `offset`: if the follower's log
    /// is a prefix of ours, note where it stands (and whether it had caught
    /// up with what we had at its previous fetch), advance the HW, and
    /// send the records from `offset` with the HW; if not, answer
    /// `Diverged`.
    fn on_fetch(&mut self, ctx: &mut Ctx<Self>, from: NodeId, offset: u64, last_epoch: u64) {
        // exercise: begin "if !holds(offset, last_epoch) send Diverged (echoing offset and "
        //   "last_epoch) and stop; else update the follower's end, caught_up_at (= last_fetch_at "
        //   "when offset >= end_at_last_fetch), end_at_last_fetch and last_fetch_at; call "
        //   "advance_hw; send Records from offset (at most BATCH) with your hw"
        let epoch = self.epoch;
        if !self.holds(offset, last_epoch) {
            ctx.send(
                from,
                Msg::Diverged {
                    epoch,
                    offset,
                    last_epoch,
                },
            );
            return;
        }
        let (now, end) = (ctx.now(), self.end());
        let follower = self.followers.entry(from).or_insert(Follower::new(now));
        if offset >= follower.end_at_last_fetch {
            follower.caught_up_at = follower.last_fetch_at;
        }
        follower.end = offset;
        follower.end_at_last_fetch = end;
        follower.last_fetch_at = now;
        self.advance_hw(ctx);
        let upto = (offset as usize + BATCH).min(self.log.len());
        let records = self.log[offset as usize..upto].to_vec();
        let hw = self.hw;
        ctx.send(
            from,
            Msg::Records {
                epoch,
                offset,
                records,
                hw,
            },
        );
        // exercise: end
    }

    /// Leader: whether `follower` has kept up: caught up within the last
    /// [`LAG_TIMEOUT`].
    pub fn in_sync(&self, follower: NodeId, now: Time) -> bool {
        // exercise: begin "look the follower up in followers; true if now - caught_up_at is at "
        //   "most LAG_TIMEOUT"
        (self.followers.get(&follower))
            .is_some_and(|f| now.saturating_since(f.caught_up_at) <= LAG_TIMEOUT)
        // exercise: end
    }

    /// Leader: the ISR it wants: itself, every member still in sync, and
    /// every other replica in sync whose log reaches the HW. If that is not
    /// the ISR and no proposal is pending, it is the proposal (the Tick
    /// sends it to the controller, and again until it is confirmed).
    fn review_isr(&mut self, ctx: &mut Ctx<Self>) {
        // exercise: begin "with no proposal pending: wanted = you, plus each member in_sync, plus "
        //   "each non-member in_sync whose end >= hw; if it differs from isr, store it in proposed"
        if self.proposed.is_some() {
            return;
        }
        let (me, now) = (ctx.id(), ctx.now());
        let reaches = |f: &Follower| f.end >= self.hw;
        let wanted: BTreeSet<NodeId> = replicas()
            .filter(|&r| {
                r == me
                    || (self.in_sync(r, now)
                        && (self.isr.contains(&r) || self.followers.get(&r).is_some_and(reaches)))
            })
            .collect();
        if wanted != self.isr {
            self.proposed = Some(wanted);
        }
        // exercise: end
    }

    /// Leader: moves the HW up to the lowest log end among the counted ISR
    /// (its own log end for itself), never down, and answers every
    /// `acks=all` producer whose record is now below it.
    pub fn advance_hw(&mut self, ctx: &mut Ctx<Self>) {
        // exercise: begin "hw = the least end over counted() (your end() for you, the follower's "
        //   "end for the others); if it is above self.hw, set_hw, then reply Produced to each "
        //   "waiting producer whose offset is below it and drop them"
        let me = ctx.id();
        let end_of = |r: &NodeId| match self.followers.get(r) {
            _ if *r == me => self.end(),
            Some(f) => f.end,
            None => 0,
        };
        let hw = self.counted().iter().map(end_of).min().unwrap_or(0);
        if hw > self.hw {
            self.set_hw(ctx, hw);
            let (done, waiting) = self.waiting.iter().partition(|w| w.offset < hw);
            self.waiting = waiting;
            for w in done {
                ctx.reply(w.id, Reply::Produced { offset: w.offset });
            }
        }
        // exercise: end
    }

    /// Follower, on records from its leader: take them only if they start
    /// at its log end (a late or repeated answer does not), raise its HW to
    /// the leader's (never past its own log end, never down), and fetch
    /// again at once if anything came.
    fn on_records(&mut self, ctx: &mut Ctx<Self>, offset: u64, records: Vec<Record>, hw: u64) {
        // exercise: begin "ignore unless offset == end(); append each record; set_hw to "
        //   "min(hw, end()) if that is higher; fetch again if records was not empty"
        if offset != self.end() {
            return;
        }
        for &record in &records {
            self.append(ctx, record);
        }
        let hw = hw.min(self.end());
        if hw > self.hw {
            self.set_hw(ctx, hw);
        }
        if !records.is_empty() {
            self.fetch(ctx);
        }
        // exercise: end
    }

    /// Follower, told its last record is not the leader's: drop that
    /// record and fetch again, unless the answer is late (the log has
    /// changed since the fetch it answers).
    fn on_diverged(&mut self, ctx: &mut Ctx<Self>, offset: u64, last_epoch: u64) {
        // exercise: begin "if offset == end() and epoch_before(offset) == last_epoch, truncate "
        //   "to offset - 1 and fetch again (the leader holds every log at offset 0)"
        if offset == self.end() && self.epoch_before(offset) == last_epoch {
            self.truncate(ctx, offset - 1);
            self.fetch(ctx);
        }
        // exercise: end
    }

    /// Leader, on a producer's record: append it, and answer now
    /// (`acks=1`) or once it is committed (`acks=all`).
    fn on_produce(&mut self, ctx: &mut Ctx<Self>, id: RequestId, value: u64, acks: Acks) {
        // exercise: begin "append a Record of your epoch and the value; for Acks::Leader reply Produced at "
        //   "once, for Acks::All push a Waiting and call advance_hw (the ISR may be only you)"
        let offset = self.end();
        self.append(
            ctx,
            Record {
                epoch: self.epoch,
                value,
            },
        );
        match acks {
            Acks::Leader => ctx.reply(id, Reply::Produced { offset }),
            Acks::All => {
                self.waiting.push(Waiting { id, offset });
                self.advance_hw(ctx);
            }
        }
        // exercise: end
    }

    /// Replica, on the controller's announcement: a newer epoch (or our
    /// own, naming us leader while we do not lead: after a restart) makes
    /// us its leader or a follower.
    fn on_leader_and_isr(
        &mut self,
        ctx: &mut Ctx<Self>,
        epoch: u64,
        leader: NodeId,
        isr: BTreeSet<NodeId>,
    ) {
        // exercise: begin "if epoch > self.epoch, or epoch == self.epoch naming you while you do "
        //   "not lead: take_over(epoch, leader, isr)"
        let me = ctx.id();
        if epoch > self.epoch || (epoch == self.epoch && leader == me && !self.leading) {
            self.take_over(ctx, epoch, leader, isr);
        }
        // exercise: end
    }

    /// Leader, on the controller's answer to its proposal: the ISR of its
    /// epoch equal to the one proposed confirms it; the HW may move now.
    /// Any other answer (late, or of another epoch) leaves the proposal
    /// pending, to be sent again.
    fn on_isr_changed(&mut self, ctx: &mut Ctx<Self>, epoch: u64, isr: BTreeSet<NodeId>) {
        // exercise: begin "if epoch == self.epoch and isr equals your proposal: isr = it, "
        //   "proposed = None, advance_hw"
        if epoch == self.epoch && self.proposed.as_ref() == Some(&isr) {
            self.isr = isr;
            self.proposed = None;
            self.advance_hw(ctx);
        }
        // exercise: end
    }

    /// Replica: moves to `epoch` under `leader`, durably. The new role
    /// starts from a clean slate, keeping only what is durable (the log,
    /// the HW): no proposal, no waiting producer (never answered), and on
    /// the leader the given ISR and every follower unheard
    /// (`Follower::new`), each given one LAG_TIMEOUT to show up.
    pub fn take_over(
        &mut self,
        ctx: &mut Ctx<Self>,
        epoch: u64,
        leader: NodeId,
        isr: BTreeSet<NodeId>,
    ) {
        // exercise: begin "store (epoch, leader) under EPOCH_KEY; replace self by a new node "
        //   "with your log and hw, the epoch, the leader, leading = (leader is you) and isr; a "
        //   "leader adds a Follower::new(now) for every other replica"
        ctx.storage().put(EPOCH_KEY, &(epoch, leader));
        let (me, now, log) = (ctx.id(), ctx.now(), std::mem::take(&mut self.log));
        let leading = leader == me;
        *self = PartitionLeader {
            log,
            hw: self.hw,
            epoch,
            leader,
            leading,
            isr,
            ..PartitionLeader::new()
        };
        if leading {
            self.followers = (replicas().filter(|&r| r != me))
                .map(|r| (r, Follower::new(now)))
                .collect();
        }
        // exercise: end
    }

    /// Controller, on the leader's proposal: take it if it is of the
    /// current epoch (only that epoch's leader sends one), and answer with
    /// the epoch and the ISR either way.
    fn on_alter_isr(
        &mut self,
        ctx: &mut Ctx<Self>,
        from: NodeId,
        epoch: u64,
        isr: BTreeSet<NodeId>,
    ) {
        // exercise: begin "if epoch == self.epoch, self.isr = isr; send from Msg::IsrChanged with "
        //   "your epoch and isr"
        if epoch == self.epoch {
            self.isr = isr;
        }
        let (epoch, isr) = (self.epoch, self.isr.clone());
        ctx.send(from, Msg::IsrChanged { epoch, isr });
        // exercise: end
    }

    /// Controller: the leader is gone. Elect a member of the ISR other
    /// than the leader for the next epoch, drop the old leader from the
    /// ISR, announce it and answer `Elected`; with no such member, answer
    /// `NoCandidate` and change nothing (an out-of-sync replica may lack
    /// committed records: electing it would lose them).
    fn elect(&mut self, ctx: &mut Ctx<Self>, id: RequestId) {
        // exercise: begin "pick a member of isr other than leader (else reply NoCandidate); "
        //   "epoch += 1, remove the old leader from isr, leader = the pick, announce, reply Elected"
        let old = self.leader;
        let Some(&leader) = self.isr.iter().find(|&&r| r != old) else {
            ctx.reply(id, Reply::NoCandidate);
            return;
        };
        self.epoch += 1;
        self.isr.remove(&old);
        self.leader = leader;
        self.announce(ctx);
        let epoch = self.epoch;
        ctx.reply(id, Reply::Elected { epoch, leader });
        // exercise: end
    }

    /// Any replica, for a consumer: the records from `offset`, below the
    /// HW only (at most [`BATCH`]).
    fn on_read(&mut self, ctx: &mut Ctx<Self>, id: RequestId, offset: u64) {
        // exercise: begin "reply Records with the values from offset up to (not including) hw, "
        //   "at most BATCH"
        let upto = self.hw.min(offset + BATCH as u64);
        let values = (offset..upto).map(|o| self.log[o as usize].value).collect();
        ctx.reply(id, Reply::Records { offset, values });
        // exercise: end
    }

    /// Replica at start: reload the log, the HW and (epoch, leader).
    fn recover(&mut self, ctx: &mut Ctx<Self>) {
        let end: u64 = ctx.storage().get(END_KEY).unwrap_or(0);
        for offset in 0..end {
            let record = ctx.storage().get(&record_key(offset));
            self.log
                .push(record.expect("every record below the end is stored"));
        }
        self.hw = ctx.storage().get(HW_KEY).unwrap_or(0);
        let (epoch, leader) = ctx.storage().get(EPOCH_KEY).unwrap_or((0, FIRST_LEADER));
        (self.epoch, self.leader) = (epoch, leader);
    }
}

impl Node for PartitionLeader {
    type Msg = Msg;
    type Timer = Timer;
    type Request = Request;
    type Reply = Reply;

    /// The controller starts with epoch 0, [`FIRST_LEADER`] and every
    /// replica in sync, and announces it; a replica reloads what it stored
    /// and waits for the announcement to lead, or fetches.
    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        if ctx.id() == CONTROLLER {
            self.leader = FIRST_LEADER;
            self.isr = replicas().collect();
            self.announce(ctx);
            ctx.set_timer(Timer::Announce, ANNOUNCE_EVERY);
            return;
        }
        self.recover(ctx);
        self.fetch(ctx);
        ctx.set_timer(Timer::Tick, TICK);
    }

    /// Replication messages of another epoch than this replica's are
    /// dropped; announcements carry their own rule.
    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        match msg {
            Msg::AlterIsr { epoch, isr } if ctx.id() == CONTROLLER => {
                self.on_alter_isr(ctx, from, epoch, isr)
            }
            Msg::LeaderAndIsr { epoch, leader, isr } if from == CONTROLLER => {
                self.on_leader_and_isr(ctx, epoch, leader, isr)
            }
            Msg::IsrChanged { epoch, isr } if from == CONTROLLER && self.leading => {
                self.on_isr_changed(ctx, epoch, isr)
            }
            Msg::Fetch {
                epoch,
                offset,
                last_epoch,
            } if epoch == self.epoch && self.leading => {
                self.on_fetch(ctx, from, offset, last_epoch)
            }
            Msg::Records {
                epoch,
                offset,
                records,
                hw,
            } if epoch == self.epoch && !self.leading => self.on_records(ctx, offset, records, hw),
            Msg::Diverged {
                epoch,
                offset,
                last_epoch,
            } if epoch == self.epoch && !self.leading => self.on_diverged(ctx, offset, last_epoch),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        match timer {
            Timer::Fetch => self.fetch(ctx),
            Timer::Announce => {
                self.announce(ctx);
                ctx.set_timer(Timer::Announce, ANNOUNCE_EVERY);
            }
            Timer::Tick => {
                if self.leading {
                    self.review_isr(ctx);
                }
                if let (true, Some(isr)) = (self.leading, self.proposed.clone()) {
                    let epoch = self.epoch;
                    ctx.send(CONTROLLER, Msg::AlterIsr { epoch, isr });
                }
                ctx.set_timer(Timer::Tick, TICK);
            }
        }
    }

    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, req: Request) {
        match req {
            Request::Elect if ctx.id() == CONTROLLER => self.elect(ctx, id),
            Request::Produce { value, acks } if self.leading => {
                self.on_produce(ctx, id, value, acks)
            }
            Request::Read { offset } if ctx.id() != CONTROLLER => self.on_read(ctx, id, offset),
            _ => ctx.reply(id, Reply::NotLeader),
        }
    }
}
