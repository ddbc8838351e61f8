//! The checks, run on the reference with one bug each (`bugs/`): each
//! known-wrong variant must be caught by the property it breaks.

use super::scenarios::{faulty, worst_clocks, Faults, LOSSY};
use super::{ONE_HOLDER, PROMISED};
use dscheck::{ms, Suite};

pub fn meta(suite: Suite) -> Suite {
    use crate::bugs::counts_from_arrival::lease::Lease as FromArrival;
    use crate::bugs::grants_over_a_promise::lease::Lease as OverPromise;
    use crate::bugs::ignores_drift::lease::Lease as IgnoresDrift;
    use dscheck::expect_caught;
    suite
        .test(
            "meta::a_lease_counted_from_the_grants_arrival_is_caught",
            || {
                expect_caught(PROMISED, 10, |seed| {
                    worst_clocks::<FromArrival>(seed, ms(75))
                })
            },
        )
        .test("meta::a_holder_that_ignores_drift_is_caught", || {
            expect_caught(PROMISED, 10, |seed| {
                worst_clocks::<IgnoresDrift>(seed, ms(1))
            })
        })
        .test(
            "meta::a_grantor_that_grants_over_a_live_promise_is_caught",
            || expect_caught(PROMISED, 10, |seed| faulty::<OverPromise>(seed, LOSSY)),
        )
        .test("meta::two_holders_at_once_are_caught", || {
            let alone = Faults {
                promised: false,
                ..LOSSY
            };
            expect_caught(ONE_HOLDER, 10, |seed| faulty::<OverPromise>(seed, alone))
        })
}
