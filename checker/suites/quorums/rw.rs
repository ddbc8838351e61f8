//! quorum_rw: with r + w > n, every read returns a value at least as new as
//! the last write that completed before the read began (a regular register,
//! not a linearizable one: two reads overlapping a write may see it in
//! either order). With r + w <= n the suite must find a stale read.

use super::workload::{
    drive, finished, forget_answered, lossy, minority, minority_of, observed, Answer, ClientOp,
    Observed, Profile, NODES,
};
use crate::subject::quorums::quorum_rw::{Replica, Reply, Request};
use dscheck::{ms, run, Failure, Property, Suite};
use dsim::{Broken, Event, Network, Node, NodeId, Sim, Step};
use std::collections::BTreeSet;

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded("rw::reads_see_the_last_completed_write", 12, |seed| {
            let (r, w) = [(3, 3), (2, 4), (4, 2)][seed as usize % 3];
            fresh_reads(seed, move |_| Replica::new(r, w))
        })
        .seeded("rw::nothing_completes_in_a_minority", 3, |seed| {
            minority(seed, |_| Replica::new(3, 3))
        })
        .seeded(
            "rw::reads_see_the_last_completed_write_with_4_or_6_replicas",
            4,
            |seed| {
                // r + w = n + 1, the least that makes quorums meet.
                let (nodes, r, w) = [(4, 2, 3), (6, 4, 3), (4, 3, 2), (6, 3, 4)][seed as usize % 4];
                fresh_reads_on(seed, nodes, move |_| Replica::new(r, w))
            },
        )
        .seeded("rw::nothing_completes_in_half_of_4_or_6", 2, |seed| {
            let nodes = 4 + 2 * (seed as usize % 2);
            let majority = nodes / 2 + 1;
            minority_of(seed, nodes, move |_| Replica::new(majority, majority))
        })
        .seeded("rw::a_read_quorum_meets_every_write_quorum", 3, |seed| {
            let (r, w) = [(3, 3), (2, 4), (4, 2)][seed as usize % 3];
            quorums_meet(seed, move |_| Replica::new(r, w))
        })
        .test("rw::r_plus_w_at_most_n_allows_a_stale_read", || {
            stale_found(|_| Replica::new(1, 1))
        })
}

/// The checks, run on a misconfigured reference and on the reference with
/// one bug (`bugs/`): each must be caught.
#[cfg(bugs)]
pub fn meta(suite: Suite) -> Suite {
    use super::workload::FORGETS;
    use crate::bugs::rw_answers_the_first_reply::quorum_rw::Replica as FirstReply;
    use crate::bugs::rw_keeps_answered_requests::quorum_rw::Replica as KeepsAnswered;
    use dscheck::expect_caught;
    suite
        .test("meta::rw_keeping_answered_requests_is_caught", || {
            expect_caught(FORGETS, 3, |seed| {
                fresh_reads(seed, |_| KeepsAnswered::new(3, 3))
            })
        })
        .test("meta::rw_r_plus_w_at_most_n_reads_stale", || {
            expect_caught(FRESH, 3, |seed| quorums_meet(seed, |_| Replica::new(2, 3)))
        })
        .test("meta::rw_read_returns_the_first_reply", || {
            expect_caught(FRESH, 20, |seed| {
                fresh_reads(seed, |_| FirstReply::new(3, 3))
            })
        })
}

pub const FRESH: Property = Property {
    name: "a read returns a value at least as new as the last write completed before it began",
    hint: "a read must wait for r distinct replicas and return the value with the highest \
           timestamp among them; a write must wait for w acknowledgements; a replica keeps a \
           write only if its timestamp is higher than the one it holds",
    when: &[],
};
const WRITTEN: Property = Property {
    name: "a read returns a value that was written to its key",
    hint: "a read returns a value some replica stored for that key, never a default or a value \
           of another key",
    when: &[],
};
const STALE_FOUND: Property = Property {
    name: "with r + w <= n the suite finds a stale read",
    hint: "with r + w <= n the quorums need not meet: answer a read after r replies and a \
           write after w acknowledgements, not after more",
    when: &[],
};

observed!(open |n| n.coordinating.keys().copied().collect(); Replica);
#[cfg(bugs)]
observed!(
    open |n| n.coordinating.keys().copied().collect();
    crate::bugs::rw_answers_the_first_reply::quorum_rw::Replica,
    crate::bugs::rw_keeps_answered_requests::quorum_rw::Replica,
);

pub fn request(op: ClientOp) -> Request {
    match op.write {
        Some((value, ts)) => Request::Put {
            key: op.key,
            value,
            ts,
        },
        None => Request::Get { key: op.key },
    }
}

pub fn op(request: &Request) -> ClientOp {
    match *request {
        Request::Get { key } => ClientOp { key, write: None },
        Request::Put { key, value, ts } => ClientOp {
            key,
            write: Some((value, ts)),
        },
    }
}

pub fn answer(reply: &Reply) -> Answer {
    match *reply {
        Reply::Value(v) => Answer::Value(v),
        Reply::Written => Answer::Written,
    }
}

/// The clients' workload under faults, with freshness checked at every
/// read's reply, then every request answered after the network heals.
pub fn fresh_reads<N: Observed>(
    seed: u64,
    factory: impl FnMut(NodeId) -> N + 'static,
) -> Result<(), Failure> {
    fresh_reads_on(seed, NODES, factory)
}

/// [`fresh_reads`] on `nodes` replicas.
pub fn fresh_reads_on<N: Observed>(
    seed: u64,
    nodes: usize,
    factory: impl FnMut(NodeId) -> N + 'static,
) -> Result<(), Failure> {
    let profile = Profile {
        nodes,
        clients: 6,
        writes: 0.5,
        keys: 2,
        duration_ms: 2_500,
        faults: true,
        network: lossy,
    };
    let (mut sim, _) = drive(seed, profile, factory, watch_reads)?;
    finished(&mut sim)
}

/// A write and a read on either side of a split, written out: n0, n1 and
/// n2 are cut off from n3 and n4; n0 writes, then n4 reads, then the split
/// heals. With r + w > n, either the write cannot complete on its side or
/// the read cannot on its own, so the read waits and returns the write;
/// with r + w <= n both complete, and the read misses the write.
pub fn quorums_meet<N: Observed>(
    seed: u64,
    factory: impl FnMut(NodeId) -> N + 'static,
) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, NODES, factory);
    sim.set_network(Network::reliable(ms(1), ms(10)));
    watch_reads(&mut sim);
    forget_answered(&mut sim);
    let [n0, n1, n2, n3, n4] = [0, 1, 2, 3, 4].map(NodeId);
    run(&mut sim, |s| s.partition(&[&[n0, n1, n2], &[n3, n4]]))?;
    let write = Some((1, 1));
    sim.request(n0, N::request(ClientOp { key: 0, write }));
    run(&mut sim, |s| s.run_for(ms(300)))?;
    sim.request(
        n4,
        N::request(ClientOp {
            key: 0,
            write: None,
        }),
    );
    run(&mut sim, |s| s.run_for(ms(300)))?;
    run(&mut sim, |s| s.heal())?;
    run(&mut sim, |s| s.run_for(ms(1_000)))?;
    finished(&mut sim)
}

/// Checks every read as its reply comes in.
fn watch_reads<N: Observed>(sim: &mut Sim<N>) {
    let mut seen = BTreeSet::new();
    sim.check(FRESH, move |sim, step| {
        for id in replies(step) {
            if seen.insert(id) {
                stale(sim, id).map_or(Ok(()), Err)?;
            }
        }
        Ok(())
    });
    let mut seen = BTreeSet::new();
    sim.check(WRITTEN, move |sim, step| {
        for id in replies(step) {
            if seen.insert(id) {
                invented(sim, id).map_or(Ok(()), Err)?;
            }
        }
        Ok(())
    });
}

fn replies<N: Node>(step: Step<'_, N>) -> Vec<dsim::RequestId> {
    step.iter()
        .filter_map(|e| match &e.event {
            Event::Reply { id, .. } => Some(*id),
            _ => None,
        })
        .collect()
}

/// If read `id` returned something older than a write that completed before
/// it began: what happened.
fn stale<N: Observed>(sim: &Sim<N>, id: dsim::RequestId) -> Option<Broken> {
    let read = sim.operation(id);
    let key = N::op(&read.request).key;
    let (reply, at) = read.completion.as_ref()?;
    let Answer::Value(got) = N::answer(reply) else {
        return None;
    };
    let newest = sim
        .history()
        .iter()
        .filter_map(|w| {
            let op = N::op(&w.request);
            let (_, done) = w.completion.as_ref()?;
            let (value, ts) = op.write?;
            (op.key == key && *done < read.invoked_at).then_some((ts, value, w))
        })
        .max_by_key(|(ts, _, _)| *ts)?;
    let got_ts = got.and_then(|v| ts_of(sim, key, v)).unwrap_or(0);
    if got_ts >= newest.0 {
        return None;
    }
    let (_, done) = newest.2.completion.as_ref()?;
    Some(
        Broken::new(format!(
            "read {id} of key {key} at {} (invoked at {} ms, answered at {} ms) returned {got:?}, \
             but the write of {} (timestamp {}) to {} had completed at {} ms, before the read \
             began",
            read.node,
            read.invoked_at.as_millis(),
            at.as_millis(),
            newest.1,
            newest.0,
            newest.2.node,
            done.as_millis()
        ))
        .nodes([read.node, newest.2.node]),
    )
}

/// The timestamp of the write of `value` to `key`, if there was one.
fn ts_of<N: Observed>(sim: &Sim<N>, key: u64, value: u64) -> Option<u64> {
    sim.history().iter().find_map(|w| {
        let op = N::op(&w.request);
        let (v, ts) = op.write?;
        (op.key == key && v == value).then_some(ts)
    })
}

/// If read `id` returned a value nobody wrote to its key: what happened.
fn invented<N: Observed>(sim: &Sim<N>, id: dsim::RequestId) -> Option<Broken> {
    let read = sim.operation(id);
    let key = N::op(&read.request).key;
    let (reply, _) = read.completion.as_ref()?;
    match N::answer(reply) {
        Answer::Value(Some(v)) if ts_of(sim, key, v).is_none() => Some(
            Broken::new(format!(
                "read {id} of key {key} at {} returned {v}, which no client wrote to key {key}",
                read.node
            ))
            .nodes([read.node]),
        ),
        Answer::Written if N::op(&read.request).write.is_none() => Some(
            Broken::new(format!("read {id} at {} was answered Written", read.node))
                .nodes([read.node]),
        ),
        _ => None,
    }
}

/// The subject configured with r + w <= n must show a stale read in some
/// seed: quorums that need not meet let a read miss a completed write.
/// Any other failure (a panic, a request never answered) is reported as
/// it is.
fn stale_found<N: Observed>(
    factory: impl Fn(NodeId) -> N + Clone + 'static,
) -> Result<(), Failure> {
    const SEEDS: u64 = 20;
    for seed in 1..=SEEDS {
        match fresh_reads(seed, factory.clone()) {
            Err(f) if f.property() == FRESH.name => {
                dscheck::metric("first stale read in seed", seed);
                return Ok(());
            }
            Err(f) => return Err(f),
            Ok(()) => {}
        }
    }
    Err(Failure::new(
        STALE_FOUND,
        format!(
            "with r = 1 and w = 1 of 5 replicas, no read in {SEEDS} runs returned a value older \
             than a write completed before it began: does the coordinator really answer after r \
             replies and w acknowledgements?"
        ),
    ))
}
