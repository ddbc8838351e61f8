//! intro_retry: retransmission until acknowledged (at least once) plus
//! de-duplication at the receiver (at most once) give every client request
//! exactly one effect over a link that loses and duplicates messages.
//!
//! Every scenario and check here is generic over [`Observed`], so that the
//! `meta::` tests can run known-wrong implementations (the [`Model`] at the end
//! of this file, with one [`Flaw`] each) through the very same checks and
//! confirm that each mistake is caught, and that a correct model passes.

use crate::subject::intro::retry::{Request, Retry, RECEIVER, RETRANSMIT_AFTER, SENDER};
use dscheck::{metric, ms, run, secs, Failure, Suite, EXCERPT_LINES};
use dsim::{Broken, Ctx, Event, Network, Node, NodeId, RequestId, Sim, SimRng};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded("retry::every_request_takes_effect_once", 40, |seed| {
            takes_effect_once(seed, subject())
        })
        .seeded("retry::survives_heavy_loss_and_duplication", 20, |seed| {
            heavy_loss(seed, subject())
        })
        .seeded("retry::recognises_late_copies", 30, |seed| {
            late_copies(seed, subject())
        })
        .seeded("retry::equal_values_are_separate_requests", 20, |seed| {
            equal_values(seed, subject())
        })
        .seeded("retry::dedup_state_does_not_grow", 5, |seed| {
            dedup_bounded(seed, subject())
        })
        .seeded("retry::retransmissions_are_capped", 20, |seed| {
            capped(seed, subject())
        })
        .test("meta::retry_correct_model_passes", correct_model_passes)
        .test("meta::retry_sender_never_retransmits", || {
            caught(Flaw::NeverRetransmits, takes_effect_once, EFFECT)
        })
        .test("meta::retry_sender_replies_before_ack", || {
            caught(Flaw::RepliesBeforeAck, takes_effect_once, AFTER)
        })
        .test("meta::retry_sender_retransmits_eagerly", || {
            caught(Flaw::RetransmitsEagerly, capped, CAP)
        })
        .test("meta::retry_sender_never_stops", || {
            caught(Flaw::NeverStops, takes_effect_once, QUIET)
        })
        .test("meta::retry_receiver_applies_duplicates", || {
            caught(Flaw::AppliesDuplicates, takes_effect_once, ONCE)
        })
        .test("meta::retry_receiver_acks_only_new_data", || {
            caught(Flaw::AcksOnlyNew, takes_effect_once, REPLIED)
        })
        .test("meta::retry_receiver_remembers_every_seq", || {
            caught(Flaw::RemembersEverySeq, dedup_bounded, DEDUP)
        })
        .test("meta::retry_receiver_forgets_old_seqs", || {
            caught(Flaw::ForgetsOldSeqs, late_copies, ONCE)
        })
        .test("meta::retry_receiver_dedups_by_value", || {
            caught(Flaw::DedupsByValue, equal_values, AFTER)
        })
        .test("meta::retry_applies_unasked_values", || {
            caught(Flaw::AppliesWrongValue, takes_effect_once, ASKED)
        })
}

// ----- properties and their hints ---------------------------------------------

const ASKED: &str = "nothing is applied that no client asked for";
const ONCE: &str = "no request takes effect twice";
const AFTER: &str = "a client is answered only after its request has taken effect";
const EFFECT: &str = "every request takes effect";
const REPLIED: &str = "every client gets its reply";
const QUIET: &str = "retransmission stops once every request is acknowledged";
const DEDUP: &str = "the receiver's de-duplication state does not grow with the number of requests";
const CAP: &str = "retransmissions stay within a bound for the loss rate";

fn hint(property: &str) -> Option<&'static str> {
    Some(match property {
        ASKED => "append exactly the value carried by the Data message, and nothing else",
        ONCE => {
            "a copy of Data can arrive long after the first one (the network duplicates, and the \
             sender resends when an ack is lost): append only if has_applied(seq) is false, then \
             remember(seq); never forget a number that has been applied"
        }
        AFTER => {
            "answer the client in on_ack, not in on_request: until the ack arrives, the data may \
             have been lost"
        }
        EFFECT => {
            "a lost Data message is recovered only by sending it again: start a Retransmit timer \
             for each seq in on_request, and in on_retransmit send the data again and set the \
             timer again while the seq is unacknowledged"
        }
        REPLIED => {
            "the receiver must acknowledge every copy of Data, even one it has already applied: \
             the ack of the first copy may have been lost, and then only a later ack can stop the \
             sender; the sender answers the client on the first Ack"
        }
        QUIET => {
            "on the first Ack of a seq, remove it from unacked and cancel its timer; on_retransmit \
             must do nothing for a seq that is no longer unacknowledged"
        }
        DEDUP => {
            "keep a watermark: every seq up to applied_up_to has been applied, and only numbers \
             above it go in applied_above; when applied_up_to + 1 is remembered, move the \
             watermark up and take the number out of the set"
        }
        CAP => {
            "send a copy only when the Retransmit timer fires, wait RETRANSMIT_AFTER between \
             copies, and stop once the seq is acknowledged"
        }
        _ => return None,
    })
}

/// Attaches the hint of the failure's property, if it has one.
fn hinted(failure: Failure) -> Failure {
    match hint(failure.property()) {
        Some(text) => failure.hint(text),
        None => failure,
    }
}

// ----- what the checks see of an implementation --------------------------------

/// What the checks need from an implementation: how to make a request, and
/// a view of the receiver.
pub trait Observed: Node {
    /// The request "append `value`".
    fn append(value: u64) -> Self::Request;
    /// The receiver's log of applied values (`None` on the sender).
    fn applied(&self) -> Option<&[u64]>;
    /// How many sequence numbers the node remembers one by one.
    fn dedup_state_size(&self) -> usize;
}

impl Observed for Retry {
    fn append(value: u64) -> Request {
        Request::Append(value)
    }
    fn applied(&self) -> Option<&[u64]> {
        self.receiver().map(|r| r.applied.as_slice())
    }
    fn dedup_state_size(&self) -> usize {
        Retry::dedup_state_size(self)
    }
}

/// Builds the nodes of a run.
type Factory<N> = Box<dyn FnMut(NodeId) -> N>;

/// A test of this suite, run against the nodes a factory builds.
type Test<N> = fn(u64, Factory<N>) -> Result<(), Failure>;

fn subject() -> Factory<Retry> {
    Box::new(Retry::new)
}

// ----- the scenario ---------------------------------------------------------------

/// The course's network: 1–10 ms per hop.
fn reliable() -> Network {
    Network::reliable(ms(1), ms(10))
}

/// The network of the lossy phase.
fn lossy(loss: f64, duplicate: f64) -> Network {
    reliable().with_loss(loss).with_duplication(duplicate)
}

/// The random stream (of the seed) that draws a run's loss rates.
const RATES_STREAM: u64 = 0x5EED_0000_0000_0001;

/// Loss and duplication rates drawn for a seed, each between 20% and 50%.
fn rates(seed: u64) -> (f64, f64) {
    let mut rng = SimRng::fork(seed, RATES_STREAM);
    let mut rate = || (20.0 + 30.0 * rng.unit()).round() / 100.0;
    (rate(), rate())
}

/// How the clients choose what to append.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Values {
    /// Every request appends a value of its own.
    Distinct,
    /// Values from {1, 2, 3}: many requests append the same value.
    Few,
}

struct Profile {
    /// How many client requests.
    requests: usize,
    /// Requests reach the sender at random times over this long.
    spread: Duration,
    /// The network while requests arrive and for [`LOSSY_TAIL`] after.
    network: Network,
    values: Values,
}

/// How long the network stays lossy after the last request has arrived.
const LOSSY_TAIL: Duration = secs(1);
/// How long the liveness phase may take to answer everything and go quiet.
const LIVENESS: Duration = secs(5);

/// Runs `profile` with every safety property checked after every event:
/// requests arrive at the sender while the network loses and duplicates
/// messages; then, in the liveness phase, the network becomes reliable and
/// the run must go quiet with every request applied once and answered.
fn scenario<N: Observed>(
    seed: u64,
    factory: Factory<N>,
    profile: &Profile,
) -> Result<Sim<N>, Failure> {
    let mut sim = Sim::new(seed, 2, factory);
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
        sim.request_after(delay, SENDER, N::append(value));
    }
    run(&mut sim, |s| s.run_for(profile.spread + LOSSY_TAIL)).map_err(hinted)?;
    sim.note("liveness phase: the network stops losing and duplicating messages");
    sim.set_network(reliable());
    let quiet = run(&mut sim, |s| s.run_until_quiet(LIVENESS)).map_err(hinted)?;
    final_checks(&sim, &values, quiet).map_err(hinted)?;
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
    fn update<'s, N: Observed>(&mut self, sim: &'s Sim<N>) -> &'s [u64] {
        for op in &sim.history()[self.ops_seen..] {
            *self.asked.entry(self.value(op.id)).or_default() += 1;
        }
        self.ops_seen = sim.history().len();
        let Some(log) = sim.node(RECEIVER).and_then(N::applied) else {
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
    fn requests_for<N: Observed>(&self, sim: &Sim<N>, value: u64) -> String {
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
fn watch<N: Observed>(sim: &mut Sim<N>, values: &[u64]) {
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
fn final_checks<N: Observed>(sim: &Sim<N>, values: &[u64], quiet: bool) -> Result<(), Failure> {
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
fn story<N: Observed>(sim: &Sim<N>, id: RequestId, value: u64) -> Vec<String> {
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

// ----- the tests ----------------------------------------------------------------

/// 100 requests over one second, 20–50% loss and duplication.
fn takes_effect_once<N: Observed>(seed: u64, factory: Factory<N>) -> Result<(), Failure> {
    let (loss, duplicate) = rates(seed);
    let profile = Profile {
        requests: 100,
        spread: secs(1),
        network: lossy(loss, duplicate),
        values: Values::Distinct,
    };
    scenario(seed, factory, &profile).map(drop)
}

/// Half of all messages lost, half of the rest delivered twice.
fn heavy_loss<N: Observed>(seed: u64, factory: Factory<N>) -> Result<(), Failure> {
    let profile = Profile {
        requests: 100,
        spread: secs(1),
        network: lossy(0.5, 0.5),
        values: Values::Distinct,
    };
    scenario(seed, factory, &profile).map(drop)
}

/// A few messages are held back for up to a second, so that copies of old
/// data arrive long after their number was applied and acknowledged.
fn late_copies<N: Observed>(seed: u64, factory: Factory<N>) -> Result<(), Failure> {
    let profile = Profile {
        requests: 150,
        spread: secs(1),
        network: lossy(0.3, 0.3).with_long_delays(0.05, secs(1)),
        values: Values::Distinct,
    };
    scenario(seed, factory, &profile).map(drop)
}

/// Requests that append the same value are still separate requests.
fn equal_values<N: Observed>(seed: u64, factory: Factory<N>) -> Result<(), Failure> {
    let profile = Profile {
        requests: 60,
        spread: secs(1),
        network: lossy(0.3, 0.3),
        values: Values::Few,
    };
    scenario(seed, factory, &profile).map(drop).map_err(|f| {
        if f.property() == EFFECT || f.property() == AFTER {
            f.hint(
                "two requests may append the same value: they are still two requests with two \
                 numbers, so recognise copies by seq, never by value",
            )
        } else {
            f
        }
    })
}

/// Records a measurement of the first seed (or of the seed being replayed),
/// so that a test reports one value rather than one per seed.
fn measure(seed: u64, name: &str, value: impl ToString) {
    if seed == 1 || dscheck::replaying() {
        metric(name, value);
    }
}

/// How many sequence numbers the receiver may remember one by one once every
/// request has been applied and acknowledged.
const DEDUP_BOUND: usize = 16;

/// 500 requests; then the receiver's memory of individual numbers must be
/// small, not one entry per request.
fn dedup_bounded<N: Observed>(seed: u64, factory: Factory<N>) -> Result<(), Failure> {
    let requests = 500;
    let profile = Profile {
        requests,
        spread: secs(2),
        network: lossy(0.3, 0.3),
        values: Values::Distinct,
    };
    let sim = scenario(seed, factory, &profile)?;
    let size = sim.node(RECEIVER).map_or(0, N::dedup_state_size);
    measure(
        seed,
        "sequence numbers remembered one by one after 500 requests",
        size,
    );
    if size > DEDUP_BOUND {
        let detail = format!(
            "after {requests} requests, all applied and acknowledged, {RECEIVER} still remembers \
             {size} sequence numbers one by one (at most {DEDUP_BOUND} allowed): its memory grows \
             with every request it has ever seen"
        );
        return Err(hinted(Failure::after_run(&sim, DEDUP, detail)));
    }
    Ok(())
}

/// The most messages (data and acks) per request allowed at loss rate `loss`.
///
/// A try succeeds when the data and its ack both get through, with
/// probability (1 - loss)², so a request needs about 1 / (1 - loss)² tries,
/// each a data message and at most a couple of acks. The cap allows about
/// twice what a sender that waits [`RETRANSMIT_AFTER`] between copies sends.
fn message_cap(loss: f64) -> f64 {
    3.0 / (1.0 - loss).powi(2) + 1.0
}

/// 100 requests at 20–50% loss and duplication, counting every message.
fn capped<N: Observed>(seed: u64, factory: Factory<N>) -> Result<(), Failure> {
    let (loss, duplicate) = rates(seed);
    let requests = 100;
    let profile = Profile {
        requests,
        spread: secs(1),
        network: lossy(loss, duplicate),
        values: Values::Distinct,
    };
    let sim = scenario(seed, factory, &profile)?;
    let per_request = sim.stats().sent as f64 / requests as f64;
    let cap = message_cap(loss);
    measure(seed, "messages per request", format!("{per_request:.2}"));
    measure(seed, "cap at this loss rate", format!("{cap:.2}"));
    if per_request > cap {
        let detail = format!(
            "{} messages for {requests} requests, {per_request:.1} per request, at {:.0}% loss: \
             at most {cap:.1} per request are needed (each copy should wait {} ms for its ack)",
            sim.stats().sent,
            loss * 100.0,
            RETRANSMIT_AFTER.as_millis()
        );
        return Err(hinted(Failure::after_run(&sim, CAP, detail)));
    }
    Ok(())
}

// ----- meta tests: the checks catch known-wrong implementations ---------------------

/// One mistake a learner could make, built into the [`Model`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flaw {
    /// No mistake: the model is correct.
    None,
    /// The sender sends each request once and never again.
    NeverRetransmits,
    /// The sender answers the client as soon as it has sent the data.
    RepliesBeforeAck,
    /// The sender resends every 2 ms, much faster than a round trip.
    RetransmitsEagerly,
    /// The sender keeps resending after the ack.
    NeverStops,
    /// The receiver applies every copy it receives.
    AppliesDuplicates,
    /// The receiver acknowledges only data it has not seen before.
    AcksOnlyNew,
    /// The receiver keeps every number it has applied, forever.
    RemembersEverySeq,
    /// The receiver keeps only the last 8 numbers it has applied.
    ForgetsOldSeqs,
    /// The receiver recognises copies by their value instead of their number.
    DedupsByValue,
    /// The receiver appends the sequence number instead of the value.
    AppliesWrongValue,
}

/// How many seeds a meta test tries before deciding the flaw goes unnoticed.
const META_SEEDS: u64 = 10;

/// Runs `test` against the model with `flaw` over seeds until a check fails,
/// and passes if the check that failed is the one for `property`.
fn caught(flaw: Flaw, test: Test<Model>, property: &str) -> Result<(), Failure> {
    const META: &str = "the suite catches a known-wrong implementation";
    for seed in 1..=META_SEEDS {
        match test(seed, model(flaw)) {
            Ok(()) => continue,
            Err(f) if f.property() == property => return Ok(()),
            Err(f) => {
                let detail = format!(
                    "the model with flaw {flaw:?} failed \"{}\" (seed {seed}: {}) instead of \
                     \"{property}\"",
                    f.property(),
                    f.detail()
                );
                return Err(Failure::new(META, detail));
            }
        }
    }
    let detail = format!("the model with flaw {flaw:?} passed {META_SEEDS} seeds unnoticed");
    Err(Failure::new(META, detail))
}

/// Every test passes a correct model: the checks demand nothing beyond the
/// protocol.
fn correct_model_passes() -> Result<(), Failure> {
    let tests: [(&str, Test<Model>); 6] = [
        ("every_request_takes_effect_once", takes_effect_once),
        ("survives_heavy_loss_and_duplication", heavy_loss),
        ("recognises_late_copies", late_copies),
        ("equal_values_are_separate_requests", equal_values),
        ("dedup_state_does_not_grow", dedup_bounded),
        ("retransmissions_are_capped", capped),
    ];
    for (name, test) in tests {
        for seed in 1..=3 {
            test(seed, model(Flaw::None)).map_err(|f| {
                let detail = format!(
                    "a correct model failed {name} with seed {seed}: {}: {}",
                    f.property(),
                    f.detail()
                );
                Failure::new("the suite accepts a correct implementation", detail)
            })?;
        }
    }
    Ok(())
}

fn model(flaw: Flaw) -> Factory<Model> {
    Box::new(move |id| Model::new(id, flaw))
}

/// The protocol written independently of the subject, for the meta tests:
/// correct with [`Flaw::None`], wrong in one way otherwise.
struct Model {
    flaw: Flaw,
    id: NodeId,
    // The sender.
    last_seq: u64,
    unacked: BTreeMap<u64, (RequestId, u64)>,
    // The receiver.
    log: Vec<u64>,
    up_to: u64,
    above: BTreeSet<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
enum ModelMsg {
    Data { seq: u64, value: u64 },
    Ack { seq: u64 },
}

impl Model {
    fn new(id: NodeId, flaw: Flaw) -> Self {
        Model {
            flaw,
            id,
            last_seq: 0,
            unacked: BTreeMap::new(),
            log: Vec::new(),
            up_to: 0,
            above: BTreeSet::new(),
        }
    }

    /// Starts or restarts the retransmission timer of `seq`.
    fn arm(&self, ctx: &mut Ctx<Self>, seq: u64) {
        match self.flaw {
            Flaw::NeverRetransmits => {}
            Flaw::RetransmitsEagerly => ctx.set_timer(seq, ms(2)),
            _ => ctx.set_timer(seq, RETRANSMIT_AFTER),
        }
    }

    fn is_new(&self, seq: u64, value: u64) -> bool {
        match self.flaw {
            Flaw::AppliesDuplicates => true,
            Flaw::DedupsByValue => !self.log.contains(&value),
            _ => seq > self.up_to && !self.above.contains(&seq),
        }
    }

    fn remember(&mut self, seq: u64) {
        self.above.insert(seq);
        match self.flaw {
            Flaw::RemembersEverySeq => {}
            Flaw::ForgetsOldSeqs => {
                while self.above.len() > 8 {
                    self.above.pop_first();
                }
            }
            _ => {
                while self.above.remove(&(self.up_to + 1)) {
                    self.up_to += 1;
                }
            }
        }
    }
}

impl Node for Model {
    type Msg = ModelMsg;
    type Timer = u64;
    type Request = u64;
    type Reply = ();

    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, value: u64) {
        self.last_seq += 1;
        let seq = self.last_seq;
        self.unacked.insert(seq, (id, value));
        ctx.send(RECEIVER, ModelMsg::Data { seq, value });
        self.arm(ctx, seq);
        if self.flaw == Flaw::RepliesBeforeAck {
            ctx.reply(id, ());
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, seq: u64) {
        if let Some(&(_, value)) = self.unacked.get(&seq) {
            ctx.send(RECEIVER, ModelMsg::Data { seq, value });
            self.arm(ctx, seq);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: ModelMsg) {
        match msg {
            ModelMsg::Data { seq, value } => {
                let new = self.is_new(seq, value);
                if new {
                    let applied = if self.flaw == Flaw::AppliesWrongValue {
                        seq
                    } else {
                        value
                    };
                    self.log.push(applied);
                    self.remember(seq);
                }
                if new || self.flaw != Flaw::AcksOnlyNew {
                    ctx.send(from, ModelMsg::Ack { seq });
                }
            }
            ModelMsg::Ack { seq } if self.flaw == Flaw::NeverStops => {
                if let Some(&(client, _)) = self.unacked.get(&seq) {
                    ctx.reply(client, ());
                }
            }
            ModelMsg::Ack { seq } => {
                if let Some((client, _)) = self.unacked.remove(&seq) {
                    ctx.cancel_timer(seq);
                    ctx.reply(client, ());
                }
            }
        }
    }
}

impl Observed for Model {
    fn append(value: u64) -> u64 {
        value
    }
    fn applied(&self) -> Option<&[u64]> {
        (self.id == RECEIVER).then_some(self.log.as_slice())
    }
    fn dedup_state_size(&self) -> usize {
        self.above.len()
    }
}
