//! The protocol of `intro_pingpong`: numbered pings every interval, each
//! answered by a pong.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How often a node pings its peers.
pub const PING_INTERVAL: Duration = Duration::from_millis(100);

/// What nodes send each other.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    /// "Are you there?", numbered by the sender.
    Ping { seq: u64 },
    /// "Yes": the answer to the ping with the same number.
    Pong { seq: u64 },
}

/// The one kind of timer: time to ping every peer again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Timer {
    Ping,
}
