//! Meta tests of paxos_multi: each runs the checks on the reference with
//! one bug (a patch in `bugs/`) and passes only if the intended property
//! catches it.

use super::observe::{ACCEPTOR_RULE, AGREEMENT, DURABLE, NO_HOLES};
use super::{hole, leader_crash, split_brain, unseen};
use dscheck::{expect_caught, expect_caught_saying, Suite};

crate::observed_multi!(crate::bugs::multi_accepts_below_promise::multi::Multi);
crate::observed_multi!(crate::bugs::multi_ignores_promised_votes::multi::Multi);
crate::observed_multi!(crate::bugs::multi_no_noop_fill::multi::Multi);
crate::observed_multi!(crate::bugs::multi_promise_forgotten::multi::Multi);
crate::observed_multi!(crate::bugs::multi_promise_not_stored::multi::Multi);

pub fn tests(suite: Suite) -> Suite {
    use crate::bugs::multi_accepts_below_promise::multi::Multi as BelowPromise;
    use crate::bugs::multi_ignores_promised_votes::multi::Multi as Noops;
    use crate::bugs::multi_no_noop_fill::multi::Multi as Holes;
    use crate::bugs::multi_promise_forgotten::multi::Multi as Forgets;
    use crate::bugs::multi_promise_not_stored::multi::Multi as Unstored;
    suite
        .test("meta::multi_accepting_below_the_promise_is_caught", || {
            expect_caught(ACCEPTOR_RULE, 4, split_brain::<BelowPromise>)
        })
        .test(
            "meta::multi_leader_ignoring_promised_votes_is_caught",
            || expect_caught(AGREEMENT, 4, unseen::<Noops>),
        )
        .test("meta::multi_leader_leaving_holes_is_caught", || {
            expect_caught_saying(NO_HOLES, 4, &["still empty"], &[], hole::<Holes>)
        })
        .test("meta::multi_promise_forgotten_on_restart_is_caught", || {
            expect_caught_saying(
                ACCEPTOR_RULE,
                4,
                &["had promised"],
                &[],
                leader_crash::<Forgets>,
            )
        })
        .test("meta::multi_promise_not_stored_is_caught", || {
            expect_caught(DURABLE, 4, leader_crash::<Unstored>)
        })
}
