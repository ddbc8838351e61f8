//! What a test returns when a property does not hold.

use crate::protocol::FailureReport;
use dsim::{Broken, Node, NodeId, Property, Sim, Violation};

/// How many trace lines a failure shows by default.
pub const EXCERPT_LINES: usize = 14;

/// A property that did not hold, with what the learner needs to see why.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Failure(pub(crate) Box<FailureReport>);

impl Failure {
    /// `property` broke as `detail` says; the failure carries the
    /// property's words and hint.
    pub fn new(property: Property, detail: impl Into<String>) -> Self {
        let hint = (!property.hint.is_empty()).then(|| property.hint.to_string());
        Failure(Box::new(FailureReport {
            property: property.name.to_string(),
            detail: detail.into(),
            hint,
            ..FailureReport::default()
        }))
    }

    /// A failure of one of the harness's own properties, which have no hint
    /// ([`TODO_PROPERTY`], [`META_PROPERTY`](crate::META_PROPERTY), …).
    pub(crate) fn unhinted(property: &str, detail: impl Into<String>) -> Self {
        Failure(Box::new(FailureReport {
            property: property.to_string(),
            detail: detail.into(),
            ..FailureReport::default()
        }))
    }

    /// A violation found by a simulation, with the trace lines that concern
    /// the nodes involved, and the property's hint for what the run showed
    /// ([`Property::hint_where`]).
    pub fn from_sim<N: Node>(sim: &Sim<N>, violation: Violation) -> Self {
        let panicked = violation.property.name == PANIC_PROPERTY;
        let mut failure = if panicked && violation.detail.contains(TODO_PANIC) {
            Failure::unhinted(TODO_PROPERTY, violation.detail)
        } else {
            let about = Broken::new(violation.detail)
                .nodes(violation.nodes.iter().copied())
                .events(violation.events.iter().copied());
            Failure::of_run(sim, violation.property, about)
        };
        failure.0.trace = sim.trace().excerpt(&violation.nodes, EXCERPT_LINES);
        failure.0.panicked = panicked;
        if crate::replaying() {
            failure.0.full_trace = sim.trace().render();
        }
        failure
    }

    /// `property` broke in `sim` as `about` says: its hint chosen by the
    /// facts of the run, and the whole trace when replaying.
    fn of_run<N: Node>(sim: &Sim<N>, property: Property, about: Broken) -> Self {
        let since = about.events.iter().min().copied();
        let hint = property.hint_where(|fact| sim.fact(fact, &about.nodes, since));
        let mut failure = Failure::new(property, about.detail);
        failure.0.hint = (!hint.is_empty()).then(|| hint.to_string());
        failure.0.nodes = about.nodes.iter().map(|n| n.index()).collect();
        failure.0.events = about.events;
        failure
    }

    /// A property broken in an exhaustive exploration, with the shortest
    /// run that breaks it, step by step, as its trace.
    pub fn from_counterexample(found: dsim::Counterexample) -> Self {
        let panicked = found.property == dsim::explore::PANIC_PROPERTY;
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
        let mut failure = if panicked && found.detail.contains(TODO_PANIC) {
            Failure::unhinted(TODO_PROPERTY, detail)
        } else if panicked {
            Failure::unhinted(PANIC_PROPERTY, detail)
        } else {
            Failure::new(found.property, detail)
        };
        failure.0.trace = lines.clone();
        failure.0.full_trace = lines;
        failure.0.panicked = panicked;
        failure
    }

    /// A failure noticed by the test itself after a run (a liveness bound, a
    /// final state), with the last events of the run for context. `about`
    /// is what happened: the detail, or a [`Broken`] that also names the
    /// nodes and the events it concerns; the trace excerpt then ends at
    /// the first event named, and a replay starts there, not at the end of
    /// the run.
    pub fn after_run<N: Node>(sim: &Sim<N>, property: Property, about: impl Into<Broken>) -> Self {
        let about: Broken = about.into();
        let nodes: Vec<NodeId> = about.nodes.clone();
        let first = about.events.iter().min().copied().unwrap_or(u64::MAX);
        let mut failure = Failure::of_run(sim, property, about);
        failure.0.trace = sim.trace().excerpt_to(&nodes, EXCERPT_LINES, first);
        failure.0.at_end = Some(sim.now().as_nanos());
        if crate::replaying() {
            failure.0.full_trace = sim.trace().render();
        }
        failure
    }

    /// Gives a failure of `property` the hint `hint` instead of the
    /// property's own: for a property whose advice depends on the test (the
    /// merge laws, the same words for every CRDT, are fixed differently in
    /// each). A failure of another property is left as it is, since a run
    /// can break other properties than the one a test is about.
    pub fn hint_for(mut self, property: Property, hint: &str) -> Self {
        if self.property() == property.name {
            self.0.hint = Some(hint.to_string());
        }
        self
    }

    /// Replaces what exactly happened (a test that shrinks a failing case
    /// tells the smallest one).
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.0.detail = detail.into();
        self
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
/// [`TODO_PROPERTY`] as a [`Property`], for a suite that finds a `todo!()`
/// itself (in a child process's output, in a server's reply).
pub const TODO: Property = Property {
    name: TODO_PROPERTY,
    hint: "",
    when: &[],
};
/// [`PANIC_PROPERTY`] as a [`Property`], likewise.
pub const PANIC: Property = Property {
    name: PANIC_PROPERTY,
    hint: "",
    when: &[],
};
/// How a `todo!()` panic message begins.
pub(crate) const TODO_PANIC: &str = "not yet implemented";

/// `Ok` if `holds`, else a failure of `property` described by `detail`
/// (evaluated only on failure).
pub fn ensure(
    holds: bool,
    property: Property,
    detail: impl FnOnce() -> String,
) -> Result<(), Failure> {
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

#[cfg(test)]
mod tests {
    use super::*;

    const QUORUM: Property = Property {
        name: "a read sees the last write",
        hint: "wait for a majority",
        when: &[],
    };
    const BUDGET: Property = Property {
        name: "the run stays within its budget",
        hint: "",
        when: &[],
    };

    #[test]
    fn a_failure_carries_its_propertys_words_and_hint() {
        let failure = Failure::new(QUORUM, "n1 read 3 after 4 was written");
        assert_eq!(failure.property(), QUORUM.name);
        assert_eq!(failure.report().hint.as_deref(), Some(QUORUM.hint));
        assert_eq!(Failure::new(BUDGET, "too many").report().hint, None);
    }

    #[test]
    fn a_hint_for_one_property_leaves_the_others_alone() {
        let failure = Failure::new(QUORUM, "stale").hint_for(QUORUM, "in this test, look here");
        assert_eq!(
            failure.report().hint.as_deref(),
            Some("in this test, look here")
        );
        let other = Failure::new(BUDGET, "too many").hint_for(QUORUM, "unused");
        assert_eq!(other.report().hint, None);
    }

    #[test]
    fn a_violation_brings_its_propertys_hint_along() {
        let mut sim = Sim::new(1, 2, |_| Idle);
        sim.check(QUORUM, |_, _| Err("always".into()));
        let violation = sim.step().unwrap_err();
        let failure = Failure::from_sim(&sim, violation);
        assert_eq!(failure.property(), QUORUM.name);
        assert_eq!(failure.report().hint.as_deref(), Some(QUORUM.hint));
    }

    const KEPT: Property = Property {
        name: "a node keeps its vote",
        hint: "set the vote once per term",
        when: &[(dsim::Fact::Restarted, "put the vote on storage")],
    };

    #[test]
    fn a_violation_gets_the_hint_for_what_its_run_showed() {
        let broken = |sim: &mut Sim<Idle>| {
            sim.check(KEPT, |_, _| {
                Err(Broken::new("n1 voted twice").nodes([NodeId(1)]))
            });
            let violation = sim.step().unwrap_err();
            Failure::from_sim(sim, violation)
        };
        let mut calm = Sim::new(1, 2, |_| Idle);
        let failure = broken(&mut calm);
        assert_eq!(failure.report().hint.as_deref(), Some(KEPT.hint));
        assert_eq!(failure.report().nodes, [1]);

        // A restart of another node says nothing about n1.
        let mut other = Sim::new(1, 2, |_| Idle);
        other.crash(NodeId(0)).unwrap();
        other.restart(NodeId(0)).unwrap();
        let failure = broken(&mut other);
        assert_eq!(failure.report().hint.as_deref(), Some(KEPT.hint));

        let mut restarted = Sim::new(1, 2, |_| Idle);
        restarted.crash(NodeId(1)).unwrap();
        restarted.restart(NodeId(1)).unwrap();
        let failure = broken(&mut restarted);
        assert_eq!(
            failure.report().hint.as_deref(),
            Some("put the vote on storage")
        );
    }

    #[test]
    fn a_failure_after_the_run_says_when_and_what_it_names() {
        let mut sim = Sim::new(1, 2, |_| Idle);
        sim.crash(NodeId(1)).unwrap();
        sim.restart(NodeId(1)).unwrap();
        sim.run_for(std::time::Duration::from_millis(30)).unwrap();
        let plain = Failure::after_run(&sim, KEPT, "n1 forgot");
        assert_eq!(plain.report().at_end, Some(30_000_000));
        assert_eq!(
            plain.report().hint.as_deref(),
            Some("put the vote on storage")
        );
        // The restart came before the event named: it does not count.
        let last = sim.trace().total() - 1;
        let about = Broken::new("n1 forgot").nodes([NodeId(1)]).events([last]);
        let named = Failure::after_run(&sim, KEPT, about);
        assert_eq!(named.report().nodes, [1]);
        assert_eq!(named.report().events, [last]);
        assert_eq!(named.report().hint.as_deref(), Some(KEPT.hint));
    }

    /// A node that does nothing.
    #[derive(Debug)]
    struct Idle;

    impl Node for Idle {
        type Msg = ();
        type Timer = ();
        type Request = ();
        type Reply = ();

        fn on_message(&mut self, _: &mut dsim::Ctx<Self>, _: dsim::NodeId, _: ()) {}
    }
}
