//! quorum_anti_entropy: replicas that differ in a few keys converge through
//! Merkle exchanges, with messages and shipped entries capped; replicas that
//! agree exchange only their roots; under loss and partitions they converge
//! once the network heals.

use crate::subject::quorums::quorum_anti_entropy::{
    Key, Msg, Put, Range, Replica, Versioned, Written, KEY_SPACE, SYNC_EVERY,
};
use dscheck::{metric, ms, run, Failure, Property, Suite};
use dsim::{Broken, Event, Network, Node, NodeId, Sim};
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
        .test(
            "anti_entropy::the_others_converge_while_any_one_is_down",
            || {
                (0..REPLICAS_DOWN_TEST).try_for_each(|down| {
                    one_down(down as u64 + 1, NodeId(down), |_| Replica::new())
                })
            },
        )
}

/// The checks, run on the reference with one bug (`bugs/`): each must be
/// caught.
#[cfg(bugs)]
pub fn meta(suite: Suite) -> Suite {
    use crate::bugs::ae_always_the_first_peer::quorum_anti_entropy::Replica as FirstPeer;
    use crate::bugs::ae_leaf_sent_as_an_answer::quorum_anti_entropy::Replica as OneWay;
    use crate::bugs::ae_sends_every_key::quorum_anti_entropy::Replica as EveryKey;
    use crate::bugs::ae_stops_at_the_root::quorum_anti_entropy::Replica as StopsAtRoot;
    use dscheck::expect_caught;
    suite
        .test("meta::anti_entropy_leaf_sent_one_way", || {
            expect_caught(BOTH_WAYS, 3, |seed| {
                few_differences(seed, |_| OneWay::new())
            })
        })
        .test("meta::anti_entropy_always_with_the_same_peer", || {
            expect_caught(CONVERGED, 1, |seed| {
                (0..REPLICAS_DOWN_TEST).try_for_each(|down| {
                    one_down(seed + down as u64, NodeId(down), |_| FirstPeer::new())
                })
            })
        })
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
const BOTH_WAYS: Property = Property {
    name: "a replica answers a leaf's entries with its own entries of that leaf",
    hint: "on Entries with reply: false, merge them and send back your entries of the same \
           range with reply: true, in the same handler; send reply: true only as that answer, \
           so each differing leaf is exchanged both ways at once",
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
impl Synced for crate::bugs::ae_leaf_sent_as_an_answer::quorum_anti_entropy::Replica {
    fn store(&self) -> &BTreeMap<Key, Versioned> {
        &self.store
    }
}

#[cfg(bugs)]
impl Synced for crate::bugs::ae_always_the_first_peer::quorum_anti_entropy::Replica {
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
    both_ways(&mut sim);
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
    both_ways(&mut sim);
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

/// The (sender, receiver, range) of each Entries in `step` that was
/// delivered (`delivered`) or sent (otherwise) with `reply` as given.
fn entries_in<N: Synced>(
    step: dsim::Step<'_, N>,
    delivered: bool,
    reply: bool,
) -> Vec<(NodeId, NodeId, Range, u64)> {
    step.iter()
        .filter_map(|e| match &e.event {
            Event::Deliver {
                from,
                to,
                msg: Msg::Entries {
                    range, reply: r, ..
                },
                ..
            } if delivered && *r == reply => Some((*from, *to, *range, e.index)),
            Event::Send {
                from,
                to,
                msg: Msg::Entries {
                    range, reply: r, ..
                },
                ..
            } if !delivered && *r == reply => Some((*from, *to, *range, e.index)),
            _ => None,
        })
        .collect()
}

/// Checks after every step that each first Entries delivered is answered
/// in that step, and that every answer answers one.
fn both_ways<N: Synced>(sim: &mut Sim<N>) {
    sim.check(BOTH_WAYS, |sim, step| {
        let asked = entries_in(step, true, false);
        let answered = entries_in(step, false, true);
        for &(from, to, range, at) in &asked {
            // A replica that is down (crashed) answers nothing.
            if sim.node(to).is_some()
                && !answered
                    .iter()
                    .any(|a| (a.0, a.1, a.2) == (to, from, range))
            {
                return Err(Broken::new(format!(
                    "{to} received {from}'s entries of keys {}..{} and did not answer with its own",
                    range.lo, range.hi
                ))
                .nodes([from, to])
                .events([at]));
            }
        }
        for &(from, to, range, at) in &answered {
            if !asked.iter().any(|a| (a.0, a.1, a.2) == (to, from, range)) {
                return Err(Broken::new(format!(
                    "{from} sent {to} its entries of keys {}..{} marked as an answer (reply: \
                     true), but {to} had not sent it that leaf's entries: {to} will not send \
                     its own back",
                    range.lo, range.hi
                ))
                .nodes([from, to])
                .events([at]));
            }
        }
        Ok(())
    });
}

/// How many replicas the one-down test runs, each run with another of
/// them down.
const REPLICAS_DOWN_TEST: usize = 4;

/// Four replicas, `down` crashed for good from the start; the other three
/// get writes of their own and must converge: a replica that is down must
/// not stop the others exchanging with each other (each starts its
/// exchanges with every peer in turn).
fn one_down<N: Synced>(
    seed: u64,
    down: NodeId,
    factory: impl FnMut(NodeId) -> N + 'static,
) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, REPLICAS_DOWN_TEST, factory);
    sim.set_network(Network::reliable(ms(1), ms(10)));
    run(&mut sim, |s| s.crash(down))?;
    let up: Vec<NodeId> = sim.ids().filter(|id| *id != down).collect();
    for (i, &node) in up.iter().enumerate() {
        let key = 100 * i as u64 + 7;
        sim.request(
            node,
            Put {
                key,
                value: key,
                ts: 1,
            },
        );
    }
    // The writes land before the exchanges are watched.
    run(&mut sim, |s| s.run_for(ms(1)))?;
    let done = run(&mut sim, |s| {
        s.run_until(ms(3_000), |s| disagreement(s).is_none())
    })?;
    if !done {
        return Err(not_converged(&sim, &format!("3 s with {down} down")));
    }
    Ok(())
}
