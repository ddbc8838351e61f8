//! Exhaustive checking of small cases: every ordering, loss and crash.
//!
//! A [`Sim`](crate::Sim) follows one run per seed. An [`Explorer`] follows
//! every run the model allows, breadth first over states, as model checkers
//! such as TLC, DSLabs and stateright do: from each state, every message in
//! flight may be delivered next (or lost, or delivered twice, if the model
//! allows it), every pending timer may fire, every client request may
//! arrive, and a node may crash or restart. States already seen are not
//! explored again, so a small protocol's whole state space fits in a
//! fraction of a second. Because the search is breadth first, the first
//! state that breaks a property is one of the closest to the start: its
//! trace is a shortest counterexample.
//!
//! The nodes are the same [`Node`] types the simulator runs; the explorer
//! needs only that a node, its messages and its timers can be cloned,
//! hashed and compared (`#[derive(Clone, PartialEq, Eq, Hash)]`). Time
//! stands still in an exploration (`ctx.now()` is always zero): any pending
//! timer may fire at any step, which covers every timing a real run could
//! have. The network is a set: a message sent twice while the first copy is
//! still in flight is one message.

use crate::node::{Ctx, Effect, Node, NodeId, RequestId};
use crate::panics;
use crate::rng::SimRng;
use crate::storage::Storage;
use crate::time::Time;
use crate::violation::Broken;
use std::collections::HashMap;
use std::fmt::{self, Debug};
use std::hash::{Hash, Hasher};
use std::rc::Rc;

/// What the explorer needs of a node type beyond [`Node`]: that a node, its
/// messages and its timers can be cloned, hashed and compared. Every node
/// type that derives `Clone, PartialEq, Eq, Hash` (with its message and timer
/// types deriving `PartialEq, Eq, Hash`) has it.
pub trait Explorable: Node<Msg = Self::M, Timer = Self::T> + Clone + Eq + Hash {
    /// The message type, hashable.
    type M: Clone + Debug + Eq + Hash + serde::Serialize + serde::de::DeserializeOwned;
    /// The timer type, hashable.
    type T: Clone + Debug + Eq + Hash + serde::Serialize;
}

impl<N> Explorable for N
where
    N: Node + Clone + Eq + Hash,
    N::Msg: Eq + Hash,
    N::Timer: Eq + Hash,
{
    type M = N::Msg;
    type T = N::Timer;
}

/// A message in flight.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Flight<M> {
    from: NodeId,
    to: NodeId,
    msg: M,
}

/// One state of the whole system.
struct State<N: Node> {
    /// Shared between states until a step changes them.
    nodes: Vec<Option<Rc<N>>>,
    storage: Vec<Rc<Storage>>,
    timers: Vec<Vec<N::Timer>>,
    flight: Vec<Flight<N::Msg>>,
    /// The client requests that have not arrived yet (indexes).
    requests: Vec<usize>,
    crashes: usize,
    losses: usize,
}

impl<N: Explorable> Clone for State<N> {
    fn clone(&self) -> Self {
        State {
            nodes: self.nodes.clone(),
            storage: self.storage.clone(),
            timers: self.timers.clone(),
            flight: self.flight.clone(),
            requests: self.requests.clone(),
            crashes: self.crashes,
            losses: self.losses,
        }
    }
}

impl<N: Explorable> PartialEq for State<N> {
    fn eq(&self, other: &Self) -> bool {
        self.nodes == other.nodes
            && self.timers == other.timers
            && self.flight == other.flight
            && self.requests == other.requests
            && self.crashes == other.crashes
            && self.losses == other.losses
            && self
                .storage
                .iter()
                .zip(&other.storage)
                .all(|(a, b)| Rc::ptr_eq(a, b) || a.entries == b.entries)
    }
}

impl<N: Explorable> Eq for State<N> {}

impl<N: Explorable> Hash for State<N> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.nodes.hash(h);
        self.timers.hash(h);
        self.flight.hash(h);
        self.requests.hash(h);
        self.crashes.hash(h);
        self.losses.hash(h);
        for s in &self.storage {
            s.entries.hash(h);
        }
    }
}

/// A fixed hash, the same in every run, to find states already seen and
/// to put sets in a canonical order.
fn fingerprint<T: Hash>(value: &T) -> u64 {
    let mut h = Fx(0);
    value.hash(&mut h);
    h.finish()
}

/// A small, fast multiply-rotate hash (as in Firefox and rustc), enough for
/// telling states apart: equal fingerprints are compared in full.
struct Fx(u64);

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u8(&mut self, n: u8) {
        self.write_u64(n as u64);
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(n as u64);
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// What the checks see of one state.
pub struct View<'a, N: Node> {
    nodes: &'a [Option<Rc<N>>],
    storage: &'a [Rc<Storage>],
    in_flight: usize,
}

impl<N: Node> View<'_, N> {
    /// Node `id`'s state, or `None` while it is crashed.
    pub fn node(&self, id: NodeId) -> Option<&N> {
        self.nodes[id.0].as_deref()
    }

    /// Node `id`'s durable storage.
    pub fn storage(&self, id: NodeId) -> &Storage {
        &self.storage[id.0]
    }

    /// Every node id.
    pub fn ids(&self) -> impl Iterator<Item = NodeId> {
        (0..self.nodes.len()).map(NodeId)
    }

    /// How many messages are in flight.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }
}

type Invariant<N> = (String, Box<dyn Fn(&View<N>) -> Result<(), Broken>>);
type StepCheck<N> = (
    String,
    Box<dyn Fn(&View<N>, &View<N>) -> Result<(), Broken>>,
);
type Goal<N> = (String, Box<dyn Fn(&View<N>) -> bool>);

/// A property that failed, with the shortest run that breaks it.
#[derive(Clone, Debug, PartialEq)]
pub struct Counterexample {
    /// The property, in plain words.
    pub property: String,
    /// What exactly went wrong in the last state.
    pub detail: String,
    /// The nodes involved.
    pub nodes: Vec<NodeId>,
    /// The run, one line per step, from the initial state.
    pub trace: Vec<String>,
    /// The states explored before it was found.
    pub states: usize,
}

/// What an exploration that found no counterexample learned.
#[derive(Clone, Debug, PartialEq)]
pub struct Explored {
    /// The distinct states reached.
    pub states: usize,
    /// The longest of the shortest paths to a state (the search depth).
    pub depth: usize,
    /// For each goal, the shortest run that reaches it, if one does.
    pub goals: Vec<(String, Option<Vec<String>>)>,
}

impl fmt::Display for Counterexample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}: {}", self.property, self.detail)?;
        for line in &self.trace {
            writeln!(f, "  {line}")?;
        }
        Ok(())
    }
}

/// The property reported when a handler panics during an exploration.
pub const PANIC_PROPERTY: &str = "handlers run without panicking";
/// The property reported when the state space is larger than the limit.
pub const LIMIT_PROPERTY: &str = "the model is small enough to explore";

/// A breadth-first exploration of every run of a small system.
pub struct Explorer<N: Node> {
    factory: Rc<dyn Fn(NodeId) -> N>,
    nodes: usize,
    requests: Vec<(NodeId, N::Request)>,
    losses: usize,
    duplication: bool,
    quiet_timers: bool,
    crashes: usize,
    crashable: Vec<NodeId>,
    max_states: usize,
    invariants: Vec<Invariant<N>>,
    steps: Vec<StepCheck<N>>,
    goals: Vec<Goal<N>>,
}

/// One step of a run.
enum Step<N: Node> {
    Start,
    Deliver(Flight<N::Msg>),
    Lose(Flight<N::Msg>),
    Drop(Flight<N::Msg>),
    Timer(NodeId, N::Timer),
    Request(usize),
    Crash(NodeId),
    Restart(NodeId),
}

/// How a state was reached: its parent, the step taken, its depth.
struct Visit<N: Node> {
    parent: usize,
    step: Step<N>,
    depth: usize,
}

/// A step from a state, and the state after it (or the panic of the node
/// that took it).
type Successor<N> = (Step<N>, Result<State<N>, String>);

impl<N: Explorable> Explorer<N> {
    /// A system of `nodes` nodes built by `factory` (again on every restart),
    /// on a network that reorders but neither loses nor duplicates, without
    /// crashes.
    pub fn new(nodes: usize, factory: impl Fn(NodeId) -> N + 'static) -> Self {
        Explorer {
            factory: Rc::new(factory),
            nodes,
            requests: Vec::new(),
            losses: 0,
            duplication: false,
            quiet_timers: false,
            crashes: 0,
            crashable: (0..nodes).map(NodeId).collect(),
            max_states: 1_000_000,
            invariants: Vec::new(),
            steps: Vec::new(),
            goals: Vec::new(),
        }
    }

    /// A client request that reaches `node` at some point of every run.
    pub fn request(mut self, node: NodeId, request: N::Request) -> Self {
        self.requests.push((node, request));
        self
    }

    /// Up to `losses` messages per run may be lost (any of them).
    pub fn with_loss(mut self, losses: usize) -> Self {
        self.losses = losses;
        self
    }

    /// Any message may be delivered more than once.
    pub fn with_duplication(mut self) -> Self {
        self.duplication = true;
        self
    }

    /// Timers fire only when no message is in flight: every timeout is
    /// longer than every message delay, as on the course's networks (delays
    /// of at most 10 ms, timeouts of 30 ms and more). A lost message still
    /// lets a timer fire. This prunes the many runs in which a retransmission
    /// races the message it repeats, and keeps small models small.
    pub fn timers_when_quiet(mut self) -> Self {
        self.quiet_timers = true;
        self
    }

    /// Up to `crashes` crashes per run, of the nodes in `who`; a crashed
    /// node may restart at any later step (with its storage).
    pub fn with_crashes(mut self, crashes: usize, who: &[NodeId]) -> Self {
        self.crashes = crashes;
        self.crashable = who.to_vec();
        self
    }

    /// Stops with [`LIMIT_PROPERTY`] beyond this many states.
    pub fn max_states(mut self, limit: usize) -> Self {
        self.max_states = limit;
        self
    }

    /// `property` must hold in every reachable state.
    pub fn always(
        mut self,
        property: impl Into<String>,
        check: impl Fn(&View<N>) -> Result<(), Broken> + 'static,
    ) -> Self {
        self.invariants.push((property.into(), Box::new(check)));
        self
    }

    /// `property` must hold of every step, seen as the state before it and
    /// the state after it ("a decision never changes").
    pub fn every_step(
        mut self,
        property: impl Into<String>,
        check: impl Fn(&View<N>, &View<N>) -> Result<(), Broken> + 'static,
    ) -> Self {
        self.steps.push((property.into(), Box::new(check)));
        self
    }

    /// Records whether some reachable state satisfies `goal`, and the
    /// shortest run to one (see [`Explored::goals`]).
    pub fn goal(
        mut self,
        name: impl Into<String>,
        goal: impl Fn(&View<N>) -> bool + 'static,
    ) -> Self {
        self.goals.push((name.into(), Box::new(goal)));
        self
    }

    /// Explores every reachable state, breadth first.
    pub fn run(&self) -> Result<Explored, Counterexample> {
        // Every state reached, by number; its visit; the numbers of the
        // states with a given fingerprint.
        let mut states: Vec<State<N>> = Vec::new();
        let mut visits: Vec<Visit<N>> = Vec::new();
        let mut index: HashMap<u64, Vec<usize>> = HashMap::new();
        let mut goals: Vec<Option<usize>> = vec![None; self.goals.len()];

        let mut initial = State {
            nodes: (0..self.nodes)
                .map(|i| Some(Rc::new((self.factory)(NodeId(i)))))
                .collect(),
            storage: (0..self.nodes)
                .map(|_| Rc::new(Storage::default()))
                .collect(),
            timers: vec![Vec::new(); self.nodes],
            flight: Vec::new(),
            requests: (0..self.requests.len()).collect(),
            crashes: 0,
            losses: 0,
        };
        for i in 0..self.nodes {
            if let Err(panic) = self.handle(&mut initial, NodeId(i), |n, ctx| n.on_start(ctx)) {
                let trace = vec![format!("  0. every node starts: {} panicked", NodeId(i))];
                return Err(self.panicked(panic, trace, NodeId(i), 0));
            }
        }
        visits.push(Visit {
            parent: usize::MAX,
            step: Step::Start,
            depth: 0,
        });
        index.insert(fingerprint(&initial), vec![0]);
        states.push(initial);
        self.judge(None, 0, &states, &visits, &mut goals)?;

        let mut next_to_expand = 0;
        while next_to_expand < states.len() {
            let at = next_to_expand;
            next_to_expand += 1;
            for (step, next) in self.successors(&states[at]) {
                let next = match next {
                    Ok(next) => next,
                    Err(panic) => {
                        let node = self.actor(&step).unwrap_or(NodeId(0));
                        let mut trace = self.trace(&states, &visits, at);
                        trace.push(format!(
                            "{:>3}. {}",
                            trace_len(&visits, at),
                            self.label(&step)
                        ));
                        return Err(self.panicked(panic, trace, node, states.len()));
                    }
                };
                let key = fingerprint(&next);
                let bucket = index.entry(key).or_default();
                if bucket.iter().any(|&i| states[i] == next) {
                    continue;
                }
                let id = states.len();
                bucket.push(id);
                visits.push(Visit {
                    parent: at,
                    step,
                    depth: visits[at].depth + 1,
                });
                states.push(next);
                self.judge(Some(at), id, &states, &visits, &mut goals)?;
                if states.len() > self.max_states {
                    return Err(Counterexample {
                        property: LIMIT_PROPERTY.to_string(),
                        detail: format!(
                            "more than {} states: the model (or a node's state) grows without bound",
                            self.max_states
                        ),
                        nodes: Vec::new(),
                        trace: self.trace(&states, &visits, id),
                        states: states.len(),
                    });
                }
            }
        }
        Ok(Explored {
            states: states.len(),
            depth: visits.iter().map(|v| v.depth).max().unwrap_or(0),
            goals: self
                .goals
                .iter()
                .zip(goals)
                .map(|((name, _), at)| (name.clone(), at.map(|i| self.trace(&states, &visits, i))))
                .collect(),
        })
    }

    /// Checks the properties of a newly reached state (number `id`,
    /// reached from `before`) and notes the goals it reaches.
    fn judge(
        &self,
        before: Option<usize>,
        id: usize,
        states: &[State<N>],
        visits: &[Visit<N>],
        goals: &mut [Option<usize>],
    ) -> Result<(), Counterexample> {
        let view = view(&states[id]);
        let fail = |property: &String, broken: Broken| Counterexample {
            property: property.clone(),
            detail: broken.detail,
            nodes: broken.nodes,
            trace: self.trace(states, visits, id),
            states: states.len(),
        };
        for (property, check) in &self.invariants {
            check(&view).map_err(|b| fail(property, b))?;
        }
        if let Some(before) = before {
            let before = self::view(&states[before]);
            for (property, check) in &self.steps {
                check(&before, &view).map_err(|b| fail(property, b))?;
            }
        }
        for (slot, (_, goal)) in goals.iter_mut().zip(&self.goals) {
            if slot.is_none() && goal(&view) {
                *slot = Some(id);
            }
        }
        Ok(())
    }

    /// Every step possible from `state`, with the state after it.
    fn successors(&self, state: &State<N>) -> Vec<Successor<N>> {
        let mut out = Vec::new();
        for (i, f) in state.flight.iter().enumerate() {
            if state.nodes[f.to.0].is_some() {
                let mut next = state.clone();
                if !self.duplication {
                    next.flight.remove(i);
                }
                let (from, msg) = (f.from, f.msg.clone());
                let result =
                    self.handle(&mut next, f.to, move |n, ctx| n.on_message(ctx, from, msg));
                out.push((Step::Deliver(f.clone()), result.map(|()| next)));
            }
            if state.nodes[f.to.0].is_none() {
                // A message that reaches a crashed node is dropped (free).
                let mut next = state.clone();
                next.flight.remove(i);
                out.push((Step::Drop(f.clone()), Ok(next)));
            } else if state.losses < self.losses {
                let mut next = state.clone();
                next.flight.remove(i);
                next.losses += 1;
                out.push((Step::Lose(f.clone()), Ok(next)));
            }
        }
        let timers_may_fire = !self.quiet_timers || state.flight.is_empty();
        for (node, timers) in state.timers.iter().enumerate().filter(|_| timers_may_fire) {
            for (i, timer) in timers.iter().enumerate() {
                let mut next = state.clone();
                next.timers[node].remove(i);
                let t = timer.clone();
                let result = self.handle(&mut next, NodeId(node), move |n, ctx| n.on_timer(ctx, t));
                out.push((
                    Step::Timer(NodeId(node), timer.clone()),
                    result.map(|()| next),
                ));
            }
        }
        for (i, &r) in state.requests.iter().enumerate() {
            let (node, request) = &self.requests[r];
            if state.nodes[node.0].is_some() {
                let mut next = state.clone();
                next.requests.remove(i);
                let req = request.clone();
                let id = RequestId(r as u64);
                let result =
                    self.handle(&mut next, *node, move |n, ctx| n.on_request(ctx, id, req));
                out.push((Step::Request(r), result.map(|()| next)));
            }
        }
        for &id in &self.crashable {
            if state.nodes[id.0].is_some() && state.crashes < self.crashes {
                let mut next = state.clone();
                next.nodes[id.0] = None;
                next.timers[id.0].clear();
                next.crashes += 1;
                out.push((Step::Crash(id), Ok(next)));
            } else if state.nodes[id.0].is_none() {
                let mut next = state.clone();
                next.nodes[id.0] = Some(Rc::new((self.factory)(id)));
                let result = self.handle(&mut next, id, |n, ctx| n.on_start(ctx));
                out.push((Step::Restart(id), result.map(|()| next)));
            }
        }
        out
    }

    /// Runs one handler of node `id` in `state` and applies its effects.
    fn handle(
        &self,
        state: &mut State<N>,
        id: NodeId,
        f: impl FnOnce(&mut N, &mut Ctx<N>),
    ) -> Result<(), String> {
        let peers: Vec<NodeId> = (0..self.nodes).map(NodeId).filter(|&p| p != id).collect();
        let mut rng = SimRng::fork(0, id.0 as u64);
        let mut effects = Vec::new();
        let node = Rc::make_mut(
            state.nodes[id.0]
                .as_mut()
                .expect("a handler of a running node"),
        );
        let mut ctx = Ctx {
            id,
            now: Time::ZERO,
            peers: &peers,
            rng: &mut rng,
            storage: Rc::make_mut(&mut state.storage[id.0]),
            effects: &mut effects,
        };
        panics::catch(|| f(node, &mut ctx))?;
        for effect in effects {
            match effect {
                Effect::Send { to, msg } => {
                    if to.0 < self.nodes {
                        let flight = Flight { from: id, to, msg };
                        if !state.flight.contains(&flight) {
                            state.flight.push(flight);
                        }
                    }
                }
                Effect::SetTimer { timer, .. } => {
                    let timers = &mut state.timers[id.0];
                    if !timers.contains(&timer) {
                        timers.push(timer);
                    }
                }
                Effect::CancelTimer { timer } => state.timers[id.0].retain(|t| *t != timer),
                Effect::Reply { .. } => {}
            }
        }
        state
            .flight
            .sort_by_key(|f| (f.from, f.to, fingerprint(&f.msg)));
        for timers in &mut state.timers {
            timers.sort_by_key(fingerprint);
        }
        Ok(())
    }

    /// The steps from the initial state to state `id`, each with the
    /// state of the node that took it afterwards.
    fn trace(&self, states: &[State<N>], visits: &[Visit<N>], mut id: usize) -> Vec<String> {
        let mut path = Vec::new();
        while id != usize::MAX {
            path.push(id);
            id = visits[id].parent;
        }
        path.reverse();
        path.iter()
            .enumerate()
            .map(|(i, &id)| {
                let step = &visits[id].step;
                let shown: Vec<NodeId> = match step {
                    Step::Start => (0..self.nodes).map(NodeId).collect(),
                    _ => self.actor(step).into_iter().collect(),
                };
                let mut line = format!("{i:>3}. {}", self.label(step));
                for node in shown {
                    match &states[id].nodes[node.0] {
                        Some(n) => line += &format!("\n       {node}: {n:?}"),
                        None => line += &format!("\n       {node}: (crashed)"),
                    }
                }
                line
            })
            .collect()
    }

    /// A step in words.
    fn label(&self, step: &Step<N>) -> String {
        match step {
            Step::Start => "every node starts".to_string(),
            Step::Deliver(f) => format!("{} → {} delivered: {:?}", f.from, f.to, f.msg),
            Step::Lose(f) => format!("{} → {} lost: {:?}", f.from, f.to, f.msg),
            Step::Drop(f) => format!(
                "{} → {} dropped, {} is down: {:?}",
                f.from, f.to, f.to, f.msg
            ),
            Step::Timer(node, timer) => format!("{node} timer fires: {timer:?}"),
            Step::Request(r) => {
                let (node, request) = &self.requests[*r];
                format!("client request r{r} reaches {node}: {request:?}")
            }
            Step::Crash(node) => format!("{node} crashes"),
            Step::Restart(node) => format!("{node} restarts"),
        }
    }

    /// The node that took a step (none for a loss or a drop).
    fn actor(&self, step: &Step<N>) -> Option<NodeId> {
        match step {
            Step::Start | Step::Lose(_) | Step::Drop(_) => None,
            Step::Deliver(f) => Some(f.to),
            Step::Timer(node, _) | Step::Crash(node) | Step::Restart(node) => Some(*node),
            Step::Request(r) => Some(self.requests[*r].0),
        }
    }

    fn panicked(
        &self,
        message: String,
        trace: Vec<String>,
        node: NodeId,
        states: usize,
    ) -> Counterexample {
        Counterexample {
            property: PANIC_PROPERTY.to_string(),
            detail: format!("{node} panicked: {message}"),
            nodes: vec![node],
            trace,
            states,
        }
    }
}

/// The number of steps from the start to state `id`, plus one.
fn trace_len<N: Node>(visits: &[Visit<N>], id: usize) -> usize {
    visits[id].depth + 1
}

fn view<N: Node>(state: &State<N>) -> View<'_, N> {
    View {
        nodes: &state.nodes,
        storage: &state.storage,
        in_flight: state.flight.len(),
    }
}

impl<N: Node> Debug for Explorer<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Explorer")
            .field("nodes", &self.nodes)
            .field("losses", &self.losses)
            .field("duplication", &self.duplication)
            .field("crashes", &self.crashes)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
