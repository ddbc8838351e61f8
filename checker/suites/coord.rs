//! The suite of topic 14, coord: `coord_lease`. TODO: what the topic's
//! tests have in common.

#[cfg(feature = "learner")]
use exercises as subject;
#[cfg(not(feature = "learner"))]
use solutions as subject;

mod coord {
    pub mod lease;
}

fn main() {
    let suite = dscheck::Suite::new("coord");
    let suite = coord::lease::tests(suite);
    suite.run()
}
