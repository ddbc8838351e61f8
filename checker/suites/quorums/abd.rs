//! quorum_abd: histories of concurrent clients under loss, delay,
//! partitions and a crash are linearizable (checked with the project's
//! checker, `dscheck::linearizability`); nothing completes in a minority.

use super::abd_schedules::{colliding_writers, stale_writer};
use super::workload::{
    drive, finished, lossy, minority, minority_of, observed, split, Answer, ClientOp, Clients,
    Observed, Profile, ANSWERED, NODES,
};
use crate::subject::quorums::quorum_abd::{Abd, Msg, Reply, Request};
use dscheck::linearizability::{check, from_sim, RegisterModel, RegisterOp, RegisterRet, Seen};
use dscheck::{ms, run, Failure, Property, Suite};
use dsim::{Event, Network, Node, NodeId, RequestId, Sim};

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded("abd::histories_are_linearizable", 12, |seed| {
            linearizable(seed, LOSSY, |_| Abd::new())
        })
        .seeded(
            "abd::histories_are_linearizable_with_slow_links",
            8,
            |seed| linearizable(seed, SLOW, |_| Abd::new()),
        )
        .seeded("abd::a_read_after_a_read_never_sees_older", 3, |seed| {
            half_done_write(seed, |_| Abd::new())
        })
        .seeded("abd::nothing_completes_in_a_minority", 3, |seed| {
            minority(seed, |_| Abd::new())
        })
        .seeded(
            "abd::even_clusters_need_more_than_half_and_a_bare_majority_is_enough",
            4,
            |seed| {
                let (nodes, small) = EVEN_SPLITS[seed as usize % EVEN_SPLITS.len()];
                split(seed, nodes, small, |_| Abd::new())
            },
        )
        .seeded(
            "abd::histories_are_linearizable_with_4_or_6_replicas",
            4,
            |seed| {
                let nodes = 4 + 2 * (seed as usize % 2);
                linearizable(seed, Profile { nodes, ..LOSSY }, |_| Abd::new())
            },
        )
        .seeded("abd::a_write_is_tagged_above_every_tag_found", 2, |seed| {
            stale_writer(seed, |_| Abd::new())
        })
        .seeded("abd::equal_counters_are_ordered_by_writer", 2, |seed| {
            colliding_writers(seed, |_| Abd::new())
        })
}

/// The checks, run on the reference with one bug (`bugs/`): each must be
/// caught by a schedule of the exercise's own group, in every seed.
#[cfg(bugs)]
pub fn meta(suite: Suite) -> Suite {
    use super::workload::{MAJORITY_LIVE, MINORITY};
    use crate::bugs::abd_query_compares_counters_only::quorum_abd::Abd as QueryByCounter;
    use crate::bugs::abd_quorum_of_half::quorum_abd::Abd as Half;
    use crate::bugs::abd_quorum_of_half_rounded_up::quorum_abd::Abd as HalfQuorum;
    use crate::bugs::abd_reads_without_write_back::quorum_abd::Abd as WithoutWriteBack;
    use crate::bugs::abd_store_compares_counters_only::quorum_abd::Abd as StoreByCounter;
    use crate::bugs::abd_waits_for_more_than_a_majority::quorum_abd::Abd as MoreThanMajority;
    use crate::bugs::abd_write_ignores_the_highest_tag::quorum_abd::Abd as OwnCounter;
    use dscheck::{expect_accepted, expect_caught};
    suite
        .test(
            "meta::abd_waiting_for_more_than_a_majority_is_caught",
            || {
                expect_caught(MAJORITY_LIVE, 3, |seed| {
                    minority(seed, |_| MoreThanMajority::new())
                })
            },
        )
        .test("meta::abd_without_write_back_is_not_linearizable", || {
            expect_caught(LINEARIZABLE, 3, |seed| {
                half_done_write(seed, |_| WithoutWriteBack::new())
            })
        })
        .test("meta::abd_write_ignoring_the_highest_tag_is_caught", || {
            expect_caught(LINEARIZABLE, 2, |seed| {
                stale_writer(seed, |_| OwnCounter::new())
            })
        })
        .test(
            "meta::abd_replica_comparing_counters_only_is_caught",
            || {
                expect_caught(LINEARIZABLE, 2, |seed| {
                    colliding_writers(seed, |_| StoreByCounter::new())
                })
            },
        )
        .test("meta::abd_query_comparing_counters_only_is_caught", || {
            expect_caught(LINEARIZABLE, 2, |seed| {
                colliding_writers(seed, |_| QueryByCounter::new())
            })
        })
        .test("meta::abd_quorum_of_half_is_caught", || {
            expect_caught(MINORITY, 4, |seed| {
                let (nodes, small) = EVEN_SPLITS[seed as usize % 2];
                split(seed, nodes, small, |_| Half::new())
            })
        })
        .test(
            "meta::abd_quorum_of_half_rounded_up_is_caught_with_even_sizes",
            || {
                expect_caught(MINORITY, 4, |seed| {
                    minority_of(seed, 4 + 2 * (seed as usize % 2), |_| HalfQuorum::new())
                })
            },
        )
        .test("meta::abd_correct_model_passes_a_half_done_write", || {
            expect_accepted("abd::a_read_after_a_read_never_sees_older", 3, |seed| {
                half_done_write(seed, |_| Abd::new())
            })
        })
}

/// Even clusters split in two: equal halves (neither may complete
/// anything), and a bare majority (3 of 4, 4 of 6: it must).
pub const EVEN_SPLITS: [(usize, usize); 4] = [(4, 2), (6, 3), (4, 1), (6, 2)];

pub const LINEARIZABLE: Property = Property {
    name: "the register's history is linearizable",
    hint: "a read must write back the pair it returns to a majority before answering (else a \
           later read can miss it); a write's tag must be higher than every tag its query \
           phase saw; replicas keep only a higher tag, and tags compare whole (counter, then \
           writer id: Tag derives Ord), so two writes with the same counter are ordered alike \
           everywhere",
    when: &[],
};

/// Six clients on a lossy network with minorities cut off and a crash.
const LOSSY: Profile = Profile {
    nodes: NODES,
    clients: 6,
    writes: 0.5,
    keys: 1,
    duration_ms: 2_500,
    faults: true,
    network: lossy,
};

/// Eight clients, mostly reading, over links whose delays vary widely, so
/// that an update often reaches one replica long before the others.
const SLOW: Profile = Profile {
    nodes: NODES,
    clients: 8,
    writes: 0.3,
    keys: 1,
    duration_ms: 2_500,
    faults: true,
    network: slow,
};

fn slow() -> Network {
    Network::reliable(ms(1), ms(60)).with_long_delays(0.1, ms(200))
}

observed!(open |n| n.operations.iter().map(|o| o.id).collect(); Abd);

#[cfg(bugs)]
observed!(
    open |n| n.operations.iter().map(|o| o.id).collect();
    crate::bugs::abd_reads_without_write_back::quorum_abd::Abd,
    crate::bugs::abd_write_ignores_the_highest_tag::quorum_abd::Abd,
    crate::bugs::abd_store_compares_counters_only::quorum_abd::Abd,
    crate::bugs::abd_query_compares_counters_only::quorum_abd::Abd,
    crate::bugs::abd_quorum_of_half::quorum_abd::Abd,
    crate::bugs::abd_quorum_of_half_rounded_up::quorum_abd::Abd,
    crate::bugs::abd_waits_for_more_than_a_majority::quorum_abd::Abd,
);

fn request(op: ClientOp) -> Request {
    match op.write {
        Some((value, _)) => Request::Write(value),
        None => Request::Read,
    }
}

fn op(request: &Request) -> ClientOp {
    match *request {
        Request::Read => ClientOp {
            key: 0,
            write: None,
        },
        Request::Write(v) => ClientOp {
            key: 0,
            write: Some((v, v)),
        },
    }
}

fn answer(reply: &Reply) -> Answer {
    match *reply {
        Reply::Value(v) => Answer::Value(v),
        Reply::Written => Answer::Written,
    }
}

/// The clients' workload on one register, then its history checked.
fn linearizable<N: Observed>(
    seed: u64,
    profile: Profile,
    factory: impl FnMut(NodeId) -> N + 'static,
) -> Result<(), Failure> {
    let (mut sim, clients) = drive(seed, profile, factory, |_| {})?;
    check_history(&sim, &clients)?;
    finished(&mut sim)
}

/// The history, checked with the project's linearizability checker; a
/// failure shows the smallest part that no order explains, as a timeline.
pub fn check_history<N: Observed>(sim: &Sim<N>, clients: &Clients) -> Result<(), Failure> {
    let history = from_sim(sim.history(), |op| {
        let input = match N::op(&op.request).write {
            Some((v, _)) => RegisterOp::Write(v),
            None => RegisterOp::Read,
        };
        let output = op.reply().map(|reply| match N::answer(reply) {
            Answer::Value(v) => RegisterRet::Value(v),
            Answer::Written => RegisterRet::Written,
        });
        Seen::Op {
            client: clients[&op.id],
            input,
            output,
        }
    });
    check(&RegisterModel::<u64>::new(), &history).map_err(|report| {
        let ids: Vec<RequestId> = report.ops.iter().map(|&i| sim.history()[i].id).collect();
        Failure::new(LINEARIZABLE, report.to_string()).with_trace(around(sim, &ids))
    })
}

/// The trace lines of the requests `ids` (their arrival and answer) and of
/// the faults while they ran.
fn around<N: Observed>(sim: &Sim<N>, ids: &[RequestId]) -> Vec<String> {
    let ops: Vec<_> = ids.iter().map(|&id| sim.operation(id)).collect();
    let from = ops.iter().map(|op| op.invoked_at).min();
    let to = ops
        .iter()
        .filter_map(|op| op.completion.as_ref().map(|c| c.1))
        .max();
    let (Some(from), Some(to)) = (from, to) else {
        return Vec::new();
    };
    sim.trace()
        .entries()
        .filter(|e| match &e.event {
            Event::Request { id, .. } | Event::Reply { id, .. } => ids.contains(id),
            Event::Crash { .. } | Event::Restart { .. } | Event::Fault { .. } => {
                from <= e.at && e.at <= to
            }
            _ => false,
        })
        .map(|e| e.to_string())
        .collect()
}

/// A write that reached only a minority, then two reads one after the
/// other whose queries meet it in different places: n0 writes 2, but once
/// its update phase has begun, its links to n2, n3 and n4 are cut, so only
/// n0 and n1 hold 2. A read at n1 sees 2; then a read at n4, cut off from
/// n0 and n1, asks n2, n3 and n4. If the first read wrote 2 back to a
/// majority, the second finds it; if not, it returns 1: new, then old.
pub fn half_done_write<N>(
    seed: u64,
    factory: impl FnMut(NodeId) -> N + 'static,
) -> Result<(), Failure>
where
    N: Observed + Node<Msg = Msg, Request = Request>,
{
    let mut sim = Sim::new(seed, NODES, factory);
    sim.set_network(Network::reliable(ms(1), ms(5)));
    let (n0, n1, n2, n3, n4) = (NodeId(0), NodeId(1), NodeId(2), NodeId(3), NodeId(4));
    let mut clients = Clients::new();
    clients.insert(sim.request(n0, Request::Write(1)), 0);
    run(&mut sim, |s| s.run_for(ms(200)))?;
    // n0 reaches n1 and n2 only: enough for its query phase.
    for far in [n3, n4] {
        run(&mut sim, |s| s.cut(n0, far))?;
        run(&mut sim, |s| s.cut(far, n0))?;
    }
    clients.insert(sim.request(n0, Request::Write(2)), 0);
    let from = sim.trace().total();
    let started = run(&mut sim, |s| {
        s.run_until(ms(1_000), |s| updates_sent_by(s, n0, from))
    })?;
    if !started {
        return Err(Failure::after_run(
            &sim,
            ANSWERED,
            "n0, connected to n1 and n2, did not start the update phase of Write(2) within 1 s"
                .to_string(),
        ));
    }
    run(&mut sim, |s| s.cut(n0, n2))?;
    run(&mut sim, |s| s.cut(n2, n0))?;
    run(&mut sim, |s| s.run_for(ms(100)))?;
    clients.insert(sim.request(n1, Request::Read), 1);
    run(&mut sim, |s| s.run_for(ms(300)))?;
    for near in [n0, n1] {
        run(&mut sim, |s| s.cut(n4, near))?;
        run(&mut sim, |s| s.cut(near, n4))?;
    }
    clients.insert(sim.request(n4, Request::Read), 2);
    run(&mut sim, |s| s.run_for(ms(300)))?;
    run(&mut sim, |s| s.heal())?;
    run(&mut sim, |s| s.run_for(ms(1_000)))?;
    check_history(&sim, &clients)?;
    finished(&mut sim)
}

/// Whether `node` has sent an update since trace entry `from`.
pub fn updates_sent_by<N: Node<Msg = Msg>>(sim: &Sim<N>, node: NodeId, from: u64) -> bool {
    sim.trace().entries().any(|e| {
        e.index >= from
            && matches!(&e.event, Event::Send { from, msg: Msg::Update { .. }, .. } if *from == node)
    })
}
