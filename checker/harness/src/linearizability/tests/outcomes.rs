//! Operations whose outcome is unknown (with or without a latest time) and
//! operations that surely failed.

use super::super::*;
use super::{brute_force, r, reg, w, RegOp};
use dsim::SimRng;
use RegisterOp::{Read, Write};
use RegisterRet::{Value, Written};

#[test]
fn linearizable_only_if_a_timed_out_write_took_effect() {
    // Write(2) timed out; the read sees 2, so it must have happened.
    for timed_out in [
        Op::pending(1, Write(2), 20),
        Op::unknown(1, Write(2), 20, Some(35)),
    ] {
        let h = vec![w(0, 1, 0, 10), timed_out, r(0, Some(2), 30, 40)];
        assert!(check(&reg(), &h).is_ok(), "{h:?}");
        assert!(is_linearizable(&reg(), &h));
        assert!(brute_force(&h));
    }
    // Known to have failed, it cannot explain the read.
    let h = vec![
        w(0, 1, 0, 10),
        Op::failed(1, Write(2), 20, 25),
        r(0, Some(2), 30, 40),
    ];
    let f = check(&reg(), &h).unwrap_err();
    assert_eq!(f.stuck, 2);
    assert!(!f.ops.contains(&1), "a failed operation is never shown");
    // Nor can one whose time to take effect was up before Write(3) began.
    let h = |by| {
        vec![
            Op::unknown(1, Write(2), 5, by),
            w(0, 3, 10, 20),
            r(0, Some(2), 30, 40),
        ]
    };
    assert!(check(&reg(), &h(Some(8))).is_err());
    assert!(!brute_force(&h(Some(8))));
    assert!(check(&reg(), &h(Some(25))).is_ok());
    assert!(check(&reg(), &h(None)).is_ok());
}

#[test]
fn linearizable_only_if_a_timed_out_write_did_not_take_effect() {
    // Write(2) had to happen by 15 if at all; the read at 20 still sees 1.
    for timed_out in [
        Op::pending(1, Write(2), 12),
        Op::unknown(1, Write(2), 12, Some(15)),
        Op::failed(1, Write(2), 12, 15),
    ] {
        let h = vec![w(0, 1, 0, 10), timed_out, r(0, Some(1), 20, 30)];
        assert!(check(&reg(), &h).is_ok(), "{h:?}");
        assert!(brute_force(&h));
    }
    // Had it surely happened (a reply), the read would be stale.
    let h = vec![w(0, 1, 0, 10), w(1, 2, 12, 15), r(0, Some(1), 20, 30)];
    assert!(check(&reg(), &h).is_err());
}

#[test]
fn the_latest_time_of_an_unknown_outcome_is_kept() {
    // Write(2) may have happened by 10 or never. The read at 20 saw
    // nothing, so it never did; then the read at 40 cannot see 2. Without
    // the bound, it could have taken effect at 35.
    let history = |by| {
        vec![
            Op::unknown(1, Write(2), 0, by),
            r(0, None, 20, 30),
            r(0, Some(2), 40, 50),
        ]
    };
    assert!(check(&reg(), &history(None)).is_ok());
    let h = history(Some(10));
    assert!(!brute_force(&h));
    let f = check(&reg(), &h).unwrap_err();
    assert_eq!(f.ops, vec![0, 1, 2]);
    assert_eq!(f.stuck, 2);
    let text = f.to_string();
    assert!(text.contains("client 1  [A----------?"), "{text}");
    assert!(text.contains("Write(2) (outcome unknown)"), "{text}");
    assert!(text.contains("by 0.000ms or never"), "{text}");
    assert!(
        f.explanation.contains("A (outcome unknown) had no effect"),
        "{f}"
    );
}

#[test]
fn a_violation_is_found_with_unknown_outcomes_around_it() {
    // A stale read of 1 after 2 was written; writes of other values that
    // timed out, before, during and after, cannot bring 1 back.
    let mut h = vec![w(0, 1, 0, 10), w(0, 2, 20, 30), r(1, Some(1), 40, 50)];
    h.push(Op::pending(2, Write(3), 5));
    h.push(Op::unknown(3, Write(4), 15, Some(45)));
    h.push(Op::pending(4, Write(5), 35));
    h.push(Op::failed(5, Write(1), 32, 38));
    h.push(Op::unknown(6, Read, 0, Some(60)));
    assert!(!brute_force(&h));
    assert!(!is_linearizable(&reg(), &h));
    let f = check(&reg(), &h).unwrap_err();
    assert_eq!(f.stuck, 2);
    assert!(f.ops.contains(&1) && f.ops.contains(&2), "{f}");
    // A write of 1 that timed out in the right place explains it.
    h.push(Op::pending(7, Write(1), 35));
    assert!(check(&reg(), &h).is_ok());
}

#[test]
fn an_unknown_operation_is_taken_at_most_once() {
    // Write(2) once; after the read of 3, a read of 2 would need it again.
    let h = vec![
        Op::pending(0, Write(2), 0),
        r(1, Some(2), 10, 20),
        w(1, 3, 30, 40),
        r(1, Some(2), 50, 60),
    ];
    assert!(check(&reg(), &h).is_err());
    assert!(!brute_force(&h));
}

/// Up to 6 operations, with every kind of outcome and random results.
fn random_mixed(rng: &mut SimRng) -> Vec<RegOp> {
    let n = rng.range(1..=6) as usize;
    (0..n)
        .map(|_| {
            let client = rng.below(3) as usize;
            let from = rng.below(20);
            let to = from + rng.range(0..=8);
            let input = if rng.chance(0.4) {
                Read
            } else {
                Write(rng.range(1..=2))
            };
            match rng.below(10) {
                0 => Op::pending(client, input, from),
                1 | 2 => Op::unknown(client, input, from, Some(to)),
                3 => Op::failed(client, input, from, to),
                _ => {
                    let output = match input {
                        Read => Value(rng.chance(0.8).then(|| rng.range(1..=2))),
                        Write(_) => Written,
                    };
                    Op::complete(client, input, from, output, to)
                }
            }
        })
        .collect()
}

#[test]
fn agrees_with_brute_force_with_every_kind_of_outcome() {
    let mut rng = SimRng::new(7);
    let (mut yes, mut no) = (0, 0);
    for _ in 0..3000 {
        let h = random_mixed(&mut rng);
        let expected = brute_force(&h);
        assert_eq!(is_linearizable(&reg(), &h), expected, "{h:#?}");
        match check(&reg(), &h) {
            Ok(()) => yes += 1,
            Err(f) => {
                assert!(!expected, "{h:#?}");
                // The part shown fails on its own.
                let part: Vec<RegOp> = f.ops.iter().map(|&i| h[i].clone()).collect();
                assert!(!brute_force(&part), "{h:#?}\n{f}");
                no += 1;
            }
        }
    }
    assert!(yes > 300 && no > 300, "{yes} linearizable, {no} not");
}
