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
//! Read `exercises/13_replication/README.md` first. Then fill in the handlers
//! below: each `todo!()` is one step of the protocol.

use crate::replication::PendingRead;
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
/// The storage key of a follower's applied index (a `u64`).
pub const APPLIED_KEY: &str = "applied";

/// The storage key of the applied entry at `index`.
pub fn entry_key(index: u64) -> String {
    format!("entry/{index}")
}

/// A client's value.
pub type Value = u64;

/// One write in the log. Indices start at 1 and have no gaps: the entry
/// at index i is `log[i - 1]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub index: u64,
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
}

/// Between the leader and a follower.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    /// Leader to follower: consecutive entries, starting at the follower's
    /// next index as the leader knows it.
    Entries { entries: Vec<Entry> },
    /// Follower to leader: "I have applied (and stored) every entry up to
    /// `applied`". The acknowledgement, and the follower's log position.
    Ack { applied: u64 },
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
}

/// A node: the leader if its id is [`LEADER`], else a follower.
#[derive(Debug, Default)]
pub struct LogShipping {
    /// On the leader, every write it accepted; on a follower, every entry
    /// it applied. Either way in index order, `log[i].index == i + 1`.
    pub log: Vec<Entry>,
    /// The leader's view of each follower (empty on a follower).
    pub followers: BTreeMap<NodeId, Progress>,
    /// Reads waiting for this node to apply up to their position (see
    /// `read_guarantees.rs`). Volatile: a crash loses them unanswered.
    pub pending: Vec<PendingRead>,
}

impl LogShipping {
    /// A node before it has started.
    pub fn new() -> Self {
        LogShipping::default()
    }

    /// The index of the last entry in this node's log (0 when empty): on a
    /// follower, its applied index.
    pub fn last_index(&self) -> u64 {
        self.log.len() as u64
    }

    /// Leader: appends a client's write and returns its index.
    fn append(&mut self, value: Value) -> u64 {
        let index = self.last_index() + 1;
        self.log.push(Entry { index, value });
        index
    }

    /// Leader: sends `follower` the batch that starts at its next index,
    /// and sets the timer that sends it again if no acknowledgement comes.
    /// A follower that has everything gets nothing, and no timer.
    fn ship(&mut self, ctx: &mut Ctx<Self>, follower: NodeId) {
        todo!(
            "send Msg::Entries with at most BATCH entries from the follower's next_index, \
             mark the batch in flight and set Timer::Retransmit(follower) after RETRANSMIT_AFTER; \
             if the follower has every entry, clear in_flight and cancel the timer instead"
        )
    }

    /// Leader: `follower` has applied every entry up to `applied`. Advance
    /// its next index and send what follows. An acknowledgement that shows
    /// no progress (a duplicate, or one overtaken by a later one) changes
    /// nothing: answering it would double the traffic.
    fn on_ack(&mut self, ctx: &mut Ctx<Self>, follower: NodeId, applied: u64) {
        todo!(
            "if applied + 1 is beyond the follower's next_index (and within your log), move \
             next_index there and ship the next batch; otherwise ignore the acknowledgement"
        )
    }

    /// Follower: applies the entries that extend its log, in order, makes
    /// them durable, and reports its applied index to the leader.
    fn on_entries(&mut self, ctx: &mut Ctx<Self>, from: NodeId, entries: Vec<Entry>) {
        todo!(
            "apply only the entry whose index is exactly last_index() + 1 (skip the \
             rest: duplicates, or entries after a gap), store each applied entry and the new \
             applied index, then send Msg::Ack with the applied index back, even if nothing was new"
        )
    }

    /// Follower, at start and after a restart: reloads the durable log, so
    /// that it applies from where it stopped. It need not tell the leader:
    /// the leader still waits on the batch it sent last and sends it again,
    /// and the Ack that answers it carries this position.
    fn resume(&mut self, ctx: &mut Ctx<Self>) {
        todo!(
            "read APPLIED_KEY (0 if absent) and the entries 1..=applied from storage \
             into self.log, in order"
        )
    }

    /// Leader, on a client's write: append, acknowledge the client at once
    /// (asynchronous replication), and start shipping to every follower
    /// that is not already waiting on a batch.
    fn on_write(&mut self, ctx: &mut Ctx<Self>, id: RequestId, value: Value) {
        let index = self.append(value);
        ctx.reply(id, Reply::Appended { index });
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

    /// The leader starts knowing nothing of its followers (next index 1);
    /// a follower resumes from its storage.
    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        if ctx.id() == LEADER {
            for &peer in ctx.peers() {
                let progress = Progress {
                    next_index: 1,
                    in_flight: false,
                };
                self.followers.insert(peer, progress);
            }
        } else {
            self.resume(ctx);
        }
    }

    /// A write goes to the leader; a read, to any node (`read_guarantees.rs`).
    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, req: Request) {
        match req {
            Request::Write { value } if ctx.id() == LEADER => self.on_write(ctx, id, value),
            Request::Write { .. } => {} // clients write to the leader only
            Request::Read { min_index } => self.on_read(ctx, id, min_index),
        }
    }

    /// Every entry this node applies may let a pending read through.
    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Entries { entries } if ctx.id() != LEADER => {
                self.on_entries(ctx, from, entries);
                self.answer_pending(ctx);
            }
            Msg::Ack { applied } if ctx.id() == LEADER => self.on_ack(ctx, from, applied),
            _ => {}
        }
    }

    /// No acknowledgement in time: the batch or its acknowledgement was
    /// lost (or is late). Send again from the same next index.
    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        todo!("ship to the follower again, from its next_index")
    }
}
