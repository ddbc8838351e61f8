//! crdt_pn_counter: a counter with increments and decrements, as two
//! G-counters.

use crate::crdts::history::{Family, Kind, Seen, Update};
use crate::crdts::properties::{self, standard, Standard, INFLATION};
use crate::expect_caught;
use crate::subject::crdts::g_counter::Crdt;
use crate::subject::crdts::pn_counter::PnCounter;
use dscheck::{Property, Suite};
use dsim::NodeId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const VALUE: Property = Property {
    name: "the value is the increments minus the decrements the replica has seen",
    hint: "value is increments.value() - decrements.value(), as i64 (convert before \
           subtracting: the difference may be negative)",
    when: &[],
};

const STANDARD: Standard = Standard {
    prefix: "pn_counter::",
    semantic: VALUE,
    semantic_test: "the_value_is_the_increments_minus_the_decrements_seen",
    laws_hint: "merge the increments with the increments and the decrements with the \
                decrements, each with GCounter's merge",
    inflation_hint: "a decrement counts one more decrement: both halves only ever grow",
};

pub fn tests(suite: Suite) -> Suite {
    standard::<PnCounter>(suite, &STANDARD).test(
        "meta::pn_counter_with_one_signed_entry_per_replica_is_caught",
        || expect_caught(INFLATION, properties::inflations::<SignedCounter>),
    )
}

/// The updates of a counter that goes both ways.
pub struct Counting;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Step {
    Increment,
    Decrement,
}

impl Family for Counting {
    type Op = Step;
    type View = i64;
    const SHOW_PAST: bool = false;
    fn op(raw: u8, _value: u64) -> Step {
        if raw.is_multiple_of(2) {
            Step::Increment
        } else {
            Step::Decrement
        }
    }
    fn describe(op: &Step, _time: u64) -> String {
        match op {
            Step::Increment => "increments",
            Step::Decrement => "decrements",
        }
        .to_string()
    }
    fn expected(log: &[Update<Step>], seen: &Seen) -> i64 {
        seen.iter()
            .map(|id| match log[id].op {
                Step::Increment => 1,
                Step::Decrement => -1,
            })
            .sum()
    }
}

impl Kind for PnCounter {
    type F = Counting;
    fn empty() -> Self {
        PnCounter::new()
    }
    fn merge(&mut self, other: &Self) {
        Crdt::merge(self, other);
    }
    fn apply(&mut self, replica: NodeId, _time: u64, op: &Step) {
        match op {
            Step::Increment => self.increment(replica),
            Step::Decrement => self.decrement(replica),
        }
    }
    fn view(&self) -> i64 {
        self.value()
    }
}

/// One signed entry per replica, merged by maximum: a decrement moves the
/// state down, and a merge with an older copy brings it back up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct SignedCounter(BTreeMap<NodeId, i64>);

impl Kind for SignedCounter {
    type F = Counting;
    fn empty() -> Self {
        SignedCounter(BTreeMap::new())
    }
    fn merge(&mut self, other: &Self) {
        for (&r, &count) in &other.0 {
            let mine = self.0.entry(r).or_insert(0);
            *mine = (*mine).max(count);
        }
    }
    fn apply(&mut self, replica: NodeId, _time: u64, op: &Step) {
        let entry = self.0.entry(replica).or_insert(0);
        match op {
            Step::Increment => *entry += 1,
            Step::Decrement => *entry -= 1,
        }
    }
    fn view(&self) -> i64 {
        self.0.values().sum()
    }
}
