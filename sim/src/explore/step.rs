//! One step of an exploration: every step possible from a state, and a
//! handler run with its effects applied.

use super::state::{fingerprint, Flight, State, Step, Successor};
use super::{Explorable, Explorer};
use crate::node::{Context, Ctx, Effect, NodeId, RequestId};
use crate::panics;
use crate::rng::SimRng;
use crate::time::Time;
use std::rc::Rc;

impl<N: Explorable> Explorer<N> {
    /// Every step possible from `state`, with the state after it.
    pub(super) fn successors(&self, state: &State<N>) -> Vec<Successor<N>> {
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
    pub(super) fn handle(
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
        let mut ctx = Context {
            id,
            now: Time::ZERO,
            peers: &peers,
            rng: &mut rng,
            storage: Rc::make_mut(&mut state.storage[id.0]),
            effects: &mut effects,
        };
        panics::catch(|| f(node, &mut ctx))?;
        // Syncs are traced by the simulator only: a state is its contents.
        Rc::make_mut(&mut state.storage[id.0]).disk.synced.clear();
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
}
