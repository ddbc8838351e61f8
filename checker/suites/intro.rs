//! The suite of topic 00, the node API: `intro_pingpong` and `intro_retry`.
//!
//! The checks themselves are compiled once, in the `suites` crate
//! (`checker/once/src/intro/`), against the protocol's types in `protocols`.
//! This target only wraps the subject's nodes in local types that give the
//! checks their view of a node's state, and registers the tests: a save
//! rebuilds the learner's crate and this file, nothing else.

// A check of one exercise compiles only its part of the suite, and not
// every helper is used there.
#![cfg_attr(
    feature = "single-exercise",
    allow(dead_code, unused_imports, unused_macros)
)]

#[cfg(feature = "learner")]
use exercises as subject;
#[cfg(not(feature = "learner"))]
use solutions as subject;

#[cfg(exercise = "intro_pingpong")]
mod pingpong {
    use crate::subject::intro::pingpong::PingPong;
    use dsim::NodeId;
    use std::collections::BTreeSet;
    use suites::intro::pingpong::{Pinger, PingerNode};

    suites::adapter!(Subject(PingPong));

    impl Pinger for Subject {
        fn seq(&self) -> u64 {
            self.0.seq
        }
        fn pongs(&self) -> &BTreeSet<(NodeId, u64)> {
            &self.0.pongs
        }
    }

    /// A node of the subject, before it has started.
    pub fn node() -> Box<dyn PingerNode> {
        Box::new(Subject(PingPong::new()))
    }
}

#[cfg(exercise = "intro_retry")]
mod retry {
    use crate::subject::intro::retry::{Receiver, Retry};
    use dsim::NodeId;
    use std::collections::BTreeSet;
    use suites::intro::retry::{Memory, Observed, RetryNode};

    suites::adapter!(Subject(Retry));

    impl Observed for Subject {
        fn applied(&self) -> Option<&[u64]> {
            self.0.receiver().map(|r| r.applied.as_slice())
        }
        fn dedup_state_size(&self) -> usize {
            self.0.dedup_state_size()
        }
    }

    /// The subject's receiver, driven directly by the watermark test.
    struct Dedup(Receiver);

    impl Memory for Dedup {
        fn remember(&mut self, seq: u64) {
            self.0.remember(seq);
        }
        fn state(&self) -> (u64, &BTreeSet<u64>) {
            (self.0.applied_up_to, &self.0.applied_above)
        }
    }

    /// Node `id` of the subject, before it has started.
    pub fn node(id: NodeId) -> Box<dyn RetryNode> {
        Box::new(Subject(Retry::new(id)))
    }

    /// A new receiver of the subject, as a de-duplication memory.
    pub fn memory() -> Box<dyn Memory> {
        Box::new(Dedup(Receiver::default()))
    }
}

fn main() {
    let suite = dscheck::Suite::new("intro");
    #[cfg(exercise = "intro_pingpong")]
    let suite = suites::intro::pingpong::tests(suite, pingpong::node);
    #[cfg(exercise = "intro_retry")]
    let suite = suites::intro::retry::tests(suite, retry::node, retry::memory);
    suite.run()
}
