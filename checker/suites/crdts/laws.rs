//! The glue between proptest and dscheck: a property over generated runs,
//! with a fixed seed, no failure persistence and shrinking, so that a
//! failure shows the smallest run (and so the smallest states) that breaks
//! it, and the same dscheck seed always finds the same one.
//!
//! Everything proptest is instantiated here once, for one strategy and one
//! closure type: the properties come in as `&dyn Fn`, so a learner's save
//! does not recompile proptest's generic code for every CRDT.

use crate::crdts::history::Program;
use dscheck::{Failure, Property, TODO};
use dsim::SimRng;
use proptest::collection::vec;
use proptest::prelude::any;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use std::cell::RefCell;
use std::ops::RangeInclusive;

/// The size of the runs a property is tried on.
pub struct Shape {
    pub replicas: RangeInclusive<u8>,
    /// At most this many steps.
    pub steps: usize,
    /// How many runs per seed (all of them, unless one fails).
    pub cases: u32,
}

/// Three replicas: `a`, `b` and `c` for the laws.
pub const THREE: Shape = Shape {
    replicas: 3..=3,
    steps: 24,
    cases: 64,
};

/// From 2 to 10 replicas.
pub const MANY: Shape = Shape {
    replicas: 2..=10,
    steps: 40,
    cases: 48,
};

// What can go wrong in a property test besides the property.
const RUNS_TO_ITS_END: Property = Property {
    name: "the property test runs to its end",
    hint: "",
    when: &[],
};
const NO_PANIC: Property = Property {
    name: "the code runs without panicking",
    hint: "",
    when: &[],
};
const SAME_VERDICT: Property = Property {
    name: "the same run gives the same verdict",
    hint: "",
    when: &[],
};

/// The random stream of a seed that seeds proptest's generator.
const STREAM: u64 = 0x5EED_0000_0000_0008;
/// How many smaller runs shrinking may try: enough to shrink the runs
/// generated here, few enough to keep a failing check quick.
const SHRINK_ITERS: u32 = 1024;

/// Tries `property` on `shape.cases` runs drawn for `seed`. On a failure,
/// shrinks the run to the smallest that still fails and returns that
/// run's failure, whose detail shows its states. A panic is reported with
/// `listing` of the smallest run that panics; a `todo!()` as such.
pub fn forall(
    seed: u64,
    shape: &Shape,
    listing: &dyn Fn(&Program) -> String,
    property: &dyn Fn(&Program) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let config = Config {
        cases: shape.cases,
        failure_persistence: None,
        max_shrink_iters: SHRINK_ITERS,
        max_shrink_time: 0,
        max_local_rejects: 65_536,
        max_global_rejects: 1024,
        max_flat_map_regens: 1_000_000,
        max_default_size_range: 100,
        verbose: 0,
        // The rest cannot come from PROPTEST_* variables: every field a
        // variable sets is set above, and the generator is ours.
        ..Config::default()
    };
    let mut bytes = [0u8; 32];
    let mut rng = SimRng::fork(seed, STREAM);
    for chunk in bytes.chunks_mut(8) {
        chunk.copy_from_slice(&rng.next_u64().to_le_bytes());
    }
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
    let mut runner = TestRunner::new_with_rng(config, rng);
    // Steps first, so that shrinking first makes the run short and its
    // numbers small (replica 0, an update, time 0), then the replicas few.
    let strategy = (
        vec((0u8..10, 0u8..4, any::<u8>(), 0u8..8), 0..=shape.steps),
        shape.replicas.clone(),
    );
    // Once a run reaches a todo!(), every run would: shrinking has nothing
    // to learn, so the rest fail at once.
    let todo: RefCell<Option<String>> = RefCell::new(None);
    let program = |(steps, replicas): (Vec<(u8, u8, u8, u8)>, u8)| Program {
        replicas: replicas as usize,
        steps,
    };
    let outcome = runner.run(&strategy, |input| {
        if todo.borrow().is_some() {
            return Err(TestCaseError::fail("todo"));
        }
        match dsim::panics::catch(|| property(&program(input))) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(failure)) => Err(TestCaseError::fail(failure.property().to_string())),
            Err(panic) => {
                if panic.starts_with("not yet implemented") {
                    *todo.borrow_mut() = Some(panic.clone());
                }
                Err(TestCaseError::fail(panic))
            }
        }
    });
    if let Some(panic) = todo.into_inner() {
        return Err(Failure::new(
            TODO,
            format!("the code reached a todo!(): {panic}"),
        ));
    }
    let smallest = match outcome {
        Ok(()) => return Ok(()),
        Err(TestError::Fail(_, input)) => program(input),
        Err(TestError::Abort(reason)) => {
            return Err(Failure::new(
                RUNS_TO_ITS_END,
                format!("proptest gave up: {reason}"),
            ))
        }
    };
    // Run the smallest failing run once more for its failure in full.
    match dsim::panics::catch(|| property(&smallest)) {
        Ok(Err(failure)) => Err(failure),
        Err(panic) => Err(Failure::new(
            NO_PANIC,
            format!(
                "panic: {panic}\nin the smallest run found to panic:\n{}",
                listing(&smallest)
            ),
        )),
        Ok(Ok(())) => Err(Failure::new(
            SAME_VERDICT,
            format!(
                "this run failed and then passed when run again: is some result \
                 drawn from a HashMap's order, the clock or a random generator?\n{}",
                listing(&smallest)
            ),
        )),
    }
}
