//! Runs under faults drawn from the seed, and written-out runs of one
//! fault each: every message twice, the leader and a follower crashed, a
//! leader cut off while a higher ballot is elected, and a stable leader
//! that must pay phase 2 only.

use super::observe::{leader, Observed, COMPLETES, PHASE_TWO_ONLY};
use super::recovery::scripted;
use super::run::Run;
use crate::subject::paxos::multi::{Command, Msg, Op, ELECTION_MAX};
use dscheck::{ms, run, Failure};
use dsim::{Broken, Clock, Event, Network, NodeId, Sim, SimRng};

/// 3 or 5 nodes with skewed and drifting clocks on a network that loses,
/// duplicates and holds back messages; with `crashes`, any node (leader
/// included) may crash and come back (a minority down at a time) and the
/// network splits at random. 1.5 s of clients, then the calm end.
pub fn chaos<N: Observed>(seed: u64, crashes: bool) -> Result<(), Failure> {
    let mut rng = SimRng::new(seed);
    let n = if rng.chance(0.5) { 3 } else { 5 };
    let mut r = Run::<N>::new(seed, n);
    for id in r.ids.clone() {
        let clock = Clock {
            skew_nanos: rng.range(0..=100_000_000) as i64 - 50_000_000,
            drift_ppm: 400.0 * rng.unit() - 200.0,
        };
        r.sim.set_clock(id, clock);
    }
    r.sim.set_network(
        Network::reliable(ms(1), ms(15))
            .with_loss(0.1)
            .with_duplication(0.1)
            .with_long_delays(0.03, ms(120)),
    );
    let ids = r.ids.clone();
    let end = r.sim.now() + ms(1_500);
    while r.sim.now() < end {
        r.work(ms(rng.range(40..=120)))?;
        if !crashes {
            continue;
        }
        let down = ids.iter().filter(|&&i| !r.sim.is_up(i)).count();
        let victim = match leader(&r.sim) {
            Some(l) if rng.chance(0.4) => l,
            _ => *rng.pick(&ids),
        };
        match rng.below(4) {
            0 if r.sim.is_up(victim) && down < (n - 1) / 2 => run(&mut r.sim, |s| s.crash(victim))?,
            0 | 1 => run(&mut r.sim, |s| s.restart(victim))?,
            2 => {
                let mut order = ids.clone();
                rng.shuffle(&mut order);
                let cut = 1 + rng.below(n as u64 - 1) as usize;
                let (a, b) = order.split_at(cut);
                run(&mut r.sim, |s| s.partition(&[a, b]))?;
            }
            _ => run(&mut r.sim, |s| s.heal())?,
        }
    }
    r.finish()
}

/// Three nodes on a network that delivers every message twice, to the
/// end: every handler must take a message it has seen before in its
/// stride (a second Prepare or Accept of the ballot promised is answered
/// again, a second Accepted is not counted twice): once a leader is
/// established it stays (no Prepare is sent), and commands complete.
pub fn twice<N: Observed>(seed: u64) -> Result<(), Failure> {
    let mut r = Run::<N>::new(seed, 3);
    let twice = Network::reliable(ms(1), ms(10)).with_duplication(1.0);
    r.sim.set_network(twice.clone());
    r.calm = twice;
    r.leader()?;
    run(&mut r.sim, |s| s.run_for(ms(100)))?;
    no_prepare(&mut r.sim);
    r.work(ms(800))?;
    r.finish()
}

/// Five nodes, a calm network: the leader and one follower crash under
/// load, and the three left (just a majority) elect a new leader, which
/// must recover the open slots and go on choosing with their three votes;
/// then both come back, the old leader as a follower, and the clients go
/// on throughout.
pub fn leader_crash<N: Observed>(seed: u64) -> Result<(), Failure> {
    let mut r = Run::<N>::new(seed, 5);
    r.work(ms(500))?;
    let old = r.leader()?;
    let other = NodeId((old.0 + 1) % r.ids.len());
    run(&mut r.sim, |s| s.crash(old))?;
    run(&mut r.sim, |s| s.crash(other))?;
    let before = r.clients.completed();
    r.work(ms(800))?;
    if r.clients.completed() == before {
        let detail = format!(
            "{old} (the leader) and {other} crashed; in the 800 ms since, with the three other \
             nodes up, no command completed"
        );
        return Err(Failure::after_run(&r.sim, COMPLETES, detail));
    }
    run(&mut r.sim, |s| s.restart(old))?;
    run(&mut r.sim, |s| s.restart(other))?;
    r.work(ms(400))?;
    r.finish()
}

/// Five nodes: the leader and one follower are cut off from the other
/// three, and the old leader takes a command it cannot get chosen; the
/// majority elects a leader of a higher ballot. Then the old leader, still
/// leading in its own eyes, can reach everyone but hears no one (every link
/// into it cut) for a while: its Accepts, sent again, reach acceptors that
/// promised the higher ballot, and must be refused. Then the network heals.
pub fn split_brain<N: Observed>(seed: u64) -> Result<(), Failure> {
    let mut r = Run::<N>::new(seed, 5);
    r.work(ms(500))?;
    let old = r.leader()?;
    let mate = r.ids.iter().copied().find(|&i| i != old).unwrap_or(old);
    let rest: Vec<NodeId> = r
        .ids
        .iter()
        .copied()
        .filter(|&i| i != old && i != mate)
        .collect();
    run(&mut r.sim, |s| s.partition(&[&[old, mate], &rest]))?;
    r.sim.request(old, scripted(102, "split", "stale;"));
    r.work(ELECTION_MAX * 3)?;
    r.sim
        .note("the old leader reaches everyone and hears no one");
    run(&mut r.sim, |s| s.heal())?;
    for &from in r.ids.iter().filter(|&&i| i != old) {
        run(&mut r.sim, |s| s.cut(from, old))?;
    }
    r.work(ms(200))?;
    run(&mut r.sim, |s| s.heal())?;
    r.work(ms(300))?;
    r.finish()
}

/// PHASE_TWO_ONLY from now on: no node sends a Prepare.
fn no_prepare<N: Observed>(sim: &mut Sim<N>) {
    sim.check(PHASE_TWO_ONLY, move |_, step| {
        for e in step.iter() {
            if let Event::Send { from, msg, .. } = &e.event {
                if matches!(msg, Msg::Prepare { .. }) {
                    let detail =
                        format!("{from} sent {msg:?} while a leader was established and no message was lost");
                    return Err(Broken::new(detail).nodes([*from]).events([e.index]));
                }
            }
        }
        Ok(())
    });
}

/// How many messages a command may cost, per other node, with a stable
/// leader on a calm network: the reference sends about 4 per other node
/// (Accept, Accepted, Decide, and its share of the heartbeats at one
/// command every 10 to 20 ms); this leaves room for other designs.
pub const PER_NODE_PER_COMMAND: u64 = 10;

/// Five nodes on a calm network: once a leader is established, one client
/// sends 30 commands, one after another. No Prepare may be sent (the
/// leader's one phase 1 covers every slot), and the messages stay within
/// [`PER_NODE_PER_COMMAND`] per other node per command.
pub fn steady<N: Observed>(seed: u64) -> Result<(), Failure> {
    let n = 5;
    let mut r = Run::<N>::new(seed, n);
    r.sim.set_network(Network::reliable(ms(1), ms(5)));
    let l = r.leader()?;
    run(&mut r.sim, |s| s.run_for(ms(100)))?;
    no_prepare(&mut r.sim);
    let before = r.sim.stats().sent;
    let commands = 30;
    for seq in 1..=commands {
        let op = Op::Append {
            key: "x".into(),
            value: format!("{seq};"),
        };
        let id = r.sim.request(l, Command { client: 9, seq, op });
        let done = run(&mut r.sim, |s| {
            s.run_until(ms(200), |s| {
                s.history().iter().any(|op| op.id == id && op.is_complete())
            })
        })?;
        if !done {
            let detail =
                format!("command {seq}, sent to the leader {l}, was not applied within 200 ms");
            return Err(Failure::after_run(&r.sim, PHASE_TWO_ONLY, detail));
        }
        run(&mut r.sim, |s| s.run_for(ms(10)))?;
    }
    let sent = r.sim.stats().sent - before;
    let cap = PER_NODE_PER_COMMAND * (n as u64 - 1) * commands;
    if seed == 1 {
        dscheck::metric("messages per command, stable leader", sent / commands);
    }
    if sent > cap {
        let detail = format!(
            "{commands} commands to a stable leader on a calm network cost {sent} messages, more \
             than {cap} ({PER_NODE_PER_COMMAND} per other node per command)"
        );
        return Err(Failure::after_run(&r.sim, PHASE_TWO_ONLY, detail));
    }
    Ok(())
}
