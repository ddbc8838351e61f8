//! The suite of topic 00, the node API: `intro_pingpong` and `intro_retry`.

#[cfg(feature = "learner")]
use exercises as subject;
#[cfg(not(feature = "learner"))]
use solutions as subject;

mod intro {
    pub mod pingpong;
    pub mod retry;
}

fn main() {
    let suite = dscheck::Suite::new("intro");
    let suite = intro::pingpong::tests(suite);
    let suite = intro::retry::tests(suite);
    suite.run()
}
