//! # raft_membership: one server at a time
//!
//! The members are in the log: a [`Payload::Config`](crate::raft::Payload)
//! entry lists them, and each node uses the newest configuration in its
//! log, committed or not.
//! Changing one server at a time keeps every majority of the old members
//! overlapping every majority of the new ones, so two leaders cannot be
//! elected in one term by disjoint majorities. Two more rules keep it safe:
//! one change at a time (the previous configuration entry must be
//! committed), and only once the leader has committed an entry of its own
//! term.

use crate::raft::{Raft, Role, StateMachine};
use dsim::{Ctx, NodeId, RequestId};
// You will also need `crate::raft::{Payload, Reply, Timer}`.

impl<S: StateMachine> Raft<S> {
    /// The leader is asked to add (`add`) or remove `node`. If no entry of
    /// this term is committed yet, answer [`Reply::Busy`] and append a
    /// [`Payload::Noop`] (once) so that one will be; if a change is still
    /// uncommitted, answer [`Reply::Busy`]. A change that changes
    /// nothing is answered at once. Otherwise append the new configuration;
    /// `id` is answered when it is applied.
    pub fn change_membership(
        &mut self,
        ctx: &mut Ctx<Self>,
        id: RequestId,
        node: NodeId,
        add: bool,
    ) {
        todo!("Busy (and a Noop, once) until the entry at commit_index is of this term; Busy while log.config_index() > commit_index; then append_as_leader(Payload::Config(new members, sorted), Some(id))")
    }

    /// A leader whose removal is committed steps down (it went on leading
    /// until then, without counting itself).
    pub fn step_down_if_removed(&mut self, ctx: &mut Ctx<Self>) {
        if self.role != Role::Leader || self.is_member() {
            return;
        }
        todo!("once log.config_index() <= commit_index: become a follower with no leader and cancel the heartbeat timer")
    }
}
