//! The scenario of every sharding_router test: clients send reads and
//! writes to two routers while the controller moves shards between servers;
//! a busy router sees every change, a quiet one falls behind. Reads and
//! redirects are checked after every event; answers, final reads and the
//! routers' tables at the end.

use super::{Answer, Factory, Observed, ANSWERED, BOUNDED, CONVERGES, INITIAL, NODES, READABLE};
use crate::sharding::rebalance::DONE;
use crate::subject::sharding::router::{Op, ROUTERS, SHARDS};
use dscheck::{ms, run, secs, Failure};
use dsim::{Broken, Event, Network, NodeId, RequestId, Sim, SimRng, Step, Time};
use std::collections::BTreeMap;
use std::time::Duration;

pub(in super::super) struct Profile {
    /// How many joins and leaves, alternating, starting with a join.
    pub(in super::super) changes: usize,
    pub(in super::super) network: Network,
}

/// The most redirects one request may need.
const MAX_REDIRECTS: usize = 3;
/// The limit on each handoff and on the final phase.
const LIVENESS: Duration = secs(5);
/// The busy router and the quiet one.
const BUSY: NodeId = ROUTERS[0];
const QUIET: NodeId = ROUTERS[1];

/// The value every test writes to `key` (each key is written once).
fn value_of(key: u64) -> u64 {
    key + 1_000_000
}

pub(in super::super) fn scenario<N: Observed>(
    seed: u64,
    factory: Factory<N>,
    profile: &Profile,
) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, NODES, factory);
    sim.set_network(profile.network.clone());
    watch(&mut sim);
    let mut rng = sim.scenario_rng();
    let mut members = INITIAL.to_vec();
    let mut owners: Vec<NodeId> = (0..SHARDS).map(|s| INITIAL[s % INITIAL.len()]).collect();
    let mut next_key = 1;
    traffic(&mut sim, &mut rng, &mut next_key, ms(200))?;
    for i in 0..profile.changes {
        let num = i as u64 + 2;
        owners = change(i, &mut members, &owners, &mut rng);
        sim.note(format!(
            "the controller announces configuration {num}: {owners:?}"
        ));
        for id in INITIAL.iter().chain(&[NodeId(5)]) {
            sim.request(*id, N::reconfigure(num, owners.clone()));
        }
        traffic(&mut sim, &mut rng, &mut next_key, ms(200))?;
        let idle = |s: &Sim<N>| s.ids().all(|id| s.node(id).is_some_and(|n| !n.busy()));
        if !run(&mut sim, |s| s.run_until(LIVENESS, idle))? {
            return Err(Failure::new(
                DONE,
                "a server never received the data of a shard it gained (the servers are given: \
                 this is a fault of the suite)",
            ));
        }
    }
    run(&mut sim, |s| s.run_until_quiet(LIVENESS))?;
    if seed == 1 || dscheck::replaying() {
        let redirects = sim.trace().entries().filter(
            |e| matches!(&e.event, Event::Deliver { msg, .. } if N::redirect_of(msg).is_some()),
        );
        dscheck::metric("redirects in the run", redirects.count());
    }
    answered(&sim)?;
    read_back(&mut sim)?;
    converged(&sim, &owners)
}

/// Change `i`: a join of the server outside when `i` is even, else a leave
/// of a random server; returns the owners after it (newcomers take from
/// the busiest, leavers give to the idlest).
fn change(i: usize, members: &mut Vec<NodeId>, owners: &[NodeId], rng: &mut SimRng) -> Vec<NodeId> {
    let mut owners = owners.to_vec();
    let count = |owners: &[NodeId], m: NodeId| owners.iter().filter(|&&o| o == m).count();
    if i.is_multiple_of(2) {
        let newcomer = (2..NODES)
            .map(NodeId)
            .find(|id| !members.contains(id))
            .expect("a server outside");
        let before = members.clone();
        members.push(newcomer);
        for _ in 0..SHARDS / members.len() {
            let busiest = *before
                .iter()
                .max_by_key(|&&m| count(&owners, m))
                .expect("servers");
            let s = (0..SHARDS)
                .find(|&s| owners[s] == busiest)
                .expect("a shard");
            owners[s] = newcomer;
        }
    } else {
        let leaver = *rng.pick(members);
        members.retain(|&m| m != leaver);
        for s in 0..SHARDS {
            if owners[s] == leaver {
                let idlest = *members
                    .iter()
                    .min_by_key(|&&m| count(&owners, m))
                    .expect("servers");
                owners[s] = idlest;
            }
        }
    }
    owners
}

/// Every 10 ms, a new key written and an old one read through the busy
/// router; now and then one of each through the quiet router.
fn traffic<N: Observed>(
    sim: &mut Sim<N>,
    rng: &mut SimRng,
    next_key: &mut u64,
    span: Duration,
) -> Result<(), Failure> {
    for _ in 0..span.as_millis() / 10 {
        run(sim, |s| s.run_for(ms(10)))?;
        let router = if rng.chance(0.05) { QUIET } else { BUSY };
        let key = *next_key;
        *next_key += 1;
        sim.request(
            router,
            N::client(Op::Put {
                key,
                value: value_of(key),
            }),
        );
        let old = 1 + rng.below(key);
        sim.request(router, N::client(Op::Get { key: old }));
    }
    Ok(())
}

/// The client operation of request `id`.
fn op_of<N: Observed>(sim: &Sim<N>, id: RequestId) -> Option<(Op, Time)> {
    let op = sim.history().iter().rev().find(|op| op.id == id)?;
    N::op(&op.request).map(|o| (o, op.invoked_at))
}

/// Registers the checks run after every event.
fn watch<N: Observed>(sim: &mut Sim<N>) {
    let mut acked: BTreeMap<u64, (u64, Time)> = BTreeMap::new();
    sim.check(READABLE, move |sim, step| {
        for entry in step {
            let Event::Reply { node, id, reply } = &entry.event else {
                continue;
            };
            match (op_of(sim, *id), N::answer(reply)) {
                (Some((Op::Put { key, value }, _)), Answer::Written) => {
                    acked.insert(key, (value, entry.at));
                }
                (Some((Op::Get { key }, invoked)), Answer::Value(got)) => {
                    if let Some(&(value, at)) = acked.get(&key) {
                        if at <= invoked && got != Some(value) {
                            return Err(Broken::new(format!(
                                "{node} answered {id} (read key {key}) with {got:?}, but the \
                                 write of {value} to key {key} had been acknowledged before"
                            ))
                            .nodes([*node]));
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    });

    let mut redirects: BTreeMap<RequestId, usize> = BTreeMap::new();
    sim.check(BOUNDED, move |_, step: Step<'_, N>| {
        for entry in step {
            let Event::Deliver { to, msg, .. } = &entry.event else {
                continue;
            };
            if let Some(id) = N::redirect_of(msg) {
                let count = redirects.entry(id).or_default();
                *count += 1;
                if *count > MAX_REDIRECTS {
                    return Err(Broken::new(format!(
                        "{to} has been redirected {count} times for {id}: its table does not \
                         get better"
                    ))
                    .nodes([*to]));
                }
            }
        }
        Ok(())
    });
}

/// Every client request got its answer once things were quiet.
fn answered<N: Observed>(sim: &Sim<N>) -> Result<(), Failure> {
    let lost = sim
        .history()
        .iter()
        .find(|op| N::op(&op.request).is_some() && !op.is_complete());
    if let Some(op) = lost {
        let detail = format!(
            "{} ({:?}) reached {} and was never answered, though the system went quiet",
            op.id,
            N::op(&op.request),
            op.node
        );
        return Err(Failure::after_run(sim, ANSWERED, detail));
    }
    Ok(())
}

/// Every acknowledged write, read back through both routers.
fn read_back<N: Observed>(sim: &mut Sim<N>) -> Result<(), Failure> {
    let mut acked = BTreeMap::new();
    for op in sim.history() {
        if let (Some(Op::Put { key, value }), Some(Answer::Written)) =
            (N::op(&op.request), op.reply().map(N::answer))
        {
            acked.insert(key, value);
        }
    }
    let mut reads = Vec::new();
    for router in ROUTERS {
        for (&key, &value) in &acked {
            let id = sim.request(router, N::client(Op::Get { key }));
            reads.push((router, id, key, value));
        }
    }
    run(sim, |s| s.run_until_quiet(LIVENESS))?;
    for (router, id, key, value) in reads {
        let op = sim.history().iter().rev().find(|op| op.id == id);
        let got = op.and_then(|op| op.reply()).map(N::answer);
        if got != Some(Answer::Value(Some(value))) {
            let detail = format!(
                "the write of {value} to key {key} was acknowledged; reading it afterwards \
                 through {router} gave {got:?}"
            );
            return Err(Failure::after_run(sim, READABLE, detail));
        }
    }
    Ok(())
}

/// Each router's table equals the servers' configuration.
fn converged<N: Observed>(sim: &Sim<N>, owners: &[NodeId]) -> Result<(), Failure> {
    let servers = sim.ids().filter_map(|id| sim.node(id).and_then(N::config));
    let (num, _) = servers.max_by_key(|(n, _)| *n).expect("servers");
    for router in ROUTERS {
        let Some((tnum, towners)) = sim.node(router).and_then(N::table) else {
            continue;
        };
        if tnum != num || towners != owners {
            let detail = format!(
                "after requests for every shard, {router}'s table is configuration {tnum} \
                 ({towners:?}), but the servers are on configuration {num} ({owners:?})"
            );
            return Err(Failure::after_run(sim, CONVERGES, detail));
        }
    }
    Ok(())
}
