//! The verdict-only call, the bounded shrink, the budget and its
//! "unknown", and keys that take turns.

use super::super::*;
use super::{r, reg, w, RegOp};
use dsim::SimRng;
use std::time::{Duration, Instant};
use RegisterOp::{Read, Write};
use RegisterRet::Value;

type KeyedOp = Op<(char, RegisterOp<u64>), RegisterRet<u64>>;

fn keyed() -> KeyedRegisterModel<char, u64> {
    KeyedRegisterModel::new()
}

/// `key`'s part of a history that is hard to search: `n` writes that
/// timed out, all overlapping, then a read of `seen`. Taking a write puts
/// its value in the register, so the search goes through subsets of the
/// writes, about n * 2^(n-1) of them, before it finds that only write 1
/// can go last (`seen` 1: linearizable, found last), or that none can
/// (`seen` 999: not linearizable).
fn hard(key: char, n: u64, seen: u64) -> Vec<KeyedOp> {
    let mut h: Vec<KeyedOp> = (1..=n)
        .map(|v| Op::pending(v as usize, (key, Write(v)), 0))
        .collect();
    h.push(Op::complete(0, (key, Read), 10, Value(Some(seen)), 20));
    h
}

/// `key`'s part of a history with a stale read.
fn stale(key: char) -> Vec<KeyedOp> {
    let op = |client, input, from, output, to| Op::complete(client, (key, input), from, output, to);
    vec![
        op(0, Write(1), 0, RegisterRet::Written, 10),
        op(0, Write(2), 20, RegisterRet::Written, 30),
        op(1, Read, 40, Value(Some(1)), 50),
    ]
}

#[test]
fn a_budget_gives_unknown_on_a_pathological_history() {
    let h = hard('a', 40, 999);
    let start = Instant::now();
    let verdict = Checker::new(&keyed())
        .budget(Budget::time(Duration::from_millis(50)))
        .verdict(&h);
    assert_eq!(
        verdict,
        Verdict::Unknown(Unknown {
            keys: vec![('a', Limit::Time)]
        })
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    let report = Checker::new(&keyed())
        .budget(Budget::memory(1 << 20))
        .report(&h);
    assert_eq!(
        report,
        Report::Unknown(Unknown {
            keys: vec![('a', Limit::Memory)]
        })
    );
    // The same for a hard history that is linearizable.
    let verdict = Checker::new(&keyed())
        .budget(Budget::time(Duration::from_millis(50)).with_memory(1 << 30))
        .verdict(&hard('a', 40, 1));
    assert!(matches!(verdict, Verdict::Unknown(_)), "{verdict:?}");
}

#[test]
fn a_hard_key_does_not_hide_a_violation_on_another() {
    // 'a' comes first in key order and its search would take for ever;
    // 'b' and 'c' are quick, and 'c' is broken. The budget only stops the
    // test if the keys did not take turns.
    let mut h = hard('a', 40, 1);
    h.extend(stale('c'));
    h.extend(hard('b', 3, 1));
    let model = keyed();
    let checker = Checker::new(&model).budget(Budget::time(Duration::from_secs(20)));
    let start = Instant::now();
    assert_eq!(checker.verdict(&h), Verdict::NotLinearizable { key: 'c' });
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    let Report::NotLinearizable(f) = checker.report(&h) else {
        panic!("not found");
    };
    assert_eq!(f.key, 'c');
    assert_eq!(f.ops, vec![41, 42, 43]);
    assert!(f.to_string().contains("on key 'c'"), "{f}");
    // Unbounded, it is found all the same.
    assert_eq!(check(&keyed(), &h).unwrap_err().key, 'c');
}

#[test]
fn keys_out_of_memory_are_given_up_and_the_others_decided() {
    let mut h = hard('a', 40, 999);
    h.extend(hard('b', 3, 1));
    h.extend(hard('c', 40, 1));
    let model = keyed();
    let checker = Checker::new(&model).budget(Budget::memory(4 << 20));
    let Verdict::Unknown(unknown) = checker.verdict(&h) else {
        panic!("decided");
    };
    let mut keys = unknown.keys.clone();
    keys.sort_by_key(|k| k.0);
    assert_eq!(keys, vec![('a', Limit::Memory), ('c', Limit::Memory)]);
    // A violation elsewhere is still found.
    h.extend(stale('d'));
    assert_eq!(checker.verdict(&h), Verdict::NotLinearizable { key: 'd' });
}

#[test]
fn the_verdict_alone_agrees_with_the_report() {
    let mut rng = SimRng::new(3);
    for _ in 0..500 {
        let n = rng.range(1..=7) as usize;
        let h: Vec<RegOp> = (0..n)
            .map(|_| {
                let (c, from) = (rng.below(3) as usize, rng.below(20));
                let to = from + rng.range(0..=8);
                if rng.chance(0.5) {
                    r(c, rng.chance(0.8).then(|| rng.range(1..=2)), from, to)
                } else {
                    w(c, rng.range(1..=2), from, to)
                }
            })
            .collect();
        let verdict = Checker::new(&reg()).verdict(&h);
        match check(&reg(), &h) {
            Ok(()) => assert_eq!(verdict, Verdict::Linearizable),
            Err(_) => assert_eq!(verdict, Verdict::NotLinearizable { key: () }),
        }
    }
}

#[test]
fn a_bounded_shrink_shows_a_part_that_fails() {
    // Overlapping writes by six clients, then a stale read: shrinking has
    // work to do.
    let mut h: Vec<RegOp> = (0..60)
        .map(|i| w(i % 6, i as u64 + 1, i as u64 * 10, i as u64 * 10 + 25))
        .collect();
    h.push(r(9, Some(1), 1000, 1010));
    let full = Checker::new(&reg()).report(&h);
    let Report::NotLinearizable(full) = full else {
        panic!("a stale read is found");
    };
    assert!(full.shrink_finished);
    assert!(!full.to_string().contains("Shrinking stopped"));
    let Report::NotLinearizable(quick) = Checker::new(&reg())
        .shrink_within(Duration::ZERO)
        .report(&h)
    else {
        panic!("a stale read is found");
    };
    assert!(!quick.shrink_finished);
    assert!(quick.to_string().contains("Shrinking stopped"), "{quick}");
    assert!(quick.ops.len() >= full.ops.len());
    for f in [&full, &quick] {
        let part: Vec<RegOp> = f.ops.iter().map(|&i| h[i].clone()).collect();
        assert!(!is_linearizable(&reg(), &part));
        assert_eq!(f.stuck, h.len() - 1);
    }
}

#[test]
fn a_part_too_large_to_drop_from_one_at_a_time_is_shrunk_in_runs() {
    // 400 overlapping writes by eight clients, then a stale read: the
    // shortest failing prefix is the whole history.
    let mut h: Vec<RegOp> = (0..400)
        .map(|i| w(i % 8, i as u64 + 1, i as u64 * 10, i as u64 * 10 + 45))
        .collect();
    h.push(r(9, Some(1), 5000, 5010));
    let f = check(&reg(), &h).unwrap_err();
    assert_eq!(f.stuck, 400);
    assert!(f.ops.len() <= 4, "{f}");
    let part: Vec<RegOp> = f.ops.iter().map(|&i| h[i].clone()).collect();
    assert!(!is_linearizable(&reg(), &part));
}
