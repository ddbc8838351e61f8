//! The order properties, checked after every event on the record of
//! deliveries: FIFO, causal (with happens-before built from the trace)
//! and total order (prefix agreement).

use super::observe::{tail, Broadcaster, Happened, Shared, CAUSAL, FIFO, TOTAL};
use crate::happens_before::HappensBefore;
use dsim::{Broken, NodeId, Sim};
use std::collections::BTreeMap;
use std::rc::Rc;

/// Each sender's values in the order it broadcast them: when a node
/// delivers a sender's `k`-th value, it has delivered the ones before.
pub fn fifo<N: Broadcaster>(sim: &mut Sim<N>, seen: &Shared) {
    let d = Rc::clone(seen);
    sim.check(FIFO, move |sim, step| {
        let mut d = d.borrow_mut();
        d.update(sim, step);
        for h in &d.step {
            let Happened::Deliver { node, value, index } = *h else {
                continue;
            };
            let Some(sent) = d.sent.get(&value) else {
                continue;
            };
            let origin = sent.origin;
            for &earlier in &d.by_origin[origin.index()][..sent.index] {
                let before = d.position[node.index()]
                    .get(&earlier)
                    .is_some_and(|&p| p < index);
                if !before {
                    return Err(Broken::new(format!(
                        "{origin} broadcast {earlier} before {value}, but {node} delivered {value} without having delivered {earlier}; {node}'s deliveries: {}",
                        tail(&d.logs[node.index()])
                    ))
                    .nodes([origin, node]));
                }
            }
        }
        Ok(())
    });
}

/// Happens-before among broadcasts and deliveries, from the trace: a node's
/// events in order, and each value's broadcast before its deliveries. The
/// stamp of an event is `Some(value)` for a broadcast, `None` for a
/// delivery.
pub fn causal<N: Broadcaster>(sim: &mut Sim<N>, seen: &Shared) {
    let d = Rc::clone(seen);
    let mut hb: HappensBefore<Option<u64>> = HappensBefore::new(sim.len());
    let mut broadcast_event: BTreeMap<u64, usize> = BTreeMap::new();
    sim.check(CAUSAL, move |sim, step| {
        let mut d = d.borrow_mut();
        d.update(sim, step);
        for h in &d.step {
            match *h {
                Happened::Broadcast { node, value } => {
                    let what = format!("{node} broadcasts {value}");
                    let id = hb.add_after(node, what, Some(value), None);
                    broadcast_event.insert(value, id);
                }
                Happened::Deliver { node, value, index } => {
                    let Some(&b) = broadcast_event.get(&value) else {
                        continue;
                    };
                    let origin = d.sent[&value].origin;
                    for a in hb.past_of(b) {
                        let Some(earlier) = hb.events[a].stamp else {
                            continue;
                        };
                        let before = d.position[node.index()]
                            .get(&earlier)
                            .is_some_and(|&p| p < index);
                        if !before {
                            let by = d.sent[&earlier].origin;
                            let why = if by == origin {
                                format!("{origin} broadcast {earlier} before {value}")
                            } else {
                                format!("{by} broadcast {earlier}, and {origin} had delivered it (directly or through values that depend on it) before broadcasting {value}")
                            };
                            return Err(Broken::new(format!(
                                "{why}; but {node} delivered {value} without having delivered {earlier}; {node}'s deliveries: {}",
                                tail(&d.logs[node.index()])
                            ))
                            .nodes([by, origin, node]));
                        }
                    }
                    hb.add_after(node, format!("{node} delivers {value}"), None, Some(b));
                }
            }
        }
        Ok(())
    });
}

/// The same sequence everywhere: each new delivery is compared with the
/// delivery at the same position on every other node.
pub fn total<N: Broadcaster>(sim: &mut Sim<N>, seen: &Shared) {
    let d = Rc::clone(seen);
    sim.check(TOTAL, move |sim, step| {
        let mut d = d.borrow_mut();
        d.update(sim, step);
        for h in &d.step {
            let Happened::Deliver { node, value, index } = *h else {
                continue;
            };
            for (other, log) in d.logs.iter().enumerate() {
                if log.len() > index && log[index] != value {
                    let other = NodeId(other);
                    let mine = &d.logs[node.index()][..=index];
                    return Err(Broken::new(format!(
                        "delivery number {} differs: {node} delivered {value}, {other} delivered {}\n  {node}: {}\n  {other}: {}",
                        index + 1,
                        log[index],
                        tail(mine),
                        tail(&log[..=index])
                    ))
                    .nodes([node, other]));
                }
            }
        }
        Ok(())
    });
}
