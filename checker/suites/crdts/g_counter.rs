//! crdt_g_counter: increment, value and merge of a grow-only counter.

use crate::crdts::gossip;
use crate::crdts::history::{Family, Kind, Seen, Update};
use crate::crdts::properties::{self, standard, Standard, LAWS};
use crate::expect_caught;
use crate::subject::crdts::g_counter::{Crdt, GCounter};
use dscheck::{Property, Suite};
use dsim::NodeId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const VALUE: Property = Property {
    name: "the value is the number of increments the replica has seen",
    hint: "the value is the sum of the entries; merge takes the larger of each pair of \
           entries, and copies an entry only the other state has",
    when: &[],
};

const STANDARD: Standard = Standard {
    prefix: "g_counter::",
    semantic: VALUE,
    semantic_test: "the_value_counts_every_increment_seen",
    laws_hint: "merge keeps, for each replica, the larger of the two counts (never their sum): \
                a state that merges in what it already knows must not change",
    inflation_hint: "increment adds one to the replica's own entry and changes no other",
};

pub fn tests(suite: Suite) -> Suite {
    standard::<GCounter>(suite, &STANDARD)
        .test("meta::g_counter_merge_by_sum_is_caught", || {
            expect_caught(LAWS, properties::merge_laws::<SumCounter>)
        })
        .test(
            "meta::g_counter_merge_by_sum_is_caught_in_the_simulator",
            || expect_caught(VALUE, |seed| gossip::run::<SumCounter>(seed, VALUE)),
        )
}

/// The updates of a grow-only counter.
pub struct Counting;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Increment;

impl Family for Counting {
    type Op = Increment;
    type View = u64;
    const SHOW_PAST: bool = false;
    fn op(_raw: u8, _value: u64) -> Increment {
        Increment
    }
    fn describe(_op: &Increment, _time: u64) -> String {
        "increments".to_string()
    }
    fn expected(_log: &[Update<Increment>], seen: &Seen) -> u64 {
        seen.len() as u64
    }
}

impl Kind for GCounter {
    type F = Counting;
    fn empty() -> Self {
        GCounter::new()
    }
    fn merge(&mut self, other: &Self) {
        Crdt::merge(self, other);
    }
    fn apply(&mut self, replica: NodeId, _time: u64, _op: &Increment) {
        self.increment(replica);
    }
    fn view(&self) -> u64 {
        self.value()
    }
}

/// A G-counter whose merge adds the entries instead of taking the larger.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct SumCounter(BTreeMap<NodeId, u64>);

impl Kind for SumCounter {
    type F = Counting;
    fn empty() -> Self {
        SumCounter(BTreeMap::new())
    }
    fn merge(&mut self, other: &Self) {
        for (&r, &count) in &other.0 {
            *self.0.entry(r).or_insert(0) += count;
        }
    }
    fn apply(&mut self, replica: NodeId, _time: u64, _op: &Increment) {
        *self.0.entry(replica).or_insert(0) += 1;
    }
    fn view(&self) -> u64 {
        self.0.values().sum()
    }
}
