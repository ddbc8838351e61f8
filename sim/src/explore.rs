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

mod report;
mod state;
mod step;
#[cfg(test)]
mod tests;

use crate::node::{Node, NodeId};
use crate::storage::Storage;
use crate::violation::{Broken, Property};
use std::collections::HashMap;
use std::fmt::{self, Debug};
use std::hash::Hash;
use std::rc::Rc;

pub use report::{Counterexample, Explored, Transition, View, LIMIT_PROPERTY, PANIC_PROPERTY};
use state::{fingerprint, trace_len, view, State, Step, Visit};

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

type Invariant<N> = (Property, Box<dyn Fn(&View<N>) -> Result<(), Broken>>);
type StepCheck<N> = (Property, Box<dyn Fn(&Transition<N>) -> Result<(), Broken>>);
type Goal<N> = (String, Box<dyn Fn(&View<N>) -> bool>);

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
        property: Property,
        check: impl Fn(&View<N>) -> Result<(), Broken> + 'static,
    ) -> Self {
        self.invariants.push((property, Box::new(check)));
        self
    }

    /// `property` must hold of every step, seen as the state before it and
    /// the state after it ("a decision never changes").
    pub fn every_step(
        mut self,
        property: Property,
        check: impl Fn(&Transition<N>) -> Result<(), Broken> + 'static,
    ) -> Self {
        self.steps.push((property, Box::new(check)));
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
                        property: LIMIT_PROPERTY,
                        detail: format!(
                            "more than {} states: the model (or a node's state) grows without bound",
                            self.max_states
                        ),
                        nodes: Box::default(),
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
        let fail = |property: &Property, broken: Broken| Counterexample {
            property: *property,
            detail: broken.detail,
            nodes: broken.nodes.into(),
            trace: self.trace(states, visits, id),
            states: states.len(),
        };
        for (property, check) in &self.invariants {
            check(&view).map_err(|b| fail(property, b))?;
        }
        if let Some(before) = before {
            let step = Transition {
                before: self::view(&states[before]),
                after: self::view(&states[id]),
            };
            for (property, check) in &self.steps {
                check(&step).map_err(|b| fail(property, b))?;
            }
        }
        for (slot, (_, goal)) in goals.iter_mut().zip(&self.goals) {
            if slot.is_none() && goal(&view) {
                *slot = Some(id);
            }
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
            property: PANIC_PROPERTY,
            detail: format!("{node} panicked: {message}"),
            nodes: Box::new([node]),
            trace,
            states,
        }
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
