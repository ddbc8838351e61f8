//! Inside a step: carrying out one due event, running a handler, applying
//! what it asked for, and checking the properties afterwards.

use super::{Due, Sim};
use crate::dump::DumpState;
use crate::history::Operation;
use crate::node::{Context, Ctx, Effect, EffectOf, Node, NodeId};
use crate::panics;
use crate::step::Step;
use crate::time::Time;
use crate::trace::{DropReason, Entry, Event};
use crate::violation::{Broken, Property, Violation};
use std::time::Duration;

// The simulator's own properties: a node broke the rules of the node API.
const PANICKED: Property = Property {
    name: "handlers run without panicking",
    hint: "",
    when: &[],
};
const REAL_REQUESTS: Property = Property {
    name: "replies answer real requests",
    hint: "",
    when: &[],
};
const EXISTING_NODES: Property = Property {
    name: "messages go to nodes that exist",
    hint: "",
    when: &[],
};
const EVENT_BUDGET: Property = Property {
    name: "the run stays within its event budget",
    hint: "",
    when: &[],
};

impl<N: Node> Sim<N> {
    #[inline(always)]
    pub(super) fn schedule(&mut self, at: Time, due: Due<N>) {
        self.queue.push(at, due);
    }

    /// Adds `event` to the step being taken; returns its index in the trace.
    ///
    /// Inlined so that the event is built in its place in the trace: passed
    /// to an outlined call, it is written to the stack field by field and
    /// read back in wider loads, which the CPU cannot forward from the
    /// stores and stalls on (a fifth of the run's time on relay-5).
    #[inline(always)]
    pub(super) fn record(&mut self, event: Event<N>) -> u64 {
        let index = self.trace.total() + self.trace.pending().len() as u64;
        self.trace.record(Entry {
            index,
            at: self.now,
            event,
        });
        index
    }

    pub(super) fn handle(&mut self, due: Due<N>) {
        let slot = &mut self.slots[due.node().0];
        if let Some(paused) = &mut slot.paused {
            if !matches!(due, Due::Resume { .. }) {
                paused.held.push(due);
                return;
            }
        }
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
            Due::Resume { node, pause } => {
                let slot = &mut self.slots[node.0];
                if slot.paused.as_ref().is_some_and(|p| p.number == pause) {
                    let paused = slot.paused.take().expect("just matched");
                    self.record(Event::Resume { node });
                    self.release(paused.held);
                }
            }
        }
    }

    /// Schedules again, now and in their order, the events held during a
    /// pause: each is then its own step, after the one that released them.
    pub(super) fn release(&mut self, held: Vec<Due<N>>) {
        for due in held {
            self.schedule(self.now, due);
        }
    }

    /// Runs one handler of node `id`, catching a panic, then carries out what
    /// it asked for.
    fn run_handler(&mut self, id: NodeId, name: &str, f: impl FnOnce(&mut N, &mut Ctx<N>)) {
        let slot = &mut self.slots[id.0];
        let node = slot.node.as_mut().expect("handler of a running node");
        let mut ctx = Context {
            id,
            now: slot.clock.local(self.now),
            peers: &self.peers[id.0],
            rng: &mut slot.rng,
            storage: &mut slot.storage,
            effects: &mut self.effects,
        };
        let caught = panics::catch(|| f(node, &mut ctx));
        if !slot.storage.disk.synced.is_empty() {
            self.record_syncs(id);
        }
        if self.slots[id.0].storage.disk.failed {
            self.fail_in_handler(id, name);
            return;
        }
        if let Err(message) = caught {
            self.effects.clear();
            let broken = Broken::new(format!("{id} panicked in {name}: {message}"));
            self.stop(PANICKED, broken.nodes([id]));
            return;
        }
        let mut effects = std::mem::take(&mut self.effects);
        for effect in effects.drain(..) {
            self.apply(id, effect);
        }
        self.effects = effects;
    }

    /// The syncs node `id`'s last handler made, into the trace. Out of line:
    /// most handlers make none, and the loop that records them would
    /// otherwise sit in the path every handler takes.
    #[cold]
    #[inline(never)]
    fn record_syncs(&mut self, id: NodeId) {
        for file in std::mem::take(&mut self.slots[id.0].storage.disk.synced) {
            self.record(Event::Sync { node: id, file });
        }
    }

    /// The power failed while node `id` ran `handler`
    /// ([`Sim::power_cut_after`]): what the handler asked for is never
    /// done (a panic after the failure included: the process was gone), and
    /// the node's disk is cut as by [`Sim::power_cut`].
    #[cold]
    #[inline(never)]
    fn fail_in_handler(&mut self, id: NodeId, handler: &str) {
        self.effects.clear();
        self.record(Event::Note {
            text: format!("{id}'s power fails during {handler}"),
        });
        let loss = self.slots[id.0].storage.disk.power_cut(&mut self.rng);
        self.take_down(id, Event::PowerCut { node: id, loss });
    }

    /// Inlined into the loop over a handler's effects, so that an effect's
    /// fields are read one by one where the handler wrote them, rather than
    /// the whole effect copied out in wider loads, which stall (see
    /// [`Sim::record`]).
    #[inline(always)]
    fn apply(&mut self, id: NodeId, effect: EffectOf<N>) {
        match effect {
            Effect::Send { to, msg } => self.send(id, to, msg),
            Effect::SetTimer { timer, after } => {
                let slot = &mut self.slots[id.0];
                slot.timers.retain(|(t, _)| *t != timer);
                let key = self.next_timer;
                self.next_timer += 1;
                slot.timers.push((timer, key));
                // A straggler's work takes longer (a factor of 1, the
                // common case, changes nothing and costs one comparison).
                let after = match slot.slowness {
                    1 => after,
                    factor => after.saturating_mul(factor),
                };
                let at = slot.clock.timer_deadline(self.now, after);
                self.schedule(at, Due::Timer { node: id, key });
            }
            Effect::CancelTimer { timer } => {
                self.slots[id.0].timers.retain(|(t, _)| *t != timer);
            }
            Effect::Reply { id: request, reply } => {
                let position = self.invoked.get(request.0 as usize).copied().flatten();
                let Some(op) = position.and_then(|p| self.history.get_mut(p)) else {
                    let broken =
                        Broken::new(format!("{id} replied to {request}, which no client sent"));
                    self.stop(REAL_REQUESTS, broken.nodes([id]));
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
            let broken = Broken::new(format!(
                "{from} sent a message to {to}, but the nodes are n0 to n{}",
                n - 1
            ));
            self.stop(EXISTING_NODES, broken.nodes([from]));
            return;
        }
        let msg_id = self.next_msg;
        self.next_msg += 1;
        self.stats.sent += 1;
        if self.measure_bytes {
            self.stats.bytes += json_len(&msg);
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
    #[inline(always)]
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
    ///
    /// Drawn in nanoseconds, as [`SimRng::duration`](crate::SimRng::duration)
    /// draws them (the same draws, the same sum as adding the `Duration`s),
    /// without building a `Duration` from each draw: that takes a division
    /// by 10^9, a fifth of this function's time.
    fn arrival(&mut self) -> Time {
        let nanos = |d: Duration| d.as_nanos() as u64;
        let latency = &self.network.latency;
        let (lo, hi) = (nanos(*latency.start()), nanos(*latency.end()));
        let mut delay = self.rng.range(lo..=hi) as u128;
        if self.rng.chance(self.network.long_delay) {
            delay += self.rng.range(0..=nanos(self.network.long_delay_max)) as u128;
        }
        // `Time + Duration` adds the duration's nanoseconds cut to 64 bits.
        Time(self.now.0.saturating_add(delay as u64))
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

    fn stop(&mut self, property: Property, broken: Broken) {
        if self.violation.is_none() {
            let event = self.trace.total() + self.trace.pending().len().saturating_sub(1) as u64;
            self.violation = Some(Violation {
                property,
                detail: broken.detail,
                nodes: broken.nodes.into(),
                events: broken.events.into(),
                at: self.now,
                event,
            });
        }
    }

    /// Runs the checks over the step just taken, then moves its events into
    /// the trace.
    pub(super) fn finish_step(&mut self) -> Result<(), Violation> {
        if self.stats.events > self.max_events {
            let broken = Broken::new(format!(
                "more than {} events: is a node sending messages in a loop?",
                self.max_events
            ));
            self.stop(EVENT_BUDGET, broken);
        }
        if self.violation.is_none() && !self.invariants.is_empty() {
            let mut invariants = std::mem::take(&mut self.invariants);
            for (property, check) in invariants.iter_mut() {
                if let Err(broken) = check(self, Step::new(self.trace.pending())) {
                    self.stop(*property, broken);
                    self.invariants = invariants;
                    self.flush_step();
                    return Err(self.violation.clone().expect("just set"));
                }
            }
            self.invariants = invariants;
        }
        self.flush_step();
        match &self.violation {
            Some(v) => Err(v.clone()),
            None => Ok(()),
        }
    }

    /// Ends the step: records the states it left, and makes its events part
    /// of the trace.
    pub(super) fn flush_step(&mut self) {
        if self.states.is_some() {
            self.record_states();
        }
        self.trace.commit();
    }

    /// Records the state of every node the step touched, after the step.
    fn record_states(&mut self) {
        let Some(last) = self.trace.pending().last().map(|e| e.index) else {
            return;
        };
        let mut touched: Vec<NodeId> = self
            .trace
            .pending()
            .iter()
            .filter_map(|e| match &e.event {
                Event::Crash { node } | Event::Restart { node } | Event::PowerCut { node, .. } => {
                    Some(*node)
                }
                event => event.handled_by(),
            })
            .collect();
        touched.dedup();
        for node in touched {
            let state = self.slots[node.0].node.as_ref().map(|n| format!("{n:#?}"));
            if let Some(states) = self.states.as_mut() {
                states.push(DumpState {
                    after: last,
                    node: node.0,
                    state,
                });
            }
        }
    }
}

/// The length of `value` serialised as JSON (0 if it cannot be), counted as
/// it is written rather than by building the text: no allocation per message
/// sent while [`Sim::measure_bytes`] is on.
fn json_len(value: &impl serde::Serialize) -> u64 {
    struct Count(u64);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len() as u64;
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0,
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::json_len;
    use std::collections::BTreeMap;

    /// The count is the length of the text `serde_json` would build.
    #[test]
    fn json_len_is_the_serialised_length() {
        let map: BTreeMap<String, Vec<u64>> = [("a\"é".to_string(), vec![1, 22, 333])].into();
        assert_eq!(
            json_len(&map),
            serde_json::to_vec(&map).unwrap().len() as u64
        );
        assert_eq!(json_len(&()), 4);
        assert_eq!(
            json_len(&"ünïcode"),
            serde_json::to_vec("ünïcode").unwrap().len() as u64
        );
        // A map with non-string keys cannot be JSON: counted as nothing, as before.
        let bad: BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into();
        assert!(serde_json::to_vec(&bad).is_err());
        assert_eq!(json_len(&bad), 0);
    }
}
