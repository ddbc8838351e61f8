//! The linearizability checker: is there an order of a history's operations
//! that respects real time and that a correct sequential object would
//! produce?
//!
//! A history is a list of [`Op`]s: a client, an input, an invocation time
//! and an [`Outcome`]: it returned an output at a time; or its outcome is
//! unknown (the client timed out), so it may take effect at any time after
//! its invocation (by a known time, if there is one), or never; or it surely
//! failed, with no effect. A [`Model`] is the sequential specification: its
//! state, and `step(state, input) -> (state, output)`; a
//! [`NondeterministicModel`] may give several results for one step. Models
//! for a register ([`RegisterModel`]), a compare-and-set register
//! ([`CasRegisterModel`]), one register per key ([`KeyedRegisterModel`]),
//! any model per key ([`Keyed`]) and a key-value store with get, put and
//! append ([`KvModel`]) are provided.
//!
//! The history is split by [`Model::key`] (a history is linearizable
//! exactly when every key's part is) and each part is searched with Wing &
//! Gong's backtracking and Lowe's memo of (operations taken, state). The
//! keys' searches take turns, so that a key whose search is hard does not
//! hide a violation on another (see `schedule.rs` for why turns). When a
//! part has no linearization it is shrunk to a small non-linearizable part:
//! first the shortest prefix in time that already fails (operations still
//! running at its end count as never completed), then dropping operations
//! one at a time while it still fails. The [`NotLinearizable`] report draws
//! that part as a timeline, one row per client, and explains it: the longest
//! order found, and the operation that could not be placed next, with what
//! it would have returned.
//!
//! [`check`] and [`is_linearizable`] have no budget: their verdict depends
//! on the history alone, as the suites need. A [`Checker`] adds a
//! [`Budget`] on the search (beyond which the verdict is
//! [`Verdict::Unknown`]), a time limit on the shrink, and a verdict-only
//! call ([`Checker::verdict`]).
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

mod cas;
mod checker;
mod explain;
mod history;
mod model;
mod schedule;
mod search;
mod shrink;
mod timeline;

pub use cas::{CasOp, CasRegisterModel, CasRet};
pub use checker::{Budget, Checker, Limit, Report, Unknown, Verdict};
pub use history::{from_sim, Op, Outcome, Seen};
pub use model::{
    Keyed, KeyedRegisterModel, KvModel, KvOp, KvRet, Model, NondeterministicModel, RegisterModel,
    RegisterOp, RegisterRet,
};

use std::fmt;

/// Why a history is not linearizable, in a form to show a learner.
#[derive(Clone, Debug, PartialEq)]
pub struct NotLinearizable<K> {
    /// The key whose operations cannot be ordered.
    pub key: K,
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
    /// Whether shrinking ran to its end; `false` when a
    /// [`Checker::shrink_within`] limit stopped it, and a smaller failing
    /// part may exist.
    pub shrink_finished: bool,
}

impl<K: fmt::Debug> fmt::Display for NotLinearizable<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A model without keys (`Key = ()`) has nothing to name.
        let key = match format!("{:?}", self.key).as_str() {
            "()" => String::new(),
            key => format!(" on key {key}"),
        };
        writeln!(
            f,
            "no order of these {} operations{key} matches both real time and the results:",
            self.ops.len(),
        )?;
        writeln!(f, "{}", self.timeline)?;
        write!(f, "{}", self.explanation)?;
        if !self.shrink_finished {
            writeln!(
                f,
                "(Shrinking stopped at its time limit; a smaller part may fail too.)"
            )?;
        }
        Ok(())
    }
}

/// Checks `history` against `model`: `Ok(())` if it is linearizable, else
/// a small part of it that is not, explained. No budget: it runs until it
/// knows (see [`Checker`] for limits).
pub fn check<M: NondeterministicModel>(
    model: &M,
    history: &[Op<M::Input, M::Output>],
) -> Result<(), Box<NotLinearizable<M::Key>>> {
    match Checker::new(model).report(history) {
        Report::Linearizable => Ok(()),
        Report::NotLinearizable(report) => Err(report),
        Report::Unknown(_) => unreachable!("a search without a budget ends with a verdict"),
    }
}

/// Whether `history` is linearizable under `model`: the verdict alone, with
/// no budget, no shrinking and no report.
pub fn is_linearizable<M: NondeterministicModel>(
    model: &M,
    history: &[Op<M::Input, M::Output>],
) -> bool {
    match Checker::new(model).verdict(history) {
        Verdict::Linearizable => true,
        Verdict::NotLinearizable { .. } => false,
        Verdict::Unknown(_) => unreachable!("a search without a budget ends with a verdict"),
    }
}

#[cfg(test)]
mod tests;
