//! # raft_membership: one server at a time
//!
// exercise: begin
// stub: //! The members are in the log: a [`Payload::Config`](crate::raft::Payload)
// stub: //! entry lists them, and each node uses the newest configuration in its
// stub: //! log, committed or not.
//! The members are in the log: a [`Payload::Config`] entry lists them, and
//! each node uses the newest configuration in its log, committed or not.
// exercise: end
//! Changing one server at a time keeps every majority of the old members
//! overlapping every majority of the new ones, so two leaders cannot be
//! elected in one term by disjoint majorities. Two more rules keep it safe:
//! one change at a time (the previous configuration entry must be
//! committed), and only once the leader has committed an entry of its own
//! term.

// exercise: begin
// stub: use crate::raft::{Raft, Role, StateMachine};
use crate::raft::{Payload, Raft, Reply, Role, StateMachine, Timer};
// exercise: end
use dsim::{Ctx, NodeId, RequestId};
// exercise: begin
// stub: // You will also need `crate::raft::{Payload, Reply, Timer}`.
// exercise: end

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
        // exercise: begin "Busy (and a Noop, once) until the entry at commit_index is of this term; Busy while log.config_index() > commit_index; then append_as_leader(Payload::Config(new members, sorted), Some(id))"
        if self.log.term_at(self.commit_index) != Some(self.current_term) {
            if self.log.last_term() != self.current_term {
                self.append_as_leader(ctx, Payload::Noop, None);
            }
            return ctx.reply(id, Reply::Busy);
        }
        if self.log.config_index() > self.commit_index {
            return ctx.reply(id, Reply::Busy);
        }
        let mut members = self.log.config().to_vec();
        if members.contains(&node) == add {
            return ctx.reply(
                id,
                Reply::Reconfigured {
                    index: self.log.config_index(),
                },
            );
        }
        if add {
            members.push(node);
            members.sort();
        } else {
            members.retain(|&m| m != node);
        }
        self.append_as_leader(ctx, Payload::Config(members), Some(id));
        // exercise: end
    }

    /// A leader whose removal is committed steps down (it went on leading
    /// until then, without counting itself).
    pub fn step_down_if_removed(&mut self, ctx: &mut Ctx<Self>) {
        // exercise: begin
        // stub: if self.role != Role::Leader || self.is_member() {
        // stub:     return;
        if self.role == Role::Leader
            && !self.is_member()
            && self.log.config_index() <= self.commit_index
        {
            self.role = Role::Follower;
            self.leader = None;
            ctx.cancel_timer(Timer::Heartbeat);
            // exercise: end
        }
        // exercise: begin
        // stub: todo!("once log.config_index() <= commit_index: become a follower with no leader and cancel the heartbeat timer")
        // exercise: end
    }
}
