//! crdt_lww_register: the last-writer-wins register, ordered by (timestamp,
//! node id), and the multi-value register, ordered by version vectors.

use crate::crdts::history::{Action, Family, Kind, Seen, Update};
use crate::crdts::properties::{self, scenario, standard, Standard, INFLATION, LAWS};
use crate::expect_caught;
use crate::subject::crdts::g_counter::Crdt;
use crate::subject::crdts::lww_register::{LwwRegister, MvRegister, Stamp};
use dscheck::{Failure, Property, Suite};
use dsim::NodeId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

pub const LWW: Property = Property {
    name: "the register holds the write with the largest (timestamp, node id) stamp the replica has seen",
    hint: "compare whole Stamps: the derived order looks at time first, then replica",
    when: &[],
};
pub const TIE: Property = Property {
    name: "a tie in timestamps goes to the larger node id, in whichever order the writes arrive",
    hint: "compare the whole Stamp (time, then replica), in set and merge alike",
    when: &[],
};
pub const MV: Property = Property {
    name: "the multi-value register keeps exactly the concurrent writes: those seen \
           that no other write seen had seen",
    hint: "a version survives a merge unless a version of the other side dominates it; \
           set replaces every version by one that dominates them all",
    when: &[],
};

const LWW_STANDARD: Standard = Standard {
    prefix: "lww_register::lww_",
    semantic: LWW,
    semantic_test: "holds_the_write_with_the_largest_stamp_seen",
    laws_hint: "merge keeps whichever write has the larger Stamp, comparing whole stamps (time, \
                then replica), never keeping a write just because it arrived",
    inflation_hint: "set keeps the new write only if its stamp is larger than the current one: \
                     an older write must not overwrite a newer one",
};

const MV_STANDARD: Standard = Standard {
    prefix: "lww_register::mv_",
    semantic: MV,
    semantic_test: "keeps_exactly_the_concurrent_writes_seen",
    laws_hint: "merge keeps each version of either side unless some version of the other side \
                dominates it (a version both have is kept once)",
    inflation_hint: "set replaces every version with one whose vector is the merge of theirs \
                     plus one write of the replica: it dominates them all",
};

pub fn tests(suite: Suite) -> Suite {
    let suite = standard::<LwwRegister<u64>>(suite, &LWW_STANDARD).test(
        "lww_register::lww_ties_go_to_the_larger_node_id",
        ties::<LwwRegister<u64>>,
    );
    standard::<MvRegister<u64>>(suite, &MV_STANDARD)
        .test(
            "lww_register::mv_keeps_both_of_two_concurrent_writes_and_drops_what_a_write_had_seen",
            concurrent::<MvRegister<u64>>,
        )
        .test("meta::lww_tie_broken_by_arrival_is_caught", || {
            expect_caught(TIE, |_| ties::<LwwModel<true, false>>())
        })
        .test(
            "meta::lww_tie_broken_by_arrival_breaks_the_merge_laws",
            || expect_caught(LAWS, properties::merge_laws::<LwwModel<true, false>>),
        )
        .test("meta::lww_write_over_a_larger_stamp_is_caught", || {
            expect_caught(INFLATION, properties::inflations::<LwwModel<false, true>>)
        })
        .test("meta::mv_register_that_keeps_every_write_is_caught", || {
            expect_caught(MV, |_| concurrent::<MvModel<true>>())
        })
        .test("meta::mv_register_that_keeps_one_write_is_caught", || {
            expect_caught(MV, |seed| properties::semantics::<MvModel<false>>(seed, MV))
        })
}

/// A write of a value (unique to the write).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Write(pub u64);

/// The last-writer-wins register's spec.
pub struct LastWriter;

impl Family for LastWriter {
    type Op = Write;
    type View = Option<u64>;
    const TIMED: bool = true;
    const SHOW_PAST: bool = false;
    fn op(_raw: u8, value: u64) -> Write {
        Write(value)
    }
    fn describe(op: &Write, time: u64) -> String {
        format!("writes {} at time {time}", op.0)
    }
    fn expected(log: &[Update<Write>], seen: &Seen) -> Option<u64> {
        seen.iter()
            .max_by_key(|&id| (log[id].time, log[id].replica))
            .map(|id| log[id].op.0)
    }
}

/// The multi-value register's spec.
pub struct MultiValue;

impl Family for MultiValue {
    type Op = Write;
    type View = Vec<u64>;
    const SHOW_PAST: bool = true;
    fn op(_raw: u8, value: u64) -> Write {
        Write(value)
    }
    fn describe(op: &Write, _time: u64) -> String {
        format!("writes {}", op.0)
    }
    fn expected(log: &[Update<Write>], seen: &Seen) -> Vec<u64> {
        let mut overwritten = Seen::default();
        for id in seen.iter() {
            overwritten.absorb(&log[id].past);
        }
        let mut values: Vec<u64> = seen
            .iter()
            .filter(|&id| !overwritten.contains(id))
            .map(|id| log[id].op.0)
            .collect();
        values.sort();
        values
    }
}

impl Kind for LwwRegister<u64> {
    type F = LastWriter;
    fn empty() -> Self {
        LwwRegister::new()
    }
    fn merge(&mut self, other: &Self) {
        Crdt::merge(self, other);
    }
    fn apply(&mut self, replica: NodeId, time: u64, op: &Write) {
        self.set(Stamp { time, replica }, op.0);
    }
    fn view(&self) -> Option<u64> {
        self.get().copied()
    }
}

impl Kind for MvRegister<u64> {
    type F = MultiValue;
    fn empty() -> Self {
        MvRegister::new()
    }
    fn merge(&mut self, other: &Self) {
        Crdt::merge(self, other);
    }
    fn apply(&mut self, replica: NodeId, _time: u64, op: &Write) {
        self.set(replica, op.0);
    }
    fn view(&self) -> Vec<u64> {
        let mut values = self.values();
        values.sort();
        values
    }
}

fn write(replica: usize, time: u64, value: u64) -> Action<Write> {
    Action::Update {
        replica,
        time,
        op: Write(value),
    }
}

fn merge(from: usize, into: usize) -> Action<Write> {
    Action::Merge { from, into }
}

/// n0, n2 and n1 write 100, 102 and 101, all at time 5; then they merge in
/// each other's states in several orders. After each merge, the replica
/// must show the write of the largest node id among those it has seen.
fn ties<K: Kind<F = LastWriter>>() -> Result<(), Failure> {
    let actions = [
        write(0, 5, 100),
        write(2, 5, 102),
        write(1, 5, 101),
        merge(0, 1),
        merge(1, 0),
        merge(2, 1),
        merge(0, 2),
        merge(2, 0),
    ];
    let expected = [100, 102, 101, 101, 101, 102, 102, 102];
    scenario::<K>(TIE, 3, &actions, |step, r, shown| {
        let want = expected[step];
        if *shown == Some(want) {
            return Ok(());
        }
        Err(format!(
            "every write here is at time 5; after the last step, n{r} should show {want}, the \
             write of n{} (the largest node id it has seen), but it shows {shown:?}",
            want - 100
        ))
    })
}

/// n0 and n1 write concurrently; a replica that has seen both keeps both;
/// n2, having seen both, writes again and replaces them; n1 writes again
/// having seen only its own write, concurrently with n2's.
fn concurrent<K: Kind<F = MultiValue>>() -> Result<(), Failure> {
    let actions = [
        write(0, 1, 1),
        write(1, 1, 2),
        merge(1, 0),
        merge(0, 2),
        write(2, 1, 3),
        write(1, 2, 4),
        merge(1, 2),
        merge(2, 0),
    ];
    let expected: [&[u64]; 8] = [&[1], &[2], &[1, 2], &[1, 2], &[3], &[4], &[3, 4], &[3, 4]];
    let why = [
        "n0 wrote 1",
        "n1 wrote 2",
        "n0 wrote 1 and n1 wrote 2 without seeing each other's write: both stay",
        "n2 has seen the two concurrent writes 1 and 2",
        "n2 wrote 3 after seeing 1 and 2: its write replaces both",
        "n1 wrote 4 after seeing only its own 2: the write replaces it",
        "n2's 3 and n1's 4 are concurrent (each was written without seeing the other), and 3 \
         had already replaced 1 and 2",
        "n0 merged in n2's state, which has 3 and 4, and 3 had seen n0's 1 and 2",
    ];
    scenario::<K>(MV, 3, &actions, |step, r, shown| {
        let want = expected[step];
        if shown.as_slice() == want {
            return Ok(());
        }
        Err(format!(
            "{}; n{r} should show {want:?}, but it shows {shown:?}",
            why[step]
        ))
    })
}

/// A last-writer-wins register written in the suite: ties broken by
/// arrival (the incoming write wins them) if `ARRIVAL`, writes taken even
/// over a larger stamp if `BLIND`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct LwwModel<const ARRIVAL: bool, const BLIND: bool>(Option<(u64, NodeId, u64)>);

impl<const ARRIVAL: bool, const BLIND: bool> Kind for LwwModel<ARRIVAL, BLIND> {
    type F = LastWriter;
    fn empty() -> Self {
        LwwModel(None)
    }
    fn merge(&mut self, other: &Self) {
        let Some(theirs) = other.0 else { return };
        let take = match self.0 {
            None => true,
            Some(mine) if ARRIVAL => theirs.0 >= mine.0,
            Some(mine) => (theirs.0, theirs.1) > (mine.0, mine.1),
        };
        if take {
            self.0 = Some(theirs);
        }
    }
    fn apply(&mut self, replica: NodeId, time: u64, op: &Write) {
        let newer = self.0.is_none_or(|(t, r, _)| (time, replica) > (t, r));
        if BLIND || newer {
            self.0 = Some((time, replica, op.0));
        }
    }
    fn view(&self) -> Option<u64> {
        self.0.map(|(_, _, value)| value)
    }
}

/// A multi-value register written in the suite, with version vectors as
/// sorted `(replica, count)` lists: it never drops a write if `KEEP_ALL`,
/// else keeps only the write with the largest vector in `Ord` order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct MvModel<const KEEP_ALL: bool>(BTreeSet<(Vec<(usize, u64)>, u64)>);

impl<const KEEP_ALL: bool> Kind for MvModel<KEEP_ALL> {
    type F = MultiValue;
    fn empty() -> Self {
        MvModel(BTreeSet::new())
    }
    fn merge(&mut self, other: &Self) {
        self.0.extend(other.0.iter().cloned());
        if !KEEP_ALL {
            let last = self.0.pop_last();
            self.0 = last.into_iter().collect();
        }
    }
    fn apply(&mut self, replica: NodeId, _time: u64, op: &Write) {
        let mut vector: Vec<(usize, u64)> = Vec::new();
        for (seen, _) in &self.0 {
            for &(r, n) in seen {
                match vector.iter_mut().find(|(q, _)| *q == r) {
                    Some(entry) => entry.1 = entry.1.max(n),
                    None => vector.push((r, n)),
                }
            }
        }
        match vector.iter_mut().find(|(q, _)| *q == replica.0) {
            Some(entry) => entry.1 += 1,
            None => vector.push((replica.0, 1)),
        }
        vector.sort();
        if !KEEP_ALL {
            self.0.clear();
        }
        self.0.insert((vector, op.0));
    }
    fn view(&self) -> Vec<u64> {
        let mut values: Vec<u64> = self.0.iter().map(|(_, v)| *v).collect();
        values.sort();
        values
    }
}
