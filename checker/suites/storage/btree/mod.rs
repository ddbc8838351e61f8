//! storage_btree: after every event the node's tree, read from its disk,
//! is whole, in order, balanced and within its fill bounds, and holds what
//! the run's history allows; a write is acknowledged only once synced, and
//! a power cut at any point leaves a committed tree that holds every
//! acknowledged write.
//!
//! The model is the run's history, as for `storage_wal`: for each key, the
//! writes in the order they reached the node. The latest acknowledged one
//! is the floor: what the tree holds for the key, at any moment and after
//! any power cut, is that write or one that arrived after it.

mod model;
mod shape;

use super::common::history::by_key;
use super::common::{check_synced_ack, down_and_up, engines, Cut, NODE, UNSYNCED_ACK};
use crate::subject::storage::btree::{Btree, PageId, Reply, Request, GROUP_WINDOW};
use dscheck::{ms, run, Failure, Property, Suite};
use dsim::{Broken, Event, Node, Sim, SimRng};
use model::{check_key, scan_answer};
use shape::{current, depths, entries, fill, ordered};
use std::collections::BTreeMap;

/// The node of the exercise: the reference, the learner's, or one from `bugs/`.
pub trait Tree: super::common::Engine + Node<Request = Request, Reply = Reply> {
    fn root(&self) -> Option<PageId>;
}

engines!(Tree {
    fn root(&self) -> Option<PageId> {
        self.root
    }
} for
    Btree,
    #[cfg(bugs)] crate::bugs::split_loses_separator::btree::Btree,
    #[cfg(bugs)] crate::bugs::btree_acks_before_commit::btree::Btree,
    #[cfg(bugs)] crate::bugs::underfull_page_kept::btree::Btree,
    #[cfg(bugs)] crate::bugs::root_before_pages::btree::Btree,
);

pub const WHOLE: Property = Property {
    name: "every page the tree reaches from its root is a page of the file that decodes, \
           across crashes and power cuts",
    hint: "never write over a page of a committed tree: append each new page at next_page; sync \
           PAGES before writing the root to META; on start, take the root from META and put new \
           pages after the end of the file",
    when: &[],
};
pub const FILL: Property = Property {
    name: "no page holds more than MAX_KEYS keys, every page but the root holds at least \
           MIN_KEYS, an internal root holds at least one, and an internal page has one child \
           more than keys",
    hint: "store a page with more than MAX_KEYS keys as two halves (split); when a child falls \
           under MIN_KEYS, join it with a sibling and the separator between them, and store the \
           result (it splits again if it is too big); a root with no keys gives way to its \
           only child",
    when: &[],
};
pub const ORDERED: Property = Property {
    name: "keys ascend within every page, and every key under children[i] is at least \
           keys[i - 1] and below keys[i]",
    hint: "a leaf split copies the right half's FIRST key up as the separator (it stays in the \
           leaf); an internal split moves its middle key up (it stays in neither half); a join \
           of internal pages brings the separator down between their keys",
    when: &[],
};
pub const BALANCED: Property = Property {
    name: "every leaf is at the same depth",
    hint: "grow the tree only at the top (a split root gets a new root above it) and shrink it \
           only at the top (a root with no keys gives way to its child); join or split siblings, \
           never pages of different depths",
    when: &[],
};
pub const DURABLE: Property = Property {
    name: "the tree holds every acknowledged write (or a later write to its key) and nothing no \
           client wrote, across crashes and power cuts",
    hint: "acknowledge a write only after the tree holding it is committed (PAGES synced, then \
           its root in META, synced), and recover the root from META",
    when: &[],
};
pub const READS: Property = Property {
    name: "a Get returns the latest acknowledged write to its key, or a later one; a Scan \
           returns exactly the keys of its range, in order, each with such a value",
    hint: "a Get descends by child_index to the one leaf that may hold the key; a Scan visits, \
           in order, the children from child_index(from) to child_index(to) and keeps the \
           entries with from <= key < to",
    when: &[],
};
pub const SYNCED_ACK: Property = Property {
    name: "a write is acknowledged only when everything written to the disk is synced",
    hint: "reply Done only after PAGES is synced and the root written to META and synced, in \
           the same handler; a new file lasts only after ctx.disk().sync_dir()",
    when: &[],
};
pub const ACKED: Property = Property {
    name: "a write to a node that stays up is acknowledged within 10 ms",
    hint: "the first write that waits starts the GROUP_WINDOW timer (Timer::Commit); when it \
           fires, commit and reply Done to every waiting write",
    when: &[],
};

/// Keys of the random workload: enough for a tree three levels deep.
const KEYS: u64 = 48;

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded(
            "btree::survives_power_cuts_in_a_random_workload",
            7,
            workload::<Btree>,
        )
        .seeded("btree::survives_crashes_in_a_random_workload", 3, |seed| {
            faults::<Btree>(seed, Cut::Crash, true)
        })
        .seeded(
            "btree::keeps_acknowledged_writes_through_cuts_mid_commit",
            6,
            |seed| cuts_mid_commit::<Btree>(seed, true),
        )
        .seeded(
            "btree::grows_by_sequential_inserts_and_shrinks_to_empty",
            4,
            grow_and_shrink::<Btree>,
        )
}

/// The checks, run on the reference with one bug each (`bugs/`).
#[cfg(bugs)]
pub fn meta(suite: Suite) -> Suite {
    use crate::bugs::btree_acks_before_commit::btree::Btree as AcksEarly;
    use crate::bugs::root_before_pages::btree::Btree as RootFirst;
    use crate::bugs::split_loses_separator::btree::Btree as LosesSeparator;
    use crate::bugs::underfull_page_kept::btree::Btree as Underfull;
    use dscheck::expect_caught;
    suite
        .test("meta::a_split_that_loses_its_separator_is_caught", || {
            expect_caught(ORDERED, 10, workload::<LosesSeparator>)
        })
        .test("meta::a_btree_ack_before_the_commit_is_caught", || {
            expect_caught(SYNCED_ACK, 10, workload::<AcksEarly>)
        })
        .test("meta::a_btree_ack_before_the_commit_loses_writes", || {
            expect_caught(DURABLE, 10, |seed| {
                cuts_mid_commit::<AcksEarly>(seed, false)
            })
        })
        .test("meta::a_root_committed_before_its_pages_is_caught", || {
            expect_caught(WHOLE, 10, |seed| cuts_mid_commit::<RootFirst>(seed, false))
        })
        .test("meta::an_underfull_page_left_unfixed_is_caught", || {
            expect_caught(FILL, 10, grow_and_shrink::<Underfull>)
        })
}

/// Registers every property checked after every event: the tree's shape
/// (WHOLE, FILL, ORDERED, BALANCED), its contents (DURABLE), the answers
/// (READS) and the acks (SYNCED_ACK, which a meta test turns off to see
/// DURABLE catch, after a power cut, what SYNCED_ACK would catch first).
pub fn watch<N: Tree>(sim: &mut Sim<N>, synced_ack: bool) {
    let broken = |why: String| Broken::new(why).nodes([NODE]);
    sim.check(WHOLE, move |sim, _| match current(sim) {
        Some(Err(why)) => Err(broken(why)),
        _ => Ok(()),
    });
    sim.check(FILL, move |sim, _| match current(sim) {
        Some(Ok(tree)) => fill(&tree, true).map_err(broken),
        _ => Ok(()),
    });
    sim.check(ORDERED, move |sim, _| match current(sim) {
        Some(Ok(tree)) => ordered(&tree, None, None).map_err(broken),
        _ => Ok(()),
    });
    sim.check(BALANCED, move |sim, _| {
        let Some(Ok(tree)) = current(sim) else {
            return Ok(());
        };
        let mut found = Vec::new();
        depths(&tree, 0, &mut found);
        match (found.iter().min(), found.iter().max()) {
            (Some(min), Some(max)) if min != max => {
                Err(broken(format!("leaves lie at depths {min} to {max}")))
            }
            _ => Ok(()),
        }
    });
    sim.check(DURABLE, move |sim, _| {
        if !sim.is_up(NODE) {
            return Ok(());
        }
        let tree = match current(sim) {
            None => None,
            Some(Ok(tree)) => Some(tree),
            Some(Err(_)) => return Ok(()),
        };
        let mut held = Vec::new();
        if let Some(tree) = &tree {
            entries(tree, &mut held);
        }
        let held: BTreeMap<&str, &str> = held.into_iter().collect();
        let writes = by_key(sim);
        for (&key, &value) in &held {
            check_key(&writes, key, Some(value))
                .map_err(|why| broken(format!("the tree's {why}")))?;
        }
        for &key in writes.keys().filter(|k| !held.contains_key(*k)) {
            check_key(&writes, key, None).map_err(|why| broken(format!("the tree's {why}")))?;
        }
        Ok(())
    });
    sim.check(READS, move |sim, step| {
        for entry in step.caused() {
            let Event::Reply { id, reply, .. } = &entry.event else {
                continue;
            };
            let writes = by_key(sim);
            match (&sim.operation(*id).request, reply) {
                (Request::Get { key }, Reply::Value(got)) => {
                    check_key(&writes, key, got.as_deref())
                        .map_err(|why| broken(format!("a Get says {why}")))?;
                }
                (Request::Scan { from, to }, Reply::Entries(got)) => {
                    scan_answer(&writes, from, to, got).map_err(broken)?;
                }
                (Request::Put { .. } | Request::Delete { .. }, Reply::Done) => {}
                (request, reply) => {
                    return Err(broken(format!("{request:?} was answered {reply:?}")));
                }
            }
        }
        Ok(())
    });
    check_synced_ack(sim, SYNCED_ACK, synced_ack, UNSYNCED_ACK);
}

fn key(k: u64) -> String {
    format!("k{k:02}")
}

/// A request of the random workload, its values recognizable as request
/// `n`'s.
fn random_request(n: usize, rng: &mut SimRng) -> Request {
    let k = rng.below(KEYS);
    match rng.below(20) {
        0..=10 => Request::Put {
            key: key(k),
            value: format!("v{n}"),
        },
        11..=15 => Request::Delete { key: key(k) },
        16..=17 => Request::Get { key: key(k) },
        _ => Request::Scan {
            from: key(k),
            to: key(k + rng.range(0..=12)),
        },
    }
}

/// A run of the node, watched, started and given 1 ms to recover, and the
/// scenario's random numbers.
fn started<N: Tree>(seed: u64, synced_ack: bool) -> Result<(Sim<N>, SimRng), Failure> {
    let mut sim = Sim::new(seed, 1, |_| N::fresh());
    let rng = sim.scenario_rng();
    watch(&mut sim, synced_ack);
    run(&mut sim, |s| s.run_for(ms(1)))?;
    Ok((sim, rng))
}

/// Writes, deletes, reads and scans over [`KEYS`] keys, a few at a time,
/// with the node's power cut (or the node crashed) at random points, then
/// restarted; at the end, every write sent after the last restart is
/// acknowledged within 10 ms.
pub fn faults<N: Tree>(seed: u64, cut: Cut, synced_ack: bool) -> Result<(), Failure> {
    let (mut sim, mut rng) = started::<N>(seed, synced_ack)?;
    for _ in 0..50 {
        for _ in 0..rng.range(1..=6) {
            let request = random_request(sim.history().len(), &mut rng);
            sim.request(NODE, request);
        }
        let pause = rng.duration(ms(0)..=ms(2));
        run(&mut sim, |s| s.run_for(pause))?;
        if rng.chance(0.15) {
            down_and_up(&mut sim, cut)?;
        }
    }
    let sent = sim.history().len();
    for _ in 0..6 {
        let request = random_request(sim.history().len(), &mut rng);
        sim.request(NODE, request);
    }
    run(&mut sim, |s| s.run_for(ms(10)))?;
    answered_since(&sim, sent)
}

/// ACKED: every request from the `sent`-th on (the node up since) is
/// answered.
fn answered_since<N: Tree>(sim: &Sim<N>, sent: usize) -> Result<(), Failure> {
    match sim.history()[sent..]
        .iter()
        .position(|op| !op.is_complete())
    {
        Some(n) => Err(Failure::after_run(
            sim,
            ACKED,
            format!("request {} was not answered within 10 ms", sent + n),
        )),
        None => Ok(()),
    }
}

pub fn workload<N: Tree>(seed: u64) -> Result<(), Failure> {
    faults::<N>(seed, Cut::Power, true)
}

/// Writes a few at a time, each batch followed by a power cut at a random
/// point: before its commit, or after it.
pub fn cuts_mid_commit<N: Tree>(seed: u64, synced_ack: bool) -> Result<(), Failure> {
    let (mut sim, mut rng) = started::<N>(seed, synced_ack)?;
    for _ in 0..30 {
        for _ in 0..rng.range(1..=4) {
            let k = key(rng.below(KEYS));
            let request = match rng.below(5) {
                0 => Request::Delete { key: k },
                _ => Request::Put {
                    key: k,
                    value: format!("v{}", sim.history().len()),
                },
            };
            sim.request(NODE, request);
        }
        let wait = rng.duration(ms(0)..=GROUP_WINDOW * 2);
        run(&mut sim, |s| s.run_for(wait))?;
        down_and_up(&mut sim, Cut::Power)?;
    }
    Ok(())
}

/// 64 keys inserted in ascending order (every split at the right edge),
/// then deleted in a random order down to an empty tree, a few at a time,
/// with a power cut now and then; each batch is acknowledged within 10 ms,
/// and scans of the whole range follow every batch.
pub fn grow_and_shrink<N: Tree>(seed: u64) -> Result<(), Failure> {
    let (mut sim, mut rng) = started::<N>(seed, true)?;
    let mut keys: Vec<u64> = (0..64).collect();
    let ascending = keys.clone();
    for i in (1..keys.len()).rev() {
        keys.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let batches = ascending.chunks(4).map(|c| (c, true));
    for (batch, insert) in batches.chain(keys.chunks(3).map(|c| (c, false))) {
        let sent = sim.history().len();
        for &k in batch {
            let request = if insert {
                Request::Put {
                    key: key(k),
                    value: format!("v{}", sim.history().len()),
                }
            } else {
                Request::Delete { key: key(k) }
            };
            sim.request(NODE, request);
        }
        run(&mut sim, |s| s.run_for(ms(10)))?;
        answered_since(&sim, sent)?;
        sim.request(
            NODE,
            Request::Scan {
                from: key(0),
                to: key(99),
            },
        );
        if rng.chance(0.1) {
            down_and_up(&mut sim, Cut::Power)?;
        }
    }
    run(&mut sim, |s| s.run_for(ms(1)))
}
