//! intro_retry: retransmission until acknowledged (at least once) plus
//! de-duplication at the receiver (at most once) give every client request
//! exactly one effect over a link that loses and duplicates messages.
//!
//! Every scenario and check here (and in [`scenario`]) is generic over
//! [`Observed`], so that the `meta::` tests can run known-wrong
//! implementations (the [`wrong::Model`], with one [`wrong::Flaw`] each)
//! through the very same checks and confirm that each mistake is caught, and
//! that a correct model passes.

mod scenario;
mod watermark;
mod wrong;

#[cfg(feature = "hidden")]
#[path = "../../../hidden/intro/retry.rs"]
mod hidden;

use dscheck::{metric, secs, Failure, Property, Suite};
use dsim::{DynNode, Erased, NodeId};
use protocols::intro::retry::{Msg, Reply, Request, Timer, RECEIVER, RETRANSMIT_AFTER};
use scenario::{lossy, rates, scenario, Profile, Values};
pub use watermark::Memory;
use watermark::{watermark, WATERMARK};
use wrong::{caught, correct_model_passes, Flaw};

/// The tests of `intro_retry`, run on the nodes `make` builds (and the
/// receiver's memory `memory` builds), then the meta tests.
pub fn tests(suite: Suite, make: Make, memory: fn() -> Box<dyn Memory>) -> Suite {
    suite
        .seeded("retry::every_request_takes_effect_once", 40, move |seed| {
            takes_effect_once(seed, Box::new(make))
        })
        .seeded(
            "retry::survives_heavy_loss_and_duplication",
            20,
            move |seed| heavy_loss(seed, Box::new(make)),
        )
        .seeded("retry::recognises_late_copies", 30, move |seed| {
            late_copies(seed, Box::new(make))
        })
        .seeded(
            "retry::equal_values_are_separate_requests",
            20,
            move |seed| equal_values(seed, Box::new(make)),
        )
        .seeded("retry::dedup_state_does_not_grow", 5, move |seed| {
            dedup_bounded(seed, Box::new(make))
        })
        .seeded("retry::retransmissions_are_capped", 20, move |seed| {
            capped(seed, Box::new(make))
        })
        .test(
            "retry::remembering_an_applied_number_again_adds_nothing",
            move || watermark(memory),
        )
        .hidden(move |suite| hidden_tests(suite, make))
        .test("meta::retry_correct_model_passes", correct_model_passes)
        .test("meta::retry_sender_never_retransmits", || {
            caught(Flaw::NeverRetransmits, takes_effect_once, EFFECT)
        })
        .test("meta::retry_sender_replies_before_ack", || {
            caught(Flaw::RepliesBeforeAck, takes_effect_once, AFTER)
        })
        .test("meta::retry_sender_retransmits_eagerly", || {
            caught(Flaw::RetransmitsEagerly, takes_effect_once, SPACED)
        })
        .test(
            "meta::retry_receiver_acking_everything_each_time_is_caught",
            || caught(Flaw::AcksEverything, capped, CAP),
        )
        .test("meta::retry_sender_never_stops", || {
            caught(Flaw::NeverStops, takes_effect_once, QUIET)
        })
        .test("meta::retry_sender_keeping_the_timer_is_caught", || {
            caught(Flaw::KeepsTimer, takes_effect_once, IDLE_TIMER)
        })
        .test(
            "meta::retry_remembering_below_the_watermark_is_caught",
            || {
                dscheck::expect_caught(WATERMARK, 1, |_| {
                    watermark(|| Box::<watermark::Unguarded>::default())
                })
            },
        )
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

const ASKED: Property = Property {
    name: "nothing is applied that no client asked for",
    hint: "append exactly the value carried by the Data message, and nothing else",
    when: &[],
};
const ONCE: Property = Property {
    name: "no request takes effect twice",
    hint: "a copy of Data can arrive long after the first one (the network duplicates, and the \
           sender resends when an ack is lost): append only if has_applied(seq) is false, then \
           remember(seq); never forget a number that has been applied",
    when: &[],
};
const AFTER: Property = Property {
    name: "a client is answered only after its request has taken effect",
    hint: "answer the client in on_ack, not in on_request: until the ack arrives, the data may \
           have been lost",
    when: &[],
};
const EFFECT: Property = Property {
    name: "every request takes effect",
    hint: "a lost Data message is recovered only by sending it again: start a Retransmit timer \
           for each seq in on_request, and in on_retransmit send the data again and set the \
           timer again while the seq is unacknowledged",
    when: &[],
};
const REPLIED: Property = Property {
    name: "every client gets its reply",
    hint: "the receiver must acknowledge every copy of Data, even one it has already applied: \
           the ack of the first copy may have been lost, and then only a later ack can stop the \
           sender; the sender answers the client on the first Ack",
    when: &[],
};
const QUIET: Property = Property {
    name: "retransmission stops once every request is acknowledged",
    hint: "on the first Ack of a seq, remove it from unacked and cancel its timer; on_retransmit \
           must do nothing for a seq that is no longer unacknowledged",
    when: &[],
};
const AT_ONCE: Property = Property {
    name: "a request's data is sent as soon as the request arrives",
    hint: "in on_request, send Data { seq, value } to the receiver at once, then start its Retransmit timer: the timer is for a copy that was lost, not for the first one",
    when: &[],
};
const SPACED: Property = Property {
    name: "copies of one request are sent at least RETRANSMIT_AFTER apart",
    hint: "send a copy again only when its Retransmit timer fires, and set that timer for RETRANSMIT_AFTER: a round trip takes up to 20 ms, so a faster resend only adds copies",
    when: &[],
};
const IDLE_TIMER: Property = Property {
    name: "an acknowledged request's timer is cancelled",
    hint: "on the first Ack of a seq, cancel_timer(Timer::Retransmit { seq }): a timer left running fires for nothing",
    when: &[],
};
const DEDUP: Property = Property {
    name: "the receiver's de-duplication state does not grow with the number of requests",
    hint: "keep a watermark: every seq up to applied_up_to has been applied, and only numbers \
           above it go in applied_above; when applied_up_to + 1 is remembered, move the \
           watermark up and take the number out of the set",
    when: &[],
};
const CAP: Property = Property {
    name: "retransmissions stay within a bound for the loss rate",
    hint: "send a copy only when the Retransmit timer fires, wait RETRANSMIT_AFTER between \
           copies, and stop once the seq is acknowledged",
    when: &[],
};

// ----- what the checks see of an implementation --------------------------------

/// What the checks read of an implementation: a view of the receiver.
pub trait Observed {
    /// The receiver's log of applied values (`None` on the sender).
    fn applied(&self) -> Option<&[u64]>;
    /// How many sequence numbers the node remembers one by one.
    fn dedup_state_size(&self) -> usize;
}

/// A node of the protocol the checks can read: any node with its types and
/// an [`Observed`] view, behind a trait object.
pub trait RetryNode:
    DynNode<Msg = Msg, Timer = Timer, Request = Request, Reply = Reply> + Observed
{
}

impl<T: DynNode<Msg = Msg, Timer = Timer, Request = Request, Reply = Reply> + Observed> RetryNode
    for T
{
}

/// The node the checks run: whichever [`RetryNode`] a test was given.
type Tested = Erased<dyn RetryNode>;

impl Observed for Tested {
    fn applied(&self) -> Option<&[u64]> {
        self.0.applied()
    }
    fn dedup_state_size(&self) -> usize {
        self.0.dedup_state_size()
    }
}

/// The sequence number a Data message carries (`None` for an ack).
fn data_seq(msg: &Msg) -> Option<u64> {
    match msg {
        Msg::Data { seq, .. } => Some(*seq),
        Msg::Ack { .. } => None,
    }
}

/// Node `id` of the implementation under test.
pub type Make = fn(NodeId) -> Box<dyn RetryNode>;

/// The instructor's hidden tests, when the checker is built to grade.
fn hidden_tests(suite: Suite, make: Make) -> Suite {
    #[cfg(feature = "hidden")]
    let suite = hidden::tests(suite, make);
    #[cfg(not(feature = "hidden"))]
    let _ = make;
    suite
}

/// Builds the nodes of a run.
type Factory = Box<dyn FnMut(NodeId) -> Box<dyn RetryNode>>;

/// A test of this suite, run against the nodes a factory builds.
type Test = fn(u64, Factory) -> Result<(), Failure>;

// ----- the tests ----------------------------------------------------------------

/// 100 requests over one second, 20–50% loss and duplication.
fn takes_effect_once(seed: u64, factory: Factory) -> Result<(), Failure> {
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
fn heavy_loss(seed: u64, factory: Factory) -> Result<(), Failure> {
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
fn late_copies(seed: u64, factory: Factory) -> Result<(), Failure> {
    let profile = Profile {
        requests: 150,
        spread: secs(1),
        network: lossy(0.3, 0.3).with_long_delays(0.05, secs(1)),
        values: Values::Distinct,
    };
    scenario(seed, factory, &profile).map(drop)
}

/// Requests that append the same value are still separate requests.
fn equal_values(seed: u64, factory: Factory) -> Result<(), Failure> {
    let profile = Profile {
        requests: 60,
        spread: secs(1),
        network: lossy(0.3, 0.3),
        values: Values::Few,
    };
    let hint = "two requests may append the same value: they are still two requests with two \
                numbers, so recognise copies by seq, never by value";
    scenario(seed, factory, &profile)
        .map(drop)
        .map_err(|f| f.hint_for(EFFECT, hint).hint_for(AFTER, hint))
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
fn dedup_bounded(seed: u64, factory: Factory) -> Result<(), Failure> {
    let requests = 500;
    let profile = Profile {
        requests,
        spread: secs(2),
        network: lossy(0.3, 0.3),
        values: Values::Distinct,
    };
    let sim = scenario(seed, factory, &profile)?;
    let size = sim.node(RECEIVER).map_or(0, Observed::dedup_state_size);
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
        return Err(Failure::after_run(&sim, DEDUP, detail));
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
fn capped(seed: u64, factory: Factory) -> Result<(), Failure> {
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
        return Err(Failure::after_run(&sim, CAP, detail));
    }
    Ok(())
}
