//! Checks of the replication protocol itself, after every event and in both
//! modes: what a survivor sends when told of a death, and that a client is
//! answered once.

use super::holder::Holder;
use crate::subject::cache::cluster::{Msg, Request, Ring};
use dscheck::Property;
use dsim::{Broken, Event, NodeId, Sim};
use std::collections::BTreeSet;

pub const MOVED: Property = Property {
    name: "told of a death, a node sends exactly the keys whose replica changed, each to its new replica",
    hint: "in on_down, compare each key's replica on the ring before and after removing the dead node; a key you are not primary of, or whose replica did not change, is not sent (the point of a hash ring is that a death moves few keys)",
    when: &[],
};
pub const ONCE: Property = Property {
    name: "a write is answered once: a node stops waiting for a client when it answers it",
    hint: "in on_ack, the waiting clients whose version is at most the acknowledged one are answered and dropped from waiting (retain only v > version); a client kept there would be answered again by the next ack",
    when: &[],
};

/// Registers the checks of this module on `sim`.
pub fn watch<N: Holder>(sim: &mut Sim<N>) {
    sim.check(MOVED, |sim, step| {
        for entry in step {
            if let Event::Request {
                node,
                req: Request::Down(dead),
                refused: false,
                ..
            } = &entry.event
            {
                moved_on_down(sim, *node, *dead, step.iter().map(|e| &e.event))?;
            }
        }
        Ok(())
    });
    sim.check(ONCE, |sim, _| {
        for id in sim.ids() {
            let Some(node) = sim.node(id) else { continue };
            for (key, unacked) in node.unacked() {
                for &(request, version) in &unacked.waiting {
                    if sim.operation(request).is_complete() {
                        return Err(Broken::new(format!(
                            "{id} has answered {request} (a write of key {key}, version {version}), \
                             but still lists it among the clients waiting for key {key}"
                        ))
                        .nodes([id]));
                    }
                }
            }
        }
        Ok(())
    });
}

/// The Replicate messages `node` sent while handling `Down(dead)` are for
/// exactly the keys it holds, is now primary of, and whose replica changed,
/// each to the key's new replica.
fn moved_on_down<'a, N: Holder>(
    sim: &Sim<N>,
    node: NodeId,
    dead: NodeId,
    events: impl Iterator<Item = &'a Event<N>>,
) -> Result<(), Broken> {
    let Some(state) = sim.node(node) else {
        return Ok(());
    };
    let after = state.ring();
    let members: Vec<NodeId> = sim
        .ids()
        .filter(|&id| id == dead || after.contains(id))
        .collect();
    let before = Ring::new(&members);
    let expected: BTreeSet<(u64, NodeId)> = state
        .data()
        .keys()
        .filter(|&&key| after.primary(key) == Some(node))
        .filter(|&&key| before.replica(key) != after.replica(key))
        .filter_map(|&key| Some((key, after.replica(key)?)))
        .collect();
    let sent: BTreeSet<(u64, NodeId)> = events
        .filter_map(|event| match event {
            Event::Send {
                from,
                to,
                msg: Msg::Replicate { key, .. },
                ..
            } if *from == node => Some((*key, *to)),
            _ => None,
        })
        .collect();
    if sent == expected {
        return Ok(());
    }
    let extra: Vec<_> = sent.difference(&expected).collect();
    let missing: Vec<_> = expected.difference(&sent).collect();
    Err(Broken::new(format!(
        "told that {dead} died, {node} sent Replicate for (key, to) {extra:?} that it should not \
         (it is not the key's primary, the replica did not change, or it went to another node), \
         and did not send {missing:?}"
    ))
    .nodes([node]))
}
