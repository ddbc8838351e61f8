//! The scenario of every intro_retry test: client requests over a network
//! that loses and duplicates messages, then a reliable liveness phase, with
//! the safety properties checked after every event and the liveness ones at
//! the end.

use super::{
    data_seq, Factory, Observed, Tested, AFTER, ASKED, AT_ONCE, EFFECT, IDLE_TIMER, ONCE, QUIET,
    REPLIED, SPACED,
};
use dscheck::{ms, run, secs, Failure, EXCERPT_LINES};
use dsim::{Broken, Erased, Event, Network, RequestId, Sim, SimRng};
use protocols::intro::retry::{Request, RECEIVER, RETRANSMIT_AFTER, SENDER};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The course's network: 1–10 ms per hop.
fn reliable() -> Network {
    Network::reliable(ms(1), ms(10))
}

/// The network of the lossy phase.
pub(super) fn lossy(loss: f64, duplicate: f64) -> Network {
    reliable().with_loss(loss).with_duplication(duplicate)
}

/// The random stream (of the seed) that draws a run's loss rates.
const RATES_STREAM: u64 = 0x5EED_0000_0000_0001;

/// Loss and duplication rates drawn for a seed, each between 20% and 50%.
pub(super) fn rates(seed: u64) -> (f64, f64) {
    let mut rng = SimRng::fork(seed, RATES_STREAM);
    let mut rate = || (20.0 + 30.0 * rng.unit()).round() / 100.0;
    (rate(), rate())
}

/// How the clients choose what to append.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Values {
    /// Every request appends a value of its own.
    Distinct,
    /// Values from {1, 2, 3}: many requests append the same value.
    Few,
}

pub(super) struct Profile {
    /// How many client requests.
    pub(super) requests: usize,
    /// Requests reach the sender at random times over this long.
    pub(super) spread: Duration,
    /// The network while requests arrive and for [`LOSSY_TAIL`] after.
    pub(super) network: Network,
    pub(super) values: Values,
}

/// How long the network stays lossy after the last request has arrived.
const LOSSY_TAIL: Duration = secs(1);
/// How long the liveness phase may take to answer everything and go quiet.
const LIVENESS: Duration = secs(5);

/// Runs `profile` with every safety property checked after every event:
/// requests arrive at the sender while the network loses and duplicates
/// messages; then, in the liveness phase, the network becomes reliable and
/// the run must go quiet with every request applied once and answered.
pub(super) fn scenario(
    seed: u64,
    factory: Factory,
    profile: &Profile,
) -> Result<Sim<Tested>, Failure> {
    let mut factory = factory;
    let mut sim = Sim::new(seed, 2, move |id| Erased(factory(id)));
    sim.set_network(profile.network.clone());
    let mut rng = sim.scenario_rng();
    let values: Vec<u64> = (0..profile.requests as u64)
        .map(|i| match profile.values {
            Values::Distinct => 100 + i,
            Values::Few => 1 + rng.below(3),
        })
        .collect();
    watch(&mut sim, &values);
    for &value in &values {
        let delay = rng.duration(Duration::ZERO..=profile.spread);
        sim.request_after(delay, SENDER, Request::Append(value));
    }
    run(&mut sim, |s| s.run_for(profile.spread + LOSSY_TAIL))?;
    sim.note("liveness phase: the network stops losing and duplicating messages");
    sim.set_network(reliable());
    let quiet = run(&mut sim, |s| s.run_until_quiet(LIVENESS))?;
    final_checks(&sim, &values, quiet)?;
    Ok(sim)
}

/// What clients have asked for and what the receiver has applied, counted
/// by value and brought up to date after every event.
struct Ledger {
    /// The value of each request, by request id.
    values: Vec<u64>,
    asked: BTreeMap<u64, usize>,
    applied: BTreeMap<u64, usize>,
    replied: BTreeMap<u64, usize>,
    ops_seen: usize,
    log_seen: usize,
}

impl Ledger {
    fn new(values: &[u64]) -> Self {
        Ledger {
            values: values.to_vec(),
            asked: BTreeMap::new(),
            applied: BTreeMap::new(),
            replied: BTreeMap::new(),
            ops_seen: 0,
            log_seen: 0,
        }
    }

    fn value(&self, id: RequestId) -> u64 {
        self.values[id.0 as usize]
    }

    /// Catches up with the run; returns the values applied since last time.
    fn update<'s>(&mut self, sim: &'s Sim<Tested>) -> &'s [u64] {
        for op in &sim.history()[self.ops_seen..] {
            *self.asked.entry(self.value(op.id)).or_default() += 1;
        }
        self.ops_seen = sim.history().len();
        let Some(log) = sim.node(RECEIVER).and_then(Observed::applied) else {
            return &[];
        };
        if log.len() < self.log_seen {
            // Entries were taken out of the log: count it afresh.
            self.applied.clear();
            self.log_seen = 0;
        }
        let new = &log[self.log_seen..];
        for value in new {
            *self.applied.entry(*value).or_default() += 1;
        }
        self.log_seen = log.len();
        new
    }

    fn asked(&self, value: u64) -> usize {
        self.asked.get(&value).copied().unwrap_or(0)
    }

    fn applied(&self, value: u64) -> usize {
        self.applied.get(&value).copied().unwrap_or(0)
    }

    /// The invoked requests that append `value`, as `r3, r9`.
    fn requests_for(&self, sim: &Sim<Tested>, value: u64) -> String {
        let ids: Vec<String> = sim
            .history()
            .iter()
            .filter(|op| self.value(op.id) == value)
            .map(|op| op.id.to_string())
            .collect();
        ids.join(", ")
    }
}

/// Registers the safety properties, checked after every event.
fn watch(sim: &mut Sim<Tested>, values: &[u64]) {
    // A Retransmit timer fires only for an unacknowledged request, and
    // then sends its copy: one that fires and sends nothing outlived its
    // acknowledgement.
    sim.check(IDLE_TIMER, |_, step| {
        let Some(Event::Timer { node, timer }) = step.trigger_event() else {
            return Ok(());
        };
        let sent = step
            .caused()
            .iter()
            .any(|e| matches!(e.event, Event::Send { .. }));
        if *node == SENDER && !sent {
            return Err(Broken::new(format!(
                "{SENDER}'s timer {timer:?} fired and sent nothing: its request had been acknowledged"
            ))
            .nodes([SENDER]));
        }
        Ok(())
    });
    // A request's first copy goes out in the step that takes the request.
    sim.check(AT_ONCE, |_, step| {
        let Some(Event::Request {
            node,
            id,
            refused: false,
            ..
        }) = step.trigger_event()
        else {
            return Ok(());
        };
        let sent = step.caused().iter().any(|e| {
            matches!(&e.event, Event::Send { from, msg, .. }
                if from == node && data_seq(msg).is_some())
        });
        if *node == SENDER && !sent {
            return Err(Broken::new(format!(
                "{SENDER} took request {id} and sent the receiver no Data"
            ))
            .nodes([SENDER]));
        }
        Ok(())
    });
    // Each request's copies: the first when asked, then one per timer.
    let mut last_copy: BTreeMap<u64, dsim::Time> = BTreeMap::new();
    sim.check(SPACED, move |sim, step| {
        for e in step {
            let Event::Send { from, msg, .. } = &e.event else {
                continue;
            };
            let Some(seq) = data_seq(msg).filter(|_| *from == SENDER) else {
                continue;
            };
            if let Some(previous) = last_copy.insert(seq, sim.now()) {
                let gap = sim.now().saturating_since(previous);
                if gap < RETRANSMIT_AFTER {
                    return Err(Broken::new(format!(
                        "{SENDER} sent seq {seq} again {} ms after the last copy",
                        gap.as_millis()
                    ))
                    .nodes([SENDER]));
                }
            }
        }
        Ok(())
    });
    let mut ledger = Ledger::new(values);
    sim.check(ASKED, move |sim, _| {
        for &value in ledger.update(sim) {
            if ledger.asked(value) == 0 {
                return Err(Broken::new(format!(
                    "{RECEIVER} applied {value}, which no client has asked to append"
                ))
                .nodes([SENDER, RECEIVER]));
            }
        }
        Ok(())
    });

    let mut ledger = Ledger::new(values);
    sim.check(ONCE, move |sim, _| {
        for &value in ledger.update(sim) {
            let (asked, applied) = (ledger.asked(value), ledger.applied(value));
            if asked > 0 && applied > asked {
                let requests = ledger.requests_for(sim, value);
                let detail = if asked == 1 {
                    format!(
                        "{RECEIVER} applied {value} a second time, but only one request asked \
                         for it ({requests}): a copy was taken for new data"
                    )
                } else {
                    format!(
                        "{RECEIVER} has now applied {value} {applied} times, but only {asked} \
                         requests asked for it ({requests}): a copy was taken for new data"
                    )
                };
                return Err(Broken::new(detail).nodes([SENDER, RECEIVER]));
            }
        }
        Ok(())
    });

    let mut ledger = Ledger::new(values);
    sim.check(AFTER, move |sim, step| {
        ledger.update(sim);
        for entry in step {
            if let Event::Reply { node, id, .. } = &entry.event {
                let value = ledger.value(*id);
                let replied = ledger.replied.entry(value).or_default();
                *replied += 1;
                let replied = *replied;
                if replied > ledger.applied(value) {
                    return Err(Broken::new(format!(
                        "{node} answered {id} (append {value}), but {RECEIVER} has not applied it \
                         yet: the data may still be lost"
                    ))
                    .nodes([SENDER, RECEIVER]));
                }
            }
        }
        Ok(())
    });
}

/// After the liveness phase: every request took effect exactly once and was
/// answered, and nothing is left running.
fn final_checks(sim: &Sim<Tested>, values: &[u64], quiet: bool) -> Result<(), Failure> {
    let mut ledger = Ledger::new(values);
    ledger.update(sim);
    let after = format!(
        "even after {} s on a network that no longer loses messages",
        LIVENESS.as_secs()
    );
    for op in sim.history() {
        let value = ledger.value(op.id);
        let (asked, applied) = (ledger.asked(value), ledger.applied(value));
        if applied < asked {
            let detail = if asked == 1 {
                format!("{} (append {value}) never took effect, {after}", op.id)
            } else {
                let requests = ledger.requests_for(sim, value);
                format!(
                    "{asked} requests asked to append {value} ({requests}), but {RECEIVER} \
                     applied it {applied} time(s), {after}"
                )
            };
            return Err(
                Failure::after_run(sim, EFFECT, detail).with_trace(story(sim, op.id, value))
            );
        }
        if applied > asked {
            let detail =
                format!("{RECEIVER} applied {value} {applied} times for {asked} request(s)");
            return Err(Failure::after_run(sim, ONCE, detail));
        }
    }
    if let Some(op) = sim.history().iter().find(|op| !op.is_complete()) {
        let value = ledger.value(op.id);
        let detail = format!(
            "{} (append {value}) took effect but its client never got a reply, {after}",
            op.id
        );
        return Err(Failure::after_run(sim, REPLIED, detail).with_trace(story(sim, op.id, value)));
    }
    if !quiet {
        let detail = format!(
            "every request was answered, yet {} s after the network stopped losing messages, \
             messages and timers were still going",
            LIVENESS.as_secs()
        );
        return Err(Failure::after_run(sim, QUIET, detail));
    }
    Ok(())
}

/// The trace lines about request `id`: its arrival, the data messages that
/// carry its value, what became of them, and its reply.
fn story(sim: &Sim<Tested>, id: RequestId, value: u64) -> Vec<String> {
    let needle = format!("value: {value} }}");
    let mut carriers = BTreeSet::new();
    let mut lines = Vec::new();
    for entry in sim.trace().entries() {
        let about = match &entry.event {
            Event::Request { id: r, .. } | Event::Reply { id: r, .. } => *r == id,
            Event::Send { msg_id, msg, .. } | Event::Deliver { msg_id, msg, .. } => {
                let carries = format!("{msg:?}").contains(&needle);
                if carries {
                    carriers.insert(*msg_id);
                }
                carries
            }
            Event::Drop { msg_id, .. } => carriers.contains(msg_id),
            _ => false,
        };
        if about {
            lines.push(entry.to_string());
        }
    }
    let skip = lines.len().saturating_sub(EXCERPT_LINES);
    lines.split_off(skip)
}
