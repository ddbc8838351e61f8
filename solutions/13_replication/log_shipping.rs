//! # replication_log_shipping: a leader ships its log to followers
//!
//! Node 0 is the leader. Clients send it writes; it appends each one to its
//! log, the numbered sequence of every write it accepted, and answers the
//! client at once. Every other node is a follower that keeps a copy of that
//! log, filled in by the leader in the background:
//!
//! - The leader remembers, per follower, the next index that follower has
//!   not acknowledged, and sends it a batch of entries from there. Until
//!   the batch is acknowledged it sends nothing new to that follower; when
//!   no acknowledgement comes within [`RETRANSMIT_AFTER`], it sends again
//!   from the same index.
//! - A follower applies only the entry right after its applied index, so
//!   its log is always a prefix of the leader's; duplicates and entries
//!   that arrive too early are dropped (the leader sends them again). It
//!   writes what it applied to its storage, then reports its applied index
//!   to the leader: that report is the acknowledgement.
//! - A follower that crashes comes back with the log it had made durable
//!   and goes on from there; its next acknowledgement tells the leader
//!   where it stands.
//!
//! The leader acknowledges a write before any follower has it: that is
//! asynchronous replication, fast for the client, and the reason a write
//! can be lost if the leader dies before shipping it (see the guide).
//!
// exercise: begin
// stub: //! Read `exercises/13_replication/README.md` first. Then fill in the handlers
// stub: //! below: each `todo!()` is one step of the protocol.
//! The reference solution.
// exercise: end

use crate::replication::{AckMode, PendingRead, PendingWrite};
use dsim::{Ctx, Node, NodeId, RequestId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// The node every client write goes to.
pub const LEADER: NodeId = NodeId(0);
/// The most entries the leader sends a follower in one message.
pub const BATCH: usize = 16;
/// How long the leader waits for an acknowledgement before sending a
/// follower the same entries again.
pub const RETRANSMIT_AFTER: Duration = Duration::from_millis(60);
/// The storage key of a node's applied index (a `u64`): the length of its
/// durable log.
pub const APPLIED_KEY: &str = "applied";
/// The storage key of a node's epoch (a `u64`, see `failover.rs`).
pub const EPOCH_KEY: &str = "epoch";

/// The storage key of the applied entry at `index`.
pub fn entry_key(index: u64) -> String {
    format!("entry/{index}")
}

/// A client's value.
pub type Value = u64;

/// One write in the log. Indices start at 1 and have no gaps: the entry
/// at index i is `log[i - 1]`. `epoch` is the epoch of the leader that
/// appended it: two logs holding an entry of the same index and epoch hold
/// the same entry (one leader per epoch, and a leader never rewrites its log).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub index: u64,
    pub epoch: u64,
    pub value: Value,
}

/// What a client asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Append `value` to the log: to the leader only.
    Write { value: Value },
    /// The latest value, from any node, read at a log position of at least
    /// `min_index` (0: whatever the node has). See `read_guarantees.rs`.
    Read { min_index: u64 },
    /// The failover manager asks where this node stands (`failover.rs`).
    Position,
    /// The failover manager makes this node the leader of `epoch`.
    Promote { epoch: u64 },
}

/// What the client is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// The write is in the leader's log at `index` (and maybe on no
    /// follower yet).
    Appended { index: u64 },
    /// The node had applied the log up to `index` and the value of the
    /// entry there is `value` (`None` when `index` is 0: nothing yet).
    Read { index: u64, value: Option<Value> },
    /// Where the node stands: its applied index, the epoch of its last
    /// entry (0 when empty) and its own epoch.
    Position {
        index: u64,
        last_epoch: u64,
        epoch: u64,
    },
    /// The node leads `epoch` now.
    Promoted { epoch: u64 },
}

/// Between the leader and a follower.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    /// Leader to follower: consecutive entries, starting at the follower's
    /// next index as the leader knows it. `prev_index` and `prev_epoch`
    /// name the entry just before them in the leader's log (0, 0 for none):
    /// the follower takes the batch only if its own log holds that entry.
    /// `leader_last` is the leader's last index when it sent the batch.
    Entries {
        epoch: u64,
        prev_index: u64,
        prev_epoch: u64,
        leader_last: u64,
        entries: Vec<Entry>,
    },
    /// Follower to leader: "I have applied (and stored) every entry up to
    /// `applied`". The acknowledgement, and the follower's log position.
    Ack { epoch: u64, applied: u64 },
    /// Follower to leader: "my log does not hold your entry at
    /// `prev_index`; send from `next` instead" (`failover.rs`).
    Mismatch { epoch: u64, next: u64 },
    /// To a sender of an older epoch: "the epoch is `epoch` now" (fencing).
    Stale { epoch: u64 },
}

/// The leader's one kind of timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Timer {
    /// No acknowledgement came from this follower: send again.
    Retransmit(NodeId),
}

/// What the leader knows of one follower.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// The first index this follower has not acknowledged: the next batch
    /// starts here. The follower's replication lag is the leader's last
    /// index minus `next_index - 1`.
    pub next_index: u64,
    /// A batch is on its way and not yet acknowledged: wait for the
    /// acknowledgement (or the retransmission timer) before sending more.
    pub in_flight: bool,
    /// The follower acknowledged a batch of this leader's epoch, so
    /// `next_index - 1` is known to match: until then `next_index` is a
    /// guess (a newly promoted leader's), and the leader sends the follower
    /// a batch, even an empty one, to learn where it stands.
    pub confirmed: bool,
}

/// A node: the leader if `leading`, else a follower. [`LEADER`] leads
/// epoch 0; `failover.rs` hands the role on.
#[derive(Debug, Default)]
pub struct LogShipping {
    /// On the leader, every write it accepted; on a follower, every entry
    /// it applied. Either way in index order, `log[i].index == i + 1`.
    pub log: Vec<Entry>,
    /// The leader's view of each follower (empty on a follower).
    pub followers: BTreeMap<NodeId, Progress>,
    /// The newest epoch this node knows of (durable: [`EPOCH_KEY`]).
    pub epoch: u64,
    /// Whether this node leads `epoch` and accepts writes.
    pub leading: bool,
    /// When the leader acknowledges a write (configuration).
    pub mode: AckMode,
    /// Writes appended but not yet acknowledged to their client (`Majority`
    /// mode). Volatile: a crash or a step down loses them unanswered.
    pub waiting: Vec<PendingWrite>,
    /// Reads waiting for this node to apply up to their position (see
    /// `read_guarantees.rs`). Volatile: a crash loses them unanswered.
    pub pending: Vec<PendingRead>,
}

impl LogShipping {
    /// A node before it has started.
    pub fn new() -> Self {
        LogShipping::default()
    }

    /// A node that acknowledges writes in `mode`.
    pub fn with_mode(mode: AckMode) -> Self {
        LogShipping {
            mode,
            ..LogShipping::default()
        }
    }

    /// The index of the last entry in this node's log (0 when empty): on a
    /// follower, its applied index.
    pub fn last_index(&self) -> u64 {
        self.log.len() as u64
    }

    /// The epoch of the entry at `index` (0 for index 0 or beyond the log).
    pub fn epoch_at(&self, index: u64) -> u64 {
        let at = index.checked_sub(1).and_then(|i| self.log.get(i as usize));
        at.map_or(0, |entry| entry.epoch)
    }

    /// Leader: appends a client's write, makes it durable (the leader's
    /// log must survive a crash: a write acknowledged by a majority counts
    /// the leader's copy) and returns its index.
    fn append(&mut self, ctx: &mut Ctx<Self>, value: Value) -> u64 {
        let index = self.last_index() + 1;
        let entry = Entry {
            index,
            epoch: self.epoch,
            value,
        };
        self.log.push(entry);
        ctx.storage().put(&entry_key(index), &entry);
        ctx.storage().put(APPLIED_KEY, &index);
        index
    }

    /// Leader: the batch of entries `log[from..to]` (positions), with the
    /// entry before it, this node's epoch and its last index.
    pub fn batch(&self, from: usize, to: usize) -> Msg {
        Msg::Entries {
            epoch: self.epoch,
            prev_index: from as u64,
            prev_epoch: self.epoch_at(from as u64),
            leader_last: self.last_index(),
            entries: self.log[from..to].to_vec(),
        }
    }

    /// Leader: becomes the leader of its epoch, guessing that every peer's
    /// next index is `next_index` (`confirmed` says whether that is known).
    pub(crate) fn lead(&mut self, ctx: &mut Ctx<Self>, next_index: u64, confirmed: bool) {
        self.leading = true;
        for &peer in ctx.peers() {
            let progress = Progress {
                next_index,
                in_flight: false,
                confirmed,
            };
            self.followers.insert(peer, progress);
        }
    }

    /// Leader: sends `follower` the batch that starts at its next index,
    /// and sets the timer that sends it again if no acknowledgement comes.
    /// A follower that has everything gets nothing, and no timer.
    pub(crate) fn ship(&mut self, ctx: &mut Ctx<Self>, follower: NodeId) {
        // exercise: begin "send self.batch(from, to), at most BATCH entries from the follower's next_index, "
        //   "mark the batch in flight and set Timer::Retransmit(follower) after RETRANSMIT_AFTER; "
        //   "if the follower has every entry (and is confirmed), clear in_flight and cancel the timer instead"
        let Some(progress) = self.followers.get_mut(&follower) else {
            return;
        };
        let from = (progress.next_index as usize - 1).min(self.log.len());
        if from >= self.log.len() && progress.confirmed {
            progress.in_flight = false;
            ctx.cancel_timer(Timer::Retransmit(follower));
            return;
        }
        let to = (from + BATCH).min(self.log.len());
        progress.in_flight = true;
        ctx.send(follower, self.batch(from, to));
        ctx.set_timer(Timer::Retransmit(follower), RETRANSMIT_AFTER);
        // exercise: end
    }

    /// Leader: `follower` has applied every entry up to `applied`. Advance
    /// its next index and send what follows. An acknowledgement that shows
    /// no progress (a duplicate, or one overtaken by a later one) changes
    /// nothing: answering it would double the traffic.
    fn on_ack(&mut self, ctx: &mut Ctx<Self>, follower: NodeId, applied: u64) {
        // exercise: begin "if applied + 1 is beyond the follower's next_index (and within your log), move "
        //   "next_index there and ship the next batch; otherwise ignore the acknowledgement"
        let last = self.last_index();
        let Some(progress) = self.followers.get_mut(&follower) else {
            return;
        };
        let next = applied.min(last) + 1;
        if next > progress.next_index {
            progress.next_index = next;
            self.ship(ctx, follower);
        }
        // exercise: end
    }

    /// Follower: applies the entries that extend its log, in order, makes
    /// them durable, and reports its applied index to the leader.
    fn on_entries(&mut self, ctx: &mut Ctx<Self>, from: NodeId, entries: Vec<Entry>) {
        // exercise: begin "apply only the entry whose index is exactly last_index() + 1 (skip the "
        //   "rest: duplicates, or entries after a gap), store each applied entry and the new "
        //   "applied index, then send Msg::Ack with your epoch and applied index back, even if nothing was new"
        let before = self.last_index();
        for entry in entries {
            if entry.index == self.last_index() + 1 {
                self.log.push(entry);
                ctx.storage().put(&entry_key(entry.index), &entry);
            }
        }
        if self.last_index() > before {
            ctx.storage().put(APPLIED_KEY, &self.last_index());
        }
        let ack = Msg::Ack {
            epoch: self.epoch,
            applied: self.last_index(),
        };
        ctx.send(from, ack);
        // exercise: end
    }

    /// Follower, at start and after a restart: reloads the durable log, so
    /// that it applies from where it stopped. It need not tell the leader:
    /// the leader still waits on the batch it sent last and sends it again,
    /// and the Ack that answers it carries this position.
    fn resume(&mut self, ctx: &mut Ctx<Self>) {
        // exercise: begin "read APPLIED_KEY (0 if absent) and the entries 1..=applied from storage "
        //   "into self.log, in order"
        let applied: u64 = ctx.storage().get(APPLIED_KEY).unwrap_or(0);
        for index in 1..=applied {
            let entry: Entry = ctx
                .storage()
                .get(&entry_key(index))
                .expect("every entry up to the applied index is stored");
            self.log.push(entry);
        }
        // exercise: end
    }

    /// Leader, on a client's write: append, acknowledge the client (at
    /// once or later, by `mode`: `failover.rs`), and start shipping to
    /// every follower that is not already waiting on a batch.
    fn on_write(&mut self, ctx: &mut Ctx<Self>, id: RequestId, value: Value) {
        let index = self.append(ctx, value);
        self.acknowledge_write(ctx, id, index);
        let idle: Vec<NodeId> = (self.followers.iter())
            .filter(|(_, p)| !p.in_flight)
            .map(|(&f, _)| f)
            .collect();
        for follower in idle {
            self.ship(ctx, follower);
        }
    }
}

impl Node for LogShipping {
    type Msg = Msg;
    type Timer = Timer;
    type Request = Request;
    type Reply = Reply;

    /// Every node resumes its log and its epoch from storage. [`LEADER`]
    /// leads epoch 0 and starts knowing nothing of its followers (next
    /// index 1). A node that led a later epoch comes back a follower: the
    /// failover manager has promoted another by then.
    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        self.resume(ctx);
        self.recover_epoch(ctx);
        if ctx.id() == LEADER && self.epoch == 0 {
            self.lead(ctx, 1, true);
        }
    }

    /// A write goes to the leader; a read, to any node (`read_guarantees.rs`).
    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, req: Request) {
        match req {
            Request::Write { value } if self.leading => self.on_write(ctx, id, value),
            Request::Write { .. } => {} // clients write to the leader only
            Request::Read { min_index } => self.on_read(ctx, id, min_index),
            Request::Position => self.on_position(ctx, id),
            Request::Promote { epoch } => self.on_promote(ctx, id, epoch),
        }
    }

    /// Every message passes the epoch fence first (`failover.rs`): one of
    /// an older epoch is refused, an Entries answered with `Stale`. Every
    /// entry this node applies may let a pending read through; every
    /// acknowledgement, a waiting write.
    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        let epoch = match msg {
            Msg::Entries { epoch, .. } | Msg::Ack { epoch, .. } => epoch,
            Msg::Mismatch { epoch, .. } | Msg::Stale { epoch } => epoch,
        };
        if !self.fence(ctx, epoch) {
            if matches!(msg, Msg::Entries { .. }) {
                ctx.send(from, Msg::Stale { epoch: self.epoch });
            }
            return;
        }
        match msg {
            Msg::Entries {
                prev_index,
                prev_epoch,
                leader_last,
                entries,
                ..
            } if !self.leading => {
                if !self.matches(prev_index, prev_epoch) {
                    let next = prev_index.min(self.last_index() + 1);
                    ctx.send(from, Msg::Mismatch { epoch, next });
                    return;
                }
                self.truncate_conflicts(ctx, &entries, leader_last);
                self.on_entries(ctx, from, entries);
                self.answer_pending(ctx);
            }
            Msg::Ack { applied, .. } if self.leading => {
                if let Some(progress) = self.followers.get_mut(&from) {
                    progress.confirmed = true;
                }
                self.on_ack(ctx, from, applied);
                self.release_writes(ctx);
            }
            Msg::Mismatch { next, .. } if self.leading => self.on_mismatch(ctx, from, next),
            _ => {}
        }
    }

    /// No acknowledgement in time: the batch or its acknowledgement was
    /// lost (or is late). Send again from the same next index.
    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        // exercise: begin "ship to the follower again, from its next_index"
        let Timer::Retransmit(follower) = timer;
        self.ship(ctx, follower);
        // exercise: end
    }
}
