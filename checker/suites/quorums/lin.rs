//! quorum_linearizability: the learner's checker must give the same verdict
//! as the project's (`dscheck::linearizability`) on many histories, small
//! and random, and larger ones recorded from a correct register with one
//! read corrupted or not; with never-completed operations among them.

use crate::subject::quorums::quorum_linearizability::{is_linearizable, Call, Op, Ret};
use dscheck::linearizability::{self as reference, RegisterModel, RegisterOp, RegisterRet};
use dscheck::{expect_caught, Failure, Property, Suite};
use dsim::SimRng;
use std::collections::HashSet;
use std::fmt::Write;

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded(
            "linearizability::agrees_on_small_random_histories",
            5,
            |seed| agrees(seed, Kind::Small, is_linearizable),
        )
        .seeded("linearizability::agrees_on_recorded_histories", 5, |seed| {
            agrees(seed, Kind::Recorded, is_linearizable)
        })
        .test("meta::lin_accepting_everything_is_caught", || {
            expect_caught(AGREES, 5, |seed| agrees(seed, Kind::Small, |_| true))?;
            expect_caught(AGREES, 5, |seed| agrees(seed, Kind::Recorded, |_| true))
        })
        .test("meta::lin_rejecting_everything_is_caught", || {
            expect_caught(AGREES, 5, |seed| agrees(seed, Kind::Small, |_| false))?;
            expect_caught(AGREES, 5, |seed| agrees(seed, Kind::Recorded, |_| false))
        })
        .test("meta::lin_ignoring_real_time_is_caught", || {
            expect_caught(AGREES, 5, |seed| {
                agrees(seed, Kind::Small, sequentially_consistent)
            })?;
            expect_caught(AGREES, 5, |seed| {
                agrees(seed, Kind::Recorded, sequentially_consistent)
            })
        })
}

const AGREES: Property = Property {
    name: "the checker's verdict matches the reference checker's",
    hint: "an operation may be placed next only if it was invoked before (or when) every \
           remaining operation returned; an operation that never returned may be placed or \
           left out; a read must return the value of the last write placed before it",
    when: &[],
};

/// Which histories a test checks.
#[derive(Clone, Copy)]
enum Kind {
    /// Up to 7 operations with random times and results (400 per seed).
    Small,
    /// 12 to 18 operations of a real register, half of them with one read
    /// corrupted (40 per seed): too many for a search through every order.
    Recorded,
}

fn agrees(seed: u64, kind: Kind, checker: impl Fn(&[Op]) -> bool) -> Result<(), Failure> {
    let mut rng = SimRng::new(seed);
    let histories: Vec<Vec<Op>> = match kind {
        Kind::Small => (0..400).map(|_| random_small(&mut rng)).collect(),
        Kind::Recorded => (0..40).map(|_| recorded(&mut rng)).collect(),
    };
    let (mut yes, mut no) = (0, 0);
    for history in histories {
        let truth = reference::check(&RegisterModel::<u64>::new(), &to_reference(&history));
        let verdict = checker(&history);
        if verdict != truth.is_ok() {
            let mut detail = format!(
                "your checker says {} for this history, but it is {}:\n{}",
                if verdict {
                    "linearizable"
                } else {
                    "not linearizable"
                },
                if truth.is_ok() { "linearizable" } else { "not" },
                listing(&history)
            );
            if let Err(why) = truth {
                let _ = write!(detail, "\nwhy not:\n{why}");
            }
            return Err(Failure::new(AGREES, detail));
        }
        if verdict {
            yes += 1;
        } else {
            no += 1;
        }
    }
    dscheck::metric("linearizable / not", format!("{yes} / {no}"));
    Ok(())
}

/// The histories' times are milliseconds; the reference checker counts
/// nanoseconds.
const MS: u64 = 1_000_000;

fn to_reference(history: &[Op]) -> Vec<reference::Op<RegisterOp<u64>, RegisterRet<u64>>> {
    history
        .iter()
        .map(|op| {
            let input = match op.call {
                Call::Read => RegisterOp::Read,
                Call::Write(v) => RegisterOp::Write(v),
            };
            match op.returned {
                Some((t, ret)) => {
                    let ret = match ret {
                        Ret::Value(v) => RegisterRet::Value(v),
                        Ret::Written => RegisterRet::Written,
                    };
                    reference::Op::complete(op.client, input, op.invoked * MS, ret, t * MS)
                }
                None => reference::Op::pending(op.client, input, op.invoked * MS),
            }
        })
        .collect()
}

fn listing(history: &[Op]) -> String {
    let mut out = String::new();
    for (i, op) in history.iter().enumerate() {
        let end = match op.returned {
            Some((t, ret)) => format!("returned {ret:?} at {t} ms"),
            None => "never returned".to_string(),
        };
        let _ = writeln!(
            out,
            "  #{i} client {}: {:?}, invoked at {} ms, {end}",
            op.client, op.call, op.invoked
        );
    }
    out
}

/// Up to 7 operations with random times and results.
fn random_small(rng: &mut SimRng) -> Vec<Op> {
    let n = rng.range(1..=7) as usize;
    (0..n)
        .map(|_| {
            let client = rng.below(3) as usize;
            let invoked = rng.below(20);
            let call = if rng.chance(0.5) {
                Call::Read
            } else {
                Call::Write(rng.range(1..=3))
            };
            let returned = (!rng.chance(0.15)).then(|| {
                let ret = match call {
                    Call::Read => Ret::Value(rng.chance(0.8).then(|| rng.range(1..=3))),
                    Call::Write(_) => Ret::Written,
                };
                (invoked + rng.range(0..=8), ret)
            });
            Op {
                client,
                call,
                invoked,
                returned,
            }
        })
        .collect()
}

/// A register run by 3 clients, each operation taking effect at a random
/// instant of its interval; then, half the time, one read changed to
/// another value that was written, and some operations left without reply.
fn recorded(rng: &mut SimRng) -> Vec<Op> {
    let mut planned = Vec::new();
    let mut next = 0;
    for client in 0..3 {
        let mut t = rng.below(20);
        for _ in 0..rng.range(4..=6) {
            let len = rng.range(1..=40);
            let call = if rng.chance(0.5) {
                next += 1;
                Call::Write(next)
            } else {
                Call::Read
            };
            planned.push((t + rng.below(len + 1), client, call, t, t + len));
            t += len + rng.range(0..=10);
        }
    }
    planned.sort_by_key(|p| (p.0, p.1));
    let mut value = None;
    let mut history: Vec<Op> = planned
        .into_iter()
        .map(|(_, client, call, invoked, end)| {
            let ret = match call {
                Call::Read => Ret::Value(value),
                Call::Write(v) => {
                    value = Some(v);
                    Ret::Written
                }
            };
            let returned = (!rng.chance(0.1)).then_some((end, ret));
            Op {
                client,
                call,
                invoked,
                returned,
            }
        })
        .collect();
    history.sort_by_key(|op| op.invoked);
    let reads: Vec<usize> = (0..history.len())
        .filter(|&i| history[i].call == Call::Read && history[i].returned.is_some())
        .collect();
    if next > 0 && !reads.is_empty() && rng.chance(0.5) {
        let i = *rng.pick(&reads);
        let (t, _) = history[i].returned.expect("a completed read");
        history[i].returned = Some((t, Ret::Value(Some(rng.range(1..=next)))));
    }
    history
}

/// A wrong checker: any order at all that a register allows, ignoring when
/// operations ran (sequential consistency without even program order).
fn sequentially_consistent(history: &[Op]) -> bool {
    fn search(
        h: &[Op],
        placed: &mut Vec<bool>,
        value: Option<u64>,
        seen: &mut HashSet<(Vec<bool>, Option<u64>)>,
    ) -> bool {
        if (0..h.len()).all(|i| placed[i] || h[i].returned.is_none()) {
            return true;
        }
        if !seen.insert((placed.clone(), value)) {
            return false;
        }
        for i in 0..h.len() {
            if placed[i] {
                continue;
            }
            let (next, ret) = match h[i].call {
                Call::Read => (value, Ret::Value(value)),
                Call::Write(v) => (Some(v), Ret::Written),
            };
            if h[i].returned.is_some_and(|(_, r)| r != ret) {
                continue;
            }
            placed[i] = true;
            if search(h, placed, next, seen) {
                return true;
            }
            placed[i] = false;
        }
        false
    }
    search(
        history,
        &mut vec![false; history.len()],
        None,
        &mut HashSet::new(),
    )
}
