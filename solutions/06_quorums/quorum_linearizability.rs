//! quorum_linearizability: decide whether a history of register operations
//! is linearizable.
//!
//! A history is linearizable when its operations can be put in one order
//! that (1) respects real time: if `a` returned before `b` was invoked, `a`
//! comes first, and (2) is a correct run of a register: every read returns
//! the value of the latest write before it (`None` before any write). An
//! operation that never returned may be placed anywhere after its
//! invocation, or left out.
//!
//! The search (Wing & Gong): repeatedly pick, among the operations not yet
//! placed, one that may go next, which is one invoked before every
//! remaining operation's return; place it if the register allows its
//! result, recurse, and undo on a dead end. Lowe's memo makes it fast: two
//! paths that placed the same set of operations and left the register with
//! the same value have the same future, so each such configuration is
//! explored once.
// exercise: begin

use std::collections::HashSet;
// exercise: end

/// What a client asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    Read,
    Write(u64),
}

/// What it was told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ret {
    /// A read's value (`None`: nothing was written yet).
    Value(Option<u64>),
    Written,
}

/// One operation of a history. Times are on one shared clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Op {
    pub client: usize,
    pub call: Call,
    pub invoked: u64,
    /// When it returned and with what, or `None` if it never did.
    pub returned: Option<(u64, Ret)>,
}

/// What a register in state `value` answers to `call`, and its next state.
pub fn apply(value: Option<u64>, call: Call) -> (Option<u64>, Ret) {
    match call {
        Call::Read => (value, Ret::Value(value)),
        Call::Write(v) => (Some(v), Ret::Written),
    }
}

/// Whether `history` is linearizable for a register that starts empty.
pub fn is_linearizable(history: &[Op]) -> bool {
    // exercise: begin "search for an order: pick an operation invoked before every remaining operation's "
    //   "return, check its result with apply, recurse, undo on a dead end; remember the "
    //   "(placed set, register value) configurations that failed"
    let mut placed = vec![false; history.len()];
    let mut seen = HashSet::new();
    search(history, &mut placed, None, &mut seen)
    // exercise: end
}
// exercise: begin

/// Whether the operations not yet `placed` can follow, from register
/// state `value`.
fn search(
    history: &[Op],
    placed: &mut Vec<bool>,
    value: Option<u64>,
    seen: &mut HashSet<(Vec<bool>, Option<u64>)>,
) -> bool {
    // Done once every operation that returned is placed.
    let remaining: Vec<usize> = (0..history.len()).filter(|&i| !placed[i]).collect();
    if remaining.iter().all(|&i| history[i].returned.is_none()) {
        return true;
    }
    if !seen.insert((placed.clone(), value)) {
        return false; // explored already, without success
    }
    // An operation may go next if it was invoked before every remaining
    // operation returned.
    let first_return = remaining
        .iter()
        .filter_map(|&i| history[i].returned.map(|(t, _)| t))
        .min()
        .unwrap_or(u64::MAX);
    for &i in &remaining {
        let op = history[i];
        if op.invoked > first_return {
            continue;
        }
        let (next, ret) = apply(value, op.call);
        if op.returned.is_some_and(|(_, r)| r != ret) {
            continue;
        }
        placed[i] = true;
        if search(history, placed, next, seen) {
            return true;
        }
        placed[i] = false;
    }
    false
}
// exercise: end
