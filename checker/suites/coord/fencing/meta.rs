//! The checks, run on the reference with one bug each (`bugs/`): each
//! known-wrong variant must be caught by the property it breaks.

use super::scenarios::{faulty, lock_restarts, paused_holder};
use super::{FENCED, INCREASING, ONE_HOLDER};
use dscheck::Suite;

pub fn meta(suite: Suite) -> Suite {
    use crate::bugs::counter_in_memory::fencing::Fencing as InMemory;
    use crate::bugs::grants_before_expiry::fencing::Fencing as BeforeExpiry;
    use crate::bugs::no_quiet_after_restart::fencing::Fencing as NoQuiet;
    use crate::bugs::storage_without_fencing::fencing::Fencing as Unfenced;
    use dscheck::{expect_caught, expect_caught_saying};
    suite
        .test("meta::storage_that_does_not_check_tokens_is_caught", || {
            expect_caught(FENCED, 10, paused_holder::<Unfenced>)
        })
        .test("meta::a_token_counter_kept_in_memory_is_caught", || {
            expect_caught_saying(
                INCREASING,
                10,
                &["restarted", "TOKEN_KEY"],
                &[],
                lock_restarts::<InMemory>,
            )
        })
        .test(
            "meta::a_lock_service_that_grants_before_expiry_is_caught",
            || expect_caught(ONE_HOLDER, 10, |seed| faulty::<BeforeExpiry>(seed, false)),
        )
        .test(
            "meta::a_lock_service_that_grants_at_once_after_a_restart_is_caught",
            || {
                expect_caught_saying(
                    ONE_HOLDER,
                    10,
                    &["quiet_until"],
                    &[],
                    lock_restarts::<NoQuiet>,
                )
            },
        )
}
