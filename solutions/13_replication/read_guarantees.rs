//! # replication_read_guarantees: reading from followers, per session
//!
//! The log-shipping node of `log_shipping.rs` now also serves reads, on
//! every node, the followers included: that is what followers are for,
//! spreading the reads. A read returns the latest value this node has
//! applied and the log position it was read at (its applied index). A
//! follower lags the leader (its replication lag), so a read it answers at
//! once may miss writes the leader already acknowledged. Two guarantees a
//! client can still have, per session:
//!
//! - read-your-writes: a read shows at least the session's own last
//!   acknowledged write;
//! - monotonic reads: a read never shows an older log position than a
//!   read the session already made.
//!
//! Both come from one rule. The client's [`Session`] remembers two log
//! positions (the highest index it wrote at, the highest position it read
//! at) and sends the larger as the read's `min_index`. A node answers a
//! read only once its applied index is at least `min_index`; until then the
//! read waits in [`LogShipping::pending`], and the apply path answers it
//! when the node catches up. A read with `min_index` 0 is a plain read: it
//! is answered at once, stale or not.
//!
// exercise: begin
// stub: //! Read `exercises/13_replication/README.md` first. Then fill in the functions
// stub: //! below: each `todo!()` is one step. `answer_pending` is called after every
// stub: //! batch a follower applies; its stub does nothing, so that log shipping works
// stub: //! before you write it.
//! The reference solution.
// exercise: end

use crate::replication::{LogShipping, Reply, Request};
use dsim::{Ctx, RequestId};

/// A read waiting for its node to catch up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingRead {
    /// The client's request, to answer with `ctx.reply`.
    pub id: RequestId,
    /// The log position the read must be served at or after.
    pub min_index: u64,
}

/// A client's session: the log positions it has seen, which its next read
/// must not go below. It lives on the client, not on a node, so it holds
/// whichever node the client talks to next.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Session {
    /// The highest log index of a write this session had acknowledged.
    pub written: u64,
    /// The highest log position this session read at.
    pub read: u64,
}

impl Session {
    /// A session that has seen nothing.
    pub fn new() -> Self {
        Session::default()
    }

    /// The read this session sends: it must see the session's own writes
    /// (read-your-writes) and nothing older than it saw (monotonic reads).
    pub fn read(&self) -> Request {
        // exercise: begin "a Request::Read whose min_index is the higher of the two positions"
        Request::Read {
            min_index: self.written.max(self.read),
        }
        // exercise: end
    }

    /// Remembers what a reply shows: the index of an acknowledged write,
    /// or the position a read was served at. A late or duplicated reply
    /// must not move a position back.
    pub fn on_reply(&mut self, reply: &Reply) {
        // exercise: begin "on Reply::Appended raise written to its index, on Reply::Read raise read "
        //   "to its index; never lower either"
        match *reply {
            Reply::Appended { index } => self.written = self.written.max(index),
            Reply::Read { index, .. } => self.read = self.read.max(index),
            _ => {} // not a client's reply (failover.rs)
        }
        // exercise: end
    }
}

impl LogShipping {
    /// The answer to a read served now: this node's applied index and the
    /// value of the entry there (none before the first entry).
    pub fn read_now(&self) -> Reply {
        // exercise: begin "Reply::Read with index last_index() and the value of the last entry of "
        //   "self.log (None if the log is empty)"
        Reply::Read {
            index: self.last_index(),
            value: self.log.last().map(|entry| entry.value),
        }
        // exercise: end
    }

    /// A read asking for a log position of at least `min_index`: served at
    /// once if this node has applied that far, else kept until it has.
    pub(crate) fn on_read(&mut self, ctx: &mut Ctx<Self>, id: RequestId, min_index: u64) {
        // exercise: begin "if last_index() >= min_index, reply with read_now(); otherwise push a "
        //   "PendingRead onto self.pending"
        if self.last_index() >= min_index {
            ctx.reply(id, self.read_now());
        } else {
            self.pending.push(PendingRead { id, min_index });
        }
        // exercise: end
    }

    /// After applying: answers every pending read this node has now caught
    /// up with, and keeps the others waiting.
    pub(crate) fn answer_pending(&mut self, ctx: &mut Ctx<Self>) {
        // exercise: begin
        // stub: // TODO: answer (read_now()) and remove every pending read whose min_index is at
        // stub: // most last_index(); keep the others.
        // stub: let _ = ctx;
        let applied = self.last_index();
        let (ready, waiting) = (self.pending.iter()).partition(|read| read.min_index <= applied);
        self.pending = waiting;
        for read in ready {
            ctx.reply(read.id, self.read_now());
        }
        // exercise: end
    }
}
