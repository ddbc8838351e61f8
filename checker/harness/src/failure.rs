//! What a test returns when a property does not hold.

use crate::protocol::FailureReport;
use dsim::{Node, Sim, Violation};

/// How many trace lines a failure shows by default.
pub const EXCERPT_LINES: usize = 14;

/// A property that did not hold, with what the learner needs to see why.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Failure(pub(crate) Box<FailureReport>);

impl Failure {
    /// `property` (plain words, the same for every failure of it) broke as
    /// `detail` says.
    pub fn new(property: impl Into<String>, detail: impl Into<String>) -> Self {
        Failure(Box::new(FailureReport {
            property: property.into(),
            detail: detail.into(),
            ..FailureReport::default()
        }))
    }

    /// A violation found by a simulation, with the trace lines that concern
    /// the nodes involved.
    pub fn from_sim<N: Node>(sim: &Sim<N>, violation: Violation) -> Self {
        let panicked = violation.property == PANIC_PROPERTY;
        let property = if panicked && violation.detail.contains(TODO_PANIC) {
            TODO_PROPERTY.to_string()
        } else {
            violation.property
        };
        let mut failure = Failure::new(property, violation.detail);
        failure.0.trace = sim.trace().excerpt(&violation.nodes, EXCERPT_LINES);
        failure.0.panicked = panicked;
        if crate::replaying() {
            failure.0.full_trace = sim.trace().render();
        }
        failure
    }

    /// A property broken in an exhaustive exploration, with the shortest
    /// run that breaks it, step by step, as its trace.
    pub fn from_counterexample(found: dsim::Counterexample) -> Self {
        let panicked = found.property == dsim::explore::PANIC_PROPERTY;
        let property = if panicked && found.detail.contains(TODO_PANIC) {
            TODO_PROPERTY.to_string()
        } else if panicked {
            PANIC_PROPERTY.to_string()
        } else {
            found.property
        };
        let detail = format!(
            "{} (the shortest run that breaks it, {} steps, found among {} states)",
            found.detail,
            found.trace.len().saturating_sub(1),
            found.states
        );
        let lines: Vec<String> = found
            .trace
            .iter()
            .flat_map(|step| step.lines().map(str::to_string))
            .collect();
        let mut failure = Failure::new(property, detail);
        failure.0.trace = lines.clone();
        failure.0.full_trace = lines;
        failure.0.panicked = panicked;
        failure
    }

    /// A failure noticed by the test itself after a run (a liveness bound, a
    /// final state), with the last events of the run for context.
    pub fn after_run<N: Node>(
        sim: &Sim<N>,
        property: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        let mut failure = Failure::new(property, detail);
        failure.0.trace = sim.trace().excerpt(&[], EXCERPT_LINES);
        if crate::replaying() {
            failure.0.full_trace = sim.trace().render();
        }
        failure
    }

    /// Attaches the hint for this property.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.0.hint = Some(hint.into());
        self
    }

    /// Attaches `hint` if this is a failure of `property` (a run can break
    /// other properties than the one a scenario is about).
    pub fn hint_for(self, property: &str, hint: impl Into<String>) -> Self {
        if self.property() == property {
            self.hint(hint)
        } else {
            self
        }
    }

    /// Replaces the trace excerpt.
    pub fn with_trace(mut self, lines: Vec<String>) -> Self {
        self.0.trace = lines;
        self
    }

    /// The property that broke.
    pub fn property(&self) -> &str {
        &self.0.property
    }

    /// What exactly happened.
    pub fn detail(&self) -> &str {
        &self.0.detail
    }

    /// The report sent to the runner.
    pub fn report(&self) -> &FailureReport {
        &self.0
    }
}

/// The property named when learner code panics inside a simulation.
pub const PANIC_PROPERTY: &str = "handlers run without panicking";
/// The property named when learner code reaches a `todo!()`.
pub const TODO_PROPERTY: &str = "the exercise is implemented";
/// How a `todo!()` panic message begins.
pub(crate) const TODO_PANIC: &str = "not yet implemented";

/// `Ok` if `holds`, else a failure of `property` described by `detail`
/// (evaluated only on failure).
pub fn ensure(holds: bool, property: &str, detail: impl FnOnce() -> String) -> Result<(), Failure> {
    if holds {
        Ok(())
    } else {
        Err(Failure::new(property, detail()))
    }
}

/// Runs a simulation step (`run_for`, `crash`, …) and turns a violation into
/// a failure with its trace: `run(&mut sim, |s| s.run_for(secs(1)))?`.
pub fn run<N: Node, T>(
    sim: &mut Sim<N>,
    step: impl FnOnce(&mut Sim<N>) -> Result<T, Violation>,
) -> Result<T, Failure> {
    step(sim).map_err(|v| Failure::from_sim(sim, v))
}
