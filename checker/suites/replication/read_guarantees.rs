//! replication_read_guarantees: reads from lagging followers keep each
//! session's guarantees (read-your-writes, monotonic reads), are real
//! values of the leader's log, and are answered once the follower catches
//! up; plain reads show the anomalies the guarantees prevent.
//!
//! Every run checks the properties of `reads.rs` on every reply, with the
//! log-shipping properties of `watch.rs` beside them. Clients write to the
//! leader and read from any node, under loss, duplication, delays,
//! partitions, follower crashes and skewed clocks; one written-out run
//! cuts a follower off and shows the trade-off: plain reads are stale and
//! go back in time, session reads wait and are not.

use super::log_shipping::{set_up, strike, Faults, ALL, CRASHES, LOSSY, PARTITIONS};
use super::reads::{clients, Reads, Session, Shared, ANSWERED, MONOTONIC, READ_YOUR_WRITES};
use super::watch::{watch, Shipping};
use crate::subject::replication::log_shipping::{LogShipping, LEADER};
use crate::subject::replication::read_guarantees::Session as Reference;
use dscheck::{ms, run, Failure, Property, Suite};
use dsim::{Broken, Network, NodeId, Sim};
use std::time::Duration;

/// Nodes per run: the leader and four followers.
const NODES: usize = 5;

const TRADE_OFF: Property = Property {
    name: "a plain read (min_index 0) is answered at once from what the node has applied, stale \
           or not",
    hint: "on_read with min_index 0: last_index() >= 0 always holds, so reply with read_now() \
           at once; only a read whose min_index is above last_index() waits",
    when: &[],
};

/// Four session clients and two plain ones.
const MIX: [Reads; 6] = [
    Reads::Session,
    Reads::Session,
    Reads::Session,
    Reads::Session,
    Reads::Plain,
    Reads::Plain,
];

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded("read_guarantees::sessions_on_a_lossy_network", 4, |seed| {
            random::<LogShipping, Reference>(seed, LOSSY, &MIX).map(drop)
        })
        .seeded(
            "read_guarantees::sessions_with_followers_cut_off",
            4,
            |seed| random::<LogShipping, Reference>(seed, PARTITIONS, &MIX).map(drop),
        )
        .seeded(
            "read_guarantees::sessions_with_followers_restarting",
            4,
            |seed| random::<LogShipping, Reference>(seed, CRASHES, &MIX).map(drop),
        )
        .seeded(
            "read_guarantees::every_fault_at_once_with_skewed_clocks",
            5,
            |seed| random::<LogShipping, Reference>(seed, ALL, &MIX).map(drop),
        )
        .seeded(
            "read_guarantees::plain_reads_are_stale_session_reads_wait",
            2,
            trade_off::<LogShipping, Reference>,
        )
        .test("read_guarantees::waiting_versus_staleness", || {
            measured::<LogShipping, Reference>(1)
        })
}

/// The checks, run on the reference with one bug each (`bugs/`).
#[cfg(bugs)]
pub fn meta(suite: Suite) -> Suite {
    use crate::bugs::pending_never_answered::LogShipping as NeverAnswered;
    use crate::bugs::serves_reads_at_once::LogShipping as AtOnce;
    use crate::bugs::session_forgets_reads::Session as Forgets;
    use dscheck::{expect_caught, expect_caught_by_any};
    suite
        .test("meta::a_node_serving_reads_at_once_is_caught", || {
            expect_caught(READ_YOUR_WRITES, 1, |seed| {
                session_run::<AtOnce, Reference>(seed, Reads::Session).map(drop)
            })
        })
        .test(
            "meta::a_node_serving_reads_at_once_is_caught_at_random",
            || {
                let run = |seed| random::<AtOnce, Reference>(seed, LOSSY, &MIX).map(drop);
                expect_caught_by_any(&[READ_YOUR_WRITES, MONOTONIC], 3, run)
            },
        )
        .test("meta::a_session_forgetting_its_reads_is_caught", || {
            expect_caught(MONOTONIC, 3, |seed| {
                session_run::<LogShipping, Forgets>(seed, Reads::Session)?;
                random::<LogShipping, Forgets>(seed, PARTITIONS, &MIX).map(drop)
            })
        })
        .test("meta::a_pending_read_never_answered_is_caught", || {
            expect_caught(ANSWERED, 3, |seed| {
                random::<NeverAnswered, Reference>(seed, LOSSY, &MIX).map(drop)
            })
        })
}

#[cfg(bugs)]
super::watch::shipping!(
    crate::bugs::pending_never_answered::LogShipping,
    crate::bugs::serves_reads_at_once::LogShipping,
);

#[cfg(bugs)]
super::reads::session!(crate::bugs::session_forgets_reads::Session);

/// The faults stop: a calm network, no partition, every follower up
/// (those up are left alone: their waiting reads stay waiting).
fn calm_down<N: Shipping>(sim: &mut Sim<N>) -> Result<(), Failure> {
    sim.set_network(Network::reliable(ms(1), ms(10)));
    run(sim, |s| s.heal())?;
    for f in (1..sim.len()).map(NodeId) {
        if !sim.is_up(f) {
            run(sim, |s| s.restart(f))?;
        }
    }
    Ok(())
}

/// Two seconds of clients writing to the leader and reading from random
/// nodes under `faults`; then the faults stop and the clients go on
/// reading, with no writes, for half a second; then every read that
/// reached a node still up must have been answered.
pub fn random<N: Shipping, S: Session>(
    seed: u64,
    faults: Faults,
    kinds: &[Reads],
) -> Result<Shared<S>, Failure> {
    let mut sim = Sim::new(seed, NODES, |_| N::fresh());
    let mut rng = sim.scenario_rng();
    set_up(&mut sim, &mut rng, faults);
    let _lag = watch(&mut sim);
    let shared = clients::<N, S>(&mut sim, kinds);
    let nodes: Vec<NodeId> = sim.ids().collect();
    let mut value = 0;
    let mut calmed = false;
    let writes_end = sim.now() + Duration::from_secs(2);
    let reads_end = writes_end + ms(500);
    while sim.now() < reads_end {
        let writing = sim.now() < writes_end;
        for c in 0..kinds.len() {
            let mut clients = shared.borrow_mut();
            if !clients.idle(c) || rng.below(2) == 0 {
                continue;
            }
            if writing && rng.below(10) < 3 {
                value += 1;
                clients.write(&mut sim, c, value);
            } else {
                clients.read(&mut sim, c, *rng.pick(&nodes));
            }
        }
        if writing {
            strike(&mut sim, &mut rng, faults)?;
        } else if !calmed {
            calmed = true;
            calm_down(&mut sim)?;
        }
        let pause = rng.duration(ms(2)..=ms(20));
        run(&mut sim, |s| s.run_for(pause))?;
    }
    run(&mut sim, |s| s.run_for(ms(500)))?;
    let unanswered = shared.borrow().unanswered();
    if let Some((id, node, min_index)) = unanswered {
        let detail = format!(
            "half a second after the faults and the writes stopped, read {id} to {node} for \
             position {min_index} is still unanswered"
        );
        let broken = Broken::new(detail).nodes([node]);
        return Err(Failure::after_run(&sim, ANSWERED, broken));
    }
    Ok(shared)
}

/// Written out, on a calm network, with two followers: n1 keeps up, n2 is
/// cut off from the leader after the first three writes. Client 0
/// writes a fourth value (index 4) and reads from n2; client 1 reads from
/// n1 (position 4), then from n2. Then the partition heals. Returns the
/// clients, with every read answered.
fn session_run<N: Shipping, S: Session>(seed: u64, reads: Reads) -> Result<Shared<S>, Failure> {
    let mut sim = Sim::new(seed, 3, |_| N::fresh());
    sim.set_network(Network::reliable(ms(1), ms(5)));
    let _lag = watch(&mut sim);
    let shared = clients::<N, S>(&mut sim, &[reads, reads]);
    let (n1, n2) = (NodeId(1), NodeId(2));
    let step = |sim: &mut Sim<N>, wait: Duration| run(sim, |s| s.run_for(wait));
    for value in 1..=3 {
        shared.borrow_mut().write(&mut sim, 0, value);
        step(&mut sim, ms(30))?;
    }
    run(&mut sim, |s| s.partition(&[&[LEADER, n1], &[n2]]))?;
    shared.borrow_mut().write(&mut sim, 0, 4);
    step(&mut sim, ms(30))?;
    shared.borrow_mut().read(&mut sim, 1, n1);
    step(&mut sim, ms(20))?;
    shared.borrow_mut().read(&mut sim, 0, n2);
    shared.borrow_mut().read(&mut sim, 1, n2);
    step(&mut sim, ms(100))?;
    run(&mut sim, |s| s.heal())?;
    step(&mut sim, ms(300))?;
    let unanswered = shared.borrow().unanswered();
    if let Some((id, node, min_index)) = unanswered {
        let detail = format!(
            "300 ms after the partition healed, read {id} to {node} for position {min_index} \
             is still unanswered"
        );
        let broken = Broken::new(detail).nodes([node]);
        return Err(Failure::after_run(&sim, ANSWERED, broken));
    }
    Ok(shared)
}

/// The trade-off, on one seed: with plain reads, client 0 does not see its
/// own write on n2 (a stale read) and client 1 goes back in time from n1
/// to n2; with session reads, neither happens (the reads wait for the
/// partition to heal), and every read is answered.
fn trade_off<N: Shipping, S: Session>(seed: u64) -> Result<(), Failure> {
    let plain = session_run::<N, S>(seed, Reads::Plain)?;
    let plain = plain.borrow();
    if plain.stale == 0 || plain.back == 0 {
        return Err(Failure::new(
            TRADE_OFF,
            format!(
                "n2 was cut off from the leader one write behind, yet plain reads from it showed \
                 {} stale reads and {} reads going back in time (one of each expected)",
                plain.stale, plain.back
            ),
        ));
    }
    let sessions = session_run::<N, S>(seed, Reads::Session)?;
    let sessions = sessions.borrow();
    let answered = sessions.waits.get("session").map_or(0, Vec::len);
    if answered != 3 {
        return Err(Failure::new(
            ANSWERED,
            format!("of the three session reads, {answered} were answered"),
        ));
    }
    Ok(())
}

/// One run with every fault, sessions and plain clients side by side:
/// how long each kind of read waits, and how often plain reads are stale
/// or go back in time (metrics).
fn measured<N: Shipping, S: Session>(seed: u64) -> Result<(), Failure> {
    let shared = random::<N, S>(seed, ALL, &MIX)?;
    let clients = shared.borrow();
    let mean = |kind: &str| {
        let waits = clients.waits.get(kind).map_or(&[][..], Vec::as_slice);
        let total: f64 = waits.iter().sum();
        (waits.len(), total / waits.len().max(1) as f64)
    };
    let (sessions, session_wait) = mean("session");
    let (plain, plain_wait) = mean("plain");
    dscheck::metric("session reads answered", sessions);
    dscheck::metric(
        "mean wait of a session read (ms)",
        format!("{session_wait:.1}"),
    );
    dscheck::metric("plain reads answered", plain);
    dscheck::metric("mean wait of a plain read (ms)", format!("{plain_wait:.1}"));
    dscheck::metric("plain reads missing the client's own write", clients.stale);
    dscheck::metric("plain reads going back in time", clients.back);
    Ok(())
}
