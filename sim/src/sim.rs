//! The simulator: an event queue in true time, the nodes, the network, and
//! the checks run after every event.

use crate::history::Operation;
use crate::net::Network;
use crate::node::{Ctx, Effect, Node, NodeId, RequestId};
use crate::panics;
use crate::rng::SimRng;
use crate::storage::Storage;
use crate::time::{Clock, Time};
use crate::trace::{DropReason, Entry, Event, Trace};
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fmt;
use std::time::Duration;

/// A property that stopped holding, or a node that misbehaved.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    /// The property, in plain words ("at most one leader per term").
    pub property: String,
    /// What exactly went wrong ("n2 and n4 both lead term 3").
    pub detail: String,
    /// The nodes involved, to pick the trace lines that matter.
    pub nodes: Vec<NodeId>,
    /// True time of the event after which the check failed.
    pub at: Time,
    /// The index of that event in the trace.
    pub event: u64,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} — {} (at {})", self.property, self.detail, self.at)
    }
}

/// What a check reports when its property does not hold.
#[derive(Clone, Debug, Default)]
pub struct Broken {
    /// What exactly went wrong.
    pub detail: String,
    /// The nodes involved.
    pub nodes: Vec<NodeId>,
}

impl Broken {
    /// A failure described by `detail`.
    pub fn new(detail: impl Into<String>) -> Self {
        Broken {
            detail: detail.into(),
            nodes: Vec::new(),
        }
    }

    /// Names the nodes involved, so the report shows their events.
    pub fn nodes(mut self, nodes: impl IntoIterator<Item = NodeId>) -> Self {
        self.nodes = nodes.into_iter().collect();
        self
    }
}

impl From<String> for Broken {
    fn from(detail: String) -> Self {
        Broken::new(detail)
    }
}

impl From<&str> for Broken {
    fn from(detail: &str) -> Self {
        Broken::new(detail)
    }
}

/// Counters over a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Messages handed to the network.
    pub sent: u64,
    /// Messages delivered (a duplicate counts again).
    pub delivered: u64,
    /// Messages lost, blocked or sent to a node that was down.
    pub dropped: u64,
    /// Serialised bytes of the messages sent (only with `measure_bytes`).
    pub bytes: u64,
    /// Timers that fired.
    pub timers: u64,
    /// Events processed.
    pub events: u64,
}

/// A check run after every event.
type Invariant<N> = (
    String,
    Box<dyn FnMut(&Sim<N>, &[Entry<N>]) -> Result<(), Broken>>,
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
}

struct Scheduled<N: Node> {
    at: Time,
    seq: u64,
    due: Due<N>,
}

impl<N: Node> PartialEq for Scheduled<N> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl<N: Node> Eq for Scheduled<N> {}
impl<N: Node> PartialOrd for Scheduled<N> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<N: Node> Ord for Scheduled<N> {
    /// Reversed, so that the max-heap pops the earliest event (ties: the one
    /// scheduled first).
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// One node's place in the run: its state while up, and what outlives a crash.
struct Slot<N: Node> {
    node: Option<N>,
    clock: Clock,
    rng: SimRng,
    storage: Storage,
    /// Pending timers and the key of their scheduled firing.
    timers: Vec<(N::Timer, u64)>,
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
    queue: BinaryHeap<Scheduled<N>>,
    next_seq: u64,
    next_msg: u64,
    next_timer: u64,
    requests: Vec<(NodeId, N::Request)>,
    /// `invoked[id]`: the position of request `id` in `history`, once it has
    /// arrived (requests sent with different delays arrive out of id order).
    invoked: Vec<Option<usize>>,
    history: Vec<Operation<N>>,
    trace: Trace<N>,
    step_events: Vec<Entry<N>>,
    effects: Vec<Effect<N>>,
    invariants: Vec<Invariant<N>>,
    violation: Option<Violation>,
    stats: Stats,
    max_events: u64,
    measure_bytes: bool,
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
            queue: BinaryHeap::new(),
            next_seq: 0,
            next_msg: 0,
            next_timer: 0,
            requests: Vec::new(),
            invoked: Vec::new(),
            history: Vec::new(),
            trace: Trace::new(),
            step_events: Vec::new(),
            effects: Vec::new(),
            invariants: Vec::new(),
            violation: None,
            stats: Stats::default(),
            max_events: 50_000_000,
            measure_bytes: false,
        };
        for id in ids {
            let node = (sim.factory)(id);
            sim.slots.push(Slot {
                node: Some(node),
                clock: Clock::PERFECT,
                rng: SimRng::fork(seed, id.0 as u64),
                storage: Storage::default(),
                timers: Vec::new(),
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

    /// Checks `property` after every event from now on. The check sees the
    /// whole simulation and the events of the step just taken.
    pub fn check(
        &mut self,
        property: impl Into<String>,
        check: impl FnMut(&Sim<N>, &[Entry<N>]) -> Result<(), Broken> + 'static,
    ) {
        self.invariants.push((property.into(), Box::new(check)));
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

    /// Node `id`'s durable storage.
    pub fn storage(&self, id: NodeId) -> &Storage {
        &self.slots[id.0].storage
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

    /// Draws from the scenario's own random stream (for choosing faults),
    /// separate from the network's and the nodes'.
    pub fn scenario_rng(&self) -> SimRng {
        SimRng::fork(self.seed, u64::MAX - self.stats.events)
    }

    // ----- what a scenario can do -----------------------------------------

    /// A client sends `request` to node `node`; it arrives now.
    pub fn request(&mut self, node: NodeId, request: N::Request) -> RequestId {
        self.request_after(Duration::ZERO, node, request)
    }

    /// A client sends `request` to `node`; it arrives after `delay`.
    pub fn request_after(
        &mut self,
        delay: Duration,
        node: NodeId,
        request: N::Request,
    ) -> RequestId {
        let id = RequestId(self.requests.len() as u64);
        self.requests.push((node, request));
        self.invoked.push(None);
        self.schedule(self.now + delay, Due::Request { node, id });
        id
    }

    /// Node `id` crashes: its state and timers are lost, its storage is kept.
    pub fn crash(&mut self, id: NodeId) -> Result<(), Violation> {
        let slot = &mut self.slots[id.0];
        if slot.node.take().is_some() {
            slot.timers.clear();
            self.record(Event::Crash { node: id });
        }
        self.finish_step()
    }

    /// Node `id` restarts as a fresh node with its storage; `on_start` runs.
    pub fn restart(&mut self, id: NodeId) -> Result<(), Violation> {
        if self.slots[id.0].node.is_none() {
            self.slots[id.0].node = Some((self.factory)(id));
            self.record(Event::Restart { node: id });
            self.handle(Due::Start { node: id });
        }
        self.finish_step()
    }

    /// Splits the nodes into groups that cannot reach each other. Nodes not
    /// named are cut off from everyone.
    pub fn partition(&mut self, groups: &[&[NodeId]]) -> Result<(), Violation> {
        let n = self.slots.len();
        let mut group_of = vec![usize::MAX; n];
        for (g, members) in groups.iter().enumerate() {
            for m in members.iter() {
                group_of[m.0] = g;
            }
        }
        for from in 0..n {
            for to in 0..n {
                let same = group_of[from] != usize::MAX && group_of[from] == group_of[to];
                self.blocked[from * n + to] = from != to && !same;
            }
        }
        let text = groups
            .iter()
            .map(|g| format!("{{{}}}", join(g)))
            .collect::<Vec<_>>()
            .join(" | ");
        self.record(Event::Fault {
            what: format!("partition {text}"),
        });
        self.finish_step()
    }

    /// Cuts node `id` off from every other node, both ways.
    pub fn isolate(&mut self, id: NodeId) -> Result<(), Violation> {
        let n = self.slots.len();
        for other in 0..n {
            if other != id.0 {
                self.blocked[id.0 * n + other] = true;
                self.blocked[other * n + id.0] = true;
            }
        }
        self.record(Event::Fault {
            what: format!("{id} is cut off from everyone"),
        });
        self.finish_step()
    }

    /// Drops every message from `from` to `to` (one direction only) until
    /// healed.
    pub fn cut(&mut self, from: NodeId, to: NodeId) -> Result<(), Violation> {
        let n = self.slots.len();
        self.blocked[from.0 * n + to.0] = true;
        self.record(Event::Fault {
            what: format!("link {from} → {to} cut"),
        });
        self.finish_step()
    }

    /// Restores every link.
    pub fn heal(&mut self) -> Result<(), Violation> {
        self.blocked.iter_mut().for_each(|b| *b = false);
        self.record(Event::Fault {
            what: "all links restored".to_string(),
        });
        self.finish_step()
    }

    /// Whether a message from `from` can reach `to` now.
    pub fn connected(&self, from: NodeId, to: NodeId) -> bool {
        !self.blocked[from.0 * self.slots.len() + to.0]
    }

    /// Adds a remark to the trace (shown in failure reports).
    pub fn note(&mut self, text: impl Into<String>) {
        self.record(Event::Note { text: text.into() });
        self.flush_step();
    }

    // ----- running ----------------------------------------------------------

    /// Processes the next event. `Ok(false)` when nothing is left to happen.
    pub fn step(&mut self) -> Result<bool, Violation> {
        if let Some(v) = &self.violation {
            return Err(v.clone());
        }
        let Some(next) = self.queue.pop() else {
            return Ok(false);
        };
        self.now = next.at;
        self.handle(next.due);
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
            match self.queue.peek() {
                Some(next) if next.at <= until => {
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
        while matches!(self.queue.peek(), Some(next) if next.at <= until) {
            self.step()?;
        }
        if let Some(v) = &self.violation {
            return Err(v.clone());
        }
        Ok(())
    }

    // ----- inside -----------------------------------------------------------

    fn schedule(&mut self, at: Time, due: Due<N>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.queue.push(Scheduled { at, seq, due });
    }

    fn record(&mut self, event: Event<N>) {
        let index = self.trace.total() + self.step_events.len() as u64;
        self.step_events.push(Entry {
            index,
            at: self.now,
            event,
        });
    }

    fn handle(&mut self, due: Due<N>) {
        self.stats.events += 1;
        match due {
            Due::Start { node } => {
                if self.slots[node.0].node.is_some() {
                    self.record(Event::Start { node });
                    self.run_handler(node, "on_start", |n, ctx| n.on_start(ctx));
                }
            }
            Due::Deliver {
                from,
                to,
                msg_id,
                msg,
            } => {
                if self.slots[to.0].node.is_none() {
                    self.drop_message(from, to, msg_id, DropReason::ReceiverDown);
                } else if self.blocked[from.0 * self.slots.len() + to.0] {
                    self.drop_message(from, to, msg_id, DropReason::Partitioned);
                } else {
                    self.stats.delivered += 1;
                    self.record(Event::Deliver {
                        from,
                        to,
                        msg_id,
                        msg: msg.clone(),
                    });
                    self.run_handler(to, "on_message", move |n, ctx| n.on_message(ctx, from, msg));
                }
            }
            Due::Timer { node, key } => {
                let slot = &mut self.slots[node.0];
                if let Some(pos) = slot.timers.iter().position(|(_, k)| *k == key) {
                    let (timer, _) = slot.timers.swap_remove(pos);
                    self.stats.timers += 1;
                    self.record(Event::Timer {
                        node,
                        timer: timer.clone(),
                    });
                    self.run_handler(node, "on_timer", move |n, ctx| n.on_timer(ctx, timer));
                }
            }
            Due::Request { node, id } => {
                let req = self.requests[id.0 as usize].1.clone();
                let refused = self.slots[node.0].node.is_none();
                self.invoked[id.0 as usize] = Some(self.history.len());
                self.history.push(Operation {
                    id,
                    node,
                    request: req.clone(),
                    invoked_at: self.now,
                    completion: None,
                });
                self.record(Event::Request {
                    node,
                    id,
                    req: req.clone(),
                    refused,
                });
                if !refused {
                    self.run_handler(node, "on_request", move |n, ctx| n.on_request(ctx, id, req));
                }
            }
        }
    }

    /// Runs one handler of node `id`, catching a panic, then carries out what
    /// it asked for.
    fn run_handler(&mut self, id: NodeId, name: &str, f: impl FnOnce(&mut N, &mut Ctx<N>)) {
        let slot = &mut self.slots[id.0];
        let node = slot.node.as_mut().expect("handler of a running node");
        let mut ctx = Ctx {
            id,
            now: slot.clock.local(self.now),
            peers: &self.peers[id.0],
            rng: &mut slot.rng,
            storage: &mut slot.storage,
            effects: &mut self.effects,
        };
        if let Err(message) = panics::catch(|| f(node, &mut ctx)) {
            self.effects.clear();
            self.stop(
                "handlers run without panicking",
                format!("{id} panicked in {name}: {message}"),
                vec![id],
            );
            return;
        }
        let mut effects = std::mem::take(&mut self.effects);
        for effect in effects.drain(..) {
            self.apply(id, effect);
        }
        self.effects = effects;
    }

    fn apply(&mut self, id: NodeId, effect: Effect<N>) {
        match effect {
            Effect::Send { to, msg } => self.send(id, to, msg),
            Effect::SetTimer { timer, after } => {
                let slot = &mut self.slots[id.0];
                slot.timers.retain(|(t, _)| *t != timer);
                let key = self.next_timer;
                self.next_timer += 1;
                slot.timers.push((timer, key));
                let at = slot.clock.timer_deadline(self.now, after);
                self.schedule(at, Due::Timer { node: id, key });
            }
            Effect::CancelTimer { timer } => {
                self.slots[id.0].timers.retain(|(t, _)| *t != timer);
            }
            Effect::Reply { id: request, reply } => {
                let position = self.invoked.get(request.0 as usize).copied().flatten();
                let Some(op) = position.and_then(|p| self.history.get_mut(p)) else {
                    self.stop(
                        "replies answer real requests",
                        format!("{id} replied to {request}, which no client sent"),
                        vec![id],
                    );
                    return;
                };
                if op.completion.is_none() {
                    op.completion = Some((reply.clone(), self.now));
                    self.record(Event::Reply {
                        node: id,
                        id: request,
                        reply,
                    });
                }
            }
        }
    }

    fn send(&mut self, from: NodeId, to: NodeId, msg: N::Msg) {
        let n = self.slots.len();
        if to.0 >= n {
            self.stop(
                "messages go to nodes that exist",
                format!(
                    "{from} sent a message to {to}, but the nodes are n0 to n{}",
                    n - 1
                ),
                vec![from],
            );
            return;
        }
        let msg_id = self.next_msg;
        self.next_msg += 1;
        self.stats.sent += 1;
        if self.measure_bytes {
            self.stats.bytes += serde_json::to_vec(&msg)
                .map(|b| b.len() as u64)
                .unwrap_or(0);
        }
        self.record(Event::Send {
            from,
            to,
            msg_id,
            msg: msg.clone(),
        });
        if self.blocked[from.0 * n + to.0] {
            return self.drop_message(from, to, msg_id, DropReason::Partitioned);
        }
        if self.rng.chance(self.network.loss) {
            return self.drop_message(from, to, msg_id, DropReason::Lost);
        }
        if self.rng.chance(self.network.duplicate) {
            self.deliver_later(from, to, msg_id, msg.clone());
        }
        self.deliver_later(from, to, msg_id, msg);
    }

    /// Schedules one delivery of a message sent now, after a random delay.
    fn deliver_later(&mut self, from: NodeId, to: NodeId, msg_id: u64, msg: N::Msg) {
        let at = self.arrival();
        self.schedule(
            at,
            Due::Deliver {
                from,
                to,
                msg_id,
                msg,
            },
        );
    }

    /// When a message sent now arrives.
    fn arrival(&mut self) -> Time {
        let mut delay = self.rng.duration(self.network.latency.clone());
        if self.rng.chance(self.network.long_delay) {
            delay += self
                .rng
                .duration(Duration::ZERO..=self.network.long_delay_max);
        }
        self.now + delay
    }

    fn drop_message(&mut self, from: NodeId, to: NodeId, msg_id: u64, reason: DropReason) {
        self.stats.dropped += 1;
        self.record(Event::Drop {
            from,
            to,
            msg_id,
            reason,
        });
    }

    fn stop(&mut self, property: &str, detail: String, nodes: Vec<NodeId>) {
        if self.violation.is_none() {
            let event = self.trace.total() + self.step_events.len().saturating_sub(1) as u64;
            self.violation = Some(Violation {
                property: property.to_string(),
                detail,
                nodes,
                at: self.now,
                event,
            });
        }
    }

    /// Runs the checks over the step just taken, then moves its events into
    /// the trace.
    fn finish_step(&mut self) -> Result<(), Violation> {
        if self.stats.events > self.max_events {
            self.stop(
                "the run stays within its event budget",
                format!(
                    "more than {} events: is a node sending messages in a loop?",
                    self.max_events
                ),
                Vec::new(),
            );
        }
        if self.violation.is_none() && !self.invariants.is_empty() {
            let events = std::mem::take(&mut self.step_events);
            let mut invariants = std::mem::take(&mut self.invariants);
            for (property, check) in invariants.iter_mut() {
                if let Err(broken) = check(self, &events) {
                    self.step_events = events;
                    self.stop(property, broken.detail, broken.nodes);
                    self.invariants = invariants;
                    self.flush_step();
                    return Err(self.violation.clone().expect("just set"));
                }
            }
            self.invariants = invariants;
            self.step_events = events;
        }
        self.flush_step();
        match &self.violation {
            Some(v) => Err(v.clone()),
            None => Ok(()),
        }
    }

    fn flush_step(&mut self) {
        for entry in self.step_events.drain(..) {
            self.trace.push(entry);
        }
    }
}

fn join(ids: &[NodeId]) -> String {
    ids.iter()
        .map(|id| id.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}
