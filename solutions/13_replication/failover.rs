//! # replication_failover: a new leader when the old one is gone
//!
//! The log-shipping node of `log_shipping.rs` now survives the loss of its
//! leader. A failover manager outside the group (the test suite plays it,
//! as an operator or a monitoring tool would) notices the leader is gone,
//! asks the followers where they stand, and promotes the most up-to-date
//! one. The rules that keep that safe:
//!
//! - Epochs. Every node keeps an epoch, durably, starting at 0 with n0 the
//!   leader; every replication message carries the sender's. A node never
//!   goes back: on seeing a higher epoch it adopts it (and, if it led, steps
//!   down). It refuses Entries from a lower epoch and answers `Stale` with
//!   its own, so that an old leader learns it has been replaced: fencing.
//! - Promotion. `Promote { epoch }` makes a node the leader of that epoch.
//!   It knows nothing of the others yet, so it guesses each follower's next
//!   index is its own last index + 1 and sends each a batch (maybe empty):
//!   the first message of the new epoch, which the followers adopt.
//! - Truncation. A batch names the entry before it (`prev_index`,
//!   `prev_epoch`). A follower whose log does not hold that entry answers
//!   `Mismatch`, and the leader backs up. A follower that holds it drops
//!   whatever in its log conflicts with the batch, and the entries of older
//!   epochs past the leader's last index: an old leader's writes that no
//!   one else got.
//! - Acknowledgement. In `Async` mode the leader answers a write at once;
//!   in `Majority` mode only once a majority of the nodes, itself included,
//!   have it, so that a promoted follower is sure to have it.
//!
// exercise: begin
// stub: //! Read `exercises/13_replication/README.md` first. Then fill in the functions
// stub: //! below: each `todo!()` is one step. The stubs of `fence`, `matches`,
// stub: //! `truncate_conflicts`, `acknowledge_write`, `release_writes` and
// stub: //! `recover_epoch` behave as in `log_shipping.rs` (one epoch, answer at once),
// stub: //! so that the earlier exercises pass before you write them.
//! The reference solution.
// exercise: end

use crate::replication::{Entry, LogShipping, Reply, APPLIED_KEY};
use dsim::{Ctx, NodeId, RequestId};

/// When the leader acknowledges a client's write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AckMode {
    /// At once, before any follower has it (asynchronous replication):
    /// fast, and lost if the leader dies before shipping it.
    #[default]
    Async,
    /// Once a majority of the nodes, the leader included, have applied it
    /// (semi-synchronous replication): slower, and it survives a failover.
    Majority,
}

/// A write appended by the leader and not yet acknowledged to its client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingWrite {
    /// The client's request, to answer with `ctx.reply`.
    pub id: RequestId,
    /// Where the write is in the leader's log.
    pub index: u64,
}

impl LogShipping {
    /// The epoch fence, before any message is handled: adopts a higher
    /// epoch, and says whether the message belongs to this node's epoch
    /// (an older one is refused).
    pub(crate) fn fence(&mut self, ctx: &mut Ctx<Self>, epoch: u64) -> bool {
        // exercise: begin
        // stub: // TODO: adopt a higher epoch; accept only a message of your own epoch.
        // stub: let _ = (ctx, epoch);
        // stub: true
        if epoch > self.epoch {
            self.adopt(ctx, epoch);
        }
        epoch == self.epoch
        // exercise: end
    }

    /// Moves to `epoch`, durably before anything else, and follows: a
    /// leader steps down, and the clients it kept waiting are never
    /// answered (their writes were not acknowledged).
    pub fn adopt(&mut self, ctx: &mut Ctx<Self>, epoch: u64) {
        // exercise: begin "store epoch under EPOCH_KEY and set self.epoch; stop leading: clear "
        //   "followers and waiting"
        ctx.storage().put(crate::replication::EPOCH_KEY, &epoch);
        self.epoch = epoch;
        self.leading = false;
        self.followers.clear();
        self.waiting.clear();
        // exercise: end
    }

    /// At start: the epoch this node had stored (0 if none).
    pub(crate) fn recover_epoch(&mut self, ctx: &mut Ctx<Self>) {
        // exercise: begin
        // stub: // TODO: read EPOCH_KEY from storage into self.epoch (0 if absent).
        // stub: let _ = ctx;
        self.epoch = ctx
            .storage()
            .get(crate::replication::EPOCH_KEY)
            .unwrap_or(0);
        // exercise: end
    }

    /// The manager's question: this node's applied index, the epoch of its
    /// last entry and its own epoch. The manager promotes the node with the
    /// highest (last entry's epoch, index): a long log of an old epoch may
    /// hold writes the later leaders never had.
    pub(crate) fn on_position(&mut self, ctx: &mut Ctx<Self>, id: RequestId) {
        // exercise: begin "reply Reply::Position with last_index(), the epoch of the last entry "
        //   "and self.epoch"
        let reply = Reply::Position {
            index: self.last_index(),
            last_epoch: self.epoch_at(self.last_index()),
            epoch: self.epoch,
        };
        ctx.reply(id, reply);
        // exercise: end
    }

    /// Promotion: if `epoch` is newer than this node's, adopt it, lead it
    /// (every follower's next index guessed as last_index() + 1, not
    /// confirmed), send every follower a batch at once so that they learn
    /// the new epoch, and reply `Promoted`. An old or repeated promotion is
    /// ignored: one leader per epoch.
    pub(crate) fn on_promote(&mut self, ctx: &mut Ctx<Self>, id: RequestId, epoch: u64) {
        // exercise: begin "ignore an epoch <= self.epoch; otherwise adopt(epoch), "
        //   "lead(ctx, last_index() + 1, false), ship to every follower, reply Reply::Promoted"
        if epoch <= self.epoch {
            return;
        }
        self.adopt(ctx, epoch);
        self.lead(ctx, self.last_index() + 1, false);
        let followers: Vec<NodeId> = self.followers.keys().copied().collect();
        for follower in followers {
            self.ship(ctx, follower);
        }
        ctx.reply(id, Reply::Promoted { epoch });
        // exercise: end
    }

    /// Follower: whether its log holds the leader's entry at `prev_index`
    /// of `prev_epoch` (index 0: the empty prefix, always held). Entries
    /// after an entry this node does not share must not be applied.
    pub(crate) fn matches(&self, prev_index: u64, prev_epoch: u64) -> bool {
        // exercise: begin
        // stub: // TODO: true if prev_index is 0, or your entry at prev_index has prev_epoch.
        // stub: let _ = (prev_index, prev_epoch);
        // stub: true
        prev_index == 0
            || (prev_index <= self.last_index() && self.epoch_at(prev_index) == prev_epoch)
        // exercise: end
    }

    /// Follower, on a batch that follows an entry it holds: drops its log
    /// from the first entry that conflicts with the batch (same index,
    /// other epoch), and the entries of an older epoch past `leader_last`,
    /// which the leader never had.
    pub(crate) fn truncate_conflicts(
        &mut self,
        ctx: &mut Ctx<Self>,
        entries: &[Entry],
        leader_last: u64,
    ) {
        // exercise: begin
        // stub: // TODO: truncate at the first entry of `entries` whose index you hold with
        // stub: // another epoch, and at leader_last if the entry after it is of an older epoch.
        // stub: let _ = (ctx, entries, leader_last);
        let conflict = (entries.iter())
            .find(|e| e.index <= self.last_index() && self.epoch_at(e.index) != e.epoch);
        if let Some(entry) = conflict {
            self.truncate(ctx, entry.index - 1);
        }
        if self.last_index() > leader_last && self.epoch_at(leader_last + 1) < self.epoch {
            self.truncate(ctx, leader_last);
        }
        // exercise: end
    }

    /// Keeps the first `keep` entries, durably.
    pub fn truncate(&mut self, ctx: &mut Ctx<Self>, keep: u64) {
        self.log.truncate(keep as usize);
        ctx.storage().put(APPLIED_KEY, &keep);
    }

    /// Leader: `follower` does not hold the entry before its next batch;
    /// move its next index back to `next` (never forward) and send again.
    pub(crate) fn on_mismatch(&mut self, ctx: &mut Ctx<Self>, follower: NodeId, next: u64) {
        // exercise: begin "if next is below the follower's next_index, set next_index to next "
        //   "(at least 1) and ship to it"
        let Some(progress) = self.followers.get_mut(&follower) else {
            return;
        };
        if next < progress.next_index {
            progress.next_index = next.max(1);
            self.ship(ctx, follower);
        }
        // exercise: end
    }

    /// Leader, on appending a client's write at `index`: in `Async` mode
    /// answer now; in `Majority` mode keep it in `waiting`.
    pub(crate) fn acknowledge_write(&mut self, ctx: &mut Ctx<Self>, id: RequestId, index: u64) {
        // exercise: begin
        // stub: // TODO: in Majority mode push a PendingWrite instead of answering at once.
        // stub: ctx.reply(id, Reply::Appended { index });
        match self.mode {
            AckMode::Async => ctx.reply(id, Reply::Appended { index }),
            AckMode::Majority => self.waiting.push(PendingWrite { id, index }),
        }
        // exercise: end
    }

    /// Leader, after an acknowledgement: the highest index a majority of
    /// the nodes (the leader and its confirmed followers) have applied.
    pub fn majority_index(&self) -> u64 {
        // exercise: begin "sort the applied indices (yours, and next_index - 1 of every confirmed "
        //   "follower, 0 for the others) from high to low; the majority's is the one at position "
        //   "nodes / 2"
        let mut applied: Vec<u64> = (self.followers.values())
            .map(|p| if p.confirmed { p.next_index - 1 } else { 0 })
            .chain([self.last_index()])
            .collect();
        applied.sort_unstable_by(|a, b| b.cmp(a));
        applied[applied.len() / 2]
        // exercise: end
    }

    /// Leader: answers every waiting write a majority now has.
    pub(crate) fn release_writes(&mut self, ctx: &mut Ctx<Self>) {
        // exercise: begin
        // stub: // TODO: answer (Reply::Appended) and drop every waiting write at or below
        // stub: // majority_index().
        // stub: let _ = ctx;
        let safe = self.majority_index();
        let (done, waiting) = (self.waiting.iter()).partition(|w| w.index <= safe);
        self.waiting = waiting;
        for write in done {
            ctx.reply(write.id, Reply::Appended { index: write.index });
        }
        // exercise: end
    }
}
