//! The compare-and-set register, a nondeterministic model, and `Keyed`.

use super::super::*;
use super::brute::brute_force;
use dsim::SimRng;
use std::time::Duration;
use CasOp::{Cas, Read, Write};
use CasRet::{Mismatch, Swapped, Value, Written};

type CasHistory = Vec<Op<CasOp<u64>, CasRet<u64>>>;

fn cas_model() -> CasRegisterModel<u64> {
    CasRegisterModel::new()
}

fn cas(expected: Option<u64>, new: u64) -> CasOp<u64> {
    Cas { expected, new }
}

#[test]
fn a_compare_and_set_swaps_only_the_expected_value() {
    let m = cas_model();
    assert_eq!(m.step(&None, &cas(None, 1)), (Some(1), Swapped));
    assert_eq!(m.step(&Some(1), &cas(Some(1), 2)), (Some(2), Swapped));
    assert_eq!(m.step(&Some(2), &cas(Some(1), 3)), (Some(2), Mismatch));
    assert_eq!(m.step(&Some(2), &Read), (Some(2), Value(Some(2))));
    assert_eq!(m.step(&Some(2), &Write(4)), (Some(4), Written));
    let h: CasHistory = vec![Op::complete(0, Read, 0, Value(Some(5)), 1)];
    assert!(check(&CasRegisterModel::with_initial(5), &h).is_ok());
    assert!(check(&m, &h).is_err());
}

#[test]
fn two_clients_cannot_both_take_a_lock() {
    // Both compare-and-set 0 -> their id and both succeed: the second must
    // have found the first's id.
    let h: CasHistory = vec![
        Op::complete(0, Write(0), 0, Written, 10),
        Op::complete(1, cas(Some(0), 1), 20, Swapped, 40),
        Op::complete(2, cas(Some(0), 2), 25, Swapped, 45),
    ];
    let f = check(&cas_model(), &h).unwrap_err();
    assert!(
        f.explanation
            .contains("would return Mismatch here, but returned Swapped"),
        "{f}"
    );
    // One of them failing is fine, whichever it is.
    for loser in [1, 2] {
        let mut ok = h.clone();
        let returned = ok[loser].returned().unwrap();
        ok[loser].outcome = Outcome::Returned {
            output: Mismatch,
            at: returned,
        };
        assert!(check(&cas_model(), &ok).is_ok(), "{loser}");
    }
    // A mismatch is a read: it cannot fail when the value was expected.
    let h: CasHistory = vec![
        Op::complete(0, Write(0), 0, Written, 10),
        Op::complete(1, cas(Some(0), 1), 20, Mismatch, 30),
    ];
    assert!(check(&cas_model(), &h).is_err());
    // …unless a write that timed out got in first.
    let mut h = h;
    h.push(Op::pending(2, Write(9), 15));
    assert!(check(&cas_model(), &h).is_ok());
}

#[test]
fn a_compare_and_set_that_timed_out_may_have_swapped() {
    let h: CasHistory = vec![
        Op::complete(0, Write(1), 0, Written, 10),
        Op::unknown(1, cas(Some(1), 2), 20, Some(30)),
        Op::complete(0, Read, 40, Value(Some(2)), 50),
    ];
    assert!(check(&cas_model(), &h).is_ok());
    // Not a read: whether it happened matters even though nobody saw it.
    assert!(!Model::is_read_only(&cas_model(), &cas(Some(1), 2)));
}

fn random_cas(rng: &mut SimRng) -> CasHistory {
    let n = rng.range(1..=6) as usize;
    let value = |rng: &mut SimRng| rng.chance(0.8).then(|| rng.range(1..=2));
    (0..n)
        .map(|_| {
            let client = rng.below(3) as usize;
            let from = rng.below(20);
            let to = from + rng.range(0..=8);
            let input = match rng.below(3) {
                0 => Read,
                1 => Write(rng.range(1..=2)),
                _ => cas(value(rng), rng.range(1..=2)),
            };
            match rng.below(8) {
                0 => Op::pending(client, input, from),
                1 => Op::unknown(client, input, from, Some(to)),
                _ => {
                    let output = match input {
                        Read => Value(value(rng)),
                        Write(_) => Written,
                        Cas { .. } if rng.chance(0.5) => Swapped,
                        Cas { .. } => Mismatch,
                    };
                    Op::complete(client, input, from, output, to)
                }
            }
        })
        .collect()
}

#[test]
fn compare_and_set_agrees_with_brute_force() {
    let mut rng = SimRng::new(11);
    let (mut yes, mut no) = (0, 0);
    for _ in 0..2000 {
        let h = random_cas(&mut rng);
        let expected = brute_force(&cas_model(), &h);
        match check(&cas_model(), &h) {
            Ok(()) => yes += 1,
            Err(f) => {
                let part: CasHistory = f.ops.iter().map(|&i| h[i].clone()).collect();
                assert!(!brute_force(&cas_model(), &part), "{h:#?}\n{f}");
                no += 1;
            }
        }
        assert_eq!(is_linearizable(&cas_model(), &h), expected, "{h:#?}");
    }
    assert!(yes > 200 && no > 200, "{yes} linearizable, {no} not");
}

/// A bag of small numbers whose `Take` removes and returns any one of
/// them (`None` if it is empty): one input, several possible results.
struct Bag;

#[derive(Clone, Debug, PartialEq)]
enum BagOp {
    Put(u8),
    Take,
}

impl NondeterministicModel for Bag {
    type Key = ();
    /// The numbers in the bag, sorted.
    type State = Vec<u8>;
    type Input = BagOp;
    type Output = Option<u8>;

    fn key(&self, _: &BagOp) {}

    fn init(&self) -> Vec<u8> {
        Vec::new()
    }

    fn steps(&self, state: &Vec<u8>, input: &BagOp, out: &mut Vec<(Vec<u8>, Option<u8>)>) {
        match input {
            BagOp::Put(v) => {
                let mut next = state.clone();
                let at = next.partition_point(|x| x < v);
                next.insert(at, *v);
                out.push((next, None));
            }
            BagOp::Take if state.is_empty() => out.push((Vec::new(), None)),
            BagOp::Take => {
                for i in 0..state.len() {
                    let mut next = state.clone();
                    let v = next.remove(i);
                    out.push((next, Some(v)));
                }
            }
        }
    }
}

#[test]
fn a_nondeterministic_model_accepts_any_of_its_results() {
    let put = |c, v, from, to| Op::complete(c, BagOp::Put(v), from, None, to);
    let take = |c, v, from, to| Op::complete(c, BagOp::Take, from, v, to);
    // Either element may come out first.
    for first in [1, 2] {
        let h = vec![
            put(0, 1, 0, 10),
            put(0, 2, 20, 30),
            take(1, Some(first), 40, 50),
            take(1, Some(3 - first), 60, 70),
            take(1, None, 80, 90),
        ];
        assert!(check(&Bag, &h).is_ok(), "{first}");
    }
    // But nothing comes out twice, or before it went in.
    let h = vec![
        put(0, 1, 0, 10),
        put(0, 2, 20, 30),
        take(1, Some(1), 40, 50),
        take(1, Some(1), 60, 70),
    ];
    let f = check(&Bag, &h).unwrap_err();
    assert_eq!(f.stuck, 3);
    assert!(f.explanation.contains("but returned Some(1)"), "{f}");
    let h = vec![take(1, Some(1), 0, 10), put(0, 1, 20, 30)];
    assert!(check(&Bag, &h).is_err());
    // With two in the bag, both possible results are named (unshrunk: the
    // shrink would keep only the take, of a number never put).
    let h = vec![put(0, 1, 0, 10), put(0, 2, 0, 10), take(1, Some(3), 20, 30)];
    let Report::NotLinearizable(f) = Checker::new(&Bag).shrink_within(Duration::ZERO).report(&h)
    else {
        panic!("a take of a number never put is found");
    };
    assert!(
        f.explanation
            .contains("would return Some(1) or Some(2) here"),
        "{f}"
    );
}

#[test]
fn a_nondeterministic_model_agrees_with_brute_force() {
    let mut rng = SimRng::new(5);
    let (mut yes, mut no) = (0, 0);
    for _ in 0..2000 {
        let n = rng.range(1..=6) as usize;
        let h: Vec<Op<BagOp, Option<u8>>> = (0..n)
            .map(|_| {
                let client = rng.below(3) as usize;
                let from = rng.below(20);
                let to = from + rng.range(0..=8);
                let (input, output) = if rng.chance(0.5) {
                    (BagOp::Put(rng.range(1..=2) as u8), None)
                } else {
                    (BagOp::Take, rng.chance(0.7).then(|| rng.range(1..=2) as u8))
                };
                match rng.below(8) {
                    0 => Op::pending(client, input, from),
                    1 => Op::unknown(client, input, from, Some(to)),
                    _ => Op::complete(client, input, from, output, to),
                }
            })
            .collect();
        let expected = brute_force(&Bag, &h);
        assert_eq!(is_linearizable(&Bag, &h), expected, "{h:#?}");
        if let Err(f) = check(&Bag, &h) {
            let part: Vec<_> = f.ops.iter().map(|&i| h[i].clone()).collect();
            assert!(!brute_force(&Bag, &part), "{h:#?}\n{f}");
            no += 1;
        } else {
            yes += 1;
        }
    }
    assert!(yes > 200 && no > 200, "{yes} linearizable, {no} not");
}

#[test]
fn keyed_compare_and_set_registers_are_checked_apart() {
    let model = Keyed::<&str, _>::new(cas_model());
    let h = vec![
        Op::complete(0, ("lock", cas(None, 1)), 0, Swapped, 10),
        Op::complete(1, ("lease", cas(None, 2)), 0, Swapped, 10),
        Op::complete(1, ("lock", cas(None, 2)), 20, Mismatch, 30),
        Op::complete(0, ("lease", Read), 20, Value(Some(2)), 30),
    ];
    assert!(check(&model, &h).is_ok());
    let mut broken = h.clone();
    broken[2].outcome = Outcome::Returned {
        output: Swapped,
        at: 30,
    };
    let f = check(&model, &broken).unwrap_err();
    assert_eq!(f.key, "lock");
    assert_eq!(f.ops, vec![0, 2]);
    assert_eq!(
        Checker::new(&model).verdict(&broken),
        Verdict::NotLinearizable { key: "lock" }
    );
}
