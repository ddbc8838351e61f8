//! Linearizability by brute force, to check the checker against: every
//! subset of the operations whose outcome is unknown, and every order of
//! the chosen ones and those that returned.

use super::super::{NondeterministicModel, Op, Outcome};

/// Whether `h` is linearizable under `model` (a model without keys), by
/// trying everything: feasible up to about 7 operations.
pub(crate) fn brute_force<M: NondeterministicModel<Key = ()>>(
    model: &M,
    h: &[Op<M::Input, M::Output>],
) -> bool {
    let optional: Vec<usize> = (0..h.len())
        .filter(|&i| matches!(h[i].outcome, Outcome::Unknown { .. }))
        .collect();
    (0..1u32 << optional.len()).any(|mask| {
        let chosen: Vec<usize> = (0..h.len())
            .filter(|i| match h[*i].outcome {
                Outcome::Returned { .. } => true,
                Outcome::Failed { .. } => false,
                Outcome::Unknown { .. } => {
                    let bit = optional.iter().position(|p| p == i).expect("optional");
                    mask & (1 << bit) != 0
                }
            })
            .collect();
        permutations(&chosen)
            .into_iter()
            .any(|order| valid(model, h, &order))
    })
}

fn permutations(items: &[usize]) -> Vec<Vec<usize>> {
    if items.is_empty() {
        return vec![vec![]];
    }
    let mut all = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first);
            all.push(tail);
        }
    }
    all
}

/// The latest time `op` may take effect, if there is one.
fn latest<I, O>(op: &Op<I, O>) -> Option<u64> {
    match op.outcome {
        Outcome::Returned { at, .. } => Some(at),
        Outcome::Unknown { by } => by,
        Outcome::Failed { .. } => unreachable!("failed operations are never chosen"),
    }
}

/// Whether `order` respects real time and some run of the model gives
/// every output recorded.
fn valid<M: NondeterministicModel>(
    model: &M,
    h: &[Op<M::Input, M::Output>],
    order: &[usize],
) -> bool {
    for (a, &x) in order.iter().enumerate() {
        for &y in &order[a + 1..] {
            // y comes after x, so y must not have had to take effect
            // before x began.
            if latest(&h[y]).is_some_and(|t| t < h[x].invoked) {
                return false;
            }
        }
    }
    // Every state some run can be in.
    let mut states = vec![model.init()];
    let mut results = Vec::new();
    for &i in order {
        let mut next = Vec::new();
        for state in &states {
            results.clear();
            model.steps(state, &h[i].input, &mut results);
            for (after, out) in results.drain(..) {
                if h[i].output().is_none_or(|o| *o == out) && !next.contains(&after) {
                    next.push(after);
                }
            }
        }
        if next.is_empty() {
            return false;
        }
        states = next;
    }
    true
}
