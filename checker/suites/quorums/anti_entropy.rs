//! quorum_anti_entropy: replicas that differ in a few keys converge through
//! Merkle exchanges, with messages and shipped entries capped; replicas that
//! agree exchange only their roots; under loss and partitions they converge
//! once the network heals.

use crate::subject::quorums::quorum_anti_entropy::{
    Key, Msg, Put, Replica, Versioned, Written, KEY_SPACE, SYNC_EVERY,
};
use dscheck::{metric, ms, run, Failure, Property, Suite};
use dsim::{Event, Network, Node, NodeId, Sim};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::rc::Rc;

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded(
            "anti_entropy::few_differences_cost_few_messages",
            5,
            |seed| few_differences(seed, |_| Replica::new()),
        )
        .seeded(
            "anti_entropy::converge_after_loss_and_partitions",
            5,
            |seed| churn(seed, |_| Replica::new()),
        )
}

/// The checks, run on the reference with one bug (`bugs/`): each must be
/// caught.
#[cfg(bugs)]
pub fn meta(suite: Suite) -> Suite {
    use crate::bugs::ae_sends_every_key::quorum_anti_entropy::Replica as EveryKey;
    use crate::bugs::ae_stops_at_the_root::quorum_anti_entropy::Replica as StopsAtRoot;
    use dscheck::expect_caught;
    suite
        .test("meta::anti_entropy_stopping_at_the_root", || {
            expect_caught(FEW_ENTRIES, 3, |seed| {
                few_differences(seed, |_| StopsAtRoot::new())
            })
        })
        .test("meta::anti_entropy_exchanging_every_key", || {
            expect_caught(FEW_ENTRIES, 3, |seed| {
                few_differences(seed, |_| EveryKey::new())
            })
        })
}

const CONVERGED: Property = Property {
    name: "replicas hold the same entries, each key's newest, soon after the network heals",
    hint: "on Entries keep, per key, the value with the higher timestamp, and answer a first \
           Entries (reply: false) with yours, so both sides end with the newer of each key",
    when: &[],
};
const FEW_ENTRIES: Property = Property {
    name: "an exchange ships only the leaves that differ",
    hint: "send Entries only for leaves whose hashes differ; an inner range that differs is \
           split in two and only its halves' hashes are sent back",
    when: &[],
};
const FEW_MESSAGES: Property = Property {
    name: "replicas find their differences with few messages",
    hint: "put every differing range's halves into one Hashes message, so an exchange takes \
           one message per level of the tree",
    when: &[],
};
const IDLE: Property = Property {
    name: "replicas that agree exchange only their root hashes",
    hint: "a replica whose root hash equals the one it received sends nothing back",
    when: &[],
};

/// What the checks read of a replica.
pub trait Synced: Node<Msg = Msg, Request = Put, Reply = Written> {
    fn store(&self) -> &BTreeMap<Key, Versioned>;
}

impl Synced for Replica {
    fn store(&self) -> &BTreeMap<Key, Versioned> {
        &self.store
    }
}

#[cfg(bugs)]
impl Synced for crate::bugs::ae_stops_at_the_root::quorum_anti_entropy::Replica {
    fn store(&self) -> &BTreeMap<Key, Versioned> {
        &self.store
    }
}

#[cfg(bugs)]
impl Synced for crate::bugs::ae_sends_every_key::quorum_anti_entropy::Replica {
    fn store(&self) -> &BTreeMap<Key, Versioned> {
        &self.store
    }
}

/// Keys every replica holds before the differences.
const SHARED: usize = 600;
/// Keys written at one replica only, per replica.
const CHANGED: usize = 2;
const REPLICAS: usize = 3;
/// Caps, per differing key, for converging all replicas (the reference
/// takes about a third of the messages and half the entries; sending
/// every key ships about ten times the cap).
const MESSAGES_PER_DIFFERENCE: u64 = 40;
const ENTRIES_PER_DIFFERENCE: u64 = 120;

/// Not a property: a check that never fails, run after every step to
/// count what is sent.
const COUNTING: Property = Property {
    name: "(counting shipped entries)",
    hint: "",
    when: &[],
};

/// Counts the entries carried by Entries messages as they are sent.
fn count_entries<N: Synced>(sim: &mut Sim<N>) -> Rc<Cell<u64>> {
    let shipped = Rc::new(Cell::new(0));
    let counter = Rc::clone(&shipped);
    sim.check(COUNTING, move |_, step| {
        for e in step {
            if let Event::Send {
                msg: Msg::Entries { entries, .. },
                ..
            } = &e.event
            {
                counter.set(counter.get() + entries.len() as u64);
            }
        }
        Ok(())
    });
    shipped
}

/// Three replicas share 600 keys and differ in six; they must converge
/// within the caps, and then stay quiet but for root hashes.
fn few_differences<N: Synced>(
    seed: u64,
    factory: impl FnMut(NodeId) -> N + 'static,
) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, REPLICAS, factory);
    sim.set_network(Network::reliable(ms(1), ms(10)));
    let shipped = count_entries(&mut sim);
    let mut rng = sim.scenario_rng();
    let mut keys: Vec<Key> = (0..KEY_SPACE).collect();
    rng.shuffle(&mut keys);
    for &key in &keys[..SHARED] {
        for node in sim.ids().collect::<Vec<_>>() {
            sim.request(
                node,
                Put {
                    key,
                    value: key,
                    ts: 1,
                },
            );
        }
    }
    // Each replica gets a few writes of its own: new keys, and newer
    // values of shared ones.
    let mut differing = 0;
    for (i, node) in sim.ids().collect::<Vec<_>>().into_iter().enumerate() {
        for j in 0..CHANGED {
            let key = if j % 2 == 0 {
                keys[SHARED + i * CHANGED + j]
            } else {
                keys[i * CHANGED + j]
            };
            sim.request(
                node,
                Put {
                    key,
                    value: 10_000 + key,
                    ts: 2,
                },
            );
            differing += 1;
        }
    }
    run(&mut sim, |s| s.run_for(ms(1)))?;
    let (sent0, shipped0) = (sim.stats().sent, shipped.get());
    let done = run(&mut sim, |s| {
        s.run_until(ms(5_000), |s| disagreement(s).is_none())
    })?;
    if !done {
        return Err(not_converged(&sim, "5 s of exchanges"));
    }
    let messages = sim.stats().sent - sent0;
    let entries = shipped.get() - shipped0;
    metric("messages to converge", messages);
    metric("entries shipped", entries);
    let cap = ENTRIES_PER_DIFFERENCE * differing;
    if entries > cap {
        return Err(Failure::after_run(
            &sim,
            FEW_ENTRIES,
            format!(
                "converging {REPLICAS} replicas that differ in {differing} of {} keys shipped \
                 {entries} entries; at most {cap} are allowed",
                SHARED + differing as usize / 2
            ),
        ));
    }
    let cap = MESSAGES_PER_DIFFERENCE * differing;
    if messages > cap {
        return Err(Failure::after_run(
            &sim,
            FEW_MESSAGES,
            format!(
                "converging {REPLICAS} replicas that differ in {differing} keys took {messages} \
                 messages; at most {cap} are allowed"
            ),
        ));
    }
    // Now they agree: once the last exchanges are over, each exchange is
    // one root hash.
    run(&mut sim, |s| s.run_for(ms(500)))?;
    let sent = sim.stats().sent;
    let quiet = ms(1_000);
    run(&mut sim, |s| s.run_for(quiet))?;
    let exchanges = REPLICAS as u64 * (quiet.as_millis() / SYNC_EVERY.as_millis()) as u64;
    let idle = sim.stats().sent - sent;
    if idle > exchanges + REPLICAS as u64 {
        return Err(Failure::after_run(
            &sim,
            IDLE,
            format!(
                "{REPLICAS} replicas holding the same entries sent {idle} messages in 1 s, about \
                 {exchanges} exchanges: more than one message each"
            ),
        ));
    }
    Ok(())
}

/// Writes land on random replicas while links lose messages and
/// minorities are cut off; after the network heals, all replicas converge
/// on the newest value of every key.
fn churn<N: Synced>(seed: u64, factory: impl FnMut(NodeId) -> N + 'static) -> Result<(), Failure> {
    let nodes = 5;
    let mut sim = Sim::new(seed, nodes, factory);
    sim.set_network(
        Network::reliable(ms(1), ms(20))
            .with_loss(0.15)
            .with_duplication(0.05),
    );
    let mut rng = sim.scenario_rng();
    let mut newest: BTreeMap<Key, u64> = BTreeMap::new();
    let mut ts = 0;
    for round in 0..30u64 {
        if round % 10 == 3 {
            let cut = NodeId(rng.below(nodes as u64) as usize);
            run(&mut sim, |s| s.isolate(cut))?;
        }
        if round % 10 == 8 {
            run(&mut sim, |s| s.heal())?;
        }
        for _ in 0..5 {
            let key = rng.below(KEY_SPACE);
            ts += 1;
            let node = NodeId(rng.below(nodes as u64) as usize);
            sim.request(
                node,
                Put {
                    key,
                    value: rng.below(1_000),
                    ts,
                },
            );
            newest.insert(key, ts);
        }
        run(&mut sim, |s| s.run_for(ms(50)))?;
    }
    run(&mut sim, |s| s.heal())?;
    let done = run(&mut sim, |s| {
        s.run_until(ms(5_000), |s| disagreement(s).is_none())
    })?;
    if !done {
        return Err(not_converged(&sim, "5 s after the network healed"));
    }
    let first = sim.node(NodeId(0)).expect("no crashes here").store();
    for (key, ts) in &newest {
        let held = first.get(key).map(|v| v.ts);
        if held != Some(*ts) {
            return Err(Failure::after_run(
                &sim,
                CONVERGED,
                format!(
                    "the replicas agree on key {key}, but hold timestamp {held:?}; the newest \
                     write had timestamp {ts}"
                ),
            ));
        }
    }
    Ok(())
}

/// The first key two replicas disagree on, described.
fn disagreement<N: Synced>(sim: &Sim<N>) -> Option<String> {
    let stores: Vec<(NodeId, &BTreeMap<Key, Versioned>)> = sim
        .ids()
        .filter_map(|id| Some((id, sim.node(id)?.store())))
        .collect();
    let (first, reference) = stores.first()?;
    for (id, store) in &stores[1..] {
        if store == reference {
            continue;
        }
        let key = reference
            .keys()
            .chain(store.keys())
            .find(|k| reference.get(k) != store.get(k))
            .copied()
            .unwrap_or(0);
        return Some(format!(
            "key {key}: {first} holds {:?}, {id} holds {:?}",
            reference.get(&key),
            store.get(&key)
        ));
    }
    None
}

fn not_converged<N: Synced>(sim: &Sim<N>, after: &str) -> Failure {
    let detail = disagreement(sim).unwrap_or_default();
    Failure::after_run(
        sim,
        CONVERGED,
        format!("after {after} the replicas still differ: {detail}"),
    )
}
