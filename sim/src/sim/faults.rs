//! What a scenario can do to a run: client requests, crashes and
//! restarts, pauses, partitions and cut links.

use super::{Due, Paused, Sim};
use crate::node::{Node, NodeId, RequestId};
use crate::trace::Event;
use crate::violation::Violation;
use std::time::Duration;

impl<N: Node> Sim<N> {
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

    /// Node `id` crashes: its state and timers are lost, its disk (and so
    /// its storage) is kept, unsynced writes included. A crash ends a pause: what the pause held comes due now and
    /// finds the node down (messages dropped, requests refused).
    pub fn crash(&mut self, id: NodeId) -> Result<(), Violation> {
        if self.slots[id.0].node.is_some() {
            self.take_down(id, Event::Crash { node: id });
        }
        self.finish_step()
    }

    /// Takes node `id` down (its state, timers and pause gone), records
    /// `event`, then lets what a pause held come due: it finds the node down.
    pub(super) fn take_down(&mut self, id: NodeId, event: Event<N>) {
        let slot = &mut self.slots[id.0];
        slot.node = None;
        slot.timers.clear();
        let paused = slot.paused.take();
        self.record(event);
        if let Some(paused) = paused {
            self.release(paused.held);
        }
    }

    /// Node `id` stops for `duration` of true time, as a process does in a
    /// long garbage-collection pause or when its machine is suspended: it
    /// handles nothing meanwhile, but is not down. Messages that arrive for
    /// it, its timers that come due and client requests to it wait, and are
    /// handled when it resumes, in the order they came due. Its clock keeps
    /// running (a timer set before the pause fires late) and its state is
    /// kept. Pausing a paused node extends the pause to the later end;
    /// pausing a node that is down does nothing.
    pub fn pause(&mut self, id: NodeId, duration: Duration) -> Result<(), Violation> {
        let until = self.now + duration;
        let number = self.next_pause;
        let slot = &mut self.slots[id.0];
        if slot.node.is_some() && slot.paused.as_ref().is_none_or(|p| p.until < until) {
            self.next_pause += 1;
            let held = slot.paused.take().map(|p| p.held).unwrap_or_default();
            slot.paused = Some(Paused {
                number,
                until,
                held,
            });
            self.record(Event::Pause { node: id, until });
            self.schedule(
                until,
                Due::Resume {
                    node: id,
                    pause: number,
                },
            );
        }
        self.finish_step()
    }

    /// Node `id` loses power: it is down as after a crash, and its disk
    /// loses what was not synced (chosen by the run's seed; see
    /// [`Disk`](crate::Disk)).
    /// Its [`Storage`](crate::Storage), files on that disk, is kept: every
    /// put is synced before it returns.
    /// Like a crash, a power cut ends a pause.
    pub fn power_cut(&mut self, id: NodeId) -> Result<(), Violation> {
        let loss = self.slots[id.0].storage.disk.power_cut(&mut self.rng);
        self.take_down(id, Event::PowerCut { node: id, loss });
        self.finish_step()
    }

    /// The power of node `id` will fail in the middle of whatever handler
    /// makes its disk's `ops`-th next change (0: the next one; a write,
    /// truncation, sync, creation, rename, removal or directory sync each
    /// counts one; a [`Storage`](crate::Storage) put makes five, a remove
    /// two, see its documentation): that
    /// change and every later one in the handler reach at most the cache,
    /// and when the handler returns the node is down as after
    /// [`Sim::power_cut`], its messages and replies of that handler never
    /// sent. A storage engine's multi-step work (a checkpoint, a flush, a
    /// compaction, done in one handler) can so lose power between any two
    /// of its steps. Replaces a failure still pending; a crash and a restart
    /// leave it pending, a power cut ([`Sim::power_cut`]) cancels it.
    pub fn power_cut_after(&mut self, id: NodeId, ops: u64) {
        self.slots[id.0].storage.disk.fail_after(ops);
        self.note(format!(
            "{id}'s power will fail after {ops} more disk operation(s)"
        ));
    }

    /// Node `id` restarts as a fresh node with its storage; `on_start` runs.
    pub fn restart(&mut self, id: NodeId) -> Result<(), Violation> {
        if self.slots[id.0].node.is_none() {
            self.slots[id.0].node = Some((self.factory)(id));
            let at = self.record(Event::Restart { node: id });
            self.restarts.push((id, at));
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
}

fn join(ids: &[NodeId]) -> String {
    ids.iter()
        .map(|id| id.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}
