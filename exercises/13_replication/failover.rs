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
//! Read `exercises/13_replication/README.md` first. Then fill in the functions
//! below: each `todo!()` is one step. The stubs of `fence`, `matches`,
//! `truncate_conflicts`, `acknowledge_write`, `release_writes` and
//! `recover_epoch` behave as in `log_shipping.rs` (one epoch, answer at once),
//! so that the earlier exercises pass before you write them.

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
        // TODO: adopt a higher epoch; accept only a message of your own epoch.
        let _ = (ctx, epoch);
        true
    }

    /// Moves to `epoch`, durably before anything else, and follows: a
    /// leader steps down, and the clients it kept waiting are never
    /// answered (their writes were not acknowledged).
    pub fn adopt(&mut self, ctx: &mut Ctx<Self>, epoch: u64) {
        todo!(
            "store epoch under EPOCH_KEY and set self.epoch; stop leading: clear \
             followers and waiting"
        )
    }

    /// At start: the epoch this node had stored (0 if none).
    pub(crate) fn recover_epoch(&mut self, ctx: &mut Ctx<Self>) {
        // TODO: read EPOCH_KEY from storage into self.epoch (0 if absent).
        let _ = ctx;
    }

    /// The manager's question: this node's applied index, the epoch of its
    /// last entry and its own epoch. The manager promotes the node with the
    /// highest (last entry's epoch, index): a long log of an old epoch may
    /// hold writes the later leaders never had.
    pub(crate) fn on_position(&mut self, ctx: &mut Ctx<Self>, id: RequestId) {
        todo!(
            "reply Reply::Position with last_index(), the epoch of the last entry \
             and self.epoch"
        )
    }

    /// Promotion: if `epoch` is newer than this node's, adopt it, lead it
    /// (every follower's next index guessed as last_index() + 1, not
    /// confirmed), send every follower a batch at once so that they learn
    /// the new epoch, and reply `Promoted`. An old or repeated promotion is
    /// ignored: one leader per epoch.
    pub(crate) fn on_promote(&mut self, ctx: &mut Ctx<Self>, id: RequestId, epoch: u64) {
        todo!(
            "ignore an epoch <= self.epoch; otherwise adopt(epoch), \
             lead(ctx, last_index() + 1, false), ship to every follower, reply Reply::Promoted"
        )
    }

    /// Follower: whether its log holds the leader's entry at `prev_index`
    /// of `prev_epoch` (index 0: the empty prefix, always held). Entries
    /// after an entry this node does not share must not be applied.
    pub(crate) fn matches(&self, prev_index: u64, prev_epoch: u64) -> bool {
        // TODO: true if prev_index is 0, or your entry at prev_index has prev_epoch.
        let _ = (prev_index, prev_epoch);
        true
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
        // TODO: truncate at the first entry of `entries` whose index you hold with
        // another epoch, and at leader_last if the entry after it is of an older epoch.
        let _ = (ctx, entries, leader_last);
    }

    /// Keeps the first `keep` entries, durably.
    pub fn truncate(&mut self, ctx: &mut Ctx<Self>, keep: u64) {
        self.log.truncate(keep as usize);
        ctx.storage().put(APPLIED_KEY, &keep);
    }

    /// Leader: `follower` does not hold the entry before its next batch;
    /// move its next index back to `next` (never forward) and send again.
    pub(crate) fn on_mismatch(&mut self, ctx: &mut Ctx<Self>, follower: NodeId, next: u64) {
        todo!(
            "if next is below the follower's next_index, set next_index to next \
             (at least 1) and ship to it"
        )
    }

    /// Leader, on appending a client's write at `index`: in `Async` mode
    /// answer now; in `Majority` mode keep it in `waiting`.
    pub(crate) fn acknowledge_write(&mut self, ctx: &mut Ctx<Self>, id: RequestId, index: u64) {
        // TODO: in Majority mode push a PendingWrite instead of answering at once.
        ctx.reply(id, Reply::Appended { index });
    }

    /// Leader, after an acknowledgement: the highest index a majority of
    /// the nodes (the leader and its confirmed followers) have applied.
    pub fn majority_index(&self) -> u64 {
        todo!(
            "sort the applied indices (yours, and next_index - 1 of every confirmed \
             follower, 0 for the others) from high to low; the majority's is the one at position \
             nodes / 2"
        )
    }

    /// Leader: answers every waiting write a majority now has.
    pub(crate) fn release_writes(&mut self, ctx: &mut Ctx<Self>) {
        // TODO: answer (Reply::Appended) and drop every waiting write at or below
        // majority_index().
        let _ = ctx;
    }
}
