//! # intro_retry: exactly once over a link that loses and duplicates
//!
//! The network may lose any message and may deliver any message twice. Two
//! nodes share one job: clients ask the sender ([`SENDER`]) to append values
//! to a log kept by the receiver ([`RECEIVER`]), and each value must be
//! appended exactly once per request, however the network behaves.
//!
//! No single message can promise that. Two ideas together can:
//! - **at least once**: the sender keeps sending a request until the
//!   receiver acknowledges it; a lost message or a lost ack only costs
//!   another try;
//! - **at most once**: the receiver recognises copies it has already
//!   applied, applies nothing twice, and still acknowledges every copy.
//!
//! The protocol:
//! - the sender numbers the requests 1, 2, 3, … in the order they arrive and
//!   sends each to the receiver as `Data { seq, value }`; while `seq` is not
//!   acknowledged it sends it again every [`RETRANSMIT_AFTER`];
//! - on the first `Ack { seq }` the sender stops retransmitting `seq` and
//!   answers the client; later acks of `seq` are copies and change nothing;
//! - the receiver appends `value` to its log the first time `seq` arrives,
//!   and answers every copy of `seq` with `Ack { seq }`;
//! - to recognise copies with little memory, the receiver keeps a watermark,
//!   `applied_up_to` (every number up to it has been applied), and the few
//!   numbers above it that arrived early, in `applied_above`.
//!
//! Read `exercises/00_intro/README.md` first. Then fill in the sender's three
//! handlers and the receiver's three rules below: each `todo!()` is one rule
//! of the protocol.

use dsim::{Ctx, Node, NodeId, RequestId};
use std::collections::{BTreeMap, BTreeSet};

/// The protocol's types and constants, shared with the course's checks,
/// are in the `protocols` crate (`protocols/src/intro/retry.rs`).
pub use protocols::intro::retry::{Msg, Reply, Request, Timer, RECEIVER, RETRANSMIT_AFTER, SENDER};

/// A node of the system: [`SENDER`] plays the sender, every other node the
/// receiver.
#[derive(Debug)]
pub enum Retry {
    Sender(Sender),
    Receiver(Receiver),
}

/// The sender's state.
#[derive(Debug, Default)]
pub struct Sender {
    /// The number given to the last request (0 before the first).
    pub last_seq: u64,
    /// The requests sent but not yet acknowledged, by number.
    pub unacked: BTreeMap<u64, Pending>,
}

/// A request the sender is still retransmitting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// The client request to answer once the receiver acknowledges it.
    pub client: RequestId,
    /// The value to append.
    pub value: u64,
}

/// The receiver's state.
#[derive(Debug, Default)]
pub struct Receiver {
    /// The values applied, in the order they were applied.
    pub applied: Vec<u64>,
    /// The watermark: every number from 1 up to this one has been applied.
    pub applied_up_to: u64,
    /// The numbers above the watermark that have been applied. It never
    /// holds `applied_up_to + 1`: that number would move the watermark.
    pub applied_above: BTreeSet<u64>,
}

impl Retry {
    /// Node `id` before it has started.
    pub fn new(id: NodeId) -> Self {
        if id == SENDER {
            Retry::Sender(Sender::default())
        } else {
            Retry::Receiver(Receiver::default())
        }
    }

    /// The sender's state, if this node is the sender.
    pub fn sender(&self) -> Option<&Sender> {
        match self {
            Retry::Sender(s) => Some(s),
            Retry::Receiver(_) => None,
        }
    }

    /// The receiver's state, if this node is the receiver.
    pub fn receiver(&self) -> Option<&Receiver> {
        match self {
            Retry::Receiver(r) => Some(r),
            Retry::Sender(_) => None,
        }
    }

    /// How many sequence numbers this node remembers one by one to recognise
    /// copies (0 on the sender).
    pub fn dedup_state_size(&self) -> usize {
        self.receiver().map_or(0, Receiver::dedup_state_size)
    }
}

impl Sender {
    /// On a client request: give it the next number, keep it as unacknowledged,
    /// send it to the receiver, and start its retransmission timer.
    fn on_request(&mut self, ctx: &mut Ctx<Retry>, client: RequestId, value: u64) {
        todo!("number the request, keep it as unacknowledged, send it, start its timer")
    }

    /// On the retransmission timer of `seq`: if `seq` is still unacknowledged,
    /// the data or its ack was probably lost, so send the data again and wait
    /// again. An acknowledged `seq` is left alone.
    fn on_retransmit(&mut self, ctx: &mut Ctx<Retry>, seq: u64) {
        todo!("if seq is still unacknowledged, send it again and set its timer again")
    }

    /// On `Ack { seq }`: the first ack of `seq` ends its retransmission and
    /// answers its client. A later ack of the same `seq` is a copy: ignore it.
    fn on_ack(&mut self, ctx: &mut Ctx<Retry>, seq: u64) {
        todo!("on the first ack of seq: forget it, cancel its timer, answer its client")
    }
}

impl Receiver {
    /// On `Data { seq, value }` from the sender: apply it unless `seq` was
    /// applied before, then acknowledge it either way (the ack of an earlier
    /// copy may have been lost, and without an ack the sender never stops).
    fn on_data(&mut self, ctx: &mut Ctx<Retry>, from: NodeId, seq: u64, value: u64) {
        todo!("apply the value unless seq was applied before; acknowledge every copy")
    }

    /// Whether `seq` has been applied: it is at or below the watermark, or
    /// one of the numbers remembered above it.
    pub fn has_applied(&self, seq: u64) -> bool {
        todo!("seq is at or below the watermark, or remembered above it")
    }

    /// Records that `seq` has been applied, then moves the watermark up over
    /// every number that now follows it without a gap, so that the numbers
    /// remembered one by one are only those above a gap.
    pub fn remember(&mut self, seq: u64) {
        todo!("remember seq, then move the watermark up while the next number is remembered")
    }

    /// How many sequence numbers are remembered one by one: those above the
    /// watermark. (Change this if you keep the numbers another way.)
    pub fn dedup_state_size(&self) -> usize {
        self.applied_above.len()
    }
}

impl Node for Retry {
    type Msg = Msg;
    type Timer = Timer;
    type Request = Request;
    type Reply = Reply;

    /// On a client request: only the sender takes requests.
    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, req: Request) {
        let Request::Append(value) = req;
        if let Retry::Sender(sender) = self {
            sender.on_request(ctx, id, value);
        }
    }

    /// On a message: data goes to the receiver's rule, acks to the sender's.
    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        match (self, msg) {
            (Retry::Receiver(receiver), Msg::Data { seq, value }) => {
                receiver.on_data(ctx, from, seq, value)
            }
            (Retry::Sender(sender), Msg::Ack { seq }) => sender.on_ack(ctx, seq),
            _ => {}
        }
    }

    /// On a timer: only the sender sets any.
    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        match (self, timer) {
            (Retry::Sender(sender), Timer::Retransmit { seq }) => sender.on_retransmit(ctx, seq),
            (Retry::Receiver(_), _) => {}
        }
    }
}
