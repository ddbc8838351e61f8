//! cache_single_flight: concurrent misses share one fill; invalidation
//! reaches every replica before a write is acknowledged.
//!
//! Clients send bursts of reads for a few hot keys to three replicas while
//! other clients write those keys at the store. Checked after every event:
//! no replica has two loads of one key in flight; once a write is
//! acknowledged no replica caches an older version of its key; a read
//! returns the newest write acknowledged before it began. At the end: every
//! read was answered, and a replica loaded a key again only after it was
//! invalidated.
//!
//! The checks are generic over [`Observed`] so that the `meta::` tests can
//! run known-wrong replicas ([`wrong`]) through them.

mod wrong;

use crate::subject::cache::single_flight::{Member, Msg, Reply, Request, STORE};
use dscheck::{metric, ms, run, secs, Failure, Property, Suite};
use dsim::{Broken, Event, Network, Node, NodeId, Sim, Time};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

// ----- properties and their hints ---------------------------------------------

pub(super) const ONE_FILL: Property = Property {
    name: "concurrent misses for a key at a replica cause one load from the store",
    hint: "on a miss, look in in_flight first: if a fill of the key is under way, only add the \
           read to its waiting list; send Msg::Load only when the list was empty",
    when: &[],
};
pub(super) const INVALIDATED: Property = Property {
    name: "once a write is acknowledged, no replica caches an older version of its key",
    hint: "on Invalidate, remove the key from the cache and remember the version in invalidated \
           before you acknowledge; on Loaded, a version older than the one remembered is stale: \
           do not cache it (it left the store before the write)",
    when: &[],
};
pub(super) const READS: Property = Property {
    name: "a read returns the newest write acknowledged before it began",
    hint: "a stale fill (version older than the key's invalidation) must not answer the reads \
           waiting for it: send Msg::Load again and keep them waiting",
    when: &[],
};
pub(super) const DONE: Property = Property {
    name: "every read and write is answered",
    hint: "on Loaded, answer every read waiting in in_flight for the key and remove the entry; \
           always send InvalidateAck, or the store never acknowledges the write",
    when: &[],
};
pub(super) const CACHES: Property = Property {
    name: "a replica loads a key again only after it was invalidated",
    hint:
        "on a fill that is not stale, insert the key into the cache, so that later reads are hits",
    when: &[],
};

/// What the checks need from a run's nodes.
pub trait Observed: Node<Msg = Msg, Request = Request, Reply = Reply> {
    /// The version of `key` this node caches, if it is a replica holding it.
    fn cached(&self, key: u64) -> Option<u64>;
    /// The loads the store served, per (replica, key), if this is the store.
    fn loads(&self) -> Option<BTreeMap<(NodeId, u64), u64>>;
}

impl Observed for Member {
    fn cached(&self, key: u64) -> Option<u64> {
        match self {
            Member::Replica(r) => r.cache.get(&key).map(|v| v.version),
            Member::Store(_) => None,
        }
    }
    fn loads(&self) -> Option<BTreeMap<(NodeId, u64), u64>> {
        match self {
            Member::Store(s) => Some(s.loads.clone()),
            Member::Replica(_) => None,
        }
    }
}

/// Builds the nodes of a run.
pub(super) type Factory<N> = Box<dyn FnMut(NodeId) -> N>;

pub fn tests(suite: Suite) -> Suite {
    let suite = suite
        .seeded(
            "single_flight::bursts_of_misses_cause_one_load",
            10,
            |seed| scenario(seed, Box::new(Member::new), Traffic::ReadsOnly),
        )
        .seeded(
            "single_flight::invalidation_reaches_every_replica",
            20,
            |seed| scenario(seed, Box::new(Member::new), Traffic::ReadsAndWrites),
        );
    wrong::tests(suite)
}

/// What the clients do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Traffic {
    ReadsOnly,
    ReadsAndWrites,
}

/// Nodes in a run: the store and three replicas.
const NODES: usize = 4;
/// The hot keys.
const KEYS: u64 = 6;

/// The writes acknowledged so far, per key: (value, version, when).
type Ledger = Rc<RefCell<BTreeMap<u64, Vec<(u64, u64, Time)>>>>;

/// 400 ms of traffic, every property checked after every event, then the
/// final checks.
pub(super) fn scenario<N: Observed>(
    seed: u64,
    factory: Factory<N>,
    traffic: Traffic,
) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, NODES, factory);
    sim.set_network(Network::reliable(ms(1), ms(10)));
    let ledger: Ledger = Rc::default();
    watch(&mut sim, Rc::clone(&ledger));
    let mut rng = sim.scenario_rng();
    let replicas: Vec<NodeId> = (1..NODES).map(NodeId).collect();
    let mut value = 0;
    let mut writes: BTreeMap<u64, u64> = BTreeMap::new();
    let mut reads = 0u64;
    for _ in 0..200 {
        run(&mut sim, |s| s.run_for(ms(2)))?;
        let key = rng.below(KEYS);
        if traffic == Traffic::ReadsAndWrites && rng.chance(0.12) {
            value += 1;
            sim.request(STORE, Request::Put { key, value });
            *writes.entry(key).or_insert(0) += 1;
        } else {
            let replica = *rng.pick(&replicas);
            for _ in 0..1 + rng.below(4) {
                sim.request(replica, Request::Get { key });
                reads += 1;
            }
        }
    }
    run(&mut sim, |s| s.run_until_quiet(secs(5)))?;
    let unanswered: Vec<String> = sim
        .history()
        .iter()
        .filter(|op| !op.is_complete())
        .map(|op| format!("{} at {}: {:?}", op.id, op.node, op.request))
        .collect();
    if !unanswered.is_empty() {
        return Err(Failure::after_run(
            &sim,
            DONE,
            format!(
                "{} requests were never answered (the run was quiet for the last 5 s), e.g. {}",
                unanswered.len(),
                unanswered
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        ));
    }
    let loads = sim
        .node(STORE)
        .and_then(N::loads)
        .expect("the store is up and counts loads");
    for (&(replica, key), &count) in &loads {
        let invalidations = writes.get(&key).copied().unwrap_or(0);
        if count > 1 + 2 * invalidations {
            return Err(Failure::after_run(
                &sim,
                CACHES,
                format!(
                    "{replica} loaded key {key} {count} times, but the key was written (and \
                     invalidated) only {invalidations} times: after a fill, reads of a key should \
                     be hits until the next invalidation"
                ),
            ));
        }
    }
    if seed == 1 {
        let total: u64 = loads.values().sum();
        metric(
            &format!("loads from the store for {reads} reads ({traffic:?}, seed 1)"),
            total,
        );
    }
    Ok(())
}

/// The checks after every event.
fn watch<N: Observed>(sim: &mut Sim<N>, ledger: Ledger) {
    let mut loading: BTreeMap<(NodeId, u64), u32> = BTreeMap::new();
    sim.check(ONE_FILL, move |_, step| {
        for entry in step {
            match &entry.event {
                Event::Send {
                    from,
                    msg: Msg::Load { key },
                    ..
                } => {
                    let n = loading.entry((*from, *key)).or_insert(0);
                    *n += 1;
                    if *n > 1 {
                        return Err(Broken::new(format!(
                            "{from} sent a second load of key {key} while the first was still \
                             in flight"
                        ))
                        .nodes([*from, STORE]));
                    }
                }
                Event::Deliver {
                    to,
                    msg: Msg::Loaded { key, .. },
                    ..
                } => {
                    if let Some(n) = loading.get_mut(&(*to, *key)) {
                        *n = n.saturating_sub(1);
                    }
                }
                _ => {}
            }
        }
        Ok(())
    });

    let written = Rc::clone(&ledger);
    sim.check(INVALIDATED, move |sim, step| {
        for entry in step {
            if let Event::Reply {
                id,
                reply: Reply::Written { version },
                ..
            } = &entry.event
            {
                if let Request::Put { key, value } = sim.operation(*id).request {
                    written
                        .borrow_mut()
                        .entry(key)
                        .or_default()
                        .push((value, *version, entry.at));
                }
            }
        }
        for (&key, writes) in written.borrow().iter() {
            let Some(&(_, newest, _)) = writes.iter().max_by_key(|w| w.1) else {
                continue;
            };
            for id in sim.ids().filter(|&id| id != STORE) {
                if let Some(v) = sim.node(id).and_then(|n| n.cached(key)) {
                    if v < newest {
                        return Err(Broken::new(format!(
                            "version {newest} of key {key} was acknowledged, but {id} still \
                             caches version {v}"
                        ))
                        .nodes([id, STORE]));
                    }
                }
            }
        }
        Ok(())
    });

    sim.check(READS, move |sim, step| {
        for entry in step {
            let Event::Reply {
                node,
                id,
                reply: Reply::Value(got),
            } = &entry.event
            else {
                continue;
            };
            let op = sim.operation(*id);
            let Request::Get { key } = op.request else {
                continue;
            };
            let newest = ledger.borrow().get(&key).and_then(|w| {
                w.iter()
                    .filter(|&&(_, _, at)| at <= op.invoked_at)
                    .map(|&(value, _, _)| value)
                    .max()
            });
            if let Some(value) = newest {
                if got.is_none_or(|g| g < value) {
                    return Err(Broken::new(format!(
                        "{node} answered {id} (read key {key}) with {got:?}, but value {value} \
                         was acknowledged before the read began at {}",
                        op.invoked_at
                    ))
                    .nodes([*node, STORE]));
                }
            }
        }
        Ok(())
    });
}
