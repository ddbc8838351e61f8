//! The suite of topic 01, two generals: `generals_messengers` and
//! `generals_adversary`. Tests in the `meta` group run the checks on
//! known-wrong strategies and adversaries written here and pass only if the
//! intended property finds the flaw; they grade no exercise.

#[cfg(feature = "learner")]
use exercises as subject;
#[cfg(not(feature = "learner"))]
use solutions as subject;

mod generals {
    pub mod adversary;
    pub mod messengers;
    pub mod protocols;
}

fn main() {
    let suite = dscheck::Suite::new("generals");
    let suite = generals::messengers::tests(suite);
    let suite = generals::adversary::tests(suite);
    suite.run()
}
