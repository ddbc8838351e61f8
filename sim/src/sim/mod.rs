//! The simulator: an event queue in true time, the nodes, the network, and
//! the checks run after every event.

use crate::disk::Disk;
use crate::dump::{capture, Dump, DumpState};
use crate::history::Operation;
use crate::net::Network;
use crate::node::{EffectOf, Node, NodeId, RequestId};
use crate::rng::SimRng;
use crate::step::Step;
use crate::storage::Storage;
use crate::time::{Clock, Time};
use crate::trace::Trace;
use crate::violation::{Broken, Fact, Property, Stats, Violation};
use std::time::Duration;

mod engine;
mod faults;
mod queue;

use queue::Queue;

/// A check run after every step.
type Invariant<N> = (
    Property,
    Box<dyn FnMut(&Sim<N>, Step<'_, N>) -> Result<(), Broken>>,
);

/// Something due to happen at a point in true time.
enum Due<N: Node> {
    Start {
        node: NodeId,
    },
    Deliver {
        from: NodeId,
        to: NodeId,
        msg_id: u64,
        msg: N::Msg,
    },
    Timer {
        node: NodeId,
        key: u64,
    },
    Request {
        node: NodeId,
        id: RequestId,
    },
    /// The end of pause number `pause` of `node` (a stale one, after a
    /// crash, does nothing).
    Resume {
        node: NodeId,
        pause: u64,
    },
}

impl<N: Node> Due<N> {
    /// The node that handles it.
    fn node(&self) -> NodeId {
        match *self {
            Due::Start { node }
            | Due::Timer { node, .. }
            | Due::Request { node, .. }
            | Due::Resume { node, .. } => node,
            Due::Deliver { to, .. } => to,
        }
    }
}

/// One node's place in the run: its state while up, and what outlives a crash.
struct Slot<N: Node> {
    node: Option<N>,
    clock: Clock,
    rng: SimRng,
    /// What outlives a crash: the storage, and the disk it holds.
    storage: Storage,
    /// Pending timers and the key of their scheduled firing.
    timers: Vec<(N::Timer, u64)>,
    /// While paused: the pause's number and what came due for the node
    /// meanwhile, in order (see [`Sim::pause`]).
    paused: Option<Paused<N>>,
    /// How many times as long each timer the node sets takes (1: as set;
    /// see [`Sim::set_slowness`]).
    slowness: u32,
}

/// A pause in progress.
struct Paused<N: Node> {
    number: u64,
    until: Time,
    held: Vec<Due<N>>,
}

/// A deterministic simulation of `N` nodes on an unreliable network.
///
/// Everything random is drawn from one seed, so the same seed and the same
/// scenario give the same trace, event for event.
pub struct Sim<N: Node> {
    seed: u64,
    now: Time,
    rng: SimRng,
    factory: Box<dyn FnMut(NodeId) -> N>,
    slots: Vec<Slot<N>>,
    peers: Vec<Vec<NodeId>>,
    network: Network,
    /// `blocked[from * n + to]`: messages on that directed link are dropped.
    blocked: Vec<bool>,
    queue: Queue<Due<N>>,
    next_msg: u64,
    next_timer: u64,
    next_pause: u64,
    requests: Vec<(NodeId, N::Request)>,
    /// `invoked[id]`: the position of request `id` in `history`, once it has
    /// arrived (requests sent with different delays arrive out of id order).
    invoked: Vec<Option<usize>>,
    history: Vec<Operation<N>>,
    /// The events so far, and those of the step being taken.
    trace: Trace<N>,
    effects: Vec<EffectOf<N>>,
    invariants: Vec<Invariant<N>>,
    violation: Option<Violation>,
    stats: Stats,
    /// Each restart: the node and the index of its `Restart` event (kept
    /// whatever the trace keeps, for [`Sim::fact`]).
    restarts: Vec<(NodeId, u64)>,
    max_events: u64,
    measure_bytes: bool,
    /// Node states recorded for a replay (only while `dump::capture` is on).
    states: Option<Vec<DumpState>>,
}

impl<N: Node> Sim<N> {
    /// A run of `nodes` nodes built by `factory`, driven by `seed`, on the
    /// default network (reliable, 1–10 ms). Each node starts at time zero.
    pub fn new(seed: u64, nodes: usize, factory: impl FnMut(NodeId) -> N + 'static) -> Self {
        assert!(nodes > 0, "a simulation needs at least one node");
        let ids: Vec<NodeId> = (0..nodes).map(NodeId).collect();
        let mut sim = Sim {
            seed,
            now: Time::ZERO,
            rng: SimRng::new(seed),
            factory: Box::new(factory),
            slots: Vec::with_capacity(nodes),
            peers: ids
                .iter()
                .map(|me| ids.iter().copied().filter(|p| p != me).collect())
                .collect(),
            network: Network::default(),
            blocked: vec![false; nodes * nodes],
            queue: Queue::new(),
            next_msg: 0,
            next_timer: 0,
            next_pause: 0,
            requests: Vec::new(),
            invoked: Vec::new(),
            history: Vec::new(),
            trace: Trace::new(),
            effects: Vec::new(),
            invariants: Vec::new(),
            violation: None,
            stats: Stats::default(),
            restarts: Vec::new(),
            max_events: 50_000_000,
            measure_bytes: false,
            states: capture::is_on().then(Vec::new),
        };
        for id in ids {
            let node = (sim.factory)(id);
            sim.slots.push(Slot {
                node: Some(node),
                clock: Clock::PERFECT,
                rng: SimRng::fork(seed, id.0 as u64),
                storage: Storage::default(),
                timers: Vec::new(),
                paused: None,
                slowness: 1,
            });
            sim.schedule(Time::ZERO, Due::Start { node: id });
        }
        sim
    }

    // ----- configuration -------------------------------------------------

    /// Replaces the network's behaviour from now on.
    pub fn set_network(&mut self, network: Network) {
        self.network = network;
    }

    /// The network's current behaviour.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// Sets how node `id`'s clock differs from true time.
    pub fn set_clock(&mut self, id: NodeId, clock: Clock) {
        self.slots[id.0].clock = clock;
    }

    /// Makes node `id` a straggler: from now on every timer it sets takes
    /// `factor` times as long as it asks (1: as asked), as on a machine
    /// with a failing disk or busy neighbours. A node's work is its timers
    /// (a task that takes 10 ms is a timer of 10 ms), so the node does the
    /// same work `factor` times slower; its messages travel as fast as any.
    /// Timers already pending keep their time. The factor outlives a crash
    /// (it belongs to the machine), and the trace notes each change.
    pub fn set_slowness(&mut self, id: NodeId, factor: u32) {
        assert!(factor > 0, "a slowness factor is at least 1");
        self.slots[id.0].slowness = factor;
        self.note(format!("{id} runs {factor}× slower"));
    }

    /// How many times as long node `id`'s timers take (1 unless set by
    /// [`Sim::set_slowness`]).
    pub fn slowness(&self, id: NodeId) -> u32 {
        self.slots[id.0].slowness
    }

    /// Keeps only the last `limit` events in the trace (`None`: all).
    pub fn limit_trace(&mut self, limit: Option<usize>) {
        self.trace.set_limit(limit);
    }

    /// Counts the serialised size of every message sent, in [`Stats::bytes`].
    pub fn measure_bytes(&mut self, on: bool) {
        self.measure_bytes = on;
    }

    /// Stops the run with a violation after this many events (a guard
    /// against message storms; the default is fifty million).
    pub fn max_events(&mut self, limit: u64) {
        self.max_events = limit;
    }

    /// Checks `property` after every step from now on. The check sees the
    /// whole simulation and the [`Step`] just taken: what triggered it and
    /// what that caused.
    pub fn check(
        &mut self,
        property: Property,
        check: impl FnMut(&Sim<N>, Step<'_, N>) -> Result<(), Broken> + 'static,
    ) {
        self.invariants.push((property, Box::new(check)));
    }

    // ----- what a scenario can read ---------------------------------------

    /// The seed of this run.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// True time now.
    pub fn now(&self) -> Time {
        self.now
    }

    /// How many nodes the run has.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Always false: a run has at least one node.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Every node id.
    pub fn ids(&self) -> impl Iterator<Item = NodeId> {
        (0..self.slots.len()).map(NodeId)
    }

    /// Node `id`'s state, or `None` while it is crashed.
    pub fn node(&self, id: NodeId) -> Option<&N> {
        self.slots[id.0].node.as_ref()
    }

    /// Whether node `id` is running.
    pub fn is_up(&self, id: NodeId) -> bool {
        self.slots[id.0].node.is_some()
    }

    /// Whether node `id` is paused ([`Sim::pause`]).
    pub fn is_paused(&self, id: NodeId) -> bool {
        self.slots[id.0].paused.is_some()
    }

    /// Node `id`'s durable storage.
    pub fn storage(&self, id: NodeId) -> &Storage {
        &self.slots[id.0].storage
    }

    /// Node `id`'s disk.
    pub fn disk(&self, id: NodeId) -> &Disk {
        &self.slots[id.0].storage.disk
    }

    /// What node `id`'s clock reads now.
    pub fn local_time(&self, id: NodeId) -> Time {
        self.slots[id.0].clock.local(self.now)
    }

    /// Node `id`'s clock model.
    pub fn clock(&self, id: NodeId) -> Clock {
        self.slots[id.0].clock
    }

    /// The events so far.
    pub fn trace(&self) -> &Trace<N> {
        &self.trace
    }

    /// Every client operation so far, in order of invocation.
    pub fn history(&self) -> &[Operation<N>] {
        &self.history
    }

    /// The operation of request `id`. Panics if the request has not
    /// reached its node yet.
    pub fn operation(&self, id: RequestId) -> &Operation<N> {
        let position = self.invoked.get(id.0 as usize).copied().flatten();
        let position = position.unwrap_or_else(|| panic!("{id} has not reached its node yet"));
        &self.history[position]
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The violation that stopped the run, if one did.
    pub fn violation(&self) -> Option<&Violation> {
        self.violation.as_ref()
    }

    /// Whether the run so far shows `fact`, for a failure about `nodes`
    /// (every node, if empty) that names events from `since` on (the whole
    /// run, if `None`): what chooses a property's hint
    /// ([`Property::hint_where`]).
    pub fn fact(&self, fact: Fact, nodes: &[NodeId], since: Option<u64>) -> bool {
        match fact {
            Fact::Restarted => self.restarts.iter().any(|(node, at)| {
                (nodes.is_empty() || nodes.contains(node)) && since.is_none_or(|s| *at > s)
            }),
            Fact::MessageLost => self.stats.dropped > 0,
        }
    }

    /// Draws from the scenario's own random stream (for choosing faults),
    /// separate from the network's and the nodes'.
    pub fn scenario_rng(&self) -> SimRng {
        SimRng::fork(self.seed, u64::MAX - self.stats.events)
    }

    // ----- running ----------------------------------------------------------

    /// Processes the next event. `Ok(false)` when nothing is left to happen.
    pub fn step(&mut self) -> Result<bool, Violation> {
        if let Some(v) = &self.violation {
            return Err(v.clone());
        }
        let Some((at, due)) = self.queue.pop() else {
            return Ok(false);
        };
        self.now = at;
        self.handle(due);
        self.finish_step()?;
        Ok(true)
    }

    /// Runs until `duration` of true time has passed.
    pub fn run_for(&mut self, duration: Duration) -> Result<(), Violation> {
        let until = self.now + duration;
        self.run_through(until)?;
        self.now = until;
        Ok(())
    }

    /// Runs until `done` holds (checked after every event) or `limit` of true
    /// time has passed. `Ok(true)` if `done` came to hold.
    pub fn run_until(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&Sim<N>) -> bool,
    ) -> Result<bool, Violation> {
        let until = self.now + limit;
        loop {
            if done(self) {
                return Ok(true);
            }
            match self.queue.next_time() {
                Some(at) if at <= until => {
                    self.step()?;
                }
                _ => {
                    self.now = until;
                    return Ok(done(self));
                }
            }
        }
    }

    /// Runs until no event is left, or `limit` of true time has passed.
    /// `Ok(true)` if the system went quiet (time then stands at the last
    /// event); otherwise time stands at the limit.
    pub fn run_until_quiet(&mut self, limit: Duration) -> Result<bool, Violation> {
        let until = self.now + limit;
        self.run_through(until)?;
        if self.queue.is_empty() {
            return Ok(true);
        }
        self.now = until;
        Ok(false)
    }

    fn run_through(&mut self, until: Time) -> Result<(), Violation> {
        while matches!(self.queue.next_time(), Some(at) if at <= until) {
            self.step()?;
        }
        if let Some(v) = &self.violation {
            return Err(v.clone());
        }
        Ok(())
    }
}

impl<N: Node> Sim<N> {
    /// The run so far as plain data: events, recorded states, violation.
    /// States are recorded only while [`capture`] is on.
    pub fn dump(&self) -> Dump {
        Dump::new(
            self.seed,
            self.slots.len(),
            &self.trace,
            self.states.clone().unwrap_or_default(),
            self.violation.as_ref(),
        )
    }
}

impl<N: Node> Drop for Sim<N> {
    /// Leaves the run for a replay when [`capture`] is on.
    fn drop(&mut self) {
        if self.states.is_some() {
            capture::keep(self.dump());
        }
    }
}
