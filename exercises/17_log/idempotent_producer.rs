//! # log_idempotent_producer: retries that never duplicate or reorder
//!
//! A producer that gets no acknowledgement sends again: the record may
//! have been lost, or only its acknowledgement. Sent again blindly, it is
//! appended twice; sent with several others in flight, a retry can land
//! after a later record. The idempotent producer (Kafka's KIP-98) fixes
//! both with two numbers:
//!
//! - A producer id (here the producer's node and its incarnation, bumped
//!   durably at every start, so a restarted producer is a new producer),
//!   and a sequence number per record, from 1, with no gaps.
//! - The leader (n0) keeps each producer's last appended sequence. A record
//!   with the next sequence is appended; one at or below it is a duplicate,
//!   dropped and acknowledged again; one past the next is out of order (a
//!   record before it was lost), refused, and the producer sends again from
//!   its oldest unacknowledged record.
//! - The last sequences are rebuilt from the log when the leader starts:
//!   a record in the log carries its producer and sequence, so the state
//!   survives a crash with the log, as it survives a failover in Kafka,
//!   where the new leader rebuilds it from its copy of the log.
//!
//! A producer keeps up to [`MAX_IN_FLIGHT`] records in flight, in
//! sequence order, and sends them again when [`RETRY_AFTER`] passes
//! without progress.
//!
//! Read `exercises/17_log/README.md` first. Then fill in the handlers
//! below: each `todo!()` is one step of the protocol.

use dsim::{Ctx, Node, NodeId, RequestId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// The partition's leader; every other node is a producer.
pub const LEADER: NodeId = NodeId(0);
/// How many records a producer has in flight at most.
pub const MAX_IN_FLIGHT: usize = 5;
/// How long a producer waits for progress before sending again.
pub const RETRY_AFTER: Duration = Duration::from_millis(30);
/// Storage keys: the leader's log length, a producer's incarnation.
pub const END_KEY: &str = "end";
pub const INCARNATION_KEY: &str = "incarnation";

/// The storage key of the leader's record at `offset`.
pub fn record_key(offset: u64) -> String {
    format!("record/{offset}")
}

/// A producer's id: its node and its incarnation.
pub fn producer_id(node: NodeId, incarnation: u64) -> u64 {
    (node.0 as u64) << 32 | incarnation
}

/// A record in the leader's log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub pid: u64,
    pub seq: u64,
    pub value: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// The application hands `value` to its producer.
    Send { value: u64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// The record is in the log, with sequence `seq`.
    Sent { seq: u64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    /// Producer to leader: append this record.
    Produce { pid: u64, seq: u64, value: u64 },
    /// Leader to producer: every record of yours up to `seq` is in the log.
    Ack { pid: u64, seq: u64 },
    /// Leader to producer: "I refused your `seq`: the next record of yours
    /// I can take is `expected`".
    OutOfOrder { pid: u64, expected: u64, seq: u64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Timer {
    /// A producer sends its unacknowledged records again.
    Retry,
}

/// A record a producer has not seen acknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pending {
    pub seq: u64,
    pub value: u64,
    pub id: RequestId,
}

/// The leader (n0), or a producer (any other node).
#[derive(Debug, Default)]
pub struct IdempotentProducer {
    /// Leader: the log (durable), and each producer's last sequence in it.
    pub log: Vec<Record>,
    pub last_seq: BTreeMap<u64, u64>,
    /// Producer: its id, the sequence its next record gets, and its
    /// unacknowledged records in sequence order.
    pub pid: u64,
    pub next_seq: u64,
    pub pending: VecDeque<Pending>,
}

impl IdempotentProducer {
    pub fn new() -> Self {
        IdempotentProducer::default()
    }

    /// Leader: appends `record`, durably.
    pub fn append(&mut self, ctx: &mut Ctx<Self>, record: Record) {
        ctx.storage()
            .put(&record_key(self.log.len() as u64), &record);
        self.log.push(record);
        ctx.storage().put(END_KEY, &(self.log.len() as u64));
    }

    /// Producer: sends the records of its window (its first
    /// [`MAX_IN_FLIGHT`] pending ones) numbered `from..=to`, in order.
    pub fn send_range(&mut self, ctx: &mut Ctx<Self>, from: u64, to: u64) {
        let pid = self.pid;
        let window = self.pending.iter().take(MAX_IN_FLIGHT);
        for p in window.filter(|p| (from..=to).contains(&p.seq)) {
            let (seq, value) = (p.seq, p.value);
            ctx.send(LEADER, Msg::Produce { pid, seq, value });
        }
    }

    /// Leader at start: reloads the log and rebuilds each producer's last
    /// sequence from it.
    fn recover(&mut self, ctx: &mut Ctx<Self>) {
        let end: u64 = ctx.storage().get(END_KEY).unwrap_or(0);
        for offset in 0..end {
            let record = ctx.storage().get(&record_key(offset));
            self.log
                .push(record.expect("every record below the end is stored"));
        }
        todo!("for each record of the log, in order, its producer's last sequence is its seq")
    }

    /// Producer at start: a new incarnation (durably), so a new id, and
    /// sequences from 1.
    fn start_producer(&mut self, ctx: &mut Ctx<Self>) {
        todo!(
            "read INCARNATION_KEY (0 if absent), store it plus one; pid = \
             producer_id(your id, that new incarnation); next_seq = 1"
        )
    }

    /// Leader, on a record: the next sequence of its producer is appended
    /// and acknowledged; a duplicate is acknowledged again, not appended;
    /// one past the next is refused with the sequence expected.
    fn on_produce(&mut self, ctx: &mut Ctx<Self>, from: NodeId, pid: u64, seq: u64, value: u64) {
        todo!(
            "last = last_seq of pid (0 if none); seq == last + 1: append, \
             last_seq = seq, Ack seq; seq <= last: Ack seq; else OutOfOrder with expected = last + 1 \
             and the seq refused"
        )
    }

    /// Producer, on the application's record: numbers it, and sends it at
    /// once if it falls within the window.
    fn on_send(&mut self, ctx: &mut Ctx<Self>, id: RequestId, value: u64) {
        todo!(
            "push a Pending with seq = next_seq, the value and the id; bump \
             next_seq; send_range(seq, seq) (it sends only within the window); start the retry \
             timer if it is the only one pending"
        )
    }

    /// Producer, on an acknowledgement up to `seq`: each pending record up
    /// to it is done (answered). If any was, the window has moved on: send
    /// the records that just entered it (those past the old window's last,
    /// numbered from the old first + MAX_IN_FLIGHT) and restart the retry
    /// timer. The others are in flight already.
    fn on_ack(&mut self, ctx: &mut Ctx<Self>, seq: u64) {
        todo!(
            "note the first pending seq; pop and answer (Reply::Sent) every \
             pending record with a seq up to seq; if any was popped, send_range from the noted \
             seq + MAX_IN_FLIGHT on, and set Timer::Retry after RETRY_AFTER"
        )
    }

    /// Producer, refused at `seq`: the leader expects `expected`, which was
    /// lost (or is late). Send again the records from `expected` to `seq`,
    /// in order, so the refused one follows the one it waits for.
    fn on_out_of_order(&mut self, ctx: &mut Ctx<Self>, expected: u64, seq: u64) {
        todo!("send_range(expected, seq)")
    }
}

impl Node for IdempotentProducer {
    type Msg = Msg;
    type Timer = Timer;
    type Request = Request;
    type Reply = Reply;

    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        if ctx.id() == LEADER {
            self.recover(ctx);
        } else {
            self.start_producer(ctx);
        }
    }

    /// Messages about another producer id (an earlier incarnation's) are
    /// dropped.
    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Produce { pid, seq, value } if ctx.id() == LEADER => {
                self.on_produce(ctx, from, pid, seq, value)
            }
            Msg::Ack { pid, seq } if pid == self.pid => self.on_ack(ctx, seq),
            Msg::OutOfOrder { pid, expected, seq } if pid == self.pid => {
                self.on_out_of_order(ctx, expected, seq)
            }
            _ => {}
        }
    }

    /// No progress for RETRY_AFTER: the records or their acknowledgements
    /// were lost. Send the window again.
    fn on_timer(&mut self, ctx: &mut Ctx<Self>, _timer: Timer) {
        if !self.pending.is_empty() {
            self.send_range(ctx, 0, u64::MAX);
            ctx.set_timer(Timer::Retry, RETRY_AFTER);
        }
    }

    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, req: Request) {
        let Request::Send { value } = req;
        if ctx.id() != LEADER {
            self.on_send(ctx, id, value);
        }
    }
}
