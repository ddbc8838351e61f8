//! Meta tests: each runs the checks on the reference with one bug (a patch
//! in `bugs/`) and passes only if the intended property catches it.

use super::properties::{ACCEPTOR_RULE, AGREEMENT};
use dscheck::{expect_caught, Suite};

crate::observed!(crate::bugs::accepts_below_promise::single_decree::Paxos);
crate::observed!(crate::bugs::ignores_promised_votes::single_decree::Paxos);
crate::observed!(crate::bugs::not_durable::single_decree::Paxos);

pub fn tests(suite: Suite) -> Suite {
    use crate::bugs::accepts_below_promise::single_decree::Paxos as BelowPromise;
    use crate::bugs::ignores_promised_votes::single_decree::Paxos as OwnValue;
    use crate::bugs::not_durable::single_decree::Paxos as Forgetful;
    suite
        .test("meta::paxos_accepting_below_the_promise_is_caught", || {
            expect_caught(ACCEPTOR_RULE, 8, |seed| {
                super::single_decree::rival::<BelowPromise>(seed)?;
                super::single_decree::chaos::<BelowPromise>(seed, true)
            })
        })
        .test(
            "meta::paxos_proposer_ignoring_promised_votes_is_caught",
            || {
                expect_caught(AGREEMENT, 8, |seed| {
                    super::single_decree::rival::<OwnValue>(seed)?;
                    super::single_decree::chaos::<OwnValue>(seed, false)
                })
            },
        )
        .test("meta::paxos_state_not_durable_is_caught", || {
            expect_caught(ACCEPTOR_RULE, 8, |seed| {
                super::single_decree::rival::<Forgetful>(seed)?;
                super::single_decree::chaos::<Forgetful>(seed, true)
            })
        })
}
