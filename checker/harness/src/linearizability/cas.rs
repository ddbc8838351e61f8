//! A compare-and-set register: the object behind leases, locks, leader
//! records and optimistic updates, and the classic model of Jepsen's
//! `cas-register` tests.

use super::model::Model;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;
use std::hash::Hash;

/// What a client asks of a compare-and-set register.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CasOp<V> {
    /// Read the current value.
    Read,
    /// Replace the value, whatever it is.
    Write(V),
    /// Replace the value with `new` if it is `expected` (`None`: if nothing
    /// was ever written), atomically; otherwise change nothing.
    Cas { expected: Option<V>, new: V },
}

/// What a compare-and-set register answers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CasRet<V> {
    /// The value read; `None` if nothing was ever written.
    Value(Option<V>),
    /// The write took effect.
    Written,
    /// The compare-and-set found the expected value and replaced it ("ok").
    Swapped,
    /// The compare-and-set found another value and changed nothing
    /// ("fail"). It still took effect, as a read: a history where it fails
    /// although the value was the expected one is not linearizable. (An
    /// operation that surely had no effect at all is
    /// [`Outcome::Failed`](super::Outcome::Failed), not this.)
    Mismatch,
}

/// The compare-and-set register model for values of type `V`; initially
/// empty (`CasRegisterModel::<u64>::new()`) or holding a value
/// ([`CasRegisterModel::with_initial`]). Wrap it in
/// [`Keyed`](super::Keyed) for one register per key.
#[derive(Clone, Debug)]
pub struct CasRegisterModel<V> {
    initial: Option<V>,
}

impl<V> CasRegisterModel<V> {
    /// A register nobody has written.
    pub fn new() -> Self {
        CasRegisterModel { initial: None }
    }

    /// A register that starts out holding `value`.
    pub fn with_initial(value: V) -> Self {
        CasRegisterModel {
            initial: Some(value),
        }
    }
}

impl<V> Default for CasRegisterModel<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V> Model for CasRegisterModel<V>
where
    V: Clone + Eq + Hash + Debug,
{
    type Key = ();
    type State = Option<V>;
    type Input = CasOp<V>;
    type Output = CasRet<V>;

    fn key(&self, _input: &CasOp<V>) {}

    fn init(&self) -> Option<V> {
        self.initial.clone()
    }

    /// Only a read: a compare-and-set whose outcome is unknown may have
    /// swapped, so it must stay in the search.
    fn is_read_only(&self, input: &CasOp<V>) -> bool {
        matches!(input, CasOp::Read)
    }

    fn step(&self, state: &Option<V>, input: &CasOp<V>) -> (Option<V>, CasRet<V>) {
        match input {
            CasOp::Read => (state.clone(), CasRet::Value(state.clone())),
            CasOp::Write(v) => (Some(v.clone()), CasRet::Written),
            CasOp::Cas { expected, new } if expected == state => {
                (Some(new.clone()), CasRet::Swapped)
            }
            CasOp::Cas { .. } => (state.clone(), CasRet::Mismatch),
        }
    }
}
