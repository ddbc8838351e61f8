//! Meta tests: the checks of intro_pingpong catch known-wrong pingers.
//! [`Flawed`] is the protocol written independently of the subject, with one
//! planted mistake, run through the very same tests.

use super::PingerNode;
use super::{
    answers_every_ping, pings_every_interval, remembers_pongs, starts_afresh_after_crash, Pinger,
    AFRESH, ANSWERED, INTERVAL, REMEMBERS, ROUNDS,
};
use dscheck::{expect_accepted, expect_caught, expect_caught_saying, Failure, Suite};
use dsim::{Ctx, Node, NodeId};
use protocols::intro::pingpong::{Msg, Timer, PING_INTERVAL};
use std::collections::BTreeSet;

/// One mistake a learner could make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flaw {
    /// Answers `Ping { seq }` with `Pong { seq: seq + 1 }`.
    PongOffByOne,
    /// Sets the ping timer once and never again.
    TimerFiresOnce,
    /// Pings only the first peer.
    PingsOnePeer,
    /// Forgets to record the pongs it receives.
    IgnoresPongs,
    /// Keeps its round number in durable storage, so a restart does not
    /// start afresh.
    PersistsRound,
    /// Sends its first round in `on_start`, one interval early.
    PingsAtStart,
    /// Sets the timer for half the interval.
    HalfInterval,
}

/// A pinger with one flaw built in (or none).
#[derive(Debug)]
struct Flawed {
    flaw: Option<Flaw>,
    seq: u64,
    pongs: BTreeSet<(NodeId, u64)>,
}

impl Flawed {
    /// A factory of nodes with `flaw`.
    fn with(flaw: Option<Flaw>) -> impl Fn() -> Box<dyn PingerNode> + 'static {
        move || {
            Box::new(Flawed {
                flaw,
                seq: 0,
                pongs: BTreeSet::new(),
            })
        }
    }

    fn has(&self, flaw: Flaw) -> bool {
        self.flaw == Some(flaw)
    }

    fn interval(&self) -> std::time::Duration {
        if self.has(Flaw::HalfInterval) {
            PING_INTERVAL / 2
        } else {
            PING_INTERVAL
        }
    }
}

impl Node for Flawed {
    type Msg = Msg;
    type Timer = Timer;
    type Request = ();
    type Reply = ();

    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        if self.has(Flaw::PersistsRound) {
            self.seq = ctx.storage().get("seq").unwrap_or(0);
        }
        if self.has(Flaw::PingsAtStart) {
            self.seq += 1;
            ctx.broadcast(Msg::Ping { seq: self.seq });
        }
        ctx.set_timer(Timer::Ping, self.interval());
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, _: Timer) {
        self.seq += 1;
        if self.has(Flaw::PersistsRound) {
            let seq = self.seq;
            ctx.storage().put("seq", &seq);
        }
        if self.has(Flaw::PingsOnePeer) {
            let first = ctx.peers()[0];
            ctx.send(first, Msg::Ping { seq: self.seq });
        } else {
            ctx.broadcast(Msg::Ping { seq: self.seq });
        }
        if !self.has(Flaw::TimerFiresOnce) {
            ctx.set_timer(Timer::Ping, self.interval());
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Ping { seq } if self.has(Flaw::PongOffByOne) => {
                ctx.send(from, Msg::Pong { seq: seq + 1 })
            }
            Msg::Ping { seq } => ctx.send(from, Msg::Pong { seq }),
            Msg::Pong { seq } => {
                if !self.has(Flaw::IgnoresPongs) {
                    self.pongs.insert((from, seq));
                }
            }
        }
    }
}

impl Pinger for Flawed {
    fn seq(&self) -> u64 {
        self.seq
    }
    fn pongs(&self) -> &BTreeSet<(NodeId, u64)> {
        &self.pongs
    }
}

pub(super) fn tests(suite: Suite) -> Suite {
    suite
        .test("meta::pingpong_off_by_one_pong_is_caught", || {
            expect_caught(ANSWERED, 10, |seed| {
                answers_every_ping(seed, Flawed::with(Some(Flaw::PongOffByOne)))
            })
        })
        .test("meta::pingpong_timer_set_once_is_caught", || {
            expect_caught_saying(
                INTERVAL,
                10,
                &["1 round of pings instead of 10: no round followed the one at 100 ms"],
                &[],
                |seed| pings_every_interval(seed, Flawed::with(Some(Flaw::TimerFiresOnce))),
            )
        })
        .test(
            "meta::pingpong_first_round_at_start_is_caught_when_sent",
            || {
                expect_caught_saying(
                    INTERVAL,
                    10,
                    &[
                        "at start (in on_start)",
                        "on_start only sets the ping timer",
                    ],
                    &["is the timer set again"],
                    |seed| answers_every_ping(seed, Flawed::with(Some(Flaw::PingsAtStart))),
                )
            },
        )
        .test(
            "meta::pingpong_half_interval_is_caught_at_its_first_early_round",
            || {
                expect_caught_saying(
                    INTERVAL,
                    10,
                    &["20 rounds of pings instead of 10: round 1 went out at 50 ms, not 100 ms"],
                    &[],
                    |seed| pings_every_interval(seed, Flawed::with(Some(Flaw::HalfInterval))),
                )
            },
        )
        .test("meta::pingpong_pinging_one_peer_is_caught", || {
            expect_caught(ROUNDS, 10, |seed| {
                answers_every_ping(seed, Flawed::with(Some(Flaw::PingsOnePeer)))
            })
        })
        .test("meta::pingpong_ignoring_pongs_is_caught", || {
            expect_caught(REMEMBERS, 10, |seed| {
                remembers_pongs(seed, Flawed::with(Some(Flaw::IgnoresPongs)))
            })
        })
        .test("meta::pingpong_round_kept_across_a_crash_is_caught", || {
            expect_caught(AFRESH, 10, |seed| {
                starts_afresh_after_crash(seed, Flawed::with(Some(Flaw::PersistsRound)))
            })
        })
        .test("meta::pingpong_correct_model_passes", correct_model_passes)
}

/// Without a flaw the model passes every test: the checks ask for nothing
/// beyond the protocol.
fn correct_model_passes() -> Result<(), Failure> {
    let correct = || Flawed::with(None);
    expect_accepted("answers_every_ping", 5, |seed| {
        answers_every_ping(seed, correct())
    })?;
    expect_accepted("pings_every_interval", 5, |seed| {
        pings_every_interval(seed, correct())
    })?;
    expect_accepted("remembers_exactly_the_pongs_received", 5, |seed| {
        remembers_pongs(seed, correct())
    })?;
    expect_accepted("starts_afresh_after_a_crash", 5, |seed| {
        starts_afresh_after_crash(seed, correct())
    })
}
