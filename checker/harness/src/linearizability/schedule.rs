//! The keys' searches taking turns, so that one hard key cannot hide a
//! violation on another.
//!
//! Each key's part is searched by a resumable [`Search`]. The keys take
//! turns in rounds: in round `r` each undecided key runs for at most
//! `FIRST_SLICE << r` steps, in key order, and leaves when its search ends.
//! The first key found not linearizable decides the history. If a violation
//! takes `w` steps to find, it is found before any key has run `2w + 4096`
//! steps, so within that times the number of keys in all, however long (or
//! endless) another key's search would be; a key that is easy to decide
//! leaves in its first round. Suspended searches keep their memo, so taking
//! turns repeats no work; the price is that every undecided key's memo is
//! held at once, which the memory budget counts.
//!
//! Why not the alternatives. Ordering keys by a cost estimate (operations,
//! overlap) guesses: the search's cost comes from how the results constrain
//! the orders, and a small key whose reads cannot be explained can take
//! longer than a large orderly one, so a wrong guess still waits on a hard
//! key first. Searching keys in parallel threads would help only up to the
//! number of cores (two here, ten keys), and would make which violation is
//! reported depend on the machine's timing, while this project keeps a
//! verdict a function of its input (see the determinism invariant in
//! `ARCHITECTURE.md`). Turns counted in steps, not time, keep it so: only a
//! time budget, which the caller asks for, makes a verdict depend on speed.

use super::model::NondeterministicModel;
use super::search::{Pause, Search, Stuck, View};
use super::{Budget, Limit};
use std::time::Instant;

/// The steps each key runs in its first turn; each round doubles it.
const FIRST_SLICE: u64 = 1 << 12;

/// What the turns decided.
pub(crate) enum Decision<'a, M: NondeterministicModel> {
    /// Every key's part is linearizable.
    Linearizable,
    /// `key`'s part (`views`) is not; its search got stuck at `stuck`.
    NotLinearizable {
        key: M::Key,
        views: Vec<View<'a, M>>,
        stuck: Stuck<M::State>,
    },
    /// No key was found not linearizable, and these keys' searches ran
    /// out of budget before a verdict (the others are linearizable).
    Unknown(Vec<(M::Key, Limit)>),
}

/// Searches `parts` in turns within `budget`, counted from `start`.
pub(crate) fn decide<'a, M: NondeterministicModel>(
    model: &M,
    parts: Vec<(M::Key, Vec<View<'a, M>>)>,
    budget: &Budget,
    start: Instant,
) -> Decision<'a, M> {
    let deadline = budget.time.map(|t| start + t);
    let mut live: Vec<(M::Key, Search<'a, M>)> = parts
        .into_iter()
        .map(|(key, views)| (key, Search::new(model, views)))
        .collect();
    let mut unknown: Vec<(M::Key, Limit)> = Vec::new();
    let mut slice = FIRST_SLICE;
    while !live.is_empty() {
        let mut i = 0;
        while i < live.len() {
            // The memory this key may use: the budget less what the other
            // suspended searches hold.
            let memory = budget.memory.map(|m| {
                let others: usize = (0..live.len())
                    .filter(|&j| j != i)
                    .map(|j| live[j].1.bytes())
                    .sum();
                m.saturating_sub(others)
            });
            match live[i].1.run(model, slice, deadline, memory) {
                Ok(Ok(_)) => {
                    live.remove(i);
                }
                Ok(Err(stuck)) => {
                    let (key, search) = live.swap_remove(i);
                    return Decision::NotLinearizable {
                        key,
                        views: search.views().to_vec(),
                        stuck,
                    };
                }
                Err(Pause::Fuel) => i += 1,
                Err(Pause::Time) => {
                    unknown.extend(live.into_iter().map(|(key, _)| (key, Limit::Time)));
                    return Decision::Unknown(unknown);
                }
                Err(Pause::Memory) => {
                    // Give up the key holding the most, which frees the
                    // most for the others; then go on from this key.
                    let largest = (0..live.len())
                        .max_by_key(|&j| live[j].1.bytes())
                        .expect("a live search");
                    let (key, _) = live.remove(largest);
                    unknown.push((key, Limit::Memory));
                    if largest < i {
                        i -= 1;
                    }
                }
            }
        }
        slice = slice.saturating_mul(2);
    }
    if unknown.is_empty() {
        Decision::Linearizable
    } else {
        Decision::Unknown(unknown)
    }
}
