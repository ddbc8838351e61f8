//! fd_heartbeat: a crashed node is suspected by every live node within the
//! detection bound; a live node is never suspected on a calm network, and
//! seldom (a rate per node-hour held to a bound) under long delays and
//! loss; a node heard from again is no longer suspected.
//!
//! Every clock is skewed and drifts (within MAX_DRIFT); the checks run
//! after every event against true time (see `watch.rs`).

use super::watch::{
    calm, crash_run, lossy, max_delay, quiet_run, start, watch, Checks, Detector, Tally, COMPLETE,
    FORGIVEN, QUIET, RATE,
};
use crate::subject::fd::heartbeat::{Heartbeat, INTERVAL, MAX_DRIFT, TIMEOUT};
use dscheck::{metric, ms, run, Failure, Suite};
use dsim::{Network, NodeId, Sim, Time};
use std::time::Duration;

/// Nodes per run.
const NODES: usize = 5;

macro_rules! detector {
    ($($node:ty),* $(,)?) => {$(
        impl Detector for $node {
            fn fresh() -> Self {
                <$node>::new()
            }
            fn suspects_at(&self, peer: NodeId, _now: Time) -> bool {
                self.suspects(peer)
            }
        }
    )*};
}

detector!(Heartbeat);
#[cfg(bugs)]
detector!(
    crate::bugs::never_resets::heartbeat::Heartbeat,
    crate::bugs::never_suspects::heartbeat::Heartbeat,
    crate::bugs::never_forgives::heartbeat::Heartbeat,
);

/// The longest a crash may go unsuspected, in true time: the crashed
/// node's last heartbeat may take the network's longest delay, then the
/// monitor's TIMEOUT runs on a clock that may be slow; one INTERVAL more
/// leaves room for a detector that looks at its peers on a tick.
pub fn detection_bound(network: &Network) -> Duration {
    max_delay(network) + TIMEOUT.mul_f64(1.0 / (1.0 - MAX_DRIFT)) + INTERVAL
}

/// Long-tailed delays: 30% of messages held back by up to 800 ms more.
pub fn long_tailed() -> Network {
    calm().with_long_delays(0.3, ms(800))
}

/// Loss: 20% of messages lost.
pub fn loss() -> Network {
    calm().with_loss(0.2)
}

/// The most false suspicions per node-hour allowed on each network. With
/// TIMEOUT four and a half intervals, a false suspicion needs four
/// heartbeats in a row lost or held back: over seeds 1 to 100 the reference
/// measured a median of 130 per node-hour on `loss` (highest 290) and 110
/// on `long_tailed` (highest 200). A timeout that heartbeats do not restart
/// suspects each peer about twice a second: some 30,000 per node-hour.
const RATE_BOUND_LOSS: f64 = 800.0;
const RATE_BOUND_LONG: f64 = 600.0;

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded(
            "heartbeat::no_live_node_suspected_on_a_calm_network",
            3,
            quiet::<Heartbeat>,
        )
        .seeded(
            "heartbeat::crashes_detected_and_restarts_forgiven_on_a_calm_network",
            4,
            |seed| crashes::<Heartbeat>(seed, calm()),
        )
        .seeded(
            "heartbeat::crashes_detected_on_a_lossy_network",
            4,
            |seed| crashes::<Heartbeat>(seed, lossy()),
        )
        .seeded(
            "heartbeat::few_false_suspicions_under_long_delays",
            2,
            |seed| accuracy::<Heartbeat>(seed, long_tailed(), RATE_BOUND_LONG),
        )
        .seeded("heartbeat::few_false_suspicions_under_loss", 2, |seed| {
            accuracy::<Heartbeat>(seed, loss(), RATE_BOUND_LOSS)
        })
}

/// The checks, run on the reference with one bug each (`bugs/`).
#[cfg(bugs)]
pub fn meta(suite: Suite) -> Suite {
    use crate::bugs::never_forgives::heartbeat::Heartbeat as NeverForgives;
    use crate::bugs::never_resets::heartbeat::Heartbeat as NeverResets;
    use crate::bugs::never_suspects::heartbeat::Heartbeat as NeverSuspects;
    use dscheck::expect_caught;
    suite
        .test(
            "meta::a_timeout_not_restarted_by_heartbeats_is_caught_on_a_calm_network",
            || expect_caught(QUIET, 3, quiet::<NeverResets>),
        )
        .test(
            "meta::a_timeout_not_restarted_by_heartbeats_is_caught_by_its_rate",
            || {
                expect_caught(RATE, 2, |seed| {
                    accuracy::<NeverResets>(seed, loss(), RATE_BOUND_LOSS)
                })
            },
        )
        .test("meta::a_detector_that_never_suspects_is_caught", || {
            expect_caught(COMPLETE, 4, |seed| crashes::<NeverSuspects>(seed, calm()))
        })
        .test(
            "meta::a_detector_that_never_forgives_a_restarted_node_is_caught",
            || expect_caught(FORGIVEN, 4, |seed| crashes::<NeverForgives>(seed, calm())),
        )
}

/// Ten seconds on the calm network, no crash: nobody is ever suspected.
pub fn quiet<N: Detector>(seed: u64) -> Result<(), Failure> {
    quiet_run::<N>(seed, NODES, MAX_DRIFT, detection_bound(&calm()))
}

/// Eight seconds of crashes and restarts on `network` (see [`crash_run`]).
pub fn crashes<N: Detector>(seed: u64, network: Network) -> Result<(), Failure> {
    let detection = detection_bound(&network);
    crash_run::<N>(seed, NODES, MAX_DRIFT, network, detection, INTERVAL)
}

/// Sixty seconds of `network`, no crash: the false suspicions per
/// node-hour are measured, reported, and held to `bound`.
pub fn accuracy<N: Detector>(seed: u64, network: Network, bound: f64) -> Result<(), Failure> {
    let checks = Checks {
        complete: Some(detection_bound(&network)),
        ..Checks::default()
    };
    let mut sim = start::<N>(seed, NODES, MAX_DRIFT, network);
    let tally = watch(&mut sim, checks);
    run(&mut sim, |s| s.run_for(Duration::from_secs(60)))?;
    let tally = tally.borrow();
    judge_rate(&sim, &tally, bound)
}

/// Reports the rate of false suspicions and holds it to `bound`.
pub fn judge_rate<N: Detector>(sim: &Sim<N>, tally: &Tally, bound: f64) -> Result<(), Failure> {
    let rate = tally.rate();
    metric("false suspicions", tally.false_suspicions.len());
    metric("false suspicions per node-hour", format!("{rate:.0}"));
    if rate > bound {
        return Err(Failure::after_run(
            sim,
            RATE,
            format!(
                "{} false suspicions in {:.3} node-hours: {rate:.0} per node-hour, above the \
                 bound of {bound:.0}",
                tally.false_suspicions.len(),
                tally.node_hours()
            ),
        ));
    }
    Ok(())
}
