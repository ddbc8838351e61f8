//! The checker with its settings: a budget for the search, a time limit for
//! the shrink, and the two ways to ask (a verdict alone, or a report).

use super::explain;
use super::history::{Op, Outcome};
use super::model::NondeterministicModel;
use super::schedule::{decide, Decision};
use super::search::View;
use super::shrink::shrink;
use super::NotLinearizable;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How much the search may spend before it answers "unknown".
///
/// Deciding linearizability is NP-complete, and a history can be small and
/// still take the search longer than anyone will wait (many overlapping
/// writes whose outcome is unknown, say): a checker that runs on histories
/// it did not generate needs a way to stop and say so, rather than hang or
/// be killed. No limit is the default, so a verdict depends only on the
/// history; a time limit makes it depend on the machine's speed too.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Budget {
    /// Wall-clock time for the whole search (all keys), from the call.
    pub time: Option<Duration>,
    /// Bytes the searches' memos may hold at once, estimated (see
    /// `Search::bytes`: a state's heap data is not counted). A key whose
    /// search would need more is given up as unknown, the largest first,
    /// and the other keys go on.
    pub memory: Option<usize>,
}

impl Budget {
    /// No limit (the default).
    pub const UNLIMITED: Budget = Budget {
        time: None,
        memory: None,
    };

    /// At most `time` of wall-clock time.
    pub fn time(time: Duration) -> Budget {
        Budget {
            time: Some(time),
            memory: None,
        }
    }

    /// At most `bytes` of memo at once.
    pub fn memory(bytes: usize) -> Budget {
        Budget {
            time: None,
            memory: Some(bytes),
        }
    }

    /// This budget, also limited to `bytes` of memo.
    pub fn with_memory(self, bytes: usize) -> Budget {
        Budget {
            memory: Some(bytes),
            ..self
        }
    }
}

/// Which part of a [`Budget`] ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    Time,
    Memory,
}

/// No key was found not linearizable, but these keys' searches ran out of
/// budget before a verdict; every other key is linearizable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unknown<K> {
    /// Each undecided key, with the limit that stopped its search.
    pub keys: Vec<(K, Limit)>,
}

/// The answer of [`Checker::verdict`]: no shrinking, no drawing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict<K> {
    Linearizable,
    /// `key`'s operations have no linearization (the first key found so;
    /// others may have none either).
    NotLinearizable {
        key: K,
    },
    Unknown(Unknown<K>),
}

/// The answer of [`Checker::report`]: as [`Verdict`], with a violation
/// shrunk and explained.
#[derive(Clone, Debug, PartialEq)]
pub enum Report<K> {
    Linearizable,
    NotLinearizable(Box<NotLinearizable<K>>),
    Unknown(Unknown<K>),
}

/// The linearizability checker for `model`, with its settings.
///
/// ```
/// use dscheck::linearizability::{Budget, Checker, Op, RegisterModel, RegisterOp::*, RegisterRet::*, Verdict};
/// use std::time::Duration;
/// let history = vec![
///     Op::complete(0, Write(1), 0, Written, 10),
///     Op::pending(1, Write(2), 5), // timed out: may or may not have happened
///     Op::complete(0, Read, 20, Value(Some(2)), 30),
/// ];
/// let model = RegisterModel::new();
/// let checker = Checker::new(&model).budget(Budget::time(Duration::from_secs(1)));
/// assert_eq!(checker.verdict(&history), Verdict::Linearizable);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Checker<'m, M> {
    model: &'m M,
    budget: Budget,
    shrink_time: Option<Duration>,
}

impl<'m, M: NondeterministicModel> Checker<'m, M> {
    /// A checker with no budget and no limit on shrinking.
    pub fn new(model: &'m M) -> Self {
        Checker {
            model,
            budget: Budget::UNLIMITED,
            shrink_time: None,
        }
    }

    /// Limits the search (not the shrink) to `budget`.
    pub fn budget(self, budget: Budget) -> Self {
        Checker { budget, ..self }
    }

    /// Limits a report's shrinking to `time`: when it is up, the report
    /// shows the smallest failing part found so far (see
    /// [`NotLinearizable::shrink_finished`]). Searches during the shrink
    /// also keep to the budget's memory.
    pub fn shrink_within(self, time: Duration) -> Self {
        Checker {
            shrink_time: Some(time),
            ..self
        }
    }

    /// Whether `history` is linearizable, and if not, on which key; no
    /// shrinking, no drawing: the cheapest answer, for a large history or
    /// many of them.
    pub fn verdict(&self, history: &[Op<M::Input, M::Output>]) -> Verdict<M::Key> {
        let start = Instant::now();
        match decide(self.model, split(self.model, history), &self.budget, start) {
            Decision::Linearizable => Verdict::Linearizable,
            Decision::NotLinearizable { key, .. } => Verdict::NotLinearizable { key },
            Decision::Unknown(keys) => Verdict::Unknown(Unknown { keys }),
        }
    }

    /// As [`Checker::verdict`], and a violation shrunk to a small part of
    /// the history and explained, to show a person.
    pub fn report(&self, history: &[Op<M::Input, M::Output>]) -> Report<M::Key> {
        let start = Instant::now();
        let model = self.model;
        match decide(model, split(model, history), &self.budget, start) {
            Decision::Linearizable => Report::Linearizable,
            Decision::Unknown(keys) => Report::Unknown(Unknown { keys }),
            Decision::NotLinearizable { key, views, stuck } => {
                let deadline = self.shrink_time.map(|t| Instant::now() + t);
                let shrunk = shrink(model, &views, stuck, deadline, self.budget.memory);
                Report::NotLinearizable(Box::new(explain::report(
                    model,
                    history,
                    key,
                    &shrunk.part,
                    &shrunk.stuck,
                    shrunk.finished,
                )))
            }
        }
    }
}

/// The history split by key, as the search sees it: operations that surely
/// had no effect are left out, and so are reads whose outcome is unknown
/// (they constrain nothing).
fn split<'a, M: NondeterministicModel>(
    model: &M,
    history: &'a [Op<M::Input, M::Output>],
) -> Vec<(M::Key, Vec<View<'a, M>>)> {
    let mut parts: BTreeMap<M::Key, Vec<View<'a, M>>> = BTreeMap::new();
    for (id, op) in history.iter().enumerate() {
        let (output, returned) = match &op.outcome {
            Outcome::Returned { output, at } => (Some(output), Some(*at)),
            Outcome::Unknown { by } if !model.is_read_only(&op.input) => (None, *by),
            Outcome::Unknown { .. } | Outcome::Failed { .. } => continue,
        };
        parts.entry(model.key(&op.input)).or_default().push(View {
            id,
            input: &op.input,
            output,
            invoked: op.invoked,
            returned,
        });
    }
    parts.into_iter().collect()
}
