//! A non-linearizable part made small enough to read: first the shortest
//! prefix in time that already fails, then operations dropped (one at a
//! time; in runs first if the part is large) while the rest still fails.
//!
//! Every part kept is one a complete search found to fail, with where that
//! search got stuck; a search that runs out of budget counts as "not known
//! to fail", so a step it would have decided is simply not taken. Stopped
//! early (by the deadline), the shrink returns the smallest failing part it
//! has so far: larger than it could be, never wrong.

use super::model::NondeterministicModel;
use super::search::{search, Stuck, View};
use std::time::Instant;

/// Parts up to this size lose operations one at a time; larger ones first
/// lose runs of them (each try is a whole search).
const DROP_LIMIT: usize = 200;

/// What a shrink found.
pub(crate) struct Shrunk<'a, M: NondeterministicModel> {
    /// A non-linearizable part.
    pub part: Vec<View<'a, M>>,
    /// Where the search of `part` got stuck.
    pub stuck: Stuck<M::State>,
    /// Whether the shrink ran to its end (not stopped by its deadline).
    pub finished: bool,
}

/// A small non-linearizable part of `views`, which is not linearizable: a
/// search of it got stuck at `stuck`. Searches stop at `deadline` and when
/// their memo outgrows `memory` bytes.
pub(crate) fn shrink<'a, M: NondeterministicModel>(
    model: &M,
    views: &[View<'a, M>],
    stuck: Stuck<M::State>,
    deadline: Option<Instant>,
    memory: Option<usize>,
) -> Shrunk<'a, M> {
    let out_of_time = || deadline.is_some_and(|d| Instant::now() >= d);
    let run = |part: &[View<'a, M>]| search(model, part, deadline, memory);
    // `Some(stuck)` only if a complete search shows `part` fails.
    let fails = |part: &[View<'a, M>]| match run(part) {
        Some(Err(stuck)) => Some(stuck),
        _ => None,
    };
    let passes = |part: &[View<'a, M>]| matches!(run(part), Some(Ok(_)));
    let mut best = Shrunk {
        part: views.to_vec(),
        stuck,
        finished: false,
    };

    // The shortest prefix in time that fails: if the history up to time t
    // has no linearization, neither has any longer prefix, so a binary
    // search over the return times finds the first one. The last is the
    // whole part, known to fail.
    let mut ends: Vec<u64> = views.iter().filter_map(|v| v.returned).collect();
    ends.sort_unstable();
    ends.dedup();
    let (mut lo, mut hi) = (0, ends.len() - 1);
    while lo < hi {
        let mid = (lo + hi) / 2;
        let part = prefix(views, ends[mid]);
        match fails(&part) {
            Some(stuck) => {
                hi = mid;
                best.part = part;
                best.stuck = stuck;
            }
            None => lo = mid + 1,
        }
    }
    let end = ends[lo];
    if best.part.len() != prefix(views, end).len() {
        // The shortest failing prefix is one not searched yet (the binary
        // search settled on it from below), or is the whole part.
        let part = prefix(views, end);
        if let Some(stuck) = fails(&part) {
            best.part = part;
            best.stuck = stuck;
        }
    }
    if out_of_time() {
        return best;
    }
    // The operation whose return made the prefix fail: with it still
    // running at `end`, the prefix would pass.
    let part = &best.part;
    let target = part
        .iter()
        .position(|v| {
            v.output.is_some() && v.returned == Some(end) && {
                let mut open = part.clone();
                open.retain(|o| o.id != v.id);
                passes(&open)
            }
        })
        .map_or(part[0].id, |i| part[i].id);
    // Then drop operations one at a time while the rest still fails. That
    // operation stays, and so does what explains its result: if it could
    // fit somewhere in the part, only not inside its own interval (a stale
    // read), a drop must keep that so (the write it read stays), else the
    // part would shrink to a read of a value nobody wrote, which says
    // nothing about what went wrong. Operations whose outcome is unknown
    // lose their deadline too: a write that timed out may be what a read
    // saw, only its deadline says not then. (Their start stays: an
    // operation of unknown outcome free to go anywhere is a candidate at
    // every step, which made these searches ten times slower.)
    let explained = |part: &[View<'a, M>]| {
        let from = part.iter().map(|v| v.invoked).min().unwrap_or(0);
        let to = part
            .iter()
            .map(|v| v.returned.unwrap_or(v.invoked))
            .max()
            .unwrap_or(0);
        let stretched: Vec<View<'a, M>> = part
            .iter()
            .map(|v| match (v.id == target, v.output) {
                (true, _) => View {
                    invoked: from,
                    returned: Some(to),
                    ..*v
                },
                (false, None) => View {
                    returned: None,
                    ..*v
                },
                (false, Some(_)) => *v,
            })
            .collect();
        passes(&stretched)
    };
    let mut keep_explained = explained(&best.part);
    if !keep_explained {
        // Its result may come from an operation that began after the prefix
        // ends (a read of a value written only later): add the first that
        // explains it, as still running. It cannot make the part pass: it
        // began after every completed operation of the part returned.
        let later = views
            .iter()
            .filter(|v| v.invoked > end && !model.is_read_only(v.input))
            .take(DROP_LIMIT);
        for v in later {
            let mut with = best.part.clone();
            with.push(View {
                output: None,
                returned: None,
                ..*v
            });
            if explained(&with) {
                if let Some(stuck) = fails(&with) {
                    best.part = with;
                    best.stuck = stuck;
                    keep_explained = true;
                }
                break;
            }
        }
    }
    // Latest first, so that a read goes before the write it read; passes
    // until nothing more can go, so that no single operation of the part
    // can be dropped. A part larger than `DROP_LIMIT` first loses runs of
    // operations, halving their length down to one: each try is a search,
    // and a search of a failing part explores every order up to where it
    // fails, so a few tries that drop the many operations that do not
    // matter keep the later searches small. Runs are not used on smaller
    // parts, because they find a different part, not always as small:
    // dropping a run can take the one late write that alone shows a read
    // stale, and leave two early operations that show it together (on 300
    // generated stale reads, one at a time always found 3 operations; runs
    // found 4 in about one case in eight, at an eighth of the time).
    let mut length = match best.part.len() > DROP_LIMIT {
        true => best.part.len() / 2,
        false => 1,
    };
    loop {
        let mut dropped = false;
        let mut end = best.part.len();
        while end > 0 {
            if out_of_time() {
                return best;
            }
            let start = end.saturating_sub(length);
            let without: Vec<View<'a, M>> = best
                .part
                .iter()
                .enumerate()
                .filter(|&(i, v)| !(start..end).contains(&i) || v.id == target)
                .map(|(_, v)| *v)
                .collect();
            if without.len() < best.part.len() && (!keep_explained || explained(&without)) {
                if let Some(stuck) = fails(&without) {
                    best.part = without;
                    best.stuck = stuck;
                    dropped = true;
                }
            }
            end = start;
        }
        if length > 1 {
            length /= 2;
        } else if !dropped {
            break;
        }
    }
    best.finished = !out_of_time();
    best
}

/// The operations invoked by time `t`; those that returned after `t` are
/// treated as never completed.
fn prefix<'a, M: NondeterministicModel>(views: &[View<'a, M>], t: u64) -> Vec<View<'a, M>> {
    views
        .iter()
        .filter(|v| v.invoked <= t)
        .map(|v| match v.returned {
            Some(r) if r > t => View {
                output: None,
                returned: None,
                ..*v
            },
            _ => *v,
        })
        .collect()
}
