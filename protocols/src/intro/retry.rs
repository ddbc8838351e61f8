//! The protocol of `intro_retry`: requests numbered by a sender and sent
//! until acknowledged, applied once by a receiver.

use dsim::NodeId;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The node clients talk to.
pub const SENDER: NodeId = NodeId(0);
/// The node that keeps the log.
pub const RECEIVER: NodeId = NodeId(1);

/// How long the sender waits for an ack before sending a copy. It is longer
/// than a round trip on the course's network (two hops of 1–10 ms): a shorter
/// wait would send copies of messages that were never lost.
pub const RETRANSMIT_AFTER: Duration = Duration::from_millis(30);

/// What a client asks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Append this value to the receiver's log.
    Append(u64),
}

/// What the client gets back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// The value is in the log.
    Appended,
}

/// What the two nodes send each other.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    /// Sender to receiver: request number `seq` asks to append `value`.
    Data { seq: u64, value: u64 },
    /// Receiver to sender: request number `seq` has been applied.
    Ack { seq: u64 },
}

/// The sender's timers: one per unacknowledged request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Timer {
    /// No ack for `seq` yet: time to send it again.
    Retransmit { seq: u64 },
}
