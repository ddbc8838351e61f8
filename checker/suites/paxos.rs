//! The suite of topic 12, paxos: `paxos_single_decree`. TODO: what the topic's
//! tests have in common.

#[cfg(feature = "learner")]
use exercises as subject;
#[cfg(not(feature = "learner"))]
use solutions as subject;

mod paxos {
    pub mod single_decree;
}

fn main() {
    let suite = dscheck::Suite::new("paxos");
    let suite = paxos::single_decree::tests(suite);
    suite.run()
}
