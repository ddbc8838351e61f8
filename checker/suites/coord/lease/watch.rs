//! The safety checks, made after every event against true time: each node
//! asked whether it holds the lease by its own clock's reading at that
//! instant (PROMISED, then ONE_HOLDER).

use super::{Leasing, ONE_HOLDER, PROMISED};
use dsim::{Broken, NodeId, Sim};

/// The nodes that believe they hold the lease now, by their own clocks.
pub(super) fn holders<N: Leasing>(sim: &Sim<N>) -> Vec<NodeId> {
    sim.ids()
        .filter(|&id| sim.node(id).is_some_and(|n| n.holds(sim.local_time(id))))
        .collect()
}

/// Registers PROMISED and ONE_HOLDER, checked after every event. PROMISED
/// comes first: when both break at one event (a node completing its
/// majority with grants whose grantors have since promised the lease to
/// the node that already holds it), the broken promise is the cause.
pub fn watch<N: Leasing>(sim: &mut Sim<N>, promised: bool) {
    if promised {
        sim.check(PROMISED, |sim, _| {
            let majority = sim.len() / 2 + 1;
            for h in holders(sim) {
                // A grantor that is down, or sitting out after a restart,
                // grants nobody: it keeps every promise it gave.
                let keeping: Vec<NodeId> = sim
                    .ids()
                    .filter(|&g| {
                        let local = sim.local_time(g);
                        sim.node(g).is_none_or(|n| {
                            n.quiet(local)
                                || n.promised()
                                    .is_some_and(|p| p.holder == h && local < p.until)
                        })
                    })
                    .collect();
                if keeping.len() < majority {
                    return Err(Broken::new(format!(
                        "at {} (true time) {h} believes it holds the lease, but only {} of the {} \
                         nodes still keep a promise to it ({:?}): the others may grant it to \
                         someone else",
                        sim.now(),
                        keeping.len(),
                        sim.len(),
                        keeping
                    ))
                    .nodes([h]));
                }
            }
            Ok(())
        });
    }
    sim.check(ONE_HOLDER, |sim, _| {
        let now = holders(sim);
        if now.len() > 1 {
            return Err(Broken::new(format!(
                "at {} (true time) {} all believe they hold the lease",
                sim.now(),
                now.iter()
                    .map(|id| id.to_string())
                    .collect::<Vec<_>>()
                    .join(" and ")
            ))
            .nodes(now));
        }
        Ok(())
    });
}
