//! Noticing a run that does not replay the same way.
//!
//! The simulator gives every run of one seed the same network, clocks and
//! random numbers, so the same seed must give the same run. When a failing
//! seed, replayed twice in two processes, gives two different runs, the
//! learner's code takes something from outside the simulator: a `HashMap`'s
//! iteration order (random in each process), the wall clock, a random
//! generator of its own, threads, or global state. The runner replays (see
//! `rerun`); this module compares and explains.

use crate::colour::{bold, dim, paint};
use crossterm::style::Color;
use dscheck::protocol::{FailureReport, TestResult};
use dsim::{Dump, DumpEvent, Time};

/// A failing seed that did not run the same way twice.
#[derive(Clone, Debug, PartialEq)]
pub struct Divergence {
    /// The test that failed (`group::name`).
    pub test: String,
    pub seed: u64,
    pub difference: Difference,
}

/// Where two runs of one seed part ways.
#[derive(Clone, Debug, PartialEq)]
pub enum Difference {
    /// Their events differ from this one on (its position in the run).
    /// Each side is the event as the trace prints it (time and text), or
    /// `None` where that run had already ended.
    Event {
        index: u64,
        first: Option<String>,
        second: Option<String>,
    },
    /// The same events as far as they were kept, but another verdict.
    Verdict { first: String, second: String },
}

/// The first event at which two runs differ, in its time or its text.
/// Runs that kept only their last events (a trace limit) are compared from
/// the first event both kept.
pub fn first_difference(first: &Dump, second: &Dump) -> Option<Difference> {
    let start = first.dropped.max(second.dropped);
    let kept = |dump: &'_ Dump| -> Vec<DumpEvent> {
        dump.events
            .iter()
            .filter(|e| e.index >= start)
            .cloned()
            .collect()
    };
    let (a, b) = (kept(first), kept(second));
    for i in 0..a.len().max(b.len()) {
        let (x, y) = (a.get(i), b.get(i));
        let same = match (x, y) {
            (Some(x), Some(y)) => x.at_nanos == y.at_nanos && x.text == y.text,
            _ => false,
        };
        if !same {
            return Some(Difference::Event {
                index: start + i as u64,
                first: x.map(event_line),
                second: y.map(event_line),
            });
        }
    }
    None
}

/// An event as a trace line: `  412.5 ms  n0 sends n1: Ping { seq: 5 }`.
pub fn event_line(event: &DumpEvent) -> String {
    format!(
        "{:>10}  {}",
        Time::from_nanos(event.at_nanos).to_string(),
        event.text
    )
}

/// Compares a failure with two replays of its seed (each the result of the
/// same test in its own process): their runs event by event, then their
/// verdicts with the failure's. `None` when everything agrees, or when a
/// replay is missing (it did not finish: nothing to compare).
pub fn compare(
    original: &FailureReport,
    first: &TestResult,
    second: &TestResult,
) -> Option<Divergence> {
    let seed = original.seed?;
    let divergence = |difference| Divergence {
        test: first.test.clone(),
        seed,
        difference,
    };
    if let (Some(a), Some(b)) = (&first.dump, &second.dump) {
        if let Some(difference) = first_difference(a, b) {
            return Some(divergence(difference));
        }
    }
    let verdicts = [
        (Some(original), first.failure.as_ref()),
        (Some(original), second.failure.as_ref()),
        (first.failure.as_ref(), second.failure.as_ref()),
    ];
    verdicts
        .into_iter()
        .find(|(x, y)| !same_verdict(*x, *y))
        .map(|(x, y)| {
            divergence(Difference::Verdict {
                first: verdict(x),
                second: verdict(y),
            })
        })
}

fn same_verdict(x: Option<&FailureReport>, y: Option<&FailureReport>) -> bool {
    match (x, y) {
        (Some(x), Some(y)) => {
            x.property == y.property && x.detail == y.detail && x.trace == y.trace
        }
        (None, None) => true,
        _ => false,
    }
}

/// A verdict on one line.
fn verdict(report: Option<&FailureReport>) -> String {
    match report {
        None => "the test passed".to_string(),
        Some(report) => format!(
            "{}: {}",
            report.property,
            report.detail.lines().next().unwrap_or_default()
        ),
    }
}

impl Divergence {
    /// The note shown above the failure: what differed, why it matters, and
    /// what to use instead.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![format!(
            " {} {}  {}",
            paint("!", Color::Yellow),
            bold(&paint(
                "your code does not run the same way twice",
                Color::Yellow
            )),
            dim(&format!("(seed {})", self.seed))
        )];
        let seed = self.seed;
        match &self.difference {
            Difference::Event {
                index,
                first,
                second,
            } => {
                let side = |e: &Option<String>| {
                    e.clone()
                        .unwrap_or_else(|| "(the run had already ended)".to_string())
                };
                lines.push(format!(
                    "   The same seed must give the same run, but seed {seed}, run twice more, went two ways from event {index} on:"
                ));
                lines.push(format!("     one run    {}", side(first)));
                lines.push(format!("     another    {}", side(second)));
            }
            Difference::Verdict { first, second } => {
                lines.push(format!(
                    "   The same seed must give the same run, but seed {seed}, run again, ended another way:"
                ));
                lines.push(format!("     one run    {first}"));
                lines.push(format!("     another    {second}"));
            }
        }
        lines.push(
            "   The simulator's network, clocks and random numbers are the same each time, so something in your code is not. Likely causes:"
                .to_string(),
        );
        lines.extend(CAUSES.iter().map(|cause| format!("   - {cause}")));
        lines.push(dim(
            "   Until that is fixed, the failure below may look different each time.",
        ));
        lines
    }
}

/// Likely causes, each with what to use instead.
const CAUSES: [&str; 4] = [
    "iterating a HashMap or HashSet (its order changes from one process to the next): use a BTreeMap or BTreeSet, or sort first",
    "reading the wall clock (std::time::SystemTime or Instant): use ctx.now()",
    "random numbers that do not come from ctx.rng() (rand::random, thread_rng): use ctx.rng()",
    "threads: do the work in the handler itself; static variables: keep all state in your node",
];

#[cfg(test)]
mod tests {
    use super::*;
    use dsim::{DumpViolation, EventKind};
    use pretty_assertions::assert_eq;

    fn event(index: u64, at_ms: u64, text: &str) -> DumpEvent {
        DumpEvent {
            index,
            at_nanos: at_ms * 1_000_000,
            kind: EventKind::Send,
            node: Some(0),
            peer: Some(1),
            msg_id: Some(index),
            payload: String::new(),
            reason: None,
            text: text.to_string(),
        }
    }

    fn dump(events: &[(u64, &str)]) -> Dump {
        Dump {
            seed: 7,
            nodes: 3,
            events: events
                .iter()
                .enumerate()
                .map(|(i, (at, text))| event(i as u64, *at, text))
                .collect(),
            ..Dump::default()
        }
    }

    const RUN: [(u64, &str); 3] = [
        (0, "n0 starts"),
        (100, "n0 sends n1: Ping { seq: 1 }"),
        (100, "n0 sends n2: Ping { seq: 1 }"),
    ];

    #[test]
    fn the_same_events_make_no_difference() {
        assert_eq!(first_difference(&dump(&RUN), &dump(&RUN)), None);
        assert_eq!(first_difference(&Dump::default(), &Dump::default()), None);
    }

    #[test]
    fn names_the_first_event_that_differs_in_text() {
        let mut other = RUN;
        other.swap(1, 2);
        let difference = first_difference(&dump(&RUN), &dump(&other));
        assert_eq!(
            difference,
            Some(Difference::Event {
                index: 1,
                first: Some("    100 ms  n0 sends n1: Ping { seq: 1 }".to_string()),
                second: Some("    100 ms  n0 sends n2: Ping { seq: 1 }".to_string()),
            })
        );
    }

    #[test]
    fn a_different_time_is_a_difference() {
        let mut other = RUN;
        other[2].0 = 101;
        let Some(Difference::Event { index, second, .. }) =
            first_difference(&dump(&RUN), &dump(&other))
        else {
            panic!("no difference found");
        };
        assert_eq!(index, 2);
        assert_eq!(
            second.as_deref(),
            Some("    101 ms  n0 sends n2: Ping { seq: 1 }")
        );
    }

    #[test]
    fn a_run_that_ends_early_differs_where_it_ended() {
        let difference = first_difference(&dump(&RUN), &dump(&RUN[..2]));
        assert_eq!(
            difference,
            Some(Difference::Event {
                index: 2,
                first: Some("    100 ms  n0 sends n2: Ping { seq: 1 }".to_string()),
                second: None,
            })
        );
    }

    #[test]
    fn runs_that_kept_only_their_last_events_are_compared_where_both_kept() {
        let whole = dump(&RUN);
        let mut tail = dump(&RUN);
        tail.events.remove(0);
        tail.dropped = 1;
        assert_eq!(first_difference(&whole, &tail), None);
        tail.events[1].text = "n0 sends n0: Ping { seq: 1 }".to_string();
        let Some(Difference::Event { index, .. }) = first_difference(&whole, &tail) else {
            panic!("no difference found");
        };
        assert_eq!(index, 2);
    }

    fn report(detail: &str) -> FailureReport {
        FailureReport {
            property: "a ping is answered".to_string(),
            detail: detail.to_string(),
            seed: Some(7),
            ..FailureReport::default()
        }
    }

    fn result(failure: Option<FailureReport>, dump: Dump) -> TestResult {
        TestResult {
            test: "pingpong::answers_every_ping".to_string(),
            position: 0,
            hidden: false,
            passed: failure.is_none(),
            seeds: 1,
            duration_ms: 1,
            failure,
            dump: Some(dump),
            metrics: Vec::new(),
        }
    }

    #[test]
    fn replays_that_agree_with_the_failure_are_no_divergence() {
        let failed = report("n1 did not answer");
        let a = result(Some(failed.clone()), dump(&RUN));
        let b = result(Some(failed.clone()), dump(&RUN));
        assert_eq!(compare(&failed, &a, &b), None);
    }

    #[test]
    fn replays_that_differ_name_the_event() {
        let failed = report("n1 did not answer");
        let mut other = RUN;
        other.swap(1, 2);
        let a = result(Some(failed.clone()), dump(&RUN));
        let b = result(Some(failed.clone()), dump(&other));
        let divergence = compare(&failed, &a, &b).expect("a divergence");
        assert_eq!(divergence.seed, 7);
        assert_eq!(divergence.test, "pingpong::answers_every_ping");
        assert!(matches!(
            divergence.difference,
            Difference::Event { index: 1, .. }
        ));
    }

    #[test]
    fn replays_that_agree_with_each_other_but_not_with_the_failure_differ_in_verdict() {
        let failed = report("n1 did not answer");
        let mut violated = dump(&RUN);
        violated.violation = Some(DumpViolation {
            event: 2,
            property: "a ping is answered".to_string(),
            detail: "n2 did not answer".to_string(),
            nodes: vec![2],
            events: Vec::new(),
            at_end: None,
        });
        let a = result(Some(report("n2 did not answer")), violated.clone());
        let b = result(Some(report("n2 did not answer")), violated);
        assert_eq!(
            compare(&failed, &a, &b).map(|d| d.difference),
            Some(Difference::Verdict {
                first: "a ping is answered: n1 did not answer".to_string(),
                second: "a ping is answered: n2 did not answer".to_string(),
            })
        );
        let passed = result(None, dump(&RUN));
        let Some(Difference::Verdict { second, .. }) =
            compare(&failed, &passed, &passed.clone()).map(|d| d.difference)
        else {
            panic!("no verdict difference");
        };
        assert_eq!(second, "the test passed");
    }

    #[test]
    fn the_note_names_the_event_and_the_deterministic_alternatives() {
        let divergence = Divergence {
            test: "pingpong::answers_every_ping".to_string(),
            seed: 7,
            difference: Difference::Event {
                index: 1,
                first: Some("    100 ms  n0 sends n1: Ping { seq: 1 }".to_string()),
                second: None,
            },
        };
        let text = divergence.lines().join("\n");
        for needle in [
            "seed 7",
            "The same seed must give the same run",
            "from event 1 on",
            "n0 sends n1: Ping { seq: 1 }",
            "(the run had already ended)",
            "HashMap",
            "BTreeMap",
            "ctx.now()",
            "ctx.rng()",
            "threads",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
        }
    }
}
