//! The runs of the service: a calm network where the leader crashes again
//! and again (the cost of each change counted), and seconds of joins,
//! crashes and cuts, on a calm or a lossy network with every clock skewed.

use super::watch::{crash, gone_bound, is_client, leaders, watch, Checks, Shared, ALL};
use super::{Service, ELECTED, NO_HERD};
use crate::subject::coord::sessions::{Command, Msg, Reply, Request, REPLICAS, SESSION_TIMEOUT};
use dscheck::{ms, run, Failure};
use dsim::{Clock, Event, Network, Node, NodeId, Sim, SimRng};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// The messages of one leadership change, at most, whatever the number of
/// clients (the notified client confirms, lists the children, and may
/// watch once more; with room for resends).
const CHANGE_MESSAGES: u64 = 16;

/// Every clock ahead of true time by 0 to 400 ms, so up to 400 ms apart
/// (no drift: the session rules are about durations on one clock). Never
/// behind: a clock behind true time reads zero until true time catches up
/// with it, and a duration measured from such a reading comes out short.
fn skew<N: Node>(sim: &mut Sim<N>, rng: &mut SimRng) {
    for id in sim.ids().collect::<Vec<_>>() {
        let clock = Clock {
            skew_nanos: rng.range(0..=400_000_000) as i64,
            drift_ppm: 0.0,
        };
        sim.set_clock(id, clock);
    }
}

fn calm() -> Network {
    Network::reliable(ms(1), ms(10))
}

/// Loss, duplication and long delays between every pair of nodes.
fn lossy(rng: &mut SimRng) -> Network {
    calm()
        .with_loss(0.05 + 0.1 * rng.unit())
        .with_duplication(0.1)
        .with_long_delays(0.1, ms(150))
}

/// A run of `replicas + clients` nodes, clocks skewed, every check on.
fn start<N: Service>(
    seed: u64,
    clients: usize,
    network: impl FnOnce(&mut SimRng) -> Network,
    checks: Checks,
) -> (Sim<N>, SimRng, Shared<N>) {
    let mut sim = Sim::new(seed, REPLICAS + clients, |_| N::fresh());
    let mut rng = sim.scenario_rng();
    skew(&mut sim, &mut rng);
    sim.set_network(network(&mut rng));
    let audit = watch(&mut sim, checks);
    (sim, rng, audit)
}

/// Runs until some client leads, for at most `limit`: that client.
fn await_leader<N: Service>(sim: &mut Sim<N>, limit: Duration) -> Result<Option<NodeId>, Failure> {
    let end = sim.now() + limit;
    while sim.now() < end {
        if let Some(&leader) = leaders(sim).first() {
            return Ok(Some(leader));
        }
        if !run(sim, |s| s.step())? {
            break;
        }
    }
    Ok(None)
}

/// Whether a message is client traffic of the election (not a ping, not
/// the log between replicas).
fn election_traffic(from: NodeId, msg: &Msg) -> bool {
    match msg {
        Msg::Propose(Command::Request { .. }) => is_client(from),
        Msg::Reply {
            reply: Reply::Done { .. },
            ..
        }
        | Msg::Notify { .. }
        | Msg::Notified { .. } => true,
        _ => false,
    }
}

/// A calm network: `clients` clients join within 300 ms, one leads within
/// 2 s; once all have settled, three times the leader crashes, and another must lead within
/// SESSION_TIMEOUT + 1 s, at a cost of at most CHANGE_MESSAGES messages of
/// election traffic, counted from the crash to 300 ms after the new leader.
pub(super) fn changes<N: Service>(
    seed: u64,
    clients: usize,
    checks: Checks,
) -> Result<(), Failure> {
    let (mut sim, mut rng, audit) = start::<N>(seed, clients, |_| calm(), checks);
    for id in (REPLICAS..REPLICAS + clients).map(NodeId) {
        let at = rng.duration(ms(0)..=ms(300));
        sim.request_after(at, id, Request::Join);
    }
    let count = Rc::new(RefCell::new(0u64));
    let counted = count.clone();
    sim.check(NO_HERD, move |_, step| {
        for e in step.iter() {
            if let Event::Send { from, msg, .. } = &e.event {
                if election_traffic(*from, msg) {
                    *counted.borrow_mut() += 1;
                }
            }
        }
        Ok(())
    });
    let Some(mut leader) = await_leader(&mut sim, ms(2_300))? else {
        return Err(Failure::after_run(
            &sim,
            ELECTED,
            "no client led within 2 s of joining",
        ));
    };
    // Every client has joined and settled before the first crash.
    run(&mut sim, |s| s.run_for(ms(700)))?;
    for _ in 0..3 {
        let wait = rng.duration(ms(0)..=ms(300));
        run(&mut sim, |s| s.run_for(wait))?;
        *count.borrow_mut() = 0;
        crash(&mut sim, &audit, leader)?;
        let crashed = sim.now();
        let Some(next) = await_leader(&mut sim, SESSION_TIMEOUT + ms(1_000))? else {
            return Err(Failure::after_run(
                &sim,
                ELECTED,
                format!(
                    "the leader {leader} crashed at {crashed} and no client led by {}",
                    sim.now()
                ),
            ));
        };
        run(&mut sim, |s| s.run_for(ms(300)))?;
        let spent = *count.borrow();
        if spent > CHANGE_MESSAGES {
            return Err(Failure::after_run(
                &sim,
                NO_HERD,
                format!(
                    "with {clients} clients, the change from {leader} to {next} took {spent} \
                     messages of election traffic (requests, answers, notifications), more than \
                     {CHANGE_MESSAGES}"
                ),
            ));
        }
        leader = next;
    }
    Ok(())
}

/// Five seconds of faults drawn from the seed, every 150 to 500 ms: a
/// client joins, the leader crashes, or another client crashes (with
/// `cuts`, the leader is also cut off from everyone, long enough for its
/// session to expire, then healed); on a calm or a lossy network (loss,
/// duplicates, long delays), every clock skewed.
pub(super) fn turmoil<N: Service>(seed: u64, lossy_net: bool, cuts: bool) -> Result<(), Failure> {
    let clients = 6;
    let network = |rng: &mut SimRng| if lossy_net { lossy(rng) } else { calm() };
    let (mut sim, mut rng, audit) = start::<N>(seed, clients, network, ALL);
    let mut waiting: Vec<NodeId> = (REPLICAS..REPLICAS + clients).map(NodeId).collect();
    for _ in 0..3 {
        let id = waiting.remove(rng.below(waiting.len() as u64) as usize);
        sim.request(id, Request::Join);
    }
    let mut crashes = 0;
    let mut cut = false;
    // With cuts, the first leader there is gets cut off for certain.
    let mut cut_once = false;
    let end = sim.now() + Duration::from_secs(5);
    while sim.now() < end {
        let pause = rng.duration(ms(150)..=ms(500));
        run(&mut sim, |s| s.run_for(pause))?;
        let roll = rng.unit();
        if cut {
            run(&mut sim, |s| s.heal())?;
            cut = false;
        } else if cuts && (roll >= 0.8 || !cut_once) && !leaders(&sim).is_empty() {
            if let Some(&leader) = leaders(&sim).first() {
                cut_once = true;
                let rest: Vec<NodeId> = sim.ids().filter(|&id| id != leader).collect();
                run(&mut sim, |s| s.partition(&[&[leader], &rest]))?;
                let away = rng.duration(SESSION_TIMEOUT..=SESSION_TIMEOUT * 2);
                run(&mut sim, |s| s.run_for(away))?;
                cut = true;
            }
        } else if roll < 0.3 && !waiting.is_empty() {
            let id = waiting.remove(rng.below(waiting.len() as u64) as usize);
            sim.request(id, Request::Join);
        } else if roll < 0.5 && crashes < 3 {
            let victim = match leaders(&sim).first() {
                Some(&leader) if rng.chance(0.6) => leader,
                _ => NodeId(REPLICAS + rng.below(clients as u64) as usize),
            };
            if sim.is_up(victim) {
                crash(&mut sim, &audit, victim)?;
                crashes += 1;
            }
        }
    }
    // Long enough for the last crash's nodes to go.
    let settle = gone_bound(sim.network()) + ms(100);
    run(&mut sim, |s| s.run_for(settle))
}
