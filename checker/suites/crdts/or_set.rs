//! crdt_or_set: the observed-remove set, with a unique tag per add and
//! tombstones for the removed tags.

use crate::crdts::history::{decode, execute, Action, Family, Kind, Seen, Update};
use crate::crdts::laws::MANY;
use crate::crdts::properties::{check, scenario, standard, Standard};
use crate::expect_caught;
use crate::subject::crdts::g_counter::Crdt;
use crate::subject::crdts::or_set::OrSet;
use dscheck::{Failure, Property, Suite};
use dsim::NodeId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

pub const SPEC: Property = Property {
    name: "an element is in the set exactly when the replica has seen an add of it \
           that no remove it has seen had observed",
    hint: "remove tombstones the tags of the element that are in this state, and no \
           others; add's tag is (replica, one more than the largest seq of that \
           replica's tags), so that an element removed and added again comes back",
    when: &[],
};
pub const ADD_WINS: Property = Property {
    name: "an add concurrent with a remove wins",
    hint: "a remove tombstones the tags it sees in its own state; an add it has not seen has a tag it cannot name",
    when: &[],
};
pub const OBSERVED: Property = Property {
    name: "a remove removes only the adds it observed",
    hint:
        "remove makes tombstones of the tags of the element in adds now, not of the element itself",
    when: &[],
};
pub const MEMBERSHIP: Property = Property {
    name: "contains(e) is true exactly for the elements the set lists",
    hint: "contains(e) asks whether some add of e itself (the same element) has a tag that is not a tombstone: both conditions, for the same add",
    when: &[],
};

const STANDARD: Standard = Standard {
    prefix: "or_set::",
    semantic: SPEC,
    semantic_test: "holds_the_elements_added_and_not_removed_by_a_remove_that_saw_the_add",
    laws_hint: "merge is a union of the adds and a union of the tombstones; add must give every \
                add a tag no other add has",
    inflation_hint: "nothing is ever taken out of adds or removed: a remove adds tombstones",
};

pub fn tests(suite: Suite) -> Suite {
    standard::<OrSet<u8>>(suite, &STANDARD)
        .test(
            "or_set::an_add_concurrent_with_a_remove_wins",
            add_wins::<OrSet<u8>>,
        )
        .test(
            "or_set::a_remove_removes_only_the_adds_it_observed",
            observed::<OrSet<u8>>,
        )
        .seeded(
            "or_set::contains_agrees_with_the_elements_after_every_step",
            2,
            membership,
        )
        .test(
            "meta::or_set_remove_that_deletes_unseen_tags_is_caught",
            || expect_caught(ADD_WINS, |_| add_wins::<GreedyRemove>()),
        )
        .test(
            "meta::or_set_remove_that_deletes_unseen_tags_breaks_the_spec",
            || {
                expect_caught(SPEC, |seed| {
                    crate::crdts::properties::semantics::<GreedyRemove>(seed, SPEC)
                })
            },
        )
}

/// An add or a remove of one of the elements 0, 1 and 2.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Change {
    Add(u8),
    Remove(u8),
}

/// The observed-remove set's spec.
pub struct ObservedRemove;

impl Family for ObservedRemove {
    type Op = Change;
    type View = BTreeSet<u8>;
    const SHOW_PAST: bool = true;
    fn op(raw: u8, _value: u64) -> Change {
        let element = raw / 2 % 3;
        if raw.is_multiple_of(2) {
            Change::Add(element)
        } else {
            Change::Remove(element)
        }
    }
    fn describe(op: &Change, _time: u64) -> String {
        match op {
            Change::Add(e) => format!("adds {e}"),
            Change::Remove(e) => format!("removes {e}"),
        }
    }
    fn expected(log: &[Update<Change>], seen: &Seen) -> BTreeSet<u8> {
        // observed[e]: every add that some seen remove of e had seen.
        let mut observed: [Seen; 3] = Default::default();
        for id in seen.iter() {
            if let Change::Remove(e) = log[id].op {
                observed[e as usize].absorb(&log[id].past);
            }
        }
        seen.iter()
            .filter_map(|id| match log[id].op {
                Change::Add(e) if !observed[e as usize].contains(id) => Some(e),
                _ => None,
            })
            .collect()
    }
}

impl Kind for OrSet<u8> {
    type F = ObservedRemove;
    fn empty() -> Self {
        OrSet::new()
    }
    fn merge(&mut self, other: &Self) {
        Crdt::merge(self, other);
    }
    fn apply(&mut self, replica: NodeId, _time: u64, op: &Change) {
        match op {
            Change::Add(e) => {
                self.add(replica, *e);
            }
            Change::Remove(e) => self.remove(e),
        }
    }
    fn view(&self) -> BTreeSet<u8> {
        self.elements()
    }
}

fn add(replica: usize, element: u8) -> Action<Change> {
    Action::Update {
        replica,
        time: 0,
        op: Change::Add(element),
    }
}

fn remove(replica: usize, element: u8) -> Action<Change> {
    Action::Update {
        replica,
        time: 0,
        op: Change::Remove(element),
    }
}

fn merge(from: usize, into: usize) -> Action<Change> {
    Action::Merge { from, into }
}

/// Checks, after each step, whether the replica that changed has `element`.
fn expect_element<'a>(
    element: u8,
    expected: &'a [(bool, &'a str)],
) -> impl Fn(usize, usize, &BTreeSet<u8>) -> Result<(), String> + 'a {
    move |step, r, shown| {
        let (want, why) = expected[step];
        if shown.contains(&element) == want {
            return Ok(());
        }
        let should = if want {
            "should have"
        } else {
            "should not have"
        };
        Err(format!(
            "{why}; n{r} {should} {element}, but it shows {shown:?}"
        ))
    }
}

/// n0 adds 1; n1 sees the add and removes 1; meanwhile n0, not having seen
/// the remove, adds 1 again. After they merge, 1 is in the set on both.
fn add_wins<K: Kind<F = ObservedRemove>>() -> Result<(), Failure> {
    let actions = [
        add(0, 1),
        merge(0, 1),
        remove(1, 1),
        add(0, 1),
        merge(1, 0),
        merge(0, 1),
    ];
    let expected = [
        (true, "n0 added 1"),
        (true, "n1 has seen n0's add of 1"),
        (false, "n1 removed 1"),
        (true, "n0 added 1 again"),
        (true, "n0's second add of 1 is concurrent with n1's remove, which never saw it: the add wins"),
        (true, "n1's remove observed only n0's first add of 1, not the second, concurrent one: the add wins"),
    ];
    scenario::<K>(ADD_WINS, 2, &actions, expect_element(1, &expected))
}

/// n0 and n1 each add 2 without seeing each other's add; n0 removes 2,
/// having seen only its own add: once merged, n1's add survives. Then n1,
/// having seen both adds, removes 2: it is gone everywhere. n0 then removes
/// 0, which no one has added, and n1 adds 0: that add is not removed.
fn observed<K: Kind<F = ObservedRemove>>() -> Result<(), Failure> {
    let actions = [
        add(0, 2),
        add(1, 2),
        remove(0, 2),
        merge(0, 1),
        merge(1, 0),
        remove(1, 2),
        merge(1, 0),
    ];
    let expected = [
        (true, "n0 added 2"),
        (true, "n1 added 2"),
        (false, "n0 removed 2"),
        (
            true,
            "n0's remove of 2 observed only n0's own add, not n1's",
        ),
        (
            true,
            "n0's remove of 2 observed only n0's own add, not n1's",
        ),
        (false, "n1 removed 2, having seen both adds"),
        (false, "n1's remove observed both adds of 2"),
    ];
    scenario::<K>(OBSERVED, 2, &actions, expect_element(2, &expected))?;
    let actions = [remove(0, 0), add(1, 0), merge(0, 1), merge(1, 0)];
    let expected = [
        (false, "no one has added 0"),
        (true, "n1 added 0"),
        (
            true,
            "n0's remove of 0 came before any add of 0, and observed none",
        ),
        (
            true,
            "n0's remove of 0 came before any add of 0, and observed none",
        ),
    ];
    scenario::<K>(OBSERVED, 2, &actions, expect_element(0, &expected))
}

/// After every step of generated runs, each replica's `contains` answers
/// for every element what its `elements` lists (the spec test reads the
/// set through `elements`).
fn membership(seed: u64) -> Result<(), Failure> {
    check::<OrSet<u8>>(seed, &MANY, &|p| {
        execute::<OrSet<u8>>(p.replicas, &decode::<ObservedRemove>(p), |ex, action, _| {
            let r = action.replica();
            let state = &ex.states[r];
            let listed = state.elements();
            for e in 0..3u8 {
                let contains = state.contains(&e);
                if contains != listed.contains(&e) {
                    return Err(Failure::new(
                        MEMBERSHIP,
                        format!(
                            "after the run below, n{r} lists {listed:?}, but contains(&{e}) is \
                             {contains}\n  its state: {state:?}\nThe smallest run found:\n{}",
                            ex.listing()
                        ),
                    ));
                }
            }
            Ok(())
        })?;
        Ok(())
    })
}

/// An OR-set written in the suite whose remove deletes the element, tags it
/// has not seen included: every add of a removed element, past or future,
/// here or elsewhere, is gone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct GreedyRemove {
    adds: BTreeSet<(u8, NodeId, u64)>,
    removed: BTreeSet<u8>,
}

impl Kind for GreedyRemove {
    type F = ObservedRemove;
    fn empty() -> Self {
        GreedyRemove {
            adds: BTreeSet::new(),
            removed: BTreeSet::new(),
        }
    }
    fn merge(&mut self, other: &Self) {
        self.adds.extend(other.adds.iter().copied());
        self.removed.extend(other.removed.iter().copied());
    }
    fn apply(&mut self, replica: NodeId, _time: u64, op: &Change) {
        match op {
            Change::Add(e) => {
                let seq = self.adds.iter().filter(|a| a.1 == replica).count() as u64 + 1;
                self.adds.insert((*e, replica, seq));
            }
            Change::Remove(e) => {
                self.removed.insert(*e);
            }
        }
    }
    fn view(&self) -> BTreeSet<u8> {
        self.adds
            .iter()
            .map(|a| a.0)
            .filter(|e| !self.removed.contains(e))
            .collect()
    }
}
