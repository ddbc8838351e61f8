//! Hidden tests of `intro_retry`: an instructor's private checks, run by
//! `dscourse grade` (the checker's `hidden` feature) and never by the
//! learner's runner. `dscourse dev strip` leaves this folder out of a
//! student distribution.

use super::scenario::{lossy, scenario, Profile, Values};
use super::Make;
use dscheck::{ms, secs, Suite};

/// The hidden tests, run on the nodes `make` builds.
pub fn tests(suite: Suite, make: Make) -> Suite {
    suite.seeded("retry::survives_a_burst_of_requests", 10, move |seed| {
        // Four hundred requests in half a second over a link that loses,
        // duplicates and holds back messages: many sequence numbers are in
        // flight at once, so every retransmission timer and every
        // duplicate check is exercised together.
        let profile = Profile {
            requests: 400,
            spread: ms(500),
            network: lossy(0.4, 0.4).with_long_delays(0.05, secs(1)),
            values: Values::Distinct,
        };
        scenario(seed, Box::new(make), &profile).map(drop)
    })
}
