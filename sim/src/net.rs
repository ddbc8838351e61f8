//! How the simulated network treats messages.

use serde::{Deserialize, Serialize};
use std::ops::RangeInclusive;
use std::time::Duration;

/// The behaviour of every link: a latency range (messages sent close
/// together may arrive in either order), random loss and duplication, and
/// occasional long delays that reorder messages badly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Network {
    /// Each message's delay is drawn uniformly from this range.
    pub latency: RangeInclusive<Duration>,
    /// The probability that a message is lost.
    pub loss: f64,
    /// The probability that a delivered message is delivered a second time.
    pub duplicate: f64,
    /// The probability that a message is held back for a long time…
    pub long_delay: f64,
    /// …up to this much more than its latency.
    pub long_delay_max: Duration,
}

impl Network {
    /// No loss, no duplication: only delays between `min` and `max`.
    pub fn reliable(min: Duration, max: Duration) -> Network {
        Network {
            latency: min..=max,
            loss: 0.0,
            duplicate: 0.0,
            long_delay: 0.0,
            long_delay_max: Duration::ZERO,
        }
    }

    /// The same network, losing each message with probability `loss`.
    pub fn with_loss(mut self, loss: f64) -> Network {
        self.loss = loss;
        self
    }

    /// The same network, duplicating each message with probability `duplicate`.
    pub fn with_duplication(mut self, duplicate: f64) -> Network {
        self.duplicate = duplicate;
        self
    }

    /// The same network, holding back a fraction of messages for up to `max`.
    pub fn with_long_delays(mut self, probability: f64, max: Duration) -> Network {
        self.long_delay = probability;
        self.long_delay_max = max;
        self
    }
}

impl Default for Network {
    /// A reliable network with 1–10 ms latency.
    fn default() -> Self {
        Network::reliable(Duration::from_millis(1), Duration::from_millis(10))
    }
}
