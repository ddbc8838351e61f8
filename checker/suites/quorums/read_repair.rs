//! quorum_read_repair: the quorum store stays fresh, and reads bring the
//! replicas a partition left behind up to date.

use super::rw::{fresh_reads, quorums_meet};
use super::workload::{
    finished, minority, minority_of, observed, Answer, ClientOp, Observed, NODES,
};
use crate::subject::quorums::quorum_read_repair::Msg;
use crate::subject::quorums::quorum_read_repair::{Replica, Reply, Request};
use dscheck::{ms, run, Failure, Property, Suite};
use dsim::{Broken, Event, Network, Node, NodeId, Sim};
use std::collections::BTreeMap;

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded(
            "read_repair::reads_see_the_last_completed_write",
            8,
            |seed| fresh_reads(seed, |_| Replica::new(3, 3)),
        )
        .seeded(
            "read_repair::reads_mend_replicas_after_a_partition",
            10,
            |seed| mended(seed, |_| Replica::new(3, 3)),
        )
        .seeded(
            "read_repair::a_read_quorum_meets_every_write_quorum",
            1,
            |seed| quorums_meet(seed, |_| Replica::new(3, 3)),
        )
        .seeded("read_repair::nothing_completes_in_a_minority", 2, |seed| {
            minority(seed, |_| Replica::new(3, 3))
        })
        .seeded(
            "read_repair::nothing_completes_in_half_of_4_or_6",
            2,
            |seed| {
                let nodes = 4 + 2 * (seed as usize % 2);
                let majority = nodes / 2 + 1;
                minority_of(seed, nodes, move |_| Replica::new(majority, majority))
            },
        )
        .seeded(
            "read_repair::one_read_mends_every_replica_it_asked",
            3,
            |seed| mended_by_one_read(seed, |_| Replica::new(3, 3)),
        )
}

/// The checks, run on a misconfigured reference and on the reference with
/// one bug (`bugs/`): each must be caught.
#[cfg(bugs)]
pub fn meta(suite: Suite) -> Suite {
    use super::rw::FRESH;
    use super::workload::QUIET;
    use crate::bugs::repair_never::quorum_read_repair::Replica as NeverRepairs;
    use crate::bugs::repair_skips_the_coordinator::quorum_read_repair::Replica as SkipsItself;
    use crate::bugs::repair_up_to_date_replicas::quorum_read_repair::Replica as RepairsAll;
    use crate::bugs::repair_window_never_set::quorum_read_repair::Replica as NoWindow;
    use crate::bugs::repair_with_the_oldest_answer::quorum_read_repair::Replica as RepairsOldest;
    use dscheck::expect_caught;
    suite
        .test("meta::read_repair_without_a_window_is_caught", || {
            expect_caught(QUIET, 3, |seed| fresh_reads(seed, |_| NoWindow::new(3, 3)))
        })
        .test("meta::read_repair_of_up_to_date_replicas_is_caught", || {
            expect_caught(ONLY_BEHIND, 3, |seed| {
                mended_by_one_read(seed, |_| RepairsAll::new(3, 3))
            })
        })
        .test(
            "meta::read_repair_skipping_the_coordinator_is_caught",
            || {
                expect_caught(CONVERGED, 3, |seed| {
                    mended_by_one_read(seed, |_| SkipsItself::new(3, 3))
                })
            },
        )
        .test("meta::read_repair_writes_the_oldest_value", || {
            expect_caught(CONVERGED, 5, |seed| {
                mended(seed, |_| RepairsOldest::new(3, 3))
            })
        })
        .test("meta::read_repair_never_repairs", || {
            expect_caught(CONVERGED, 5, |seed| {
                mended(seed, |_| NeverRepairs::new(3, 3))
            })
        })
        .test("meta::read_repair_first_reply_is_stale", || {
            // The freshness check also runs here: a read after one reply.
            expect_caught(FRESH, 3, |seed| quorums_meet(seed, |_| Replica::new(1, 3)))
        })
}

const CONVERGED: Property = Property {
    name: "after reads of every key, every replica holds its newest value",
    hint: "keep a read open after the client has its answer, until every replica answered or \
           REPAIR_WINDOW passed; then send the newest value (highest timestamp) to every \
           replica whose answer was older or empty",
    when: &[],
};

/// What the checks read of a replica's store.
pub trait Stored: Observed + Node<Msg = Msg> {
    /// The timestamp and value this replica holds for `key`.
    fn stored(&self, key: u64) -> Option<(u64, u64)>;
}

observed!(Replica);
#[cfg(bugs)]
observed!(
    crate::bugs::repair_never::quorum_read_repair::Replica,
    crate::bugs::repair_with_the_oldest_answer::quorum_read_repair::Replica,
    crate::bugs::repair_window_never_set::quorum_read_repair::Replica,
    crate::bugs::repair_up_to_date_replicas::quorum_read_repair::Replica,
    crate::bugs::repair_skips_the_coordinator::quorum_read_repair::Replica,
);

/// Implements [`Stored`] for each replica type given.
macro_rules! stored {
    ($($node:ty),* $(,)?) => {$(
        impl Stored for $node {
            fn stored(&self, key: u64) -> Option<(u64, u64)> {
                self.store.get(&key).map(|v| (v.ts, v.value))
            }
        }
    )*};
}

stored!(Replica);
#[cfg(bugs)]
stored!(
    crate::bugs::repair_never::quorum_read_repair::Replica,
    crate::bugs::repair_with_the_oldest_answer::quorum_read_repair::Replica,
    crate::bugs::repair_window_never_set::quorum_read_repair::Replica,
    crate::bugs::repair_up_to_date_replicas::quorum_read_repair::Replica,
    crate::bugs::repair_skips_the_coordinator::quorum_read_repair::Replica,
);

fn request(op: ClientOp) -> Request {
    match op.write {
        Some((value, ts)) => Request::Put {
            key: op.key,
            value,
            ts,
        },
        None => Request::Get { key: op.key },
    }
}

fn op(request: &Request) -> ClientOp {
    match *request {
        Request::Get { key } => ClientOp { key, write: None },
        Request::Put { key, value, ts } => ClientOp {
            key,
            write: Some((value, ts)),
        },
    }
}

fn answer(reply: &Reply) -> Answer {
    match *reply {
        Reply::Value(v) => Answer::Value(v),
        Reply::Written => Answer::Written,
    }
}

const ONLY_BEHIND: Property = Property {
    name: "a read repairs only the replicas that answered with something older",
    hint: "after the read, send Repair only to replicas whose answer had a lower timestamp \
           than the newest (or no value at all); a replica that answered the newest value \
           needs nothing",
    when: &[],
};

const KEYS: u64 = 4;
/// How many times every key is read after the partition heals.
const READ_ROUNDS: usize = 5;

/// Writes while n3 and n4 are cut off, then reads of every key after the
/// partition heals: every replica must end with every key's newest value.
fn mended<N: Stored>(seed: u64, factory: impl FnMut(NodeId) -> N + 'static) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, NODES, factory);
    sim.set_network(Network::reliable(ms(1), ms(20)).with_loss(0.05));
    let mut rng = sim.scenario_rng();
    let majority = [NodeId(0), NodeId(1), NodeId(2)];
    let mut ts = 0;
    let mut write = |sim: &mut Sim<N>, rng: &mut dsim::SimRng| {
        ts += 1;
        let key = rng.below(KEYS);
        let node = *rng.pick(&majority);
        sim.request(
            node,
            N::request(ClientOp {
                key,
                write: Some((ts, ts)),
            }),
        );
    };
    for _ in 0..8 {
        write(&mut sim, &mut rng);
        run(&mut sim, |s| s.run_for(ms(30)))?;
    }
    run(&mut sim, |s| {
        s.partition(&[&majority, &[NodeId(3), NodeId(4)]])
    })?;
    for _ in 0..12 {
        write(&mut sim, &mut rng);
        run(&mut sim, |s| s.run_for(ms(30)))?;
    }
    run(&mut sim, |s| s.run_for(ms(300)))?;
    run(&mut sim, |s| s.heal())?;
    for _ in 0..READ_ROUNDS {
        for key in 0..KEYS {
            let node = NodeId(rng.below(NODES as u64) as usize);
            sim.request(node, N::request(ClientOp { key, write: None }));
        }
        run(&mut sim, |s| s.run_for(ms(150)))?;
    }
    run(&mut sim, |s| s.run_for(ms(1_000)))?;
    finished(&mut sim)?;
    converged(&sim, READ_ROUNDS)
}

/// Every replica holds each key's newest value, after `reads` reads of
/// every key.
fn converged<N: Stored>(sim: &Sim<N>, reads: usize) -> Result<(), Failure> {
    for key in 0..KEYS {
        let held: BTreeMap<NodeId, Option<(u64, u64)>> = sim
            .ids()
            .filter_map(|id| Some((id, sim.node(id)?.stored(key))))
            .collect();
        let newest = held.values().flatten().max().copied();
        let behind: Vec<String> = held
            .iter()
            .filter(|(_, v)| **v != newest)
            .map(|(id, v)| match v {
                Some((ts, value)) => format!("{id} holds {value} (timestamp {ts})"),
                None => format!("{id} holds nothing"),
            })
            .collect();
        if let (false, Some((ts, value))) = (behind.is_empty(), newest) {
            return Err(Failure::after_run(
                sim,
                CONVERGED,
                format!(
                    "key {key} was read {reads} time(s) after the partition healed, yet {}; \
                     the newest value is {value} (timestamp {ts})",
                    behind.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// Writes of every key while n3 and n4 are cut off, on a network that
/// loses nothing; then, once healed, one read of each key coordinated by
/// n3 or n4, the replicas left behind. Each read asks every replica, so
/// it alone must bring all five up to date, its own coordinator included,
/// and it must repair only the replicas that were behind.
fn mended_by_one_read<N: Stored>(
    seed: u64,
    factory: impl FnMut(NodeId) -> N + 'static,
) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, NODES, factory);
    sim.set_network(Network::reliable(ms(1), ms(10)));
    watch_repairs(&mut sim);
    let majority = [NodeId(0), NodeId(1), NodeId(2)];
    run(&mut sim, |s| {
        s.partition(&[&majority, &[NodeId(3), NodeId(4)]])
    })?;
    let mut rng = sim.scenario_rng();
    for ts in 1..=2 * KEYS {
        let key = ts % KEYS;
        let node = *rng.pick(&majority);
        let write = Some((ts, ts));
        sim.request(node, N::request(ClientOp { key, write }));
        run(&mut sim, |s| s.run_for(ms(30)))?;
    }
    run(&mut sim, |s| s.run_for(ms(400)))?;
    run(&mut sim, |s| s.heal())?;
    for key in 0..KEYS {
        let node = NodeId(3 + (key as usize + seed as usize) % 2);
        sim.request(node, N::request(ClientOp { key, write: None }));
    }
    run(&mut sim, |s| s.run_for(ms(1_000)))?;
    finished(&mut sim)?;
    converged(&sim, 1)
}

/// Checks every Repair as it is sent: its receiver must hold something
/// older for that key. (Only where no write and no other read of the key
/// can overtake it: one read per key, after the writes.)
fn watch_repairs<N: Stored>(sim: &mut Sim<N>) {
    sim.check(ONLY_BEHIND, |sim, step| {
        for e in step {
            let Event::Send {
                from,
                to,
                msg: Msg::Repair { key, versioned },
                ..
            } = &e.event
            else {
                continue;
            };
            let held = sim.node(*to).and_then(|n| n.stored(*key));
            if let Some((ts, value)) = held.filter(|(ts, _)| *ts >= versioned.ts) {
                return Err(Broken::new(format!(
                    "{from} sent {to} a repair of key {key} to {} (timestamp {}), but {to} \
                     already held {value} (timestamp {ts})",
                    versioned.value, versioned.ts
                ))
                .nodes([*from, *to])
                .events([e.index]));
            }
        }
        Ok(())
    });
}
