//! The safety checks of a run, registered on the simulation and made after
//! every event: the log's rules through the audit, every replica's tree
//! against the shadow's, one leader in true time, a crashed client's
//! ephemeral nodes gone in time.

use super::audit::Audit;
use super::{Service, AGREE, GONE, LIFETIME, NO_HERD, ONE_LEADER, OWNED, SEQUENTIAL, WATCH_ONCE};
use crate::subject::coord::sessions::{ELECTION, REPLICAS, SESSION_TIMEOUT, TICK};
use dscheck::{run, Failure};
use dsim::{Broken, Network, NodeId, Sim};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// Which checks a run makes (meta tests turn one off to see another catch
/// the same bug).
#[derive(Clone, Copy, Debug)]
pub struct Checks {
    /// OWNED, from the log (before GONE, in true time, can see it).
    pub owned: bool,
    /// NO_HERD per deletion (before the message count can see it).
    pub per_deletion: bool,
}

pub(super) const ALL: Checks = Checks {
    owned: true,
    per_deletion: true,
};

pub(super) type Shared<N> = Rc<RefCell<Audit<N>>>;

/// The longest a message can take on `network`.
fn longest(network: &Network) -> Duration {
    *network.latency.end() + network.long_delay_max
}

/// How long after a client's crash its ephemeral nodes may remain: its last
/// command may still reach the sequencer two message delays later, and the
/// first Tick after its expiry comes within a TICK.
pub(super) fn gone_bound(network: &Network) -> Duration {
    SESSION_TIMEOUT + TICK + longest(network) * 2
}

pub fn parent_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

pub(super) fn is_client(id: NodeId) -> bool {
    id.index() >= REPLICAS
}

/// The clients that lead now, each by its own clock.
pub(super) fn leaders<N: Service>(sim: &Sim<N>) -> Vec<NodeId> {
    sim.ids()
        .filter(|&id| is_client(id))
        .filter(|&id| sim.node(id).is_some_and(|n| n.leads_at(sim.local_time(id))))
        .collect()
}

/// Registers every safety check, run after every event.
pub(super) fn watch<N: Service>(sim: &mut Sim<N>, checks: Checks) -> Shared<N> {
    let audit: Shared<N> = Rc::new(RefCell::new(Audit::new()));
    let mut from_log = vec![LIFETIME, SEQUENTIAL, WATCH_ONCE];
    if checks.owned {
        from_log.push(OWNED);
    }
    if checks.per_deletion {
        from_log.push(NO_HERD);
    }
    for property in from_log {
        let audit = audit.clone();
        sim.check(property, move |sim, _| {
            let mut audit = audit.borrow_mut();
            audit.catch_up(sim);
            audit.take(property)
        });
    }
    let agree = audit.clone();
    sim.check(AGREE, move |sim, step| {
        let mut audit = agree.borrow_mut();
        audit.catch_up(sim);
        // Only a replica whose handler ran in this step can have a new tree
        // (the others were checked when they last changed).
        let touched: Vec<NodeId> = step.iter().filter_map(|e| e.event.handled_by()).collect();
        for id in (0..REPLICAS).map(NodeId).filter(|id| touched.contains(id)) {
            let Some(replica) = sim.node(id) else {
                continue;
            };
            let at = replica.log().len();
            let Some(expected) = audit.trees.get(at) else {
                continue;
            };
            if !replica.same_tree(expected) {
                return Err(Broken::new(format!(
                    "after {at} log entries {id}'s tree is\n  {}\nbut applying those entries \
                     makes\n  {}",
                    replica.tree_text(),
                    expected.tree_text()
                ))
                .nodes([id]));
            }
        }
        Ok(())
    });
    sim.check(ONE_LEADER, |sim, _| {
        let now = leaders(sim);
        if now.len() > 1 {
            return Err(
                Broken::new(format!("at {} (true time) {now:?} all lead", sim.now())).nodes(now),
            );
        }
        let (Some(&leader), Some(sequencer)) = (now.first(), sim.node(NodeId(0))) else {
            return Ok(());
        };
        let session = sim.node(leader).and_then(|n| n.session_id());
        let lowest = sequencer
            .nodes()
            .iter()
            .find(|(path, _)| parent_of(path) == ELECTION);
        if lowest.and_then(|(_, n)| n.owner).is_none()
            || lowest.and_then(|(_, n)| n.owner) != session
        {
            return Err(Broken::new(format!(
                "at {} (true time) {leader} (session {session:?}) leads, but the lowest node \
                 under {ELECTION} in the sequencer's tree is {lowest:?}",
                sim.now()
            ))
            .nodes([leader]));
        }
        Ok(())
    });
    let gone = audit.clone();
    sim.check(GONE, move |sim, _| {
        let bound = gone_bound(sim.network());
        let Some(sequencer) = sim.node(NodeId(0)) else {
            return Ok(());
        };
        for &(session, crashed) in &gone.borrow().crashed {
            let left: Vec<&String> = sequencer
                .nodes()
                .iter()
                .filter(|(_, n)| n.owner == Some(session))
                .map(|(path, _)| path)
                .collect();
            if sim.now() >= crashed + bound && !left.is_empty() {
                return Err(Broken::new(format!(
                    "{} crashed at {crashed} (true time) and at {} its ephemeral nodes {left:?} \
                     remain ({} ms later; the bound is {} ms)",
                    session.client,
                    sim.now(),
                    sim.now().saturating_since(crashed).as_millis(),
                    bound.as_millis()
                ))
                .nodes([session.client]));
            }
        }
        Ok(())
    });
    audit
}

/// Crashes client `id`, noting its session for GONE.
pub(super) fn crash<N: Service>(
    sim: &mut Sim<N>,
    audit: &Shared<N>,
    id: NodeId,
) -> Result<(), Failure> {
    if let Some(session) = sim.node(id).and_then(|n| n.session_id()) {
        audit.borrow_mut().crashed.push((session, sim.now()));
    }
    run(sim, |s| s.crash(id))
}
