//! The suite of topic 06, quorums and replication: `quorum_rw`,
//! `quorum_read_repair`, `quorum_anti_entropy`, `quorum_abd` and
//! `quorum_linearizability`. Tests in the `meta` group run
//! each property check on a known-wrong implementation written here and pass
//! only if the check finds the bug; they grade no exercise.

#[cfg(feature = "learner")]
use exercises as subject;
#[cfg(not(feature = "learner"))]
use solutions as subject;

mod quorums {
    pub mod abd;
    pub mod anti_entropy;
    pub mod lin;
    pub mod read_repair;
    pub mod rw;
    pub mod workload;
    pub mod wrong;
}

fn main() {
    let suite = dscheck::Suite::new("quorums");
    let suite = quorums::rw::tests(suite);
    let suite = quorums::read_repair::tests(suite);
    let suite = quorums::anti_entropy::tests(suite);
    let suite = quorums::abd::tests(suite);
    let suite = quorums::lin::tests(suite);
    suite.run()
}
