//! The suite of topic 13, replication: `replication_log_shipping`. TODO: what the topic's
//! tests have in common.

#[cfg(feature = "learner")]
use exercises as subject;
#[cfg(not(feature = "learner"))]
use solutions as subject;

mod replication {
    pub mod log_shipping;
}

fn main() {
    let suite = dscheck::Suite::new("replication");
    let suite = replication::log_shipping::tests(suite);
    suite.run()
}
