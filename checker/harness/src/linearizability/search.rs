//! The search for a linearization of one key's operations: Wing & Gong's
//! backtracking with Lowe's memo of configurations already explored.
//!
//! The calls and returns are laid out in time order in a doubly linked list.
//! Walking it from the front, a call is a candidate to take effect next; the
//! search applies it to the model and, for each result whose output matches
//! (every result, if the output is unknown), lifts its call and return out of
//! the list and starts again from the front. Reaching a return means the
//! operation it closes had to take effect already but no candidate order
//! allowed it: undo the last choice and try the next. A configuration is the
//! set of operations taken so far plus the model's state; two paths that
//! reach the same configuration have the same future, so each is explored
//! once (Lowe, "Testing for linearizability", 2017).
//!
//! An operation whose outcome is unknown need not be taken. With no bound it
//! has a call and no return: it may be taken at any point after its call, or
//! never. With a bound `by`, its return entry at `by` is where it stops being
//! possible: reaching that entry, the search may drop it (it never took
//! effect) and go on, as one more choice to undo.
//!
//! The search is a value that runs in slices ([`Search::run`] with fuel), so
//! that the keys of a history can take turns and a budget can stop it.

use super::model::NondeterministicModel;
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Instant;

/// One operation as the search sees it.
pub(crate) struct View<'a, M: NondeterministicModel> {
    /// Its index in the whole history.
    pub id: usize,
    pub input: &'a M::Input,
    /// What it returned; `None` when its outcome is unknown (also when it
    /// completed after the part of the history being checked): then it may
    /// be left out.
    pub output: Option<&'a M::Output>,
    pub invoked: u64,
    /// When it returned, for an operation with an output; for one without,
    /// the latest time it may take effect, if there is one.
    pub returned: Option<u64>,
}

impl<M: NondeterministicModel> Clone for View<'_, M> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<M: NondeterministicModel> Copy for View<'_, M> {}

/// Where the search got furthest before it ran out of orders.
pub(crate) struct Stuck<S> {
    /// The longest sequence of operations (positions in the views) that
    /// respected real time and the model.
    pub order: Vec<usize>,
    /// Operations with an unknown outcome taken, on that path, never to
    /// have taken effect, because their time was up (positions).
    pub dropped: Vec<usize>,
    /// The model's state after it.
    pub state: S,
    /// The operation that had to be taken next, because its return came up,
    /// and could not be (a position in the views, or `usize::MAX`).
    pub blocked: usize,
}

/// Why a slice of the search stopped before a verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pause {
    /// Its fuel (steps) ran out: it may be resumed.
    Fuel,
    /// The deadline passed.
    Time,
    /// Its memo grew past the memory it was allowed.
    Memory,
}

/// How often (in steps) the clock and the memory are looked at: the clock
/// costs tens of nanoseconds, a step about a hundred.
const STRIDE: u64 = 1024;

const NIL: usize = usize::MAX;
/// A frame's choice when the operation was dropped rather than taken.
const DROP: usize = usize::MAX;

/// Call and return entries in time order, as a list that operations are
/// lifted out of and put back into (in reverse order) while searching.
struct Entries {
    /// For each entry: the operation, and whether it is its return.
    op: Vec<(usize, bool)>,
    next: Vec<usize>,
    prev: Vec<usize>,
    call: Vec<usize>,
    ret: Vec<usize>,
    head: usize,
}

impl Entries {
    fn new<M: NondeterministicModel>(views: &[View<'_, M>]) -> Entries {
        let mut events: Vec<(u64, bool, usize)> = Vec::new();
        for (i, v) in views.iter().enumerate() {
            events.push((v.invoked, false, i));
            if let Some(r) = v.returned {
                events.push((r, true, i));
            }
        }
        // At equal times calls come first: such operations overlap.
        events.sort();
        let n = events.len();
        let head = n;
        let mut list = Entries {
            op: Vec::with_capacity(n),
            next: vec![NIL; n + 1],
            prev: vec![NIL; n + 1],
            call: vec![NIL; views.len()],
            ret: vec![NIL; views.len()],
            head,
        };
        let mut last = head;
        for (e, &(_, is_return, i)) in events.iter().enumerate() {
            list.op.push((i, is_return));
            if is_return {
                list.ret[i] = e;
            } else {
                list.call[i] = e;
            }
            list.next[last] = e;
            list.prev[e] = last;
            last = e;
        }
        list
    }

    fn unlink(&mut self, e: usize) {
        let (p, n) = (self.prev[e], self.next[e]);
        self.next[p] = n;
        if n != NIL {
            self.prev[n] = p;
        }
    }

    fn relink(&mut self, e: usize) {
        let (p, n) = (self.prev[e], self.next[e]);
        self.next[p] = e;
        if n != NIL {
            self.prev[n] = e;
        }
    }

    fn lift(&mut self, op: usize) {
        self.unlink(self.call[op]);
        if self.ret[op] != NIL {
            self.unlink(self.ret[op]);
        }
    }

    fn unlift(&mut self, op: usize) {
        if self.ret[op] != NIL {
            self.relink(self.ret[op]);
        }
        self.relink(self.call[op]);
    }
}

/// The memo: configurations (operations taken, state) already explored.
type Memo<S> = HashSet<(Box<[u64]>, S), BuildHasherDefault<FastHasher>>;

/// The memo's hasher: a multiply-and-rotate hash (as rustc's FxHash), about
/// a quarter of the search's time less than the standard SipHash. The memo
/// is built from a history, not from input an attacker chooses to collide,
/// and a collision costs only a comparison.
#[derive(Default)]
struct FastHasher(u64);

impl FastHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("eight bytes")));
        }
        for &byte in chunks.remainder() {
            self.add(u64::from(byte));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// An operation taken (or dropped): which result of its step was chosen,
/// whether its step had more results to try, and the state before it, to
/// undo it.
struct Frame<S> {
    op: usize,
    choice: usize,
    more: bool,
    before: S,
}

/// The search for one part, resumable.
pub(crate) struct Search<'a, M: NondeterministicModel> {
    views: Vec<View<'a, M>>,
    list: Entries,
    /// Operations with an output, which every linearization must take.
    required: usize,
    taken_required: usize,
    taken: Box<[u64]>,
    seen: Memo<M::State>,
    stack: Vec<Frame<M::State>>,
    state: M::State,
    best: Option<(usize, Stuck<M::State>)>,
    cur: usize,
    /// The results of the step being tried (reused: see
    /// [`NondeterministicModel::steps`]).
    results: Vec<(M::State, M::Output)>,
}

impl<'a, M: NondeterministicModel> Search<'a, M> {
    pub(crate) fn new(model: &M, views: Vec<View<'a, M>>) -> Self {
        let list = Entries::new(&views);
        let cur = list.next[list.head];
        Search {
            required: views.iter().filter(|v| v.output.is_some()).count(),
            taken_required: 0,
            taken: vec![0u64; views.len().div_ceil(64)].into(),
            seen: Memo::default(),
            stack: Vec::new(),
            state: model.init(),
            best: None,
            cur,
            results: Vec::new(),
            list,
            views,
        }
    }

    /// The operations it searches.
    pub(crate) fn views(&self) -> &[View<'a, M>] {
        &self.views
    }

    /// An estimate of the memory its memo and stack hold, in bytes: each
    /// memo entry's slot in the table (with the table's slack and control
    /// byte), its set of operations, and its state's inline size; what a
    /// state owns on the heap (a `String`'s text) is not counted.
    pub(crate) fn bytes(&self) -> usize {
        let slot = std::mem::size_of::<(Box<[u64]>, M::State)>() + 1;
        let set = self.taken.len() * 8 + 16;
        let frame = std::mem::size_of::<Frame<M::State>>();
        self.seen.capacity() * slot * 8 / 7 + self.seen.len() * set + self.stack.len() * frame
    }

    /// Runs at most `fuel` steps, until `deadline`, and while the memo
    /// holds at most `memory` bytes: the positions of a linearization
    /// (operations with an unknown outcome may be left out), where the
    /// search got stuck, or why it paused. A paused search resumes where it
    /// left off.
    pub(crate) fn run(
        &mut self,
        model: &M,
        mut fuel: u64,
        deadline: Option<Instant>,
        memory: Option<usize>,
    ) -> Result<Result<Vec<usize>, Stuck<M::State>>, Pause> {
        let mut count = 0u64;
        loop {
            if self.taken_required == self.required {
                return Ok(Ok(self.path().0));
            }
            if fuel == 0 {
                return Err(Pause::Fuel);
            }
            fuel -= 1;
            count += 1;
            if count % STRIDE == 1 {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err(Pause::Time);
                }
                if memory.is_some_and(|m| self.bytes() > m) {
                    return Err(Pause::Memory);
                }
            }
            let cur = self.cur;
            if cur != NIL && !self.list.op[cur].1 {
                let op = self.list.op[cur].0;
                if !self.take(model, op, 0) {
                    self.cur = self.list.next[cur];
                }
                continue;
            }
            // A return (or the end) came up before its operation was taken.
            let blocked = if cur == NIL { NIL } else { self.list.op[cur].0 };
            if blocked != NIL && self.views[blocked].output.is_none() {
                // Its outcome is unknown and its time is up: it never took
                // effect, unless that was tried already.
                if self.drop_op(blocked) {
                    continue;
                }
            } else if self.best.as_ref().is_none_or(|b| self.stack.len() > b.0) {
                let (order, dropped) = self.path();
                let stuck = Stuck {
                    order,
                    dropped,
                    state: self.state.clone(),
                    blocked,
                };
                self.best = Some((self.stack.len(), stuck));
            }
            if !self.backtrack(model) {
                let stuck = self.best.take().map(|b| b.1).unwrap_or_else(|| Stuck {
                    order: Vec::new(),
                    dropped: Vec::new(),
                    state: model.init(),
                    blocked: NIL,
                });
                return Ok(Err(stuck));
            }
        }
    }

    /// The operations taken on the current path, and those dropped.
    fn path(&self) -> (Vec<usize>, Vec<usize>) {
        let (mut taken, mut dropped) = (Vec::with_capacity(self.stack.len()), Vec::new());
        for frame in &self.stack {
            match frame.choice {
                DROP => dropped.push(frame.op),
                _ => taken.push(frame.op),
            }
        }
        (taken, dropped)
    }

    fn mark(&mut self, op: usize, on: bool) {
        if on {
            self.taken[op / 64] |= 1 << (op % 64);
        } else {
            self.taken[op / 64] &= !(1 << (op % 64));
        }
    }

    /// Takes `op` with the first of its step's results from `from` on that
    /// matches its output and leads to a configuration not seen yet;
    /// whether there was one.
    fn take(&mut self, model: &M, op: usize, from: usize) -> bool {
        let view = self.views[op];
        self.results.clear();
        model.steps(&self.state, view.input, &mut self.results);
        self.mark(op, true);
        let count = self.results.len();
        for choice in from..count {
            if view.output.is_some_and(|o| *o != self.results[choice].1) {
                continue;
            }
            let next = &self.results[choice].0;
            if self.seen.insert((self.taken.clone(), next.clone())) {
                let next = self.results.swap_remove(choice).0;
                let before = std::mem::replace(&mut self.state, next);
                self.push(op, choice, choice + 1 < count, before);
                return true;
            }
        }
        self.mark(op, false);
        false
    }

    /// Drops `op` (it never took effect), if that leads to a configuration
    /// not seen yet.
    fn drop_op(&mut self, op: usize) -> bool {
        self.mark(op, true);
        if self.seen.insert((self.taken.clone(), self.state.clone())) {
            self.push(op, DROP, false, self.state.clone());
            return true;
        }
        self.mark(op, false);
        false
    }

    fn push(&mut self, op: usize, choice: usize, more: bool, before: M::State) {
        self.stack.push(Frame {
            op,
            choice,
            more,
            before,
        });
        self.list.lift(op);
        if self.views[op].output.is_some() {
            self.taken_required += 1;
        }
        self.cur = self.list.next[self.list.head];
    }

    /// Undoes choices until one has an untried alternative, and moves to
    /// it; `false` when there is none left.
    fn backtrack(&mut self, model: &M) -> bool {
        while let Some(Frame {
            op,
            choice,
            more,
            before,
        }) = self.stack.pop()
        {
            self.state = before;
            self.mark(op, false);
            self.list.unlift(op);
            if self.views[op].output.is_some() {
                self.taken_required -= 1;
            }
            if choice == DROP {
                // Dropping was the last thing to try at its return.
                continue;
            }
            if !(more && self.take(model, op, choice + 1)) {
                self.cur = self.list.next[self.list.call[op]];
            }
            return true;
        }
        false
    }
}

/// Searches `views` to the end, within `deadline` and `memory`: `None` if
/// the budget ran out first.
pub(crate) fn search<'a, M: NondeterministicModel>(
    model: &M,
    views: &[View<'a, M>],
    deadline: Option<Instant>,
    memory: Option<usize>,
) -> Option<Result<Vec<usize>, Stuck<M::State>>> {
    Search::new(model, views.to_vec())
        .run(model, u64::MAX, deadline, memory)
        .ok()
}
