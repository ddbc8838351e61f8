//! cache_cluster: primary and replica on a hash ring, synchronous and
//! asynchronous replication, failover.
//!
//! A client writes and reads keys at their primaries while the network
//! loses messages; one node (or two, one after the other) crashes and the
//! survivors are told. In synchronous mode no acknowledged write may ever be
//! lost and reads return the newest acknowledged write, both checked after
//! every event. In asynchronous mode losses are allowed, and counted; what
//! is required is that it acknowledges sooner.
//!
//! The `meta::` tests run the same checks on clusters whose mode is
//! mislabelled: asynchronous nodes checked as synchronous must be caught
//! losing a write, and synchronous nodes checked as asynchronous must be
//! caught acknowledging no sooner.

pub mod holder;
#[cfg(bugs)]
mod meta;
mod protocol;

use crate::subject::cache::cluster::{CacheNode, Replication, Reply, Request, Ring};
use dscheck::{expect_caught, metric, ms, run, secs, Failure, Property, Suite};
use dsim::{Broken, Event, Network, NodeId, RequestId, Sim, Time};
use holder::Holder;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

// ----- properties and their hints ---------------------------------------------

const LOST: Property = Property {
    name: "no acknowledged write is lost (synchronous replication)",
    hint: "in Sync mode, answer Written only in on_ack, once the replica has acknowledged a \
           version at least as new as the client's write; and a node told Down must send its keys \
           to their new replicas",
    when: &[],
};
const READS: Property = Property {
    name: "a read returns the newest write acknowledged before it (synchronous replication)",
    hint: "a replica keeps an entry only if its version is newer than the one it holds (messages \
           arrive out of order), and ignores messages from a node announced dead (fencing): an old \
           Replicate arriving late must not undo a newer write",
    when: &[],
};
const DONE: Property = Property {
    name: "every request to a live node is answered",
    hint: "a write waiting for a dead replica must be sent to the new one: in on_down, remove the \
           dead node from the ring, then for every key you are now primary of whose replica \
           changed, put its entry in unacked and replicate it",
    when: &[],
};
const COPIED: Property = Property {
    name: "once the network is quiet, each key's replica holds what its primary holds",
    hint: "both modes replicate every write: put it in unacked and send it to the replica, \
           resending on the Resend timer until an Ack covers its version; Async differs only in \
           replying at once",
    when: &[],
};
const QUIET: Property = Property {
    name: "once every write is acknowledged, the cluster falls silent and holds no write as unacknowledged",
    hint: "in on_ack, once the acknowledged version covers the unacked entry's version (<=), remove the key from unacked and cancel its Resend timer; otherwise the primary resends forever, or keeps an acknowledged write in unacked",
    when: &[],
};
const FASTER: Property = Property {
    name: "asynchronous replication acknowledges writes sooner than synchronous",
    hint: "in Async mode, reply Written in on_put itself, before any message is sent; replication \
           (with its resends) follows in the background",
    when: &[],
};

/// The nodes of every run.
const NODES: usize = 4;
/// The keys clients write.
const KEYS: u64 = 24;
/// One client operation this often.
const EVERY: Duration = ms(2);

pub fn tests(suite: Suite) -> Suite {
    #[cfg(bugs)]
    let suite = meta::tests(suite);
    suite
        .seeded(
            "cluster::synchronous_replication_loses_no_acknowledged_write",
            20,
            |seed| scenario::<CacheNode>(seed, Replication::Sync, Replication::Sync, 1).map(drop),
        )
        .seeded(
            "cluster::synchronous_replication_survives_two_failures_in_turn",
            10,
            |seed| scenario::<CacheNode>(seed, Replication::Sync, Replication::Sync, 2).map(drop),
        )
        .seeded("cluster::the_last_node_standing_serves_alone", 3, |seed| {
            let failures = NODES - 1;
            scenario::<CacheNode>(seed, Replication::Sync, Replication::Sync, failures).map(drop)
        })
        .seeded(
            "cluster::asynchronous_acknowledges_sooner_and_its_losses_are_counted",
            10,
            |seed| compare_modes(seed, Replication::Async),
        )
        .test("meta::cluster_async_reported_as_sync_is_caught", || {
            expect_caught(LOST, 10, |seed| {
                scenario::<CacheNode>(seed, Replication::Async, Replication::Sync, 1).map(drop)
            })
        })
        .test("meta::cluster_sync_reported_as_async_is_caught", || {
            expect_caught(FASTER, 3, |seed| compare_modes(seed, Replication::Sync))
        })
}

/// What a run measured.
struct Measured {
    /// Mean time from a write reaching its primary to its acknowledgement.
    mean_write_latency: Duration,
    /// Acknowledged writes that no surviving node held when a node crashed.
    lost: usize,
    /// Acknowledged writes in all.
    acked: usize,
}

/// The writes acknowledged so far: per key, (value, when acknowledged).
type Acked = Rc<RefCell<BTreeMap<u64, Vec<(u64, Time)>>>>;

/// Runs one scenario: nodes replicating in `nodes_mode`, checked as
/// `checked_as` (the two differ only in the meta tests), with `failures`
/// nodes crashing one after the other.
fn scenario<N: Holder>(
    seed: u64,
    nodes_mode: Replication,
    checked_as: Replication,
    failures: usize,
) -> Result<Measured, Failure> {
    let ids: Vec<NodeId> = (0..NODES).map(NodeId).collect();
    let all = ids.clone();
    let mut sim = Sim::new(seed, NODES, move |_| N::make(nodes_mode, &all));
    sim.set_network(
        Network::reliable(ms(1), ms(10))
            .with_loss(0.1)
            .with_duplication(0.05),
    );
    let acked: Acked = Rc::default();
    watch(&mut sim, Rc::clone(&acked), checked_as == Replication::Sync);
    protocol::watch(&mut sim);
    let mut ring = Ring::new(&ids);
    let mut rng = sim.scenario_rng();
    let mut value = 0;
    let mut lost_with_node: Vec<RequestId> = Vec::new();
    let mut sent: Vec<(RequestId, NodeId)> = Vec::new();
    let mut alive = ids.clone();
    let mut lost = 0;
    for phase in 0..=failures {
        let span = ms(150 + rng.below(100));
        let steps = span.as_nanos() / EVERY.as_nanos();
        for _ in 0..steps {
            run(&mut sim, |s| s.run_for(EVERY))?;
            let key = rng.below(KEYS);
            let primary = ring.primary(key).expect("the ring keeps a node");
            let request = if rng.chance(0.6) {
                value += 1;
                Request::Put { key, value }
            } else {
                Request::Get { key }
            };
            sent.push((sim.request(primary, request), primary));
        }
        if phase == failures {
            break;
        }
        let victim = *rng.pick(&alive);
        alive.retain(|&n| n != victim);
        // Certainly, whatever the seed: a write reaches the victim just
        // before it dies, so a write acknowledged before its replication
        // is lost with the node.
        if let Some(key) = (0..KEYS).find(|&k| ring.primary(k) == Some(victim)) {
            value += 1;
            sent.push((sim.request(victim, Request::Put { key, value }), victim));
            run(&mut sim, |s| s.run_for(Duration::ZERO))?;
        }
        ring.remove(victim);
        sim.note(format!("{victim} crashes; the survivors are told"));
        run(&mut sim, |s| s.crash(victim))?;
        lost += unheld(&sim, &acked.borrow());
        for &(id, to) in &sent {
            if to == victim && !is_answered(&sim, id) {
                lost_with_node.push(id);
            }
        }
        for &node in &alive {
            sim.request(node, Request::Down(victim));
        }
    }
    let quiet = run(&mut sim, |s| s.run_until_quiet(secs(5)))?;
    // Requests that were waiting at a node when it crashed may stay unanswered.
    let unanswered: Vec<String> = sent
        .iter()
        .filter(|(id, _)| !lost_with_node.contains(id) && !is_answered(&sim, *id))
        .map(|(id, to)| format!("{id} at {to}: {:?}", sim.operation(*id).request))
        .collect();
    if !unanswered.is_empty() {
        return Err(Failure::after_run(
            &sim,
            DONE,
            format!(
                "{} requests to live nodes were never answered (the network was quiet for the last \
                 5 s), e.g. {}",
                unanswered.len(),
                unanswered.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
            ),
        ));
    }
    if !quiet {
        return Err(Failure::after_run(
            &sim,
            QUIET,
            format!(
                "5 s after the last request the cluster still had events pending (messages or \
                 timers); {} timers have fired in all",
                sim.stats().timers
            ),
        ));
    }
    settled(&sim)?;
    copied(&sim, &ring)?;
    let measured = measure(&sim, &acked.borrow(), lost);
    Ok(measured)
}

fn is_answered<N: Holder>(sim: &Sim<N>, id: RequestId) -> bool {
    sim.history()
        .iter()
        .any(|op| op.id == id && op.is_complete())
}

/// At the end, on a quiet network: no live node has a write its replica
/// has not acknowledged.
fn settled<N: Holder>(sim: &Sim<N>) -> Result<(), Failure> {
    for id in sim.ids() {
        let Some(node) = sim.node(id) else { continue };
        if let Some((key, unacked)) = node.unacked().iter().next() {
            return Err(Failure::after_run(
                sim,
                QUIET,
                format!(
                    "the network has been quiet for seconds, but {id} still holds the write of \
                     key {key} at version {} as unacknowledged ({} keys in all)",
                    unacked.entry.version,
                    node.unacked().len()
                ),
            ));
        }
    }
    Ok(())
}

/// At the end, on a quiet network: every key on a live primary is on its
/// replica too, at the same version.
fn copied<N: Holder>(sim: &Sim<N>, ring: &Ring) -> Result<(), Failure> {
    for key in 0..KEYS {
        let (Some(primary), Some(replica)) = (ring.primary(key), ring.replica(key)) else {
            continue;
        };
        let held = |id: NodeId| sim.node(id).and_then(|n| n.data().get(&key).copied());
        let (at_primary, at_replica) = (held(primary), held(replica));
        if at_primary.is_some() && at_primary != at_replica {
            return Err(Failure::after_run(
                sim,
                COPIED,
                format!(
                    "the network has been quiet for seconds, but key {key} is {at_primary:?} at \
                     its primary {primary} and {at_replica:?} at its replica {replica}"
                ),
            ));
        }
    }
    Ok(())
}

/// Latency of the writes, and how many acknowledged writes were `lost`.
fn measure<N: Holder>(
    sim: &Sim<N>,
    acked: &BTreeMap<u64, Vec<(u64, Time)>>,
    lost: usize,
) -> Measured {
    let latencies: Vec<Duration> = sim
        .history()
        .iter()
        .filter(|op| matches!(op.request, Request::Put { .. }))
        .filter_map(|op| match &op.completion {
            Some((Reply::Written, at)) => Some(at.saturating_since(op.invoked_at)),
            _ => None,
        })
        .collect();
    let total: Duration = latencies.iter().sum();
    Measured {
        mean_write_latency: total / latencies.len().max(1) as u32,
        lost,
        acked: acked.values().map(Vec::len).sum(),
    }
}

/// The acknowledged writes that no live node holds (nor a newer write of
/// the same key): what a crash just lost.
fn unheld<N: Holder>(sim: &Sim<N>, acked: &BTreeMap<u64, Vec<(u64, Time)>>) -> usize {
    let mut lost = 0;
    for (&key, writes) in acked {
        let held = sim
            .ids()
            .filter_map(|id| Some(sim.node(id)?.data().get(&key)?.value))
            .max()
            .unwrap_or(0);
        lost += writes.iter().filter(|&&(v, _)| v > held).count();
    }
    lost
}

/// Not a property: a check that never fails, run after every step (and
/// before the checks that read the ledger) to record acknowledged writes.
const RECORDING: Property = Property {
    name: "the suite records acknowledged writes",
    hint: "",
    when: &[],
};

/// Registers the ledger of acknowledged writes and, when checking
/// synchronous replication, the checks after every event.
fn watch<N: Holder>(sim: &mut Sim<N>, acked: Acked, strict: bool) {
    let ledger = Rc::clone(&acked);
    sim.check(RECORDING, move |sim, step| {
        for entry in step {
            if let Event::Reply {
                id,
                reply: Reply::Written,
                ..
            } = &entry.event
            {
                if let Request::Put { key, value } = sim.operation(*id).request {
                    ledger
                        .borrow_mut()
                        .entry(key)
                        .or_default()
                        .push((value, entry.at));
                }
            }
        }
        Ok(())
    });
    if !strict {
        return;
    }
    let ledger = Rc::clone(&acked);
    sim.check(LOST, move |sim, _| {
        for (&key, writes) in ledger.borrow().iter() {
            let Some(&(newest, _)) = writes.iter().max() else {
                continue;
            };
            let holders: Vec<(NodeId, u64)> = sim
                .ids()
                .filter_map(|id| Some((id, sim.node(id)?.data().get(&key)?.value)))
                .collect();
            if !holders.iter().any(|&(_, v)| v >= newest) {
                return Err(Broken::new(format!(
                    "value {newest} of key {key} was acknowledged, but no live node holds it or a \
                     newer one; the live nodes hold {holders:?}"
                ))
                .nodes(sim.ids().filter(|&id| sim.is_up(id))));
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
            let newest = acked.borrow().get(&key).and_then(|w| {
                w.iter()
                    .filter(|&&(_, at)| at <= op.invoked_at)
                    .max()
                    .copied()
            });
            if let Some((value, at)) = newest {
                if got.is_none_or(|g| g < value) {
                    return Err(Broken::new(format!(
                        "{node} answered {id} (read key {key}) with {got:?}, but value {value} was \
                         acknowledged at {at}, before the read began at {}",
                        op.invoked_at
                    ))
                    .nodes([*node]));
                }
            }
        }
        Ok(())
    });
}

/// The same scenario (one failure) with synchronous nodes and with nodes
/// in `async_mode` (asynchronous, unless a meta test mislabels them): the
/// asynchronous run must acknowledge writes in at most half the mean time.
fn compare_modes(seed: u64, async_mode: Replication) -> Result<(), Failure> {
    let sync = scenario::<CacheNode>(seed, Replication::Sync, Replication::Sync, 1)?;
    let fast = scenario::<CacheNode>(seed, async_mode, Replication::Async, 1)?;
    metric(
        &format!("mean write latency, sync / async, seed {seed}"),
        format!(
            "{:.2} ms / {:.2} ms",
            sync.mean_write_latency.as_secs_f64() * 1e3,
            fast.mean_write_latency.as_secs_f64() * 1e3
        ),
    );
    metric(
        &format!("acknowledged writes lost in the crash, sync / async, seed {seed}"),
        format!(
            "{} of {} / {} of {}",
            sync.lost, sync.acked, fast.lost, fast.acked
        ),
    );
    if fast.mean_write_latency * 2 > sync.mean_write_latency {
        return Err(Failure::new(
            FASTER,
            format!(
                "with the same seed and traffic, synchronous writes were acknowledged after {:?} \
                 on average and asynchronous ones after {:?}; asynchronous should take at most \
                 half as long (it need not wait for the replica)",
                sync.mean_write_latency, fast.mean_write_latency
            ),
        ));
    }
    Ok(())
}
