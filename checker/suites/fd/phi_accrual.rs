//! fd_phi_accrual: the window's statistics and φ are right; crashes are
//! suspected by every live node within the bound, a calm network sees no
//! false suspicion, a node heard from again is not suspected; and on links
//! of which some lose heartbeats in bursts, φ suspects live nodes far less
//! often than a fixed timeout with the same mean detection time, measured
//! on the very same arrivals.

use super::watch::{calm, crash_run, lossy, max_delay, quiet_run, start, watch, Checks, Detector};
use dscheck::{ensure, metric, ms, run, Failure, Property, Suite};
use dsim::{Event, Network, NodeId, SimRng, Time};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use crate::subject::fd::phi_accrual::{
    phi, History, PhiAccrual, INTERVAL, LEARN_LIMIT, MAX_DRIFT, MIN_STD_DEV_MS, THRESHOLD, WINDOW,
};

/// Nodes per run.
const NODES: usize = 5;

macro_rules! detector {
    ($($node:ty),* $(,)?) => {$(
        impl Detector for $node {
            fn fresh() -> Self {
                <$node>::new()
            }
            fn suspects_at(&self, peer: NodeId, now: Time) -> bool {
                self.suspects(peer, now)
            }
        }
    )*};
}

detector!(PhiAccrual);
#[cfg(bugs)]
detector!(
    crate::bugs::last_interval::phi_accrual::PhiAccrual,
    crate::bugs::ignores_deviation::phi_accrual::PhiAccrual,
);

pub const WINDOWED: Property = Property {
    name: "a monitor's mean and standard deviation are those of the last WINDOW inter-arrival \
           times (the deviation at least MIN_STD_DEV_MS)",
    hint: "learn pushes the interval at the back and, past WINDOW, pops the oldest, keeping sum \
           and sum_of_squares in step; variance = sum_of_squares / n − mean²",
    when: &[],
};
pub const PHI: Property = Property {
    name: "φ is −log10 of the chance that a heartbeat comes later than the silence so far",
    hint: "with y = (elapsed − mean) / std_dev, φ = log10(1 + e^(y (1.5976 + 0.070566 y²)))",
    when: &[],
};
pub const LEARNED: Property = Property {
    name: "a monitor learns the interval a newer heartbeat ends, and nothing from an older one \
           or from a silence longer than LEARN_LIMIT",
    hint: "in heard: return at once if sent <= last_sent; learn now − last_arrival only if it is \
           at most LEARN_LIMIT; then last_sent = sent and last_arrival = now",
    when: &[],
};
pub const BETTER: Property = Property {
    name: "on the same arrivals, φ suspects live nodes at most half as often as a fixed timeout \
           with the same mean detection time",
    hint: "φ must come from the whole window: its mean and its standard deviation, so that a \
           link that often loses heartbeats gets a long timeout and a steady one a short timeout",
    when: &[],
};

/// The longest a crash may go unsuspected on these tests' networks (true
/// time): φ reaches THRESHOLD at about mean + 5 standard deviations of the
/// window, well under 2 s for intervals that LEARN_LIMIT keeps under 1 s;
/// then the network's longest delay of the last heartbeat.
fn detection_bound(network: &Network) -> Duration {
    Duration::from_secs(2) + max_delay(network)
}

pub fn tests(suite: Suite) -> Suite {
    suite
        .test("phi_accrual::the_window_keeps_the_last_intervals", || {
            windowed(|| History::new(Time::ZERO))
        })
        .test("phi_accrual::phi_is_the_normal_tail_on_a_log_scale", || {
            phi_values(phi)
        })
        .test("phi_accrual::newer_heartbeats_teach_the_window", || {
            learned::<PhiAccrual>(|n| &n.peers)
        })
        .seeded(
            "phi_accrual::no_live_node_suspected_on_a_calm_network",
            3,
            |seed| quiet_run::<PhiAccrual>(seed, NODES, MAX_DRIFT, detection_bound(&calm())),
        )
        .seeded(
            "phi_accrual::crashes_detected_and_restarts_forgiven_on_a_calm_network",
            4,
            |seed| crashes::<PhiAccrual>(seed, calm()),
        )
        .seeded(
            "phi_accrual::crashes_detected_on_a_lossy_network",
            4,
            |seed| crashes::<PhiAccrual>(seed, lossy()),
        )
        .seeded(
            "phi_accrual::fewer_false_suspicions_than_a_fixed_timeout",
            3,
            compare::<PhiAccrual>,
        )
}

/// The checks, run on the reference with one bug each (`bugs/`).
#[cfg(bugs)]
pub fn meta(suite: Suite) -> Suite {
    use crate::bugs::ignores_deviation::phi_accrual::PhiAccrual as IgnoresDeviation;
    use crate::bugs::last_interval::phi_accrual::PhiAccrual as LastInterval;
    use dscheck::expect_caught;
    suite
        .test(
            "meta::phi_from_the_last_interval_instead_of_the_window_is_caught",
            || expect_caught(BETTER, 3, compare::<LastInterval>),
        )
        .test(
            "meta::phi_that_ignores_the_window_deviation_is_caught",
            || expect_caught(BETTER, 3, compare::<IgnoresDeviation>),
        )
}

/// Eight seconds of crashes and restarts on `network` (see [`crash_run`]).
fn crashes<N: Detector>(seed: u64, network: Network) -> Result<(), Failure> {
    let detection = detection_bound(&network);
    crash_run::<N>(seed, NODES, MAX_DRIFT, network, detection, INTERVAL)
}

/// Two floats equal but for rounding.
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * (1.0 + a.abs().max(b.abs()))
}

/// The mean and population standard deviation of `xs`.
fn stats(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// A window fed 2.5 × WINDOW intervals keeps the last WINDOW: its mean and
/// deviation are theirs; a steady window's deviation is MIN_STD_DEV_MS.
fn windowed(fresh: impl Fn() -> History) -> Result<(), Failure> {
    let mut h = fresh();
    let fed: Vec<f64> = (0..WINDOW * 5 / 2)
        .map(|i| 60.0 + ((i * 37) % 101) as f64 + if i % 7 == 0 { 200.0 } else { 0.0 })
        .collect();
    for &x in &fed {
        h.learn(x);
    }
    let last = &fed[fed.len() - WINDOW..];
    let (mean, sd) = stats(last);
    ensure(h.intervals.len() == WINDOW, WINDOWED, || {
        format!(
            "after {} intervals the window holds {}, not WINDOW = {WINDOW}",
            fed.len(),
            h.intervals.len()
        )
    })?;
    ensure(close(h.mean(), mean), WINDOWED, || {
        format!(
            "the mean of the last {WINDOW} intervals is {mean:.3} ms; mean() says {:.3}",
            h.mean()
        )
    })?;
    ensure(close(h.std_dev(), sd.max(MIN_STD_DEV_MS)), WINDOWED, || {
        format!(
            "the standard deviation of the last {WINDOW} intervals is {sd:.3} ms; std_dev() \
             says {:.3}",
            h.std_dev()
        )
    })?;
    let mut steady = fresh();
    for _ in 0..WINDOW {
        steady.learn(100.0);
    }
    ensure(
        close(steady.mean(), 100.0) && close(steady.std_dev(), MIN_STD_DEV_MS),
        WINDOWED,
        || {
            format!(
                "a window of {WINDOW} intervals of 100 ms has mean 100 and deviation 0, so \
                 MIN_STD_DEV_MS = {MIN_STD_DEV_MS}; it says mean {:.3}, deviation {:.3}",
                steady.mean(),
                steady.std_dev()
            )
        },
    )
}

/// φ at a few silences, against −log10 of the normal tail (the logistic
/// approximation's values, within 0.05 of the exact tail's up to three
/// deviations), and φ grows with the silence.
fn phi_values(phi: impl Fn(f64, f64, f64) -> f64) -> Result<(), Failure> {
    // (y, φ): log10(1 + e^(y (1.5976 + 0.070566 y²))).
    let expected = [
        (-2.0, 0.0100),
        (0.0, std::f64::consts::LOG10_2),
        (1.0, 0.7995),
        (2.0, 1.6428),
        (3.0, 2.9095),
    ];
    for (mean, sd) in [(100.0, 10.0), (250.0, 80.0)] {
        for (y, want) in expected {
            let elapsed = mean + y * sd;
            let got = phi(elapsed, mean, sd);
            ensure((got - want).abs() <= 0.05, PHI, || {
                format!(
                    "after {elapsed} ms of silence with mean {mean} ms and deviation {sd} ms, \
                     φ should be about {want:.3}; it is {got:.3}"
                )
            })?;
        }
        let far = phi(mean + 6.0 * sd, mean, sd);
        ensure(far >= THRESHOLD, PHI, || {
            format!(
                "six deviations past the mean ({} ms, mean {mean} ms, deviation {sd} ms), φ is \
                 {far:.3}, below THRESHOLD = {THRESHOLD}",
                mean + 6.0 * sd
            )
        })?;
    }
    Ok(())
}

/// `heard` driven by hand on a started node: a newer heartbeat teaches the
/// interval since the last arrival, an older one (or the same again)
/// nothing, and a silence over LEARN_LIMIT nothing, though its heartbeat
/// still counts as the last arrival; a silence of exactly LEARN_LIMIT is
/// learned.
fn learned<N: Detector + HeardByHand>(
    peers: impl Fn(&N) -> &std::collections::BTreeMap<NodeId, History>,
) -> Result<(), Failure> {
    let p = NodeId(1);
    let mut node = N::fresh();
    let t = Time::from_millis;
    node.hear(p, t(1_000), t(1_000));
    node.hear(p, t(1_100), t(1_120));
    let window = |n: &N| peers(n).get(&p).map(|h| h.intervals.clone());
    let before = window(&node).unwrap_or_default();
    ensure(before.back() == Some(&120.0), LEARNED, || {
        format!(
            "heartbeats arrived at 1000 ms and 1120 ms: the window should end with 120 ms; it \
             is {before:?}"
        )
    })?;
    let last = peers(&node).get(&p).map(|h| h.last_arrival);
    node.hear(p, t(1_100), t(1_300));
    node.hear(p, t(1_050), t(1_310));
    let after = window(&node).unwrap_or_default();
    let still = peers(&node).get(&p).map(|h| h.last_arrival);
    ensure(after == before && still == last, LEARNED, || {
        format!(
            "a duplicate (sent at 1100 ms again) and an older heartbeat (sent at 1050 ms) \
             arrived: the window and last arrival should not change; the window went from \
             {before:?} to {after:?}, the last arrival from {last:?} to {still:?}"
        )
    })?;
    let gap = t(1_120) + LEARN_LIMIT + ms(500);
    node.hear(p, t(1_200), gap);
    let after = window(&node).unwrap_or_default();
    let arrival = peers(&node).get(&p).map(|h| h.last_arrival);
    ensure(after == before && arrival == Some(gap), LEARNED, || {
        format!(
            "a heartbeat ended a silence of {} ms, over LEARN_LIMIT: the window should not \
             change, and the last arrival should be {gap}; the window went from {before:?} \
             to {after:?}, the last arrival is {arrival:?}",
            (LEARN_LIMIT + ms(500)).as_millis()
        )
    })?;
    node.hear(p, t(1_300), gap + ms(95));
    let after = window(&node).unwrap_or_default();
    ensure(after.back() == Some(&95.0), LEARNED, || {
        format!("a newer heartbeat 95 ms after the last arrival: the window is {after:?}")
    })?;
    node.hear(p, t(1_400), gap + ms(95) + LEARN_LIMIT);
    let after = window(&node).unwrap_or_default();
    let limit = LEARN_LIMIT.as_secs_f64() * 1_000.0;
    ensure(after.back() == Some(&limit), LEARNED, || {
        format!(
            "a silence of exactly LEARN_LIMIT ({limit} ms) is not longer than it and is learned: \
             the window is {after:?}"
        )
    })
}

/// `heard`, callable from the suite.
pub trait HeardByHand {
    fn hear(&mut self, peer: NodeId, sent: Time, now: Time);
}

impl HeardByHand for PhiAccrual {
    fn hear(&mut self, peer: NodeId, sent: Time, now: Time) {
        self.heard(peer, sent, now)
    }
}

/// The links that lose heartbeats in bursts: each directed link is flaky
/// with chance 0.3 (at least one is).
fn flaky_links(rng: &mut SimRng) -> Vec<(NodeId, NodeId)> {
    let mut links = Vec::new();
    for from in 0..NODES {
        for to in 0..NODES {
            if from != to && rng.chance(0.3) {
                links.push((NodeId(from), NodeId(to)));
            }
        }
    }
    if links.is_empty() {
        links.push((NodeId(0), NodeId(1)));
    }
    links
}

/// What the comparison records on each link (monitor, peer): the monitor's
/// clock at every newer arrival, and φ's timeout in force after it.
struct Arrivals {
    newest: Vec<Option<u64>>,
    at: Vec<Vec<Time>>,
    timeouts: Vec<f64>,
}

/// How long after `now` (ms, by the monitor's clock, to within 1 ms) the
/// monitor would suspect `peer` if nothing more arrived: φ's timeout.
fn timeout_in_force<N: Detector>(node: &N, peer: NodeId, now: Time) -> f64 {
    let (mut lo, mut hi) = (0u64, 5_000u64);
    if !node.suspects_at(peer, now + ms(hi)) {
        return hi as f64;
    }
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if node.suspects_at(peer, now + ms(mid)) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi as f64
}

/// Sixty seconds of the calm network, no crash, with some links flaky: up
/// for 0.5 to 2 s, then cut for 100 to 300 ms. φ's false suspicions are
/// counted as they happen; after every arrival the suite asks how long φ
/// would now wait before suspecting (its timeout in force), and the fixed
/// timeout is set to the mean of those, so that both detect a crash
/// equally fast on average. The fixed timeout's false suspicions are the
/// silences between arrivals longer than it, on the same arrivals.
pub fn compare<N: Detector>(seed: u64) -> Result<(), Failure> {
    let mut sim = start::<N>(seed, NODES, MAX_DRIFT, calm());
    let mut rng = sim.scenario_rng();
    let tally = watch(&mut sim, Checks::default());
    let arrivals = Rc::new(RefCell::new(Arrivals {
        newest: vec![None; NODES * NODES],
        at: (0..NODES * NODES).map(|_| vec![Time::ZERO]).collect(),
        timeouts: Vec::new(),
    }));
    let a = arrivals.clone();
    sim.check(BETTER, move |sim, step| {
        let Some(Event::Deliver {
            from, to, msg_id, ..
        }) = step.trigger_event()
        else {
            return Ok(());
        };
        let mut a = a.borrow_mut();
        let link = to.0 * NODES + from.0;
        if a.newest[link].is_some_and(|m| *msg_id <= m) {
            return Ok(());
        }
        a.newest[link] = Some(*msg_id);
        let local = sim.local_time(*to);
        a.at[link].push(local);
        if let Some(node) = sim.node(*to) {
            a.timeouts.push(timeout_in_force(node, *from, local));
        }
        Ok(())
    });
    let flaky = flaky_links(&mut rng);
    let mut cut_until: Vec<Option<Time>> = vec![None; flaky.len()];
    let mut next: Vec<Time> = flaky
        .iter()
        .map(|_| sim.now() + rng.duration(ms(500)..=ms(2_000)))
        .collect();
    let end = sim.now() + Duration::from_secs(60);
    loop {
        let (i, &when) = next
            .iter()
            .enumerate()
            .min_by_key(|(_, t)| **t)
            .expect("at least one flaky link");
        if when >= end {
            break;
        }
        let pause = when.saturating_since(sim.now());
        run(&mut sim, |s| s.run_for(pause))?;
        if cut_until[i].take().is_some() {
            next[i] = sim.now() + rng.duration(ms(500)..=ms(2_000));
        } else {
            let back = sim.now() + rng.duration(ms(100)..=ms(300));
            cut_until[i] = Some(back);
            next[i] = back;
        }
        run(&mut sim, |s| s.heal())?;
        for (j, &(from, to)) in flaky.iter().enumerate() {
            if cut_until[j].is_some() {
                run(&mut sim, |s| s.cut(from, to))?;
            }
        }
    }
    let rest = end.saturating_since(sim.now());
    run(&mut sim, |s| s.run_for(rest))?;
    let a = arrivals.borrow();
    let mean_timeout = a.timeouts.iter().sum::<f64>() / a.timeouts.len().max(1) as f64;
    let fixed = ms(mean_timeout.round() as u64);
    let fixed_false: usize =
        a.at.iter()
            .map(|times| {
                times
                    .windows(2)
                    .filter(|w| w[1].saturating_since(w[0]) > fixed)
                    .count()
            })
            .sum();
    let phi_false = tally.borrow().false_suspicions.len();
    metric(
        "mean detection time (φ's timeout in force, ms)",
        format!("{mean_timeout:.0}"),
    );
    metric("false suspicions, φ", phi_false);
    metric("false suspicions, fixed timeout", fixed_false);
    if phi_false * 2 > fixed_false {
        return Err(Failure::after_run(
            &sim,
            BETTER,
            format!(
                "on {} flaky links of {}, φ's timeout in force averaged {mean_timeout:.0} ms; a \
                 fixed timeout of that length would have suspected a live node {fixed_false} \
                 times on the same arrivals, and φ did {phi_false} times",
                flaky.len(),
                NODES * (NODES - 1)
            ),
        ));
    }
    Ok(())
}
