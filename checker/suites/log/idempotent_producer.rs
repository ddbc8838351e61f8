//! log_idempotent_producer: producers send to a leader over a network that
//! loses, duplicates and delays, while the leader crashes and restarts and
//! producers restart as new incarnations. After every step: no record is
//! in the log twice, each producer's records are there in its send order,
//! and a producer answers only for a record the log holds. After a calm
//! end, every record a producer still up was given is answered.

use crate::subject::log::idempotent_producer::{
    IdempotentProducer, Msg, Record, Reply, Request, LEADER, RETRY_AFTER,
};
use dscheck::{ms, run, Failure, Property, Suite};
use dsim::{Broken, Clock, Event, Network, Node, NodeId, Sim, SimRng, Time};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// A node of the exercise: the reference, the learner's, or a known-wrong
/// one from `bugs/`.
pub trait Producing: Node<Msg = Msg, Request = Request, Reply = Reply> {
    fn fresh() -> Self;
    fn log(&self) -> &[Record];
}

macro_rules! producing {
    ($($node:ty),* $(,)?) => {$(
        impl crate::log::idempotent_producer::Producing for $node {
            fn fresh() -> Self {
                <$node>::new()
            }
            fn log(&self) -> &[crate::subject::log::idempotent_producer::Record] {
                &self.log
            }
        }
    )*};
}

producing!(IdempotentProducer);

/// The leader and two producers.
const NODES: usize = 3;

const ONCE: Property = Property {
    name: "no record is in the log twice: not its producer id and sequence, not its value",
    hint: "on_produce appends only the next sequence of its producer (last + 1) and only \
           acknowledges a duplicate (seq <= last); recover rebuilds last_seq from the log, or \
           a record retried after a restart is appended again",
    when: &[],
};

const ORDER: Property = Property {
    name: "each producer's records are in the log in the order it was given them: sequences \
           1, 2, 3… with no gap",
    hint: "number each record with next_seq (then bump it), from 1 for a new producer id; the \
           leader refuses a sequence past last + 1 (OutOfOrder) and the producer sends the \
           expected one again",
    when: &[],
};

const ACKED: Property = Property {
    name: "a producer answers Sent only for a record the log holds",
    hint: "answer a pending record only on an Ack whose seq reaches it; the leader acknowledges \
           a duplicate only if that sequence really is in its log (a producer id is never \
           reused: bump INCARNATION_KEY at every start)",
    when: &[],
};

const DELIVERED: Property = Property {
    name: "once the network is calm and the leader up, every record given to a producer that \
           stayed up is answered",
    hint: "send up to MAX_IN_FLIGHT records at once, the window again every RETRY_AFTER without \
           progress, the next ones as acknowledgements come, and the expected record again on \
           OutOfOrder",
    when: &[],
};

const PROMPT: Property = Property {
    name: "on a network that delivers every message in 1 ms, a record is answered a round trip \
           after it enters the window, at the cost of one Produce and one Ack; a lost record is \
           sent again when the next is refused, or RETRY_AFTER after it was sent when none \
           follows",
    hint: "send a record as soon as it enters the window (on_send, and on the Ack that moves \
           the window: only the records that just entered it), acknowledge each appended \
           record at once, resend expected..=seq on OutOfOrder, and set the retry timer when \
           the first record is pending and on every progress",
    when: &[],
};

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded("idempotent_producer::on_a_lossy_network", 4, |seed| {
            lossy::<IdempotentProducer>(seed, false, false)
        })
        .seeded("idempotent_producer::the_leader_restarts", 4, |seed| {
            lossy::<IdempotentProducer>(seed, true, false)
        })
        .seeded(
            "idempotent_producer::producers_restart_with_skewed_clocks",
            4,
            |seed| lossy::<IdempotentProducer>(seed, true, true),
        )
        .seeded(
            "idempotent_producer::a_calm_network_costs_a_round_trip",
            2,
            calm::<IdempotentProducer>,
        )
        .seeded(
            "idempotent_producer::lost_acknowledgements_and_a_leader_restart",
            2,
            lost_acks::<IdempotentProducer>,
        )
}

/// The checks, run on the reference with one bug each (`bugs/`).
#[cfg(bugs)]
pub fn meta(suite: Suite) -> Suite {
    use crate::bugs::forgets_sequences::idempotent_producer::IdempotentProducer as Forgets;
    use crate::bugs::reuses_sequence::idempotent_producer::IdempotentProducer as Reuses;
    use dscheck::expect_caught;
    suite
        .test(
            "meta::a_leader_forgetting_sequences_on_restart_is_caught",
            || expect_caught(ONCE, 3, lost_acks::<Forgets>),
        )
        .test("meta::a_producer_reusing_a_sequence_is_caught", || {
            expect_caught(ACKED, 3, |seed| lossy::<Reuses>(seed, false, false))
        })
}

#[cfg(bugs)]
producing!(
    crate::bugs::forgets_sequences::idempotent_producer::IdempotentProducer,
    crate::bugs::reuses_sequence::idempotent_producer::IdempotentProducer,
);

/// The records the leader's log gained since `seen` of them were looked
/// at (none while it is down: a log only grows).
fn new_records<N: Producing>(sim: &Sim<N>, seen: &mut usize) -> Vec<(usize, Record)> {
    let log = sim.node(LEADER).map_or(&[][..], |n| n.log());
    let from = (*seen).min(log.len());
    if log.len() > *seen {
        *seen = log.len();
    }
    log[from..]
        .iter()
        .copied()
        .enumerate()
        .map(|(i, r)| (from + i, r))
        .collect()
}

/// Registers ONCE, ORDER and ACKED, each looking only at the records the
/// log gained since the last step.
fn watch<N: Producing>(sim: &mut Sim<N>) {
    let (mut seen, mut ids, mut values) = (0, BTreeSet::new(), BTreeSet::new());
    sim.check(ONCE, move |sim, _| {
        for (offset, r) in new_records(sim, &mut seen) {
            if !ids.insert((r.pid, r.seq)) || !values.insert(r.value) {
                let detail =
                    format!("the log holds {r:?} at offset {offset}, and it already held it");
                return Err(Broken::new(detail).nodes([LEADER]));
            }
        }
        Ok(())
    });
    let (mut seen, mut last) = (0, BTreeMap::new());
    sim.check(ORDER, move |sim, _| {
        for (offset, r) in new_records(sim, &mut seen) {
            let (seq, value) = last.get(&r.pid).copied().unwrap_or((0, 0));
            if r.seq != seq + 1 || r.value <= value {
                let detail = format!(
                    "the log holds {r:?} at offset {offset}, after sequence {seq} (value \
                     {value}) of the same producer"
                );
                return Err(Broken::new(detail).nodes([LEADER]));
            }
            last.insert(r.pid, (r.seq, r.value));
        }
        Ok(())
    });
    let (mut seen, mut held) = (0, BTreeSet::new());
    sim.check(ACKED, move |sim, step| {
        held.extend(
            new_records(sim, &mut seen)
                .into_iter()
                .map(|(_, r)| r.value),
        );
        for e in step.iter() {
            let Event::Reply { node, id, .. } = &e.event else {
                continue;
            };
            let Request::Send { value } = sim.operation(*id).request;
            if !held.contains(&value) {
                let detail =
                    format!("{node} answered Sent for {value}, which the log does not hold");
                return Err(Broken::new(detail).nodes([*node]).events([e.index]));
            }
        }
        Ok(())
    });
}

/// The suite's side: the application feeding each producer increasing
/// values.
struct App {
    value: u64,
    /// When each producer last restarted (its earlier records may be lost).
    restarted: BTreeMap<NodeId, Time>,
}

impl App {
    /// No value sent yet, no producer restarted.
    fn new() -> Self {
        App {
            value: 0,
            restarted: BTreeMap::new(),
        }
    }

    fn send<N: Producing>(&mut self, sim: &mut Sim<N>, to: NodeId) -> dsim::RequestId {
        self.value += 1;
        sim.request(to, Request::Send { value: self.value })
    }
}

/// A run: a lossy network, and skewed clocks with `producers_restart`.
fn start<N: Producing>(seed: u64, skew: bool) -> (Sim<N>, SimRng) {
    let mut sim = Sim::new(seed, NODES, |_| N::fresh());
    let mut rng = sim.scenario_rng();
    let lossy = Network::reliable(ms(1), ms(10))
        .with_loss(0.1 + 0.1 * rng.unit())
        .with_duplication(0.1)
        .with_long_delays(0.1, ms(80));
    sim.set_network(lossy);
    if skew {
        for id in sim.ids().collect::<Vec<_>>() {
            let clock = Clock {
                skew_nanos: rng.range(0..=100_000_000) as i64 - 50_000_000,
                drift_ppm: 400.0 * rng.unit() - 200.0,
            };
            sim.set_clock(id, clock);
        }
    }
    watch(&mut sim);
    (sim, rng)
}

/// One second of records, every 1 to 8 ms to a producer drawn at random,
/// on a lossy network; the leader may crash and come back
/// (`leader_restarts`), and the producers too (`producers_restart`). Then
/// the calm end.
fn lossy<N: Producing>(
    seed: u64,
    leader_restarts: bool,
    producers_restart: bool,
) -> Result<(), Failure> {
    let (mut sim, mut rng) = start::<N>(seed, producers_restart);
    let mut app = App::new();
    let producers: Vec<NodeId> = (1..NODES).map(NodeId).collect();
    let end = sim.now() + Duration::from_secs(1);
    while sim.now() < end {
        let to = *rng.pick(&producers);
        app.send(&mut sim, to);
        let roll = rng.below(100);
        if leader_restarts && roll < 3 {
            run(&mut sim, |s| s.crash(LEADER))?;
        } else if leader_restarts && roll < 10 {
            run(&mut sim, |s| s.restart(LEADER))?;
        } else if producers_restart && roll < 12 {
            let p = *rng.pick(&producers);
            run(&mut sim, |s| s.crash(p))?;
            run(&mut sim, |s| s.restart(p))?;
            app.restarted.insert(p, sim.now());
        }
        let pause = rng.duration(ms(1)..=ms(8));
        run(&mut sim, |s| s.run_for(pause))?;
    }
    settle(&mut sim, &app)
}

/// Written out: the leader's acknowledgements to n1 are lost while n1
/// sends 10 records; the leader crashes and restarts; the link heals. n1's
/// retries are all duplicates by then, and must be dropped.
fn lost_acks<N: Producing>(seed: u64) -> Result<(), Failure> {
    let (mut sim, _) = start::<N>(seed, false);
    sim.set_network(Network::reliable(ms(1), ms(10)));
    let mut app = App::new();
    let n1 = NodeId(1);
    run(&mut sim, |s| s.cut(LEADER, n1))?;
    for _ in 0..10 {
        app.send(&mut sim, n1);
        run(&mut sim, |s| s.run_for(ms(5)))?;
    }
    run(&mut sim, |s| s.run_for(ms(100)))?;
    run(&mut sim, |s| s.crash(LEADER))?;
    run(&mut sim, |s| s.restart(LEADER))?;
    run(&mut sim, |s| s.heal())?;
    settle(&mut sim, &app)
}

/// The calm end: a calm network, the leader up; after 500 ms every record
/// given to a producer since its last start must be answered.
fn settle<N: Producing>(sim: &mut Sim<N>, app: &App) -> Result<(), Failure> {
    sim.set_network(Network::reliable(ms(1), ms(10)));
    run(sim, |s| s.heal())?;
    run(sim, |s| s.restart(LEADER))?;
    run(sim, |s| s.run_for(ms(500)))?;
    let lost = (sim.history().iter()).find(|op| {
        let since = app.restarted.get(&op.node).copied().unwrap_or(Time::ZERO);
        !op.is_complete() && op.invoked_at >= since
    });
    if let Some(op) = lost {
        let detail = format!(
            "{} was given {:?} and, 500 ms after the network calmed, has not answered",
            op.node, op.request
        );
        return Err(Failure::after_run(
            sim,
            DELIVERED,
            Broken::new(detail).nodes([op.node]),
        ));
    }
    let log = sim.node(LEADER).map_or(0, |n| n.log().len());
    dscheck::metric("records in the log", log);
    Ok(())
}

/// Answers an error naming PROMPT unless every operation in `ids`
/// completed within `within` of `since`.
fn prompt<N: Producing>(
    sim: &Sim<N>,
    ids: &[dsim::RequestId],
    since: Time,
    within: Duration,
    what: &str,
) -> Result<(), Failure> {
    for &id in ids {
        let done = sim.operation(id).completion.as_ref().map(|(_, at)| *at);
        if done.is_none_or(|at| at.saturating_since(since) > within) {
            let detail = format!(
                "{what}: {id} was answered {} after {} ms, beyond {} ms",
                done.map_or("never".to_string(), |at| format!("at {at}")),
                since.as_millis(),
                within.as_millis()
            );
            return Err(Failure::after_run(
                sim,
                PROMPT,
                Broken::new(detail).nodes([NodeId(1)]),
            ));
        }
    }
    Ok(())
}

/// Written out, on a network that delivers in exactly 1 ms: 12 records at
/// once to n1 (answered within 8 ms, 12 Produce and 12 Ack in all); then
/// single records 10 ms apart (each within 2 ms); then a record sent while
/// n1's link to the leader is cut, followed by 4 (all within 6 ms of the
/// link healing: the refusals bring it back); then a lonely one sent while
/// cut (within RETRY_AFTER and 3 ms); then, 5 ms a message, 25 at once
/// (within 51 ms, 50 messages: no retry while acknowledgements progress).
fn calm<N: Producing>(seed: u64) -> Result<(), Failure> {
    let (mut sim, _) = start::<N>(seed, false);
    sim.set_network(Network::reliable(ms(1), ms(1)));
    let mut app = App::new();
    let n1 = NodeId(1);
    run(&mut sim, |s| s.run_for(ms(1)))?;
    let (since, sent) = (sim.now(), sim.stats().sent);
    let burst: Vec<_> = (0..12).map(|_| app.send(&mut sim, n1)).collect();
    run(&mut sim, |s| s.run_for(ms(10)))?;
    prompt(&sim, &burst, since, ms(8), "a burst of 12 records")?;
    let cost = sim.stats().sent - sent;
    if cost != 24 {
        let detail =
            format!("a burst of 12 records on a calm network cost {cost} messages, not 24");
        return Err(Failure::after_run(
            &sim,
            PROMPT,
            Broken::new(detail).nodes([n1]),
        ));
    }
    for _ in 0..5 {
        let since = sim.now();
        let id = app.send(&mut sim, n1);
        run(&mut sim, |s| s.run_for(ms(10)))?;
        prompt(&sim, &[id], since, ms(2), "a single record")?;
    }
    run(&mut sim, |s| s.cut(n1, LEADER))?;
    let mut ids = vec![app.send(&mut sim, n1)];
    run(&mut sim, |s| s.run_for(ms(3)))?;
    run(&mut sim, |s| s.heal())?;
    let since = sim.now();
    ids.extend((0..4).map(|_| app.send(&mut sim, n1)));
    run(&mut sim, |s| s.run_for(ms(10)))?;
    prompt(&sim, &ids, since, ms(6), "a record lost and 4 after it")?;
    run(&mut sim, |s| s.run_for(ms(40)))?;
    run(&mut sim, |s| s.cut(n1, LEADER))?;
    let since = sim.now();
    let id = app.send(&mut sim, n1);
    run(&mut sim, |s| s.run_for(ms(3)))?;
    run(&mut sim, |s| s.heal())?;
    run(&mut sim, |s| s.run_for(ms(40)))?;
    prompt(
        &sim,
        &[id],
        since,
        RETRY_AFTER + ms(3),
        "a lonely record lost",
    )?;
    sim.set_network(Network::reliable(ms(5), ms(5)));
    let (since, sent) = (sim.now(), sim.stats().sent);
    let burst: Vec<_> = (0..25).map(|_| app.send(&mut sim, n1)).collect();
    run(&mut sim, |s| s.run_for(ms(60)))?;
    prompt(
        &sim,
        &burst,
        since,
        ms(51),
        "25 records at once, 5 ms a message",
    )?;
    let cost = sim.stats().sent - sent;
    if cost != 50 {
        let detail = format!(
            "25 records at once, on a network taking 5 ms a message, cost {cost} messages, not \
             50: the retry timer must start again on every progress"
        );
        return Err(Failure::after_run(
            &sim,
            PROMPT,
            Broken::new(detail).nodes([n1]),
        ));
    }
    settle(&mut sim, &app)
}
