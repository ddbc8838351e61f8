//! The search for a linearization of one key's operations: Wing & Gong's
//! backtracking with Lowe's memo of configurations already explored.
//!
//! The calls and returns are laid out in time order in a doubly linked list.
//! Walking it from the front, a call is a candidate to take effect next; the
//! search applies it to the model and, if the output matches, lifts its call
//! and return out of the list and starts again from the front. Reaching a
//! return means the operation it closes had to take effect already but no
//! candidate order allowed it: undo the last choice and try the next
//! candidate. A configuration is the set of operations taken so far plus the
//! model's state; two paths that reach the same configuration have the same
//! future, so each is explored once (Lowe, "Testing for linearizability",
//! 2017). Operations that never completed have a call and no return: they
//! may be taken at any point after their call, or never.

use super::model::Model;
use std::collections::HashSet;

/// One operation as the search sees it.
pub(crate) struct View<'a, M: Model> {
    /// Its index in the whole history.
    pub id: usize,
    pub input: &'a M::Input,
    /// `None` when the operation never completed, or completed after the
    /// part of the history being checked.
    pub output: Option<&'a M::Output>,
    pub invoked: u64,
    pub returned: Option<u64>,
}

impl<M: Model> Clone for View<'_, M> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<M: Model> Copy for View<'_, M> {}

/// Where the search got furthest before it ran out of orders.
pub(crate) struct Stuck<S> {
    /// The longest sequence of operations (positions in the views) that
    /// respected real time and the model.
    pub order: Vec<usize>,
    /// The model's state after it.
    pub state: S,
    /// The operation that had to be taken next, because its return came up,
    /// and could not be (a position in the views).
    pub blocked: usize,
}

const NIL: usize = usize::MAX;

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
    fn new<M: Model>(views: &[View<'_, M>]) -> Entries {
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

/// Finds an order of `views` that respects real time and the model: the
/// positions in order (operations never completed may be left out), or
/// where the search got stuck.
pub(crate) fn search<M: Model>(
    model: &M,
    views: &[View<'_, M>],
) -> Result<Vec<usize>, Stuck<M::State>> {
    let mut list = Entries::new(views);
    let complete = views.iter().filter(|v| v.returned.is_some()).count();
    let mut taken_complete = 0;
    let mut taken = vec![0u64; views.len().div_ceil(64)];
    let mut seen: HashSet<(Vec<u64>, M::State)> = HashSet::new();
    // The operations taken, each with the state before it.
    let mut stack: Vec<(usize, M::State)> = Vec::new();
    let mut state = model.init();
    let mut best: Option<Stuck<M::State>> = None;
    let mut cur = list.next[list.head];
    loop {
        if taken_complete == complete {
            return Ok(stack.iter().map(|(op, _)| *op).collect());
        }
        let at_return = cur == NIL || list.op[cur].1;
        if !at_return {
            let op = list.op[cur].0;
            let view = &views[op];
            let (next, output) = model.step(&state, view.input);
            if view.output.is_none_or(|o| *o == output) {
                taken[op / 64] |= 1 << (op % 64);
                if seen.insert((taken.clone(), next.clone())) {
                    stack.push((op, std::mem::replace(&mut state, next)));
                    list.lift(op);
                    if view.returned.is_some() {
                        taken_complete += 1;
                    }
                    cur = list.next[list.head];
                    continue;
                }
                taken[op / 64] &= !(1 << (op % 64));
            }
            cur = list.next[cur];
            continue;
        }
        // A return came up before its operation could be taken.
        if best.as_ref().is_none_or(|b| stack.len() > b.order.len()) {
            best = Some(Stuck {
                order: stack.iter().map(|(op, _)| *op).collect(),
                state: state.clone(),
                blocked: if cur == NIL { NIL } else { list.op[cur].0 },
            });
        }
        let Some((op, before)) = stack.pop() else {
            return Err(best.expect("a stuck point was recorded"));
        };
        state = before;
        taken[op / 64] &= !(1 << (op % 64));
        list.unlift(op);
        if views[op].returned.is_some() {
            taken_complete -= 1;
        }
        cur = list.next[list.call[op]];
    }
}
