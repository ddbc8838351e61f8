//! coord_lease: at most one node believes it holds the lease at any true
//! instant, and only while a majority of grantors still keep their promise
//! to it; a lease is acquired on a calm network, kept by renewal, and taken
//! over after the holder crashes.
//!
//! Every node's clock is skewed and drifts at the bound (±MAX_DRIFT), and
//! the safety properties are checked after every event against true time:
//! each node is asked `holds_lease` with its own clock's reading at that
//! true instant. Holding begins only at an event (a grant arriving) and
//! ends with time, so two holders at any true instant would be two holders
//! at the event just before it.

#[cfg(bugs)]
mod meta;
mod scenarios;
mod watch;

use crate::subject::coord::lease::{Lease, Msg, Promise};
use dscheck::{ms, Property, Suite};
use dsim::{Node, Time};
#[cfg(bugs)]
pub use meta::meta;
use scenarios::{
    alone, calm, faulty, takeover, worst_clocks, ALL, CRASHES, LOSSY, PARTITIONS, SLOW, SLOW_CUT,
};

/// A node of the exercise: the reference, the learner's, or one from `bugs/`.
pub trait Leasing: Node<Msg = Msg, Request = (), Reply = ()> {
    fn fresh() -> Self;
    fn holds(&self, now: Time) -> bool;
    fn promised(&self) -> Option<Promise>;
    fn quiet(&self, now: Time) -> bool;
}

macro_rules! leasing {
    ($($node:ty),* $(,)?) => {$(
        impl Leasing for $node {
            fn fresh() -> Self {
                <$node>::new()
            }
            fn holds(&self, now: Time) -> bool {
                self.holds_lease(now)
            }
            fn promised(&self) -> Option<Promise> {
                self.promise
            }
            fn quiet(&self, now: Time) -> bool {
                self.quiet_until.is_some_and(|q| now < q)
            }
        }
    )*};
}

leasing!(Lease);
#[cfg(bugs)]
leasing!(
    crate::bugs::counts_from_arrival::lease::Lease,
    crate::bugs::ignores_drift::lease::Lease,
    crate::bugs::grants_over_a_promise::lease::Lease,
);

pub const ONE_HOLDER: Property = Property {
    name: "at no true instant do two nodes both believe they hold the lease",
    hint: "a grantor refuses while its unexpired promise names another node, and a candidate \
           needs a majority of grants: two majorities share a grantor",
    when: &[],
};
pub const PROMISED: Property = Property {
    name: "a node believes it holds the lease only while a majority of the nodes still keep \
           their promise to it (by their own clocks)",
    hint: "count the lease from when the request was SENT, not from when the grants arrived, \
           and end it at sent + LEASE × (1 − MAX_DRIFT) by your clock; a grantor keeps its \
           promise for LEASE × (1 + MAX_DRIFT) + MARGIN by its clock, granting no other node \
           meanwhile",
    when: &[],
};
pub const ACQUIRED: Property = Property {
    name: "on a calm network with no crash, some node holds the lease within 3 s",
    hint: "a node with no live promise to another asks every peer for the lease (after a \
           random backoff) and holds it once a majority, itself included, granted",
    when: &[],
};
pub const KEPT: Property = Property {
    name: "on a calm network with no crash, a holder keeps the lease by renewing it",
    hint: "a holder asks again once half its lease is gone; a grantor grants again to the node \
           its promise already names, and the renewed lease counts from the new request's sent",
    when: &[],
};
pub const FRUGAL: Property = Property {
    name: "on a calm network, a holder renews at most once every quarter of a lease",
    hint: "a holder asks again only once half its lease is gone (lease_until - now <= \
           held_length() / 2), not at every tick",
    when: &[],
};
pub const TAKEN_OVER: Property = Property {
    name: "after the holder crashes, another node holds the lease within LEASE × (1 + \
           MAX_DRIFT) / (1 − MAX_DRIFT) + MARGIN + 1.2 s (one lost race and a backoff)",
    hint: "once its promise to the crashed holder has expired by its clock, a node asks for the \
           lease itself, and asks again every RETRY until a majority grants; a candidate that gives \
           up releases the promises made for its request",
    when: &[],
};

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded("lease::one_holder_on_a_lossy_network", 4, |seed| {
            faulty::<Lease>(seed, LOSSY)
        })
        .seeded("lease::one_holder_on_a_slow_network", 4, |seed| {
            faulty::<Lease>(seed, SLOW)
        })
        .seeded(
            "lease::one_holder_when_the_holder_is_cut_off_on_a_slow_network",
            4,
            |seed| faulty::<Lease>(seed, SLOW_CUT),
        )
        .seeded("lease::one_holder_when_the_holder_is_cut_off", 4, |seed| {
            faulty::<Lease>(seed, PARTITIONS)
        })
        .seeded("lease::one_holder_across_crashes", 4, |seed| {
            faulty::<Lease>(seed, CRASHES)
        })
        .seeded("lease::one_holder_under_every_fault", 4, |seed| {
            faulty::<Lease>(seed, ALL)
        })
        .seeded(
            "lease::a_slow_holder_cut_off_among_fast_grantors",
            4,
            |seed| worst_clocks::<Lease>(seed, ms(1)),
        )
        .seeded(
            "lease::a_slow_holder_cut_off_among_fast_grantors_on_a_slow_network",
            4,
            |seed| worst_clocks::<Lease>(seed, ms(75)),
        )
        .seeded(
            "lease::acquired_and_kept_on_a_calm_network",
            4,
            calm::<Lease>,
        )
        .seeded("lease::a_group_of_one_takes_the_lease", 2, alone::<Lease>)
        .seeded(
            "lease::taken_over_after_the_holder_crashes",
            8,
            takeover::<Lease>,
        )
}
