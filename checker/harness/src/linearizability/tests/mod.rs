//! The checker's unit tests: a register's histories here, against brute
//! force; outcomes, models and budgets in their own files.

mod brute;
mod budget;
mod models;
mod outcomes;

use super::*;
use dsim::SimRng;
use RegisterOp::{Read, Write};
use RegisterRet::{Value, Written};

pub(super) type RegOp = Op<RegisterOp<u64>, RegisterRet<u64>>;

pub(super) fn reg() -> RegisterModel<u64> {
    RegisterModel::new()
}

pub(super) fn w(client: usize, v: u64, from: u64, to: u64) -> RegOp {
    Op::complete(client, Write(v), from, Written, to)
}

pub(super) fn r(client: usize, v: Option<u64>, from: u64, to: u64) -> RegOp {
    Op::complete(client, Read, from, Value(v), to)
}

#[test]
fn empty_and_sequential_histories_are_linearizable() {
    assert!(check(&reg(), &[]).is_ok());
    let h = vec![
        r(0, None, 0, 1),
        w(0, 1, 2, 3),
        r(1, Some(1), 4, 5),
        w(1, 2, 6, 7),
    ];
    assert!(check(&reg(), &h).is_ok());
}

#[test]
fn a_stale_read_is_caught_and_blamed() {
    let h = vec![w(0, 1, 0, 10), w(0, 2, 20, 30), r(1, Some(1), 40, 50)];
    let f = check(&reg(), &h).unwrap_err();
    assert_eq!(f.stuck, 2);
    assert_eq!(f.ops, vec![0, 1, 2]);
    assert_eq!(f.order, vec![0, 1]);
    assert!(f
        .explanation
        .contains("would return Value(Some(2)) here, but returned Value(Some(1))"));
    let text = f.to_string();
    assert!(
        text.contains("client 0") && text.contains("client 1"),
        "{text}"
    );
}

#[test]
fn overlapping_operations_may_take_effect_in_either_order() {
    // The read overlaps the write: it may see the old or the new value.
    for seen in [None, Some(1)] {
        let h = vec![w(0, 1, 0, 100), r(1, seen, 50, 60)];
        assert!(check(&reg(), &h).is_ok(), "{seen:?}");
    }
    // Two overlapping writes, then reads that agree on the winner.
    for last in [1, 2] {
        let h = vec![
            w(0, 1, 0, 100),
            w(1, 2, 10, 90),
            r(2, Some(last), 110, 120),
            r(0, Some(last), 130, 140),
        ];
        assert!(check(&reg(), &h).is_ok(), "{last}");
    }
}

#[test]
fn a_new_then_old_inversion_is_caught() {
    // Both reads overlap the write, but the first finished before the second
    // began: once a read has seen 1, a later read cannot see the old value.
    let h = vec![w(0, 1, 0, 100), r(1, Some(1), 10, 20), r(2, None, 30, 40)];
    let f = check(&reg(), &h).unwrap_err();
    assert_eq!(f.stuck, 2);
    // Overlapping writes whose order two readers see differently.
    let h = vec![
        w(0, 1, 0, 100),
        w(1, 2, 0, 100),
        r(2, Some(1), 110, 120),
        r(3, Some(2), 130, 140),
    ];
    assert!(check(&reg(), &h).is_err());
}

#[test]
fn operations_that_never_completed_may_take_effect_or_not() {
    let pending = Op::pending(0, Write(7), 10);
    for seen in [None, Some(7)] {
        let h = vec![pending.clone(), r(1, seen, 20, 30), r(1, seen, 40, 50)];
        assert!(check(&reg(), &h).is_ok(), "{seen:?}");
    }
    // …but only after its invocation, and not undone later.
    let h = vec![r(1, Some(7), 0, 5), pending.clone()];
    assert!(check(&reg(), &h).is_err());
    let h = vec![pending.clone(), r(1, Some(7), 20, 30), r(1, None, 40, 50)];
    assert!(check(&reg(), &h).is_err());
    // A value nobody wrote is never linearizable.
    let h = vec![pending, r(1, Some(8), 20, 30)];
    let f = check(&reg(), &h).unwrap_err();
    assert_eq!(f.ops, vec![1], "the pending write is not needed to show it");
}

#[test]
fn equal_times_count_as_overlapping() {
    let h = vec![w(0, 1, 0, 10), r(1, None, 10, 20)];
    assert!(check(&reg(), &h).is_ok());
}

#[test]
fn keys_are_checked_apart_and_the_broken_key_is_named() {
    let get = |key: &str| KvOp::Get { key: key.into() };
    let put = |key: &str, v: &str| KvOp::Put {
        key: key.into(),
        value: v.into(),
    };
    let append = |key: &str, v: &str| KvOp::Append {
        key: key.into(),
        value: v.into(),
    };
    let val = |v: &str| KvRet::Value(Some(v.into()));
    let h = vec![
        Op::complete(0, put("x", "a"), 0, KvRet::Done, 10),
        Op::complete(1, append("x", "b"), 5, KvRet::Done, 15),
        Op::complete(2, put("y", "1"), 0, KvRet::Done, 10),
        Op::complete(0, get("x"), 20, val("ab"), 30),
        Op::complete(1, get("y"), 20, val("1"), 30),
    ];
    assert!(check(&KvModel, &h).is_ok());
    let mut broken = h.clone();
    broken.push(Op::complete(2, get("y"), 40, KvRet::Value(None), 50));
    let f = check(&KvModel, &broken).unwrap_err();
    assert_eq!(f.key, "y");
    assert_eq!(f.stuck, 5);
    assert!(f.ops.iter().all(|&i| [2, 4, 5].contains(&i)), "{:?}", f.ops);
    // Appends in the other order than the read shows.
    let mut broken = h;
    broken[3] = Op::complete(0, get("x"), 20, val("ba"), 30);
    assert!(check(&KvModel, &broken).is_err());
}

pub(super) fn brute_force(h: &[RegOp]) -> bool {
    brute::brute_force(&reg(), h)
}

/// A small random history with random results: some are linearizable.
fn random_small(rng: &mut SimRng) -> Vec<RegOp> {
    let n = rng.range(1..=6) as usize;
    (0..n)
        .map(|_| {
            let client = rng.below(3) as usize;
            let from = rng.below(20);
            let to = from + rng.range(0..=8);
            let input = if rng.chance(0.5) {
                Read
            } else {
                Write(rng.range(1..=2))
            };
            if rng.chance(0.15) {
                return Op::pending(client, input, from);
            }
            let output = match input {
                Read => Value(if rng.chance(0.2) {
                    None
                } else {
                    Some(rng.range(1..=2))
                }),
                Write(_) => Written,
            };
            Op::complete(client, input, from, output, to)
        })
        .collect()
}

#[test]
fn agrees_with_brute_force_on_small_random_histories() {
    let mut rng = SimRng::new(42);
    let (mut yes, mut no) = (0, 0);
    for _ in 0..3000 {
        let h = random_small(&mut rng);
        let expected = brute_force(&h);
        let got = check(&reg(), &h);
        assert_eq!(got.is_ok(), expected, "{h:#?}");
        if let Err(f) = got {
            // The part shown fails on its own.
            let part: Vec<RegOp> = f.ops.iter().map(|&i| h[i].clone()).collect();
            assert!(!brute_force(&part), "{h:#?}\n{f}");
            no += 1;
        } else {
            yes += 1;
        }
    }
    assert!(yes > 300 && no > 300, "{yes} linearizable, {no} not");
}

/// A linearizable history of `clients` clients: each operation takes effect
/// at a random point inside its interval, on a real register.
fn random_linearizable(rng: &mut SimRng, clients: usize, per_client: usize) -> Vec<RegOp> {
    // (point, client, input, invoked, returned)
    let mut planned = Vec::new();
    let mut next_value = 1;
    for client in 0..clients {
        let mut t = rng.below(50);
        for _ in 0..per_client {
            let len = rng.range(1..=100);
            let point = t + rng.below(len + 1);
            let input = if rng.chance(0.5) {
                next_value += 1;
                Write(next_value)
            } else {
                Read
            };
            planned.push((point, client, input, t, t + len));
            t += len + rng.range(1..=30);
        }
    }
    planned.sort_by_key(|p| (p.0, p.1));
    let mut state = None;
    let mut ops: Vec<RegOp> = planned
        .into_iter()
        .map(|(_, client, input, from, to)| {
            let (next, out) = reg().step(&state, &input);
            state = next;
            Op::complete(client, input, from, out, to)
        })
        .collect();
    ops.sort_by_key(|o| o.invoked);
    ops
}

#[test]
fn generated_linearizable_histories_pass_and_a_corrupted_read_is_explained() {
    for seed in 1..=20 {
        let mut rng = SimRng::new(seed);
        let h = random_linearizable(&mut rng, 5, 20);
        assert!(check(&reg(), &h).is_ok(), "seed {seed}");
        // A read that returns a value never written.
        let mut broken = h.clone();
        let read = broken.iter().position(|o| o.input == Read).expect("a read");
        broken[read].outcome = Outcome::Returned {
            output: Value(Some(999)),
            at: broken[read].returned().unwrap(),
        };
        let f = check(&reg(), &broken).unwrap_err();
        assert_eq!(f.ops, vec![read], "seed {seed}: {f}");
        assert_eq!(f.stuck, read);
    }
}

#[test]
fn reads_that_never_completed_are_left_out() {
    // Forty lost reads around a stale read: the verdict and the part shown
    // are the same as without them.
    let mut h = vec![w(0, 1, 0, 10), w(0, 2, 20, 30), r(1, Some(1), 40, 50)];
    for i in 0..40 {
        h.push(Op::pending(2 + i as usize % 5, Read, i * 2));
    }
    let f = check(&reg(), &h).unwrap_err();
    assert_eq!(f.ops, vec![0, 1, 2]);
    assert!(
        !f.to_string().contains("on key"),
        "a register has no key to name"
    );
    h.truncate(2);
    for i in 0..40 {
        h.push(Op::pending(2 + i as usize % 5, Read, i * 2));
    }
    assert!(check(&reg(), &h).is_ok());
}

#[test]
fn a_read_of_a_value_written_later_shows_the_write() {
    let h = vec![r(0, Some(1), 0, 10), w(1, 1, 20, 30), w(1, 2, 40, 50)];
    let f = check(&reg(), &h).unwrap_err();
    assert_eq!(f.ops, vec![0, 1]);
    assert_eq!(f.stuck, 0);
    assert!(f.explanation.contains("B Write(1) began at"), "{f}");
}
