//! The scenario of every sharding_rebalance test: clients read and write
//! while the controller announces joins and leaves, on a network that loses,
//! duplicates and delays messages; the safety properties are checked after
//! every event, the rest at the end.

use super::{
    fewest, Answer, Factory, Observed, Op, AGREE, ANNOUNCED, ANSWERED, DONE, INITIAL, LIVENESS,
    LOST, MINIMAL, NODES, READABLE, READS, REFUSAL, TWICE,
};
use crate::subject::sharding::rebalance::{Change, SHARDS};
use dscheck::{ms, run, Failure};
use dsim::{Broken, Event, Network, NodeId, RequestId, Sim, SimRng, Step, Time};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

pub(in super::super) struct Profile {
    /// How many joins and leaves, alternating, starting with a join.
    pub(in super::super) changes: usize,
    /// The network until the final phase.
    pub(in super::super) network: Network,
}

/// The configurations seen on any server, by number.
type Seen = Rc<RefCell<BTreeMap<u64, Vec<NodeId>>>>;

/// The value every test writes to `key` (each key is written once).
fn value_of(key: u64) -> u64 {
    key + 1_000_000
}

/// Runs `profile` with every property checked.
pub(in super::super) fn scenario<N: Observed>(
    seed: u64,
    factory: Factory<N>,
    profile: &Profile,
) -> Result<Sim<N>, Failure> {
    let mut sim = Sim::new(seed, NODES, factory);
    sim.set_network(profile.network.clone());
    let seen: Seen = Rc::default();
    watch(&mut sim, Rc::clone(&seen));
    let mut rng = sim.scenario_rng();
    let mut client = Client { next_key: 1 };
    let mut members = INITIAL.to_vec();
    let mut changes = Vec::new();
    let seeded = seed_every_shard(&mut sim)?;
    client.traffic(&mut sim, &mut rng, ms(200))?;
    for i in 0..profile.changes {
        let change = plan(i, &members, &mut rng);
        changes.push((change, members.len()));
        match change {
            Change::Join(s) => members.push(s),
            Change::Leave(s) => members.retain(|&m| m != s),
        }
        sim.note(format!(
            "the controller announces {change:?} to every server"
        ));
        let before: Vec<_> = sim.ids().map(|id| sim.node(id).map(N::config)).collect();
        for id in 0..NODES {
            sim.request(NodeId(id), N::reconfigure(change));
        }
        run(&mut sim, |s| s.run_for(Duration::ZERO))?;
        probe_gained(&mut sim, &before, &seeded);
        client.traffic(&mut sim, &mut rng, ms(300))?;
        let idle = |s: &Sim<N>| s.ids().all(|id| s.node(id).is_some_and(|n| !n.busy()));
        if !run(&mut sim, |s| s.run_until(LIVENESS, idle))? {
            let detail = format!(
                "{:?} was announced, but {} s later some handoff had still not finished",
                change,
                LIVENESS.as_secs()
            );
            return Err(Failure::after_run(&sim, DONE, detail));
        }
        client.traffic(&mut sim, &mut rng, ms(100))?;
    }
    sim.note("final phase: the network stops losing messages");
    sim.set_network(Network::reliable(ms(1), ms(10)));
    run(&mut sim, |s| s.run_until_quiet(LIVENESS))?;
    if seed == 1 || dscheck::replaying() {
        let seen = seen.borrow();
        let moved: Vec<String> = seen
            .values()
            .zip(seen.values().skip(1))
            .map(|(a, b)| (0..SHARDS).filter(|&s| a[s] != b[s]).count().to_string())
            .collect();
        dscheck::metric("shards moved by each change", moved.join(", "));
    }
    agreement(&sim, changes.len())?;
    announced(&sim)?;
    answered(&sim)?;
    minimal(&sim, &seen.borrow(), &changes)?;
    readable(&mut sim)?;
    Ok(sim)
}

/// Writes one key of every shard, at its owner in configuration 1, so that
/// every shard that moves has an acknowledged write; returns the keys, by
/// shard.
fn seed_every_shard<N: Observed>(sim: &mut Sim<N>) -> Result<Vec<u64>, Failure> {
    let (_, owners) = sim
        .ids()
        .find_map(|id| sim.node(id).map(N::config))
        .expect("a node is up");
    let mut keys = vec![None; SHARDS];
    let mut key = SEEDED_KEYS;
    while keys.iter().any(Option::is_none) {
        let shard = N::shard_of(key) % SHARDS;
        if keys[shard].is_none() {
            keys[shard] = Some(key);
            sim.request(owners[shard], N::put(key, value_of(key)));
        }
        key += 1;
    }
    run(sim, |s| s.run_for(ms(1)))?;
    Ok(keys.into_iter().flatten().collect())
}

/// Where the keys of [`seed_every_shard`] start, far from the clients'.
const SEEDED_KEYS: u64 = 1 << 40;

/// Right after a change reaches every server, before any transfer can
/// arrive: each server is asked for a written key of every shard it has
/// just gained. It must not serve it yet, and must say TryLater; a rare
/// moment for random clients to hit, made certain here.
fn probe_gained<N: Observed>(
    sim: &mut Sim<N>,
    before: &[Option<(u64, Vec<NodeId>)>],
    seeded: &[u64],
) {
    let ids: Vec<NodeId> = sim.ids().collect();
    for (id, before) in ids.into_iter().zip(before) {
        let (Some((_, old)), Some((_, new))) = (before, sim.node(id).map(N::config)) else {
            continue;
        };
        for shard in (0..SHARDS).filter(|&s| new[s] == id && old[s] != id) {
            sim.request(id, N::get(seeded[shard]));
        }
    }
}

/// Change `i`: a join (of a server not in the cluster) when `i` is even, a
/// leave (of a server in it) when odd.
fn plan(i: usize, members: &[NodeId], rng: &mut SimRng) -> Change {
    let outside: Vec<NodeId> = (0..NODES)
        .map(NodeId)
        .filter(|id| !members.contains(id))
        .collect();
    let join = i.is_multiple_of(2) && !outside.is_empty();
    if join || members.len() <= 2 {
        Change::Join(*rng.pick(&outside))
    } else {
        Change::Leave(*rng.pick(members))
    }
}

/// The clients: one new key written and one old key read every 10 ms.
struct Client {
    next_key: u64,
}

impl Client {
    fn traffic<N: Observed>(
        &mut self,
        sim: &mut Sim<N>,
        rng: &mut SimRng,
        span: Duration,
    ) -> Result<(), Failure> {
        for _ in 0..span.as_millis() / 10 {
            run(sim, |s| s.run_for(ms(10)))?;
            let key = self.next_key;
            self.next_key += 1;
            let to = target(sim, key, rng);
            sim.request(to, N::put(key, value_of(key)));
            let old = 1 + rng.below(key);
            let to = target(sim, old, rng);
            sim.request(to, N::get(old));
        }
        Ok(())
    }
}

/// Where a client sends a request for `key`: usually to its owner in the
/// newest configuration any server knows, sometimes to any server.
fn target<N: Observed>(sim: &Sim<N>, key: u64, rng: &mut SimRng) -> NodeId {
    if rng.chance(0.2) {
        return NodeId(rng.below(NODES as u64) as usize);
    }
    let newest = sim.ids().filter_map(|id| sim.node(id)).map(N::config);
    let (_, owners) = newest.max_by_key(|(num, _)| *num).expect("a node is up");
    owners[N::shard_of(key) % SHARDS]
}

/// The writes clients were told succeeded, with when, read from replies.
#[derive(Default)]
struct Ledger {
    acked: BTreeMap<u64, (u64, Time)>,
}

impl Ledger {
    /// Catches up with the replies of this step; returns the reads answered
    /// in it, as (node, request, key, answer, invoked at).
    fn update<N: Observed>(
        &mut self,
        sim: &Sim<N>,
        step: Step<'_, N>,
    ) -> Vec<(NodeId, RequestId, u64, Option<u64>, Time)> {
        let mut reads = Vec::new();
        for entry in step {
            let Event::Reply { node, id, reply } = &entry.event else {
                continue;
            };
            let Some(op) = sim.history().iter().rev().find(|op| op.id == *id) else {
                continue;
            };
            match (N::op(&op.request), N::answer(reply)) {
                (Op::Put { key, value }, Answer::Written) => {
                    self.acked.insert(key, (value, entry.at));
                }
                (Op::Get { key }, Answer::Value(v)) => {
                    reads.push((*node, *id, key, v, op.invoked_at));
                }
                _ => {}
            }
        }
        reads
    }
}

/// Registers the properties checked after every event.
fn watch<N: Observed>(sim: &mut Sim<N>, seen: Seen) {
    sim.check(AGREE, move |sim, _| {
        let mut seen = seen.borrow_mut();
        for id in sim.ids() {
            let Some((num, owners)) = sim.node(id).map(N::config) else {
                continue;
            };
            let known = seen.entry(num).or_insert_with(|| owners.clone());
            if *known != owners {
                return Err(Broken::new(format!(
                    "{id} has configuration {num} with owners {owners:?}, but another server has \
                     configuration {num} with owners {known:?}"
                ))
                .nodes([id]));
            }
        }
        Ok(())
    });

    sim.check(TWICE, |sim, _| {
        let mut server: BTreeMap<(u64, usize), NodeId> = BTreeMap::new();
        for id in sim.ids() {
            let Some(node) = sim.node(id) else { continue };
            let (num, _) = node.config();
            for shard in node.serving() {
                if let Some(other) = server.insert((num, shard), id) {
                    return Err(Broken::new(format!(
                        "{other} and {id} both serve shard {shard} in configuration {num}"
                    ))
                    .nodes([other, id]));
                }
            }
        }
        Ok(())
    });

    sim.check(REFUSAL, |sim, step| {
        for entry in step {
            if let Event::Reply { node, id, reply } = &entry.event {
                refusal(sim, *node, *id, N::answer(reply))?;
            }
        }
        Ok(())
    });

    let mut ledger = Ledger::default();
    let mut holder: BTreeMap<u64, NodeId> = BTreeMap::new();
    sim.check(LOST, move |sim, step| {
        ledger.update(sim, step);
        let touched: Vec<NodeId> = step.iter().filter_map(|e| e.event.handled_by()).collect();
        for (&key, &(value, _)) in &ledger.acked {
            let cached = holder.get(&key).copied();
            if cached.is_some_and(|h| !touched.contains(&h)) {
                continue;
            }
            let holds = |id: NodeId| sim.node(id).and_then(|n| n.holds(key)) == Some(value);
            let found = cached
                .filter(|&h| holds(h))
                .or_else(|| sim.ids().find(|&id| holds(id)));
            match found {
                Some(id) => {
                    holder.insert(key, id);
                }
                None => {
                    let shard = N::shard_of(key);
                    return Err(Broken::new(format!(
                        "key {key} (shard {shard}) was written and acknowledged, but no server \
                         holds it any more"
                    ))
                    .nodes(touched.clone()));
                }
            }
        }
        Ok(())
    });

    let mut ledger = Ledger::default();
    sim.check(READS, move |sim, step| {
        for (node, id, key, got, invoked) in ledger.update(sim, step) {
            let expected = match ledger.acked.get(&key) {
                Some(&(value, at)) if at <= invoked => Some(value),
                _ => None,
            };
            let wrong = match (expected, got) {
                (Some(value), got) => got != Some(value),
                (None, Some(v)) => v != value_of(key),
                (None, None) => false,
            };
            if wrong {
                let written = expected.map_or("nothing".to_string(), |v| v.to_string());
                return Err(Broken::new(format!(
                    "{node} answered {id} (read key {key}) with {got:?}, but {written} was \
                     acknowledged for that key before the read began"
                ))
                .nodes(sim.ids()));
            }
        }
        Ok(())
    });
}

/// A refusal by `node` of request `id` says what the node's configuration
/// says: `TryLater` if it owns the key's shard, else `WrongServer` with the
/// configuration's number. (A request's handler does not change the
/// configuration, so the node's state after the step is the one it used.)
fn refusal<N: Observed>(
    sim: &Sim<N>,
    node: NodeId,
    id: RequestId,
    answer: Answer,
) -> Result<(), Broken> {
    if !matches!(answer, Answer::TryLater | Answer::WrongServer { .. }) {
        return Ok(());
    }
    let key = match N::op(&sim.operation(id).request) {
        Op::Put { key, .. } | Op::Get { key } => key,
        Op::Other => return Ok(()),
    };
    let Some((num, owners)) = sim.node(node).map(N::config) else {
        return Ok(());
    };
    let shard = N::shard_of(key) % SHARDS;
    let owner = owners[shard];
    let right = if owner == node {
        Answer::TryLater
    } else {
        Answer::WrongServer { config: num }
    };
    if answer == right {
        return Ok(());
    }
    Err(Broken::new(format!(
        "{node} refused {id} (key {key}, shard {shard}) with {answer:?}, but in its configuration \
         {num} the shard's owner is {owner}, so the answer is {right:?}"
    ))
    .nodes([node]))
}

/// At the end: every announcement was answered `Reconfigured`.
fn announced<N: Observed>(sim: &Sim<N>) -> Result<(), Failure> {
    for op in sim.history() {
        if N::op(&op.request) != Op::Other {
            continue;
        }
        let got = op.reply().map(N::answer);
        if got != Some(Answer::Reconfigured) {
            let detail = format!(
                "{} was told of a change ({}); by the end it had answered {got:?}, expected \
                 Reconfigured",
                op.node, op.id
            );
            return Err(Failure::after_run(sim, ANNOUNCED, detail));
        }
    }
    Ok(())
}

/// At the end: every read and write was answered (no server is ever down
/// in these runs, and requests reach it whatever the network loses).
fn answered<N: Observed>(sim: &Sim<N>) -> Result<(), Failure> {
    let unanswered = sim
        .history()
        .iter()
        .find(|op| N::op(&op.request) != Op::Other && op.reply().is_none());
    match unanswered {
        Some(op) => {
            let detail = format!(
                "{} got {:?} ({}) and, by the end, had not answered it",
                op.node,
                N::op(&op.request),
                op.id
            );
            Err(Failure::after_run(sim, ANSWERED, detail))
        }
        None => Ok(()),
    }
}

/// At the end: every server is on the configuration of the last change.
fn agreement<N: Observed>(sim: &Sim<N>, changes: usize) -> Result<(), Failure> {
    let last = changes as u64 + 1;
    for id in sim.ids() {
        let Some((num, _)) = sim.node(id).map(N::config) else {
            continue;
        };
        if num != last {
            let detail = format!(
                "{changes} changes were announced, so every server should be on configuration \
                 {last}, but {id} is on configuration {num}"
            );
            return Err(Failure::after_run(sim, AGREE, detail));
        }
    }
    Ok(())
}

/// Each change moved exactly the shards it had to: to the newcomer on a
/// join, from the leaver on a leave, as few as keep the servers balanced.
fn minimal<N: Observed>(
    sim: &Sim<N>,
    seen: &BTreeMap<u64, Vec<NodeId>>,
    changes: &[(Change, usize)],
) -> Result<(), Failure> {
    for (i, &(change, servers)) in changes.iter().enumerate() {
        let num = i as u64 + 2;
        let (Some(old), Some(new)) = (seen.get(&(num - 1)), seen.get(&num)) else {
            continue;
        };
        let moved: Vec<usize> = (0..SHARDS).filter(|&s| old[s] != new[s]).collect();
        let stray = moved.iter().find(|&&s| match change {
            Change::Join(newcomer) => new[s] != newcomer,
            Change::Leave(leaver) => old[s] != leaver,
        });
        let need = fewest(old, servers, change);
        let detail = if let Some(&s) = stray {
            format!(
                "configuration {num} ({change:?}) moved shard {s} from {} to {}: only the \
                 shards the change forces should move",
                old[s], new[s]
            )
        } else if moved.len() != need {
            format!(
                "configuration {num} ({change:?}, {servers} servers before) moved {} shards \
                 ({moved:?}); the fewest that keep the servers balanced is {need}",
                moved.len()
            )
        } else {
            continue;
        };
        return Err(Failure::after_run(sim, MINIMAL, detail));
    }
    Ok(())
}

/// At the end, on a reliable network: every acknowledged write is read back
/// from the owner of its shard.
fn readable<N: Observed>(sim: &mut Sim<N>) -> Result<(), Failure> {
    let mut acked = BTreeMap::new();
    for op in sim.history() {
        if let (Op::Put { key, value }, Some(Answer::Written)) =
            (N::op(&op.request), op.reply().map(N::answer))
        {
            acked.insert(key, value);
        }
    }
    let (_, owners) = sim
        .ids()
        .find_map(|id| sim.node(id).map(N::config))
        .expect("a node is up");
    let reads: Vec<(RequestId, u64, u64)> = acked
        .iter()
        .map(|(&key, &value)| {
            let owner = owners[N::shard_of(key) % SHARDS];
            (sim.request(owner, N::get(key)), key, value)
        })
        .collect();
    run(sim, |s| s.run_until_quiet(LIVENESS))?;
    for (id, key, value) in reads {
        let op = sim.history().iter().rev().find(|op| op.id == id);
        let got = op.and_then(|op| op.reply()).map(N::answer);
        if got != Some(Answer::Value(Some(value))) {
            let detail = format!(
                "key {key} was written ({value}) and acknowledged; once every handoff had \
                 finished, reading it from {}, its owner, gave {got:?}",
                owners[N::shard_of(key) % SHARDS]
            );
            return Err(Failure::after_run(sim, READABLE, detail));
        }
    }
    Ok(())
}
