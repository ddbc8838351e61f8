//! clocks_vector: increment, merge and compare, and a node that stamps its
//! events with vector clocks.
//!
//! Happens-before is taken from the simulated trace (program order on each
//! node plus send → receipt, closed under transitivity), never from the
//! clocks under test.

use crate::clocks::happens_before::{chaotic_network, drive, Action, HappensBefore};
use crate::expect_caught;
use crate::subject::clocks::vector::{Causality, Msg, Request, VectorClock, VectorNode};
use dscheck::{ms, run, secs, Failure, Property, Suite};
use dsim::{Broken, Ctx, Node, NodeId, RequestId, Sim, SimRng};
use serde::{Deserialize, Serialize};
use std::fmt::Debug;

const INCREMENT: Property = Property {
    name: "incrementing adds one to the node's own entry and to no other",
    hint: "entry i belongs to node i: self.entries[node.index()] += 1",
    when: &[],
};
const COMPARE: Property = Property {
    name: "compare tells before, after, equal and concurrent apart",
    hint: "Before: no entry larger and some entry smaller; Concurrent: some entry larger and some smaller",
    when: &[],
};
const LAWS: Property = Property {
    name: "merge is commutative, associative and idempotent",
    hint: "merge takes the larger of the two entries, one position at a time",
    when: &[],
};
const UPPER_BOUND: Property = Property {
    name: "a merge is the least upper bound of the two clocks",
    hint: "after a merge the clock knows every event either clock knew, and no more",
    when: &[],
};
const ORDERED: Property = Property {
    name: "if event a happens before event b, then V(a) < V(b)",
    hint: "increment your own entry on every event; on receipt merge the message's clock in before incrementing",
    when: &[],
};
const CONCURRENT: Property = Property {
    name: "events not related by happens-before have concurrent vector clocks",
    hint: "compare must answer Concurrent when each clock has an entry larger than the other's",
    when: &[],
};

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded(
            "vector::increment_advances_only_the_nodes_own_entry",
            10,
            increment,
        )
        .seeded(
            "vector::compare_tells_before_after_equal_and_concurrent",
            10,
            compare,
        )
        .seeded(
            "vector::merge_is_commutative_associative_and_idempotent",
            10,
            |seed| merge_laws(seed, merge),
        )
        .seeded("vector::merge_is_the_least_upper_bound", 10, |seed| {
            upper_bound(seed, merge)
        })
        .seeded(
            "vector::happens_before_means_an_earlier_clock",
            20,
            |seed| {
                stamps(
                    seed,
                    ORDERED,
                    |_| VectorNode::new(NODES),
                    |a: &VectorClock, b| relation(a.compare(b)),
                )
            },
        )
        .seeded(
            "vector::concurrent_events_have_concurrent_clocks",
            20,
            |seed| {
                stamps(
                    seed,
                    CONCURRENT,
                    |_| VectorNode::new(NODES),
                    |a: &VectorClock, b| relation(a.compare(b)),
                )
            },
        )
        .test("meta::vector_receive_without_merge_is_caught", || {
            expect_caught(ORDERED, |seed| {
                stamps(
                    seed,
                    ORDERED,
                    |_| Model::new(false),
                    |a: &Vec<u64>, b: &Vec<u64>| model_compare(a, b),
                )
            })
        })
        .test(
            "meta::vector_compare_that_orders_concurrent_clocks_is_caught",
            || {
                // Comparing the vectors like words puts every pair in some order.
                let lexicographic = |a: &Vec<u64>, b: &Vec<u64>| match a.cmp(b) {
                    std::cmp::Ordering::Less => Rel::Before,
                    std::cmp::Ordering::Equal => Rel::Equal,
                    std::cmp::Ordering::Greater => Rel::After,
                };
                expect_caught(CONCURRENT, |seed| {
                    stamps(seed, CONCURRENT, |_| Model::new(true), lexicographic)
                })
            },
        )
        .test("meta::vector_merge_that_adds_is_caught", || {
            expect_caught(LAWS, |seed| {
                merge_laws(seed, |a, b| a.iter().zip(b).map(|(x, y)| x + y).collect())
            })
        })
        .test(
            "meta::vector_merge_that_takes_the_minimum_is_caught",
            || {
                expect_caught(UPPER_BOUND, |seed| {
                    upper_bound(seed, |a, b| {
                        a.iter().zip(b).map(|(x, y)| *x.min(y)).collect()
                    })
                })
            },
        )
}

const NODES: usize = 4;

/// The four relations, as the suite names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rel {
    Before,
    After,
    Equal,
    Concurrent,
}

fn relation(c: Causality) -> Rel {
    match c {
        Causality::Before => Rel::Before,
        Causality::After => Rel::After,
        Causality::Equal => Rel::Equal,
        Causality::Concurrent => Rel::Concurrent,
    }
}

fn model_compare(a: &[u64], b: &[u64]) -> Rel {
    let smaller = a.iter().zip(b).any(|(x, y)| x < y);
    let larger = a.iter().zip(b).any(|(x, y)| x > y);
    match (smaller, larger) {
        (false, false) => Rel::Equal,
        (true, false) => Rel::Before,
        (false, true) => Rel::After,
        (true, true) => Rel::Concurrent,
    }
}

fn clock(entries: &[u64]) -> VectorClock {
    VectorClock {
        entries: entries.to_vec(),
    }
}

fn merge(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut merged = clock(a);
    merged.merge(&clock(b));
    merged.entries
}

/// A random clock of `len` entries, small so that ties are common.
fn random_clock(rng: &mut SimRng, len: usize) -> Vec<u64> {
    (0..len).map(|_| rng.range(0..=3)).collect()
}

fn increment(seed: u64) -> Result<(), Failure> {
    let mut rng = SimRng::new(seed);
    for _ in 0..200 {
        let len = 1 + rng.below(5) as usize;
        let before = random_clock(&mut rng, len);
        let node = NodeId(rng.below(before.len() as u64) as usize);
        let mut after = clock(&before);
        after.increment(node);
        let mut expected = before.clone();
        expected[node.index()] += 1;
        if after.entries != expected {
            return Err(Failure::new(
                INCREMENT,
                format!(
                    "{before:?} incremented for {node} gave {:?}, not {expected:?}",
                    after.entries
                ),
            ));
        }
    }
    Ok(())
}

fn compare(seed: u64) -> Result<(), Failure> {
    let mut rng = SimRng::new(seed);
    for case in 0..500 {
        let len = 1 + rng.below(5) as usize;
        let a = random_clock(&mut rng, len);
        // Every fourth pair is built to be equal or ordered: random pairs are
        // mostly concurrent.
        let b = match case % 4 {
            0 => a.clone(),
            1 => a.iter().map(|x| x + rng.range(0..=1)).collect(),
            _ => random_clock(&mut rng, len),
        };
        let expected = model_compare(&a, &b);
        let got = relation(clock(&a).compare(&clock(&b)));
        if got != expected {
            return Err(Failure::new(
                COMPARE,
                format!("{a:?} compared with {b:?} gave {got:?}, not {expected:?}"),
            ));
        }
    }
    Ok(())
}

fn merge_laws(seed: u64, merge: impl Fn(&[u64], &[u64]) -> Vec<u64>) -> Result<(), Failure> {
    let mut rng = SimRng::new(seed);
    for _ in 0..300 {
        let len = 1 + rng.below(5) as usize;
        let (a, b, c) = (
            random_clock(&mut rng, len),
            random_clock(&mut rng, len),
            random_clock(&mut rng, len),
        );
        let law = |holds: bool, detail: String| {
            if holds {
                Ok(())
            } else {
                Err(Failure::new(LAWS, detail))
            }
        };
        let (ab, ba) = (merge(&a, &b), merge(&b, &a));
        law(
            ab == ba,
            format!("merging {a:?} with {b:?} gives {ab:?}, but the other way round {ba:?}"),
        )?;
        let (left, right) = (merge(&ab, &c), merge(&a, &merge(&b, &c)));
        law(left == right, format!("merging {a:?}, {b:?} and {c:?}: (a ⊔ b) ⊔ c = {left:?} but a ⊔ (b ⊔ c) = {right:?}"))?;
        let aa = merge(&a, &a);
        law(aa == a, format!("merging {a:?} with itself gives {aa:?}"))?;
    }
    Ok(())
}

fn upper_bound(seed: u64, merge: impl Fn(&[u64], &[u64]) -> Vec<u64>) -> Result<(), Failure> {
    let mut rng = SimRng::new(seed);
    for _ in 0..300 {
        let len = 1 + rng.below(5) as usize;
        let (a, b) = (random_clock(&mut rng, len), random_clock(&mut rng, len));
        let m = merge(&a, &b);
        let upper = m.len() == len && (0..len).all(|i| m[i] >= a[i] && m[i] >= b[i]);
        let least = upper && (0..len).all(|i| m[i] == a[i] || m[i] == b[i]);
        if !least {
            let what = if upper {
                "is larger than it needs to be"
            } else {
                "is not at or above both"
            };
            return Err(Failure::new(
                UPPER_BOUND,
                format!("merging {a:?} with {b:?} gives {m:?}, which {what}"),
            ));
        }
    }
    Ok(())
}

/// A node whose events the suite can read: the learner's, or a model.
trait Vector: Node {
    type Clock: Clone + Debug + 'static;
    fn request(action: Action) -> Self::Request;
    /// The clock a message carries.
    fn carried(msg: &Self::Msg) -> Self::Clock;
    /// The node's clock now.
    fn clock(&self) -> Self::Clock;
}

impl Vector for VectorNode {
    type Clock = VectorClock;
    fn request(action: Action) -> Request {
        match action {
            Action::Local => Request::Local,
            Action::Send(to) => Request::Send { to },
        }
    }
    fn carried(msg: &Msg) -> VectorClock {
        msg.clock.clone()
    }
    fn clock(&self) -> VectorClock {
        self.clock.clone()
    }
}

/// Four nodes on a network that delays, reorders, loses and duplicates,
/// with 160 local events and sends over 800 ms; after every event, each new
/// event's clock is compared with the clock of every earlier event, and
/// `property` (ORDERED or CONCURRENT) is checked.
fn stamps<N: Vector>(
    seed: u64,
    property: Property,
    make: impl FnMut(NodeId) -> N + 'static,
    compare: impl Fn(&N::Clock, &N::Clock) -> Rel + 'static,
) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, NODES, make);
    sim.set_network(chaotic_network());
    drive(&mut sim, 160, ms(800), N::request);
    let mut hb = HappensBefore::new(NODES);
    sim.check(property, move |sim, step| {
        for b in hb.observe(sim, step, N::carried, N::clock) {
            for a in 0..b {
                let causal = hb.before(a, b);
                if causal != (property == ORDERED) {
                    continue;
                }
                let (x, y) = (&hb.events[a], &hb.events[b]);
                let expected = if causal { [Rel::Before, Rel::After] } else { [Rel::Concurrent; 2] };
                let got = [compare(&x.stamp, &y.stamp), compare(&y.stamp, &x.stamp)];
                if got != expected {
                    let relation = if causal { "happens before" } else { "is concurrent with" };
                    return Err(Broken::new(format!(
                        "“{}” {relation} “{}”, but their clocks {:?} and {:?} compare as {:?} (and {:?} the other way round)",
                        x.what, y.what, x.stamp, y.stamp, got[0], got[1]
                    ))
                    .nodes([x.node, y.node]));
                }
            }
        }
        Ok(())
    });
    run(&mut sim, |s| s.run_until_quiet(secs(10)))?;
    Ok(())
}

/// A vector-clock node written in the suite, correct or without the merge
/// on receipt.
#[derive(Debug)]
struct Model {
    clock: Vec<u64>,
    merge_on_receipt: bool,
}

impl Model {
    fn new(merge_on_receipt: bool) -> Self {
        Model {
            clock: vec![0; NODES],
            merge_on_receipt,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Carried(Vec<u64>);

#[derive(Clone, Debug, Serialize)]
enum ModelRequest {
    Local,
    Send(NodeId),
}

impl Node for Model {
    type Msg = Carried;
    type Timer = ();
    type Request = ModelRequest;
    type Reply = ();

    fn on_request(&mut self, ctx: &mut Ctx<Self>, _id: RequestId, req: ModelRequest) {
        self.clock[ctx.id().index()] += 1;
        if let ModelRequest::Send(to) = req {
            ctx.send(to, Carried(self.clock.clone()));
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, _from: NodeId, msg: Carried) {
        if self.merge_on_receipt {
            for (mine, theirs) in self.clock.iter_mut().zip(&msg.0) {
                *mine = (*mine).max(*theirs);
            }
        }
        self.clock[ctx.id().index()] += 1;
    }
}

impl Vector for Model {
    type Clock = Vec<u64>;
    fn request(action: Action) -> ModelRequest {
        match action {
            Action::Local => ModelRequest::Local,
            Action::Send(to) => ModelRequest::Send(to),
        }
    }
    fn carried(msg: &Carried) -> Vec<u64> {
        msg.0.clone()
    }
    fn clock(&self) -> Vec<u64> {
        self.clock.clone()
    }
}
