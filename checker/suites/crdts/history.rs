//! The suite's model of a run of replicas: which updates were made where,
//! which updates each replica has seen, and what a replica that has seen
//! exactly those updates must show (the spec), independent of the CRDT
//! under test.
//!
//! Every update gets an id (`u0`, `u1`, … in the order they are made) and
//! remembers the updates its replica had seen when it made it: its causal
//! past. A replica's own update joins what it has seen; a merge adds what
//! the other replica had seen. The spec of each CRDT is a function of that
//! alone: a counter counts the increments seen, an OR-set holds an element
//! when some add of it was seen that no seen remove had seen, and so on.

use dscheck::Failure;
use dsim::NodeId;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt::{self, Debug};

/// A CRDT's updates and its spec, shared by the learner's type and the
/// known-wrong ones of the meta tests.
pub trait Family: 'static {
    /// One update, as a client asks for it.
    type Op: Clone + Debug + Serialize + DeserializeOwned;
    /// What a reader sees.
    type View: Debug + PartialEq;
    /// Whether updates are stamped with the time their replica makes them
    /// (generated runs then draw the times).
    const TIMED: bool = false;
    /// Whether a listing of updates shows what each had seen (it matters for
    /// registers and sets, not for counters).
    const SHOW_PAST: bool;
    /// The update a generated number stands for; `value` is unique to the
    /// update (registers write it).
    fn op(raw: u8, value: u64) -> Self::Op;
    /// The update in words, after the replica's name: "adds 2".
    fn describe(op: &Self::Op, time: u64) -> String;
    /// The spec: what a replica must show once it has seen exactly `seen`.
    fn expected(log: &[Update<Self::Op>], seen: &Seen) -> Self::View;
}

/// A CRDT the suite can drive: the learner's type, through a few lines of
/// adapter, or a known-wrong one written in the suite.
pub trait Kind: Clone + Debug + PartialEq + Serialize + DeserializeOwned + 'static {
    type F: Family;
    /// The state before any update.
    fn empty() -> Self;
    fn merge(&mut self, other: &Self);
    /// Replica `replica` makes update `op` at time `time` of its clock (no
    /// replica makes two updates at the same time).
    fn apply(&mut self, replica: NodeId, time: u64, op: &Op<Self>);
    fn view(&self) -> View<Self>;
}

pub type Op<K> = <<K as Kind>::F as Family>::Op;
pub type View<K> = <<K as Kind>::F as Family>::View;

/// `a ⊔ b`.
pub fn join<K: Kind>(a: &K, b: &K) -> K {
    let mut joined = a.clone();
    joined.merge(b);
    joined
}

/// `a ≤ b`: merging `a` into `b` changes nothing.
pub fn below<K: Kind>(a: &K, b: &K) -> bool {
    join(b, a) == *b
}

/// A set of update ids, as a bit set.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen(Vec<u64>);

impl Seen {
    pub fn insert(&mut self, id: usize) {
        if self.0.len() <= id / 64 {
            self.0.resize(id / 64 + 1, 0);
        }
        self.0[id / 64] |= 1 << (id % 64);
    }

    pub fn contains(&self, id: usize) -> bool {
        self.0
            .get(id / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    /// Adds every id of `other`.
    pub fn absorb(&mut self, other: &Seen) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (mine, theirs) in self.0.iter_mut().zip(&other.0) {
            *mine |= theirs;
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.0.len() * 64).filter(|&id| self.contains(id))
    }

    pub fn len(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Every id below `n`.
    pub fn all(n: usize) -> Seen {
        let mut seen = Seen::default();
        (0..n).for_each(|id| seen.insert(id));
        seen
    }
}

impl Debug for Seen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<String> = self.iter().map(|id| format!("u{id}")).collect();
        write!(f, "{{{}}}", ids.join(", "))
    }
}

/// One update of a run.
#[derive(Clone, Debug)]
pub struct Update<Op> {
    pub replica: NodeId,
    pub time: u64,
    pub op: Op,
    /// The updates its replica had seen when it made it.
    pub past: Seen,
}

/// "n1 adds 2 (u3, had seen u0 and u1)".
pub fn describe<F: Family>(log: &[Update<F::Op>], id: usize) -> String {
    let u = &log[id];
    let mut text = format!("{} {} (u{id}", u.replica, F::describe(&u.op, u.time));
    if F::SHOW_PAST {
        if u.past.len() == 0 {
            text += ", had seen nothing";
        } else {
            text += &format!(", had seen {}", words(&u.past));
        }
    }
    text + ")"
}

/// `u0, u2 and u5`.
pub fn words(seen: &Seen) -> String {
    let ids: Vec<String> = seen.iter().map(|id| format!("u{id}")).collect();
    match ids.split_last() {
        None => "nothing".to_string(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// One step of a run on replicas `n0`, `n1`, …
#[derive(Clone, Debug)]
pub enum Action<Op> {
    Update { replica: usize, time: u64, op: Op },
    Merge { from: usize, into: usize },
}

impl<Op> Action<Op> {
    /// The replica whose state the step changes.
    pub fn replica(&self) -> usize {
        match self {
            Action::Update { replica, .. } => *replica,
            Action::Merge { into, .. } => *into,
        }
    }
}

/// A generated run: how many replicas, and its steps as numbers
/// `(replica, kind, argument, time)`, which [`decode`] turns into actions.
#[derive(Clone, Debug)]
pub struct Program {
    pub replicas: usize,
    pub steps: Vec<(u8, u8, u8, u8)>,
}

/// The actions a program stands for. Step `(who, kind, arg, time)` is done
/// by replica `who % replicas`: a merge from replica `arg % replicas` if
/// `kind == 3`, else the update `arg` stands for. For a timed family (the
/// last-writer-wins register) the update is made at `time`, and dropped if
/// the replica has already made one at that time or later, so that no
/// replica makes two updates at the same time and an update's time does
/// not depend on the steps before it (which lets shrinking keep a tie while
/// it removes steps).
pub fn decode<F: Family>(program: &Program) -> Vec<Action<F::Op>> {
    let n = program.replicas;
    let mut last: Vec<Option<u64>> = vec![None; n];
    let mut updates = 0;
    let mut actions = Vec::with_capacity(program.steps.len());
    for &(who, kind, arg, time) in &program.steps {
        let replica = who as usize % n;
        if kind == 3 {
            actions.push(Action::Merge {
                from: arg as usize % n,
                into: replica,
            });
            continue;
        }
        let time = if F::TIMED {
            u64::from(time)
        } else {
            last[replica].map_or(0, |t| t + 1)
        };
        if last[replica].is_some_and(|t| t >= time) {
            continue;
        }
        last[replica] = Some(time);
        actions.push(Action::Update {
            replica,
            time,
            op: F::op(arg, updates),
        });
        updates += 1;
    }
    actions
}

/// Replicas that ran some actions, with what each has seen.
pub struct Execution<K: Kind> {
    pub states: Vec<K>,
    pub seen: Vec<Seen>,
    pub log: Vec<Update<Op<K>>>,
    /// The steps in words, one per line.
    pub lines: Vec<String>,
}

impl<K: Kind> Execution<K> {
    /// The steps, indented, one per line.
    pub fn listing(&self) -> String {
        indent(&self.lines)
    }
}

/// Records `action` in the bookkeeping of a run: the log, what each
/// replica has seen, the steps in words. The same with or without states.
fn record<F: Family>(
    seen: &mut [Seen],
    log: &mut Vec<Update<F::Op>>,
    lines: &mut Vec<String>,
    action: &Action<F::Op>,
) {
    match action {
        Action::Update { replica, time, op } => {
            let id = log.len();
            log.push(Update {
                replica: NodeId(*replica),
                time: *time,
                op: op.clone(),
                past: seen[*replica].clone(),
            });
            seen[*replica].insert(id);
            lines.push(describe::<F>(log, id));
        }
        Action::Merge { from, into } => {
            let theirs = seen[*from].clone();
            seen[*into].absorb(&theirs);
            lines.push(format!("n{into} merges in n{from}'s state"));
        }
    }
}

/// The steps of `actions` in words, without running any CRDT (for a run
/// whose CRDT panics).
pub fn listing<F: Family>(replicas: usize, actions: &[Action<F::Op>]) -> String {
    let (mut seen, mut log, mut lines) = (vec![Seen::default(); replicas], Vec::new(), Vec::new());
    for action in actions {
        record::<F>(&mut seen, &mut log, &mut lines, action);
    }
    indent(&lines)
}

fn indent(lines: &[String]) -> String {
    if lines.is_empty() {
        return "  (no step: every replica is as it started)".to_string();
    }
    lines
        .iter()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `actions` on `replicas` fresh replicas, calling `after` after each
/// with the state the acting replica had before it.
pub fn execute<K: Kind>(
    replicas: usize,
    actions: &[Action<Op<K>>],
    mut after: impl FnMut(&Execution<K>, &Action<Op<K>>, &K) -> Result<(), Failure>,
) -> Result<Execution<K>, Failure> {
    let mut ex = Execution {
        states: vec![K::empty(); replicas],
        seen: vec![Seen::default(); replicas],
        log: Vec::new(),
        lines: Vec::new(),
    };
    for action in actions {
        let r = action.replica();
        let before = ex.states[r].clone();
        record::<K::F>(&mut ex.seen, &mut ex.log, &mut ex.lines, action);
        match action {
            Action::Update { time, op, .. } => ex.states[r].apply(NodeId(r), *time, op),
            Action::Merge { from, .. } => {
                let theirs = ex.states[*from].clone();
                ex.states[r].merge(&theirs);
            }
        }
        after(&ex, action, &before)?;
    }
    Ok(ex)
}
