//! The linearizability checker: is there an order of a history's operations
//! that respects real time and that a correct sequential object would
//! produce?
//!
//! A history is a list of [`Op`]s: a client, an input, an invocation time
//! and, if the operation completed, its output and return time. An
//! operation that never completed (a lost reply, a crashed client) may take
//! effect at any time after its invocation, or never. A [`Model`] is the
//! sequential specification: its state, and `step(state, input) -> (state,
//! output)`. Models for a register ([`RegisterModel`]), one register per key
//! ([`KeyedRegisterModel`]) and a key-value store with get, put and append
//! ([`KvModel`]) are provided.
//!
//! [`check`] splits the history by [`Model::key`] and searches each key's
//! part alone (a history is linearizable exactly when every key's part is),
//! with Wing & Gong's backtracking and Lowe's memo of (operations taken,
//! state). When a part has no linearization it is shrunk to a small
//! non-linearizable part: first the shortest prefix in time that already
//! fails (operations still running at its end count as never completed),
//! then dropping operations one at a time while it still fails. The
//! [`NotLinearizable`] report draws that part as a timeline, one row per
//! client, and explains it: the longest order found, and the operation that
//! could not be placed next, with what it would have returned.
//!
//! ```
//! use dscheck::linearizability::{check, Op, RegisterModel, RegisterOp::*, RegisterRet::*};
//! let history = vec![
//!     Op::complete(0, Write(1), 0, Written, 10),
//!     Op::complete(1, Read, 20, Value(Some(1)), 30),
//!     Op::complete(0, Write(2), 40, Written, 50),
//!     Op::complete(1, Read, 60, Value(Some(1)), 70), // stale
//! ];
//! let failure = check(&RegisterModel::new(), &history).unwrap_err();
//! assert_eq!(failure.stuck, 3);
//! println!("{failure}");
//! ```
//!
//! From a simulation, [`from_sim`] turns `Sim::history()` into `Op`s.
//! This API is shared by the suites that check histories; keep it stable.

mod explain;
mod history;
mod model;
mod search;
mod timeline;

pub use history::{from_sim, Op, Seen};
pub use model::{
    KeyedRegisterModel, KvModel, KvOp, KvRet, Model, RegisterModel, RegisterOp, RegisterRet,
};

use search::{search, View};
use std::collections::BTreeMap;
use std::fmt;

/// Why a history is not linearizable, in a form to show a learner.
#[derive(Clone, Debug, PartialEq)]
pub struct NotLinearizable {
    /// The key whose operations cannot be ordered (`Debug` of it).
    pub key: String,
    /// A small non-linearizable part of the history (indices into it, by
    /// invocation time).
    pub ops: Vec<usize>,
    /// The longest order of that part found before the search ran out
    /// (indices into the history).
    pub order: Vec<usize>,
    /// The operation that had to be placed next, and could not be (an index
    /// into the history).
    pub stuck: usize,
    /// The part drawn as a timeline, one row per client, with a legend.
    pub timeline: String,
    /// Why no order works, in words.
    pub explanation: String,
}

impl fmt::Display for NotLinearizable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "no order of these {} operations on key {} matches both real time and the results:",
            self.ops.len(),
            self.key
        )?;
        writeln!(f, "{}", self.timeline)?;
        write!(f, "{}", self.explanation)
    }
}

/// Checks `history` against `model`: `Ok(())` if it is linearizable, else
/// a small part of it that is not, explained.
pub fn check<M: Model>(
    model: &M,
    history: &[Op<M::Input, M::Output>],
) -> Result<(), Box<NotLinearizable>> {
    let mut parts: BTreeMap<M::Key, Vec<View<'_, M>>> = BTreeMap::new();
    for (id, op) in history.iter().enumerate() {
        parts.entry(model.key(&op.input)).or_default().push(View {
            id,
            input: &op.input,
            output: op.output(),
            invoked: op.invoked,
            returned: op.returned(),
        });
    }
    for (key, views) in &parts {
        if search(model, views).is_err() {
            let part = shrink(model, views);
            let stuck = match search(model, &part) {
                Err(stuck) => stuck,
                Ok(_) => unreachable!("a shrunk part still fails"),
            };
            return Err(Box::new(explain::report(
                model, history, key, &part, &stuck,
            )));
        }
    }
    Ok(())
}

/// Whether `history` is linearizable under `model`.
pub fn is_linearizable<M: Model>(model: &M, history: &[Op<M::Input, M::Output>]) -> bool {
    check(model, history).is_ok()
}

/// Operations dropped one at a time are tried only for parts this small
/// (each try is a whole search).
const DROP_LIMIT: usize = 200;

/// A small non-linearizable part of `views`, which is not linearizable.
fn shrink<'a, M: Model>(model: &M, views: &[View<'a, M>]) -> Vec<View<'a, M>> {
    let fails = |part: &[View<'a, M>]| search(model, part).is_err();
    // The shortest prefix in time that fails: if the history up to time t
    // has no linearization, neither has any longer prefix, so a binary
    // search over the return times finds the first one.
    let mut ends: Vec<u64> = views.iter().filter_map(|v| v.returned).collect();
    ends.sort_unstable();
    ends.dedup();
    let (mut lo, mut hi) = (0, ends.len() - 1);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if fails(&prefix(views, ends[mid])) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    let end = ends[lo];
    let mut part = prefix(views, end);
    // The operation whose return made the prefix fail: with it still
    // running at `end`, the prefix would pass.
    let target = part
        .iter()
        .position(|v| {
            v.returned == Some(end) && {
                let mut open = part.clone();
                open.retain(|o| o.id != v.id);
                !fails(&open)
            }
        })
        .map_or(part[0].id, |i| part[i].id);
    if part.len() > DROP_LIMIT {
        return part;
    }
    // Then drop operations one at a time while the rest still fails. That
    // operation stays, and so does what explains its result: if it could
    // fit somewhere in the part, only not inside its own interval (a stale
    // read), a drop must keep that so (the write it read stays), else the
    // part would shrink to a read of a value nobody wrote, which says
    // nothing about what went wrong.
    let explained = |part: &[View<'a, M>]| {
        let from = part.iter().map(|v| v.invoked).min().unwrap_or(0);
        let to = part.iter().filter_map(|v| v.returned).max().unwrap_or(0);
        let stretched: Vec<View<'a, M>> = part
            .iter()
            .map(|v| match v.id == target {
                true => View {
                    invoked: from,
                    returned: Some(to),
                    ..*v
                },
                false => *v,
            })
            .collect();
        search(model, &stretched).is_ok()
    };
    let keep_explained = explained(&part);
    // Latest first, so that a read goes before the write it read; passes
    // until nothing more can go.
    let mut dropped = true;
    while dropped {
        dropped = false;
        for i in (0..part.len()).rev() {
            let mut without = part.clone();
            without.remove(i);
            if part[i].id != target && fails(&without) && (!keep_explained || explained(&without)) {
                part = without;
                dropped = true;
            }
        }
    }
    part
}

/// The operations invoked by time `t`; those that returned after `t` are
/// treated as never completed.
fn prefix<'a, M: Model>(views: &[View<'a, M>], t: u64) -> Vec<View<'a, M>> {
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

#[cfg(test)]
mod tests;
