//! coord_fencing: storage never applies a write with an older fencing token
//! than one it applied, the lock service's tokens strictly increase (across
//! its restarts too) and it never grants over another client's unexpired
//! grant, by its own clock; a paused holder's late write is turned away; a
//! crashed holder's lock is taken over, a released one granted again.
//!
//! `n0` is the lock service, `n1` storage, `n2`–`n4` clients. The safety
//! properties are checked after every event, from what the trace shows the
//! lock service send (grants) and receive (releases) and from storage's
//! list of applied writes; clocks are skewed and drift.

#[cfg(bugs)]
mod meta;
mod scenarios;
mod watch;

use crate::subject::coord::fencing::{Fencing, Msg, Timer, Write};
use dscheck::{Property, Suite};
use dsim::{Fact, Node};
#[cfg(bugs)]
pub use meta::meta;
use scenarios::{faulty, lock_restarts, lone_client, paused_holder, takeover, turns};

/// A node of the exercise: the reference, the learner's, or one from `bugs/`.
pub trait Fenced: Node<Msg = Msg, Timer = Timer, Request = (), Reply = ()> {
    fn fresh() -> Self;
    fn applied(&self) -> &[Write];
    fn pending(&self) -> Option<Write>;
}

macro_rules! fenced {
    ($($node:ty),* $(,)?) => {$(
        impl Fenced for $node {
            fn fresh() -> Self {
                <$node>::new()
            }
            fn applied(&self) -> &[Write] {
                &self.store.applied
            }
            fn pending(&self) -> Option<Write> {
                self.client.pending
            }
        }
    )*};
}

fenced!(Fencing);
#[cfg(bugs)]
fenced!(
    crate::bugs::storage_without_fencing::fencing::Fencing,
    crate::bugs::counter_in_memory::fencing::Fencing,
    crate::bugs::grants_before_expiry::fencing::Fencing,
    crate::bugs::no_quiet_after_restart::fencing::Fencing,
);

pub const FENCED: Property = Property {
    name: "storage never applies a write whose token is lower than the token of a write it \
           applied before",
    hint: "the resource itself must turn away the past: in apply, refuse (Err(highest)) a write \
           whose token is below the highest applied, and only otherwise raise highest and keep \
           the write",
    when: &[],
};
pub const INCREASING: Property = Property {
    name: "every grant the lock service sends carries a higher token than every grant before \
           it, across its restarts too",
    hint: "each grant takes last_token + 1 and writes it to storage under TOKEN_KEY before the \
           grant goes out",
    when: &[(
        Fact::Restarted,
        "the lock service restarted: what is only in memory is gone, so start_lock reads \
         last_token back from storage (TOKEN_KEY), where every grant wrote it",
    )],
};
pub const ONE_HOLDER: Property = Property {
    name: "the lock service never grants the lock while another client's grant is unexpired \
           (by its own clock) and not released",
    hint: "refuse while holder names another client and now < holder.until (a renewal by the \
           holder itself is fine); a release counts only for the holder's own token",
    when: &[(
        Fact::Restarted,
        "the lock service restarted and forgot who holds the lock: if it ever granted (TOKEN_KEY \
         is in storage), it must grant nothing for one LEASE after it comes back (quiet_until)",
    )],
};
pub const TAKEN_OVER: Property = Property {
    name: "once the holder crashes or pauses past its lease, another client holds the lock \
           within 2 × LEASE and storage applies its writes",
    hint: "grant to a new client once the holder's grant has expired by your clock \
           (now >= holder.until)",
    when: &[],
};
pub const RESUMED: Property = Property {
    name: "after the lock service restarts, some client holds the lock within 2 × LEASE",
    hint: "a restarted lock service is quiet for one LEASE only, then grants as before",
    when: &[],
};
pub const STALE_SENT: Property = Property {
    name: "a client paused while preparing a write sends it when it wakes, with the token it \
           started with",
    hint: "the given client sends client.pending at Timer::Send without looking at its lease \
           again; keep that code as it is",
    when: &[],
};
pub const RELEASED: Property = Property {
    name: "on a calm network, a lock released by its holder is granted again within 120 ms",
    hint: "on Release, forget the holder when the release is the holder's own (same client, \
           same token): then the next Acquire is granted at once",
    when: &[],
};
pub const ACCEPTED: Property = Property {
    name: "storage applies a write whose token is at least every token it applied: a lone \
           client's writes, several under one token, are all applied",
    hint: "a token equal to the highest is the same holder writing again: apply it, and reject \
           only a token strictly below the highest",
    when: &[],
};
pub const TURNS: Property = Property {
    name: "on a calm network, every client gets writes applied within 4 s",
    hint: "grant when no one holds the lock or the holder's grant expired; clients release \
           after their writes and ask again",
    when: &[],
};

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded(
            "fencing::a_paused_holders_late_write_is_rejected",
            8,
            paused_holder::<Fencing>,
        )
        .seeded("fencing::safe_under_pauses_and_crashes", 4, |seed| {
            faulty::<Fencing>(seed, false)
        })
        .seeded(
            "fencing::safe_under_pauses_and_crashes_on_a_lossy_network",
            4,
            |seed| faulty::<Fencing>(seed, true),
        )
        .seeded(
            "fencing::tokens_increase_across_lock_service_restarts",
            6,
            lock_restarts::<Fencing>,
        )
        .seeded(
            "fencing::taken_over_after_the_holder_crashes",
            6,
            takeover::<Fencing>,
        )
        .seeded(
            "fencing::released_locks_are_granted_again_and_clients_take_turns",
            4,
            turns::<Fencing>,
        )
        .seeded(
            "fencing::a_lone_clients_writes_are_all_applied",
            4,
            lone_client::<Fencing>,
        )
}
