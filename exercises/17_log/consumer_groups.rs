//! # log_consumer_groups: sharing a topic's partitions among consumers
//!
//! A topic of [`PARTITIONS`] partitions is read by a group of consumers:
//! each partition by one member at a time, so the group reads in parallel
//! and each partition in order. A coordinator (n0, which also serves the
//! partitions' records) keeps the group:
//!
//! - Membership. A consumer joins when it starts and heartbeats every
//!   [`HEARTBEAT_EVERY`]; one that leaves says so, one silent for
//!   [`SESSION_TIMEOUT`] is dropped. Every change is a rebalance: a new
//!   generation, and a new assignment (round-robin over the members in id
//!   order), sent to every member with the committed offset of each of its
//!   partitions. A heartbeat is answered with the current assignment, so a
//!   member that missed a rebalance learns of it.
//! - Consuming. A member fetches from each partition it owns in its
//!   generation, from its position, processes the records one at a time,
//!   and commits the offset after each record it processed. The
//!   coordinator takes a commit only from the partition's owner in the
//!   current generation: a member of an older generation no longer owns it.
//! - Delivery. A member that takes over a partition starts at its
//!   committed offset, so a record processed but not yet committed is
//!   processed again (at least once): never skipped, maybe duplicated.
//!
//! Read `exercises/17_log/README.md` first. Then fill in the handlers
//! below: each `todo!()` is one step of the protocol.

use dsim::{Ctx, Node, NodeId, RequestId, Time};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// The coordinator, which also serves the partitions.
pub const COORDINATOR: NodeId = NodeId(0);
/// The topic's partitions, and the records in each.
pub const PARTITIONS: u64 = 4;
pub const RECORDS: u64 = 200;
/// The most records in one answer to a fetch.
pub const BATCH: usize = 5;
pub const HEARTBEAT_EVERY: Duration = Duration::from_millis(20);
pub const SESSION_TIMEOUT: Duration = Duration::from_millis(100);
/// How often a member fetches, and how long it takes to process a record.
pub const POLL_EVERY: Duration = Duration::from_millis(10);
pub const PROCESS_EVERY: Duration = Duration::from_millis(1);

/// The record at `offset` of `partition`.
pub fn record(partition: u64, offset: u64) -> u64 {
    partition * 1_000 + offset
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// To a consumer: leave the group.
    Leave,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    Left,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    Join,
    Heartbeat,
    LeaveGroup,
    /// Coordinator to member: your partitions in `generation`, each with
    /// its committed offset.
    Assignment {
        generation: u64,
        partitions: BTreeMap<u64, u64>,
    },
    Fetch {
        partition: u64,
        offset: u64,
    },
    Records {
        partition: u64,
        offset: u64,
        values: Vec<u64>,
    },
    /// Member to coordinator: "I processed `partition` up to `offset`
    /// (exclusive)".
    Commit {
        generation: u64,
        partition: u64,
        offset: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Timer {
    Heartbeat,
    Poll,
    Process,
    /// The coordinator looks for silent members.
    Sessions,
}

/// A record fetched and not yet processed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fetched {
    pub partition: u64,
    pub offset: u64,
    pub value: u64,
}

/// The coordinator (n0), or a consumer (any other node). Volatile: a
/// consumer that crashes comes back as a new member.
#[derive(Debug, Default)]
pub struct ConsumerGroups {
    /// Coordinator: members and when each was last heard, the generation,
    /// each partition's owner, and the committed offsets.
    pub members: BTreeMap<NodeId, Time>,
    pub generation: u64,
    pub owners: BTreeMap<u64, NodeId>,
    pub committed: BTreeMap<u64, u64>,
    /// Consumer: its partitions in `generation` and the next offset to
    /// fetch from each; the records fetched, to process; what it processed,
    /// as (partition, offset); and whether it left.
    pub owned: BTreeMap<u64, u64>,
    pub queue: VecDeque<Fetched>,
    pub processed: Vec<(u64, u64)>,
    pub left: bool,
}

impl ConsumerGroups {
    pub fn new() -> Self {
        ConsumerGroups::default()
    }

    /// Coordinator: a new generation, with the partitions dealt round-robin
    /// to the members in id order, each member told its share.
    pub fn rebalance(&mut self, ctx: &mut Ctx<Self>) {
        todo!(
            "generation += 1; owners = partition p to the (p % members)th member; \
             send every member its Assignment"
        )
    }

    /// Coordinator: tells `member` its partitions in the current
    /// generation, each with its committed offset (0 if none).
    pub fn assign(&mut self, ctx: &mut Ctx<Self>, member: NodeId) {
        let partitions = (self.owners.iter())
            .filter(|(_, &owner)| owner == member)
            .map(|(&p, _)| (p, self.committed.get(&p).copied().unwrap_or(0)))
            .collect();
        let generation = self.generation;
        ctx.send(
            member,
            Msg::Assignment {
                generation,
                partitions,
            },
        );
    }

    /// Coordinator, on a member's message: a join or a leave rebalances; a
    /// heartbeat is noted and answered with the current assignment (from a
    /// stranger, it is a join).
    fn on_member(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        todo!(
            "Join: note the member (members[from] = now), rebalance; LeaveGroup: \
             remove it and rebalance if it was there; Heartbeat: from a member, note it and assign; \
             from a stranger, as a Join"
        )
    }

    /// Coordinator, every heartbeat interval: drop the members silent for
    /// longer than [`SESSION_TIMEOUT`], and rebalance if any was.
    fn check_sessions(&mut self, ctx: &mut Ctx<Self>) {
        todo!(
            "remove members last heard more than SESSION_TIMEOUT ago; rebalance if \
             any was removed"
        )
    }

    /// Coordinator, on a commit: taken only from the partition's owner in
    /// the current generation, and only forward.
    fn on_commit(&mut self, from: NodeId, generation: u64, partition: u64, offset: u64) {
        todo!(
            "if generation is the current one and from owns partition, raise \
             committed[partition] to offset"
        )
    }

    /// Consumer, on an assignment of a newer generation: own exactly its
    /// partitions, each from its committed offset, and drop the records
    /// fetched under the old one (whoever owns them now starts from the
    /// committed offset).
    fn on_assignment(&mut self, generation: u64, partitions: BTreeMap<u64, u64>) {
        todo!(
            "if generation > self.generation: adopt it, owned = partitions, clear \
             the queue"
        )
    }

    /// Consumer, on records: queue them if they are of a partition it owns
    /// and start at its position, and move the position past them.
    fn on_records(&mut self, partition: u64, offset: u64, values: Vec<u64>) {
        todo!(
            "if owned[partition] == offset: push each value as Fetched (offset, \
             offset + 1, …) and move the position past them"
        )
    }

    /// Consumer, every [`PROCESS_EVERY`]: process the next queued record,
    /// then commit past it.
    fn process_next(&mut self, ctx: &mut Ctx<Self>) {
        todo!(
            "pop the next Fetched, push (partition, offset) to processed, then send \
             a Commit of your generation, the partition and offset + 1 to the COORDINATOR"
        )
    }

    /// Coordinator: the records of `partition` from `offset`, at most [`BATCH`].
    fn serve(&self, ctx: &mut Ctx<Self>, to: NodeId, partition: u64, offset: u64) {
        let end = (offset + BATCH as u64).min(RECORDS);
        let values = (offset..end).map(|o| record(partition, o)).collect();
        ctx.send(
            to,
            Msg::Records {
                partition,
                offset,
                values,
            },
        );
    }
}

impl Node for ConsumerGroups {
    type Msg = Msg;
    type Timer = Timer;
    type Request = Request;
    type Reply = Reply;

    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        if ctx.id() == COORDINATOR {
            ctx.set_timer(Timer::Sessions, HEARTBEAT_EVERY);
            return;
        }
        ctx.send(COORDINATOR, Msg::Join);
        for (timer, every) in [
            (Timer::Heartbeat, HEARTBEAT_EVERY),
            (Timer::Poll, POLL_EVERY),
            (Timer::Process, PROCESS_EVERY),
        ] {
            ctx.set_timer(timer, every);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Fetch { partition, offset } => self.serve(ctx, from, partition, offset),
            Msg::Commit {
                generation,
                partition,
                offset,
            } => self.on_commit(from, generation, partition, offset),
            Msg::Join | Msg::Heartbeat | Msg::LeaveGroup => self.on_member(ctx, from, msg),
            Msg::Assignment {
                generation,
                partitions,
            } if !self.left => self.on_assignment(generation, partitions),
            Msg::Records {
                partition,
                offset,
                values,
            } => self.on_records(partition, offset, values),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        let every = match timer {
            Timer::Sessions => {
                self.check_sessions(ctx);
                HEARTBEAT_EVERY
            }
            Timer::Heartbeat if self.left => return,
            Timer::Heartbeat => {
                ctx.send(COORDINATOR, Msg::Heartbeat);
                HEARTBEAT_EVERY
            }
            Timer::Poll => {
                let idle = (self.owned.iter())
                    .filter(|(p, _)| !self.queue.iter().any(|f| f.partition == **p));
                for (&partition, &offset) in idle.filter(|(_, &o)| o < RECORDS) {
                    ctx.send(COORDINATOR, Msg::Fetch { partition, offset });
                }
                POLL_EVERY
            }
            Timer::Process => {
                self.process_next(ctx);
                PROCESS_EVERY
            }
        };
        ctx.set_timer(timer, every);
    }

    /// Leave: stop consuming and tell the coordinator.
    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, _req: Request) {
        self.left = true;
        self.owned.clear();
        self.queue.clear();
        ctx.send(COORDINATOR, Msg::LeaveGroup);
        ctx.reply(id, Reply::Left);
    }
}
