//! What an object is supposed to do, one operation at a time: the
//! sequential specification a concurrent history is checked against.

use serde::{Deserialize, Serialize};
use std::fmt::Debug;
use std::hash::Hash;

/// A deterministic sequential specification, split by key: what most
/// objects are, and the trait to implement unless one input may give
/// several results ([`NondeterministicModel`]). Every `Model` is a
/// `NondeterministicModel` with one result per step, so the checker takes
/// either.
///
/// Operations on different keys never affect each other, so a history is
/// linearizable exactly when each key's sub-history is (P-compositionality,
/// Herlihy & Wing): the checker splits the history with [`Model::key`] and
/// searches each part alone, which is far cheaper than searching the whole.
/// A model whose operations span keys uses `Key = ()`: one part.
///
/// From a state, an input gives one next state and one output. An operation
/// whose outcome is unknown has no output to compare, so it may take effect
/// (with whatever output) or not at all.
pub trait Model {
    /// What splits a history into independent parts.
    type Key: Ord + Clone + Debug;
    /// The state of one key's object. Hashed for the search's memo.
    type State: Clone + Eq + Hash + Debug;
    /// What a client asks.
    type Input: Clone + Debug;
    /// What a client is told.
    type Output: Clone + PartialEq + Debug;

    /// The key `input` works on.
    fn key(&self, input: &Self::Input) -> Self::Key;

    /// The state of a key nobody has touched.
    fn init(&self) -> Self::State;

    /// Applies `input` to `state`: the next state and the output a correct
    /// sequential object would give.
    fn step(&self, state: &Self::State, input: &Self::Input) -> (Self::State, Self::Output);

    /// Whether `input` never changes the state (a read). An operation whose
    /// outcome is unknown and that changes nothing constrains nothing, so
    /// the checker leaves it out, which keeps histories with many lost
    /// reads cheap to check. The default, `false`, is always safe.
    fn is_read_only(&self, _input: &Self::Input) -> bool {
        false
    }
}

/// A sequential specification whose step may have several results: a set
/// whose `pop` may return any element, a queue that may lose or reorder
/// what it holds, a store whose failed write may or may not have landed.
/// This is what the checker searches with; a deterministic [`Model`] is one
/// (its one result per step), so implement this only when a step can give
/// more than one.
///
/// The search tries each result in turn and keeps a result only where the
/// recorded output equals its output; for an operation whose outcome is
/// unknown it tries every result. Several results with the same next state
/// are explored once (the memo sees the same configuration).
///
/// Two traits rather than one with both methods, so that neither kind of
/// model has a method it cannot mean. With both traits in scope, a call on
/// a deterministic model names its trait: `Model::key(&model, &input)`.
pub trait NondeterministicModel {
    /// As [`Model::Key`].
    type Key: Ord + Clone + Debug;
    /// As [`Model::State`].
    type State: Clone + Eq + Hash + Debug;
    /// As [`Model::Input`].
    type Input: Clone + Debug;
    /// As [`Model::Output`].
    type Output: Clone + PartialEq + Debug;

    /// As [`Model::key`].
    fn key(&self, input: &Self::Input) -> Self::Key;

    /// As [`Model::init`].
    fn init(&self) -> Self::State;

    /// Pushes onto `out` (which arrives empty) every (next state, output)
    /// a correct sequential object may give for `input` in `state`, in the
    /// order the search should try them; none if `input` cannot take
    /// effect in `state` at all.
    ///
    /// It fills a buffer rather than returning a `Vec` because the search
    /// calls it for every candidate it tries: one buffer, reused, costs no
    /// allocation per step.
    fn steps(
        &self,
        state: &Self::State,
        input: &Self::Input,
        out: &mut Vec<(Self::State, Self::Output)>,
    );

    /// As [`Model::is_read_only`]: `input` changes the state in none of
    /// its results.
    fn is_read_only(&self, _input: &Self::Input) -> bool {
        false
    }
}

impl<M: Model> NondeterministicModel for M {
    type Key = M::Key;
    type State = M::State;
    type Input = M::Input;
    type Output = M::Output;

    fn key(&self, input: &M::Input) -> M::Key {
        Model::key(self, input)
    }

    fn init(&self) -> M::State {
        Model::init(self)
    }

    fn steps(&self, state: &M::State, input: &M::Input, out: &mut Vec<(M::State, M::Output)>) {
        out.push(self.step(state, input));
    }

    fn is_read_only(&self, input: &M::Input) -> bool {
        Model::is_read_only(self, input)
    }
}

/// What a client asks of a single register.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RegisterOp<V> {
    /// Read the current value.
    Read,
    /// Replace the value.
    Write(V),
}

/// What a register answers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RegisterRet<V> {
    /// The value read; `None` if nothing was ever written.
    Value(Option<V>),
    /// The write took effect.
    Written,
}

impl<V> Model for RegisterModel<V>
where
    V: Clone + Eq + Hash + Debug,
{
    type Key = ();
    type State = Option<V>;
    type Input = RegisterOp<V>;
    type Output = RegisterRet<V>;

    fn key(&self, _input: &RegisterOp<V>) {}

    fn init(&self) -> Option<V> {
        None
    }

    fn is_read_only(&self, input: &RegisterOp<V>) -> bool {
        matches!(input, RegisterOp::Read)
    }

    fn step(&self, state: &Option<V>, input: &RegisterOp<V>) -> (Option<V>, RegisterRet<V>) {
        match input {
            RegisterOp::Read => (state.clone(), RegisterRet::Value(state.clone())),
            RegisterOp::Write(v) => (Some(v.clone()), RegisterRet::Written),
        }
    }
}

/// The register model for values of type `V`: `RegisterModel::<u64>::new()`.
#[derive(Clone, Copy, Debug)]
pub struct RegisterModel<V>(std::marker::PhantomData<fn() -> V>);

impl<V> RegisterModel<V> {
    /// The model of one register of `V`s, initially empty.
    pub fn new() -> Self {
        RegisterModel(std::marker::PhantomData)
    }
}

impl<V> Default for RegisterModel<V> {
    fn default() -> Self {
        Self::new()
    }
}

/// What a client asks of a key-value store.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KvOp {
    /// Read a key's value.
    Get { key: String },
    /// Replace a key's value.
    Put { key: String, value: String },
    /// Append to a key's value (to the empty string if it has none).
    Append { key: String, value: String },
}

/// What a key-value store answers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KvRet {
    /// The value of a `Get`; `None` if the key was never written.
    Value(Option<String>),
    /// A `Put` or `Append` took effect.
    Done,
}

/// A key-value store with get, put and append; each key is independent.
#[derive(Clone, Copy, Debug, Default)]
pub struct KvModel;

impl Model for KvModel {
    type Key = String;
    type State = Option<String>;
    type Input = KvOp;
    type Output = KvRet;

    fn key(&self, input: &KvOp) -> String {
        match input {
            KvOp::Get { key } | KvOp::Put { key, .. } | KvOp::Append { key, .. } => key.clone(),
        }
    }

    fn init(&self) -> Option<String> {
        None
    }

    fn is_read_only(&self, input: &KvOp) -> bool {
        matches!(input, KvOp::Get { .. })
    }

    fn step(&self, state: &Option<String>, input: &KvOp) -> (Option<String>, KvRet) {
        match input {
            KvOp::Get { .. } => (state.clone(), KvRet::Value(state.clone())),
            KvOp::Put { value, .. } => (Some(value.clone()), KvRet::Done),
            KvOp::Append { value, .. } => {
                let mut next = state.clone().unwrap_or_default();
                next.push_str(value);
                (Some(next), KvRet::Done)
            }
        }
    }
}

/// Many registers, one per key: a store with only get and put, whose keys
/// and values are any types. Handy for quorum systems that store one
/// register per key.
#[derive(Clone, Copy, Debug)]
pub struct KeyedRegisterModel<K, V>(std::marker::PhantomData<fn() -> (K, V)>);

impl<K, V> KeyedRegisterModel<K, V> {
    /// The model; every key starts empty.
    pub fn new() -> Self {
        KeyedRegisterModel(std::marker::PhantomData)
    }
}

impl<K, V> Default for KeyedRegisterModel<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V> Model for KeyedRegisterModel<K, V>
where
    K: Ord + Clone + Debug,
    V: Clone + Eq + Hash + Debug,
{
    type Key = K;
    type State = Option<V>;
    type Input = (K, RegisterOp<V>);
    type Output = RegisterRet<V>;

    fn key(&self, input: &(K, RegisterOp<V>)) -> K {
        input.0.clone()
    }

    fn init(&self) -> Option<V> {
        None
    }

    fn is_read_only(&self, input: &(K, RegisterOp<V>)) -> bool {
        matches!(input.1, RegisterOp::Read)
    }

    fn step(&self, state: &Option<V>, input: &(K, RegisterOp<V>)) -> (Option<V>, RegisterRet<V>) {
        RegisterModel::new().step(state, &input.1)
    }
}

/// Any model, one independent copy per key: inputs are `(key, input)`.
/// [`KeyedRegisterModel`] is this for a register; `Keyed<K,
/// CasRegisterModel<V>>` is a map of compare-and-set registers.
#[derive(Clone, Copy, Debug)]
pub struct Keyed<K, M> {
    /// The model of one key's object.
    pub model: M,
    _key: std::marker::PhantomData<fn() -> K>,
}

impl<K, M> Keyed<K, M> {
    /// One copy of `model` per key.
    pub fn new(model: M) -> Self {
        Keyed {
            model,
            _key: std::marker::PhantomData,
        }
    }
}

impl<K, M: Default> Default for Keyed<K, M> {
    fn default() -> Self {
        Self::new(M::default())
    }
}

impl<K, M> NondeterministicModel for Keyed<K, M>
where
    K: Ord + Clone + Debug,
    M: NondeterministicModel<Key = ()>,
{
    type Key = K;
    type State = M::State;
    type Input = (K, M::Input);
    type Output = M::Output;

    fn key(&self, input: &(K, M::Input)) -> K {
        input.0.clone()
    }

    fn init(&self) -> M::State {
        self.model.init()
    }

    fn steps(&self, state: &M::State, input: &(K, M::Input), out: &mut Vec<(M::State, M::Output)>) {
        self.model.steps(state, &input.1, out);
    }

    fn is_read_only(&self, input: &(K, M::Input)) -> bool {
        self.model.is_read_only(&input.1)
    }
}
