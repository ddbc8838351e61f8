//! Meta tests: the checks of intro_retry catch known-wrong implementations.
//! The [`Model`] is the protocol written independently of the subject, with
//! one [`Flaw`] built in (or none), run through the very same tests.

use super::{
    capped, dedup_bounded, equal_values, heavy_loss, late_copies, takes_effect_once, Factory,
    Observed, Test,
};
use dscheck::{ms, Failure, Property};
use dsim::{Ctx, Node, NodeId, RequestId};
use protocols::intro::retry::{Msg, Reply, Request, Timer, RECEIVER, RETRANSMIT_AFTER};
use std::collections::{BTreeMap, BTreeSet};

/// One mistake a learner could make, built into the [`Model`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Flaw {
    /// No mistake: the model is correct.
    None,
    /// The sender sends each request once and never again.
    NeverRetransmits,
    /// The sender answers the client as soon as it has sent the data.
    RepliesBeforeAck,
    /// The sender resends every 2 ms, much faster than a round trip.
    RetransmitsEagerly,
    /// The receiver acknowledges, on every copy, every number up to its
    /// watermark one by one.
    AcksEverything,
    /// The sender keeps resending after the ack.
    NeverStops,
    /// The sender forgets an acknowledged request but leaves its timer
    /// running.
    KeepsTimer,
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
pub(super) fn caught(flaw: Flaw, test: Test, property: Property) -> Result<(), Failure> {
    dscheck::expect_caught(property, META_SEEDS, |seed| test(seed, model(flaw)))
}

/// Every test passes a correct model: the checks demand nothing beyond the
/// protocol.
pub(super) fn correct_model_passes() -> Result<(), Failure> {
    let tests: &[(&str, Test)] = &[
        ("every_request_takes_effect_once", takes_effect_once),
        ("survives_heavy_loss_and_duplication", heavy_loss),
        ("recognises_late_copies", late_copies),
        ("equal_values_are_separate_requests", equal_values),
        ("dedup_state_does_not_grow", dedup_bounded),
        ("retransmissions_are_capped", capped),
    ];
    for &(name, test) in tests {
        dscheck::expect_accepted(name, 3, |seed| test(seed, model(Flaw::None)))?;
    }
    Ok(())
}

fn model(flaw: Flaw) -> Factory {
    Box::new(move |id| Box::new(Model::new(id, flaw)))
}

/// The protocol written independently of the subject, for the meta tests:
/// correct with [`Flaw::None`], wrong in one way otherwise.
#[derive(Debug)]
pub(super) struct Model {
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
            Flaw::RetransmitsEagerly => ctx.set_timer(Timer::Retransmit { seq }, ms(2)),
            _ => ctx.set_timer(Timer::Retransmit { seq }, RETRANSMIT_AFTER),
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
    type Msg = Msg;
    type Timer = Timer;
    type Request = Request;
    type Reply = Reply;

    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, req: Request) {
        let Request::Append(value) = req;
        self.last_seq += 1;
        let seq = self.last_seq;
        self.unacked.insert(seq, (id, value));
        ctx.send(RECEIVER, Msg::Data { seq, value });
        self.arm(ctx, seq);
        if self.flaw == Flaw::RepliesBeforeAck {
            ctx.reply(id, Reply::Appended);
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        let Timer::Retransmit { seq } = timer;
        if let Some(&(_, value)) = self.unacked.get(&seq) {
            ctx.send(RECEIVER, Msg::Data { seq, value });
            self.arm(ctx, seq);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Data { seq, value } => {
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
                    ctx.send(from, Msg::Ack { seq });
                }
                if self.flaw == Flaw::AcksEverything {
                    for old in (1..=self.up_to).filter(|&old| old != seq) {
                        ctx.send(from, Msg::Ack { seq: old });
                    }
                }
            }
            Msg::Ack { seq } if self.flaw == Flaw::NeverStops => {
                if let Some(&(client, _)) = self.unacked.get(&seq) {
                    ctx.reply(client, Reply::Appended);
                }
            }
            Msg::Ack { seq } => {
                if let Some((client, _)) = self.unacked.remove(&seq) {
                    if self.flaw != Flaw::KeepsTimer {
                        ctx.cancel_timer(Timer::Retransmit { seq });
                    }
                    ctx.reply(client, Reply::Appended);
                }
            }
        }
    }
}

impl Observed for Model {
    fn applied(&self) -> Option<&[u64]> {
        (self.id == RECEIVER).then_some(self.log.as_slice())
    }
    fn dedup_state_size(&self) -> usize {
        self.above.len()
    }
}
