//! The states of an exploration and how they are told apart.

use super::report::View;
use super::Explorable;
use crate::node::{Node, NodeId};
use crate::storage::Storage;
use std::hash::{Hash, Hasher};
use std::rc::Rc;

/// A message in flight.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(super) struct Flight<M> {
    pub(super) from: NodeId,
    pub(super) to: NodeId,
    pub(super) msg: M,
}

/// One state of the whole system.
pub(super) struct State<N: Node> {
    /// Shared between states until a step changes them.
    pub(super) nodes: Vec<Option<Rc<N>>>,
    /// Each node's storage, which holds its disk.
    pub(super) storage: Vec<Rc<Storage>>,
    pub(super) timers: Vec<Vec<N::Timer>>,
    pub(super) flight: Vec<Flight<N::Msg>>,
    /// The client requests that have not arrived yet (indexes).
    pub(super) requests: Vec<usize>,
    pub(super) crashes: usize,
    pub(super) losses: usize,
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
                .all(|(a, b)| Rc::ptr_eq(a, b) || a == b)
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
            s.hash(h);
        }
    }
}

/// A fixed hash, the same in every run, to find states already seen and
/// to put sets in a canonical order.
pub(super) fn fingerprint<T: Hash>(value: &T) -> u64 {
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

/// One step of a run.
pub(super) enum Step<N: Node> {
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
pub(super) struct Visit<N: Node> {
    pub(super) parent: usize,
    pub(super) step: Step<N>,
    pub(super) depth: usize,
}

/// A step from a state, and the state after it (or the panic of the node
/// that took it).
pub(super) type Successor<N> = (Step<N>, Result<State<N>, String>);

/// The number of steps from the start to state `id`, plus one.
pub(super) fn trace_len<N: Node>(visits: &[Visit<N>], id: usize) -> usize {
    visits[id].depth + 1
}

pub(super) fn view<N: Node>(state: &State<N>) -> View<'_, N> {
    View {
        nodes: &state.nodes,
        storage: &state.storage,
        in_flight: state.flight.len(),
    }
}
