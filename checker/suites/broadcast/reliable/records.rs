//! What a single reliable-broadcast node must get right at every moment,
//! checked after every event: its records (the ids it has delivered, the
//! copies it still sends), where its copies go, and, once the network is
//! good, how soon it delivers and that it falls silent.

use super::super::observe::{Broadcaster, Shared};
use dscheck::{run, Failure, Property};
use dsim::{Broken, Event, NodeId, Sim};
use std::time::Duration;

pub const REMEMBERS: Property = Property {
    name: "a node remembers the id of every message it delivered, and only those",
    hint: "put the id into self.seen wherever you deliver: on a broadcast request (your own message) as well as on the first copy of another's",
    when: &[],
};
pub const FORGETS: Property = Property {
    name: "a node forgets a message once every peer it sent it to has acknowledged it",
    hint: "on an ack, remove its sender from waiting_for, and remove the message from outgoing when waiting_for is empty",
    when: &[],
};
pub const NOT_TO_ORIGIN: Property = Property {
    name: "a copy is never sent to the node that broadcast it",
    hint: "the origin delivered its message when it broadcast it: relay to every peer except the one the copy came from and the origin",
    when: &[],
};
pub const PROMPT: Property = Property {
    name: "on links that lose nothing, a broadcast reaches every node within two link delays",
    hint: "send the first copies at once, in the handler (the broadcast request, the first receipt); the timer only repeats what was lost",
    when: &[],
};
pub const QUIET: Property = Property {
    name: "once every copy is acknowledged, the nodes stop sending",
    hint: "acknowledge every copy, duplicates included (the ack of the first may have been lost), and stop retransmitting to a peer once it has acknowledged",
    when: &[],
};

/// A reliable-broadcast node whose records the suite can read.
pub trait Records: Broadcaster {
    /// Whether the node's records are as documented: `Err` names the
    /// property broken and how.
    fn records(&self) -> Result<(), (Property, String)>;
    /// The origin of the message a copy carries; `None` for an ack.
    fn copy_origin(msg: &Self::Msg) -> Option<NodeId>;
}

/// Implements [`Broadcaster`] and [`Records`] for a node with the fields
/// of `ReliableNode` (the subject's, or a bug's made from it).
#[macro_export]
macro_rules! reliable_records {
    ($($node:ty),* $(,)?) => {$(
        impl $crate::broadcast::observe::Broadcaster for $node {
            fn broadcast(value: u64) -> $crate::subject::broadcast::reliable::Request {
                $crate::subject::broadcast::reliable::Request::Broadcast { value }
            }
            fn value_of(req: &$crate::subject::broadcast::reliable::Request) -> u64 {
                let $crate::subject::broadcast::reliable::Request::Broadcast { value } = req;
                *value
            }
            fn delivered(&self) -> &[u64] {
                &self.delivered
            }
        }

        impl $crate::broadcast::reliable::records::Records for $node {
            fn records(&self) -> Result<(), (dscheck::Property, String)> {
                use $crate::broadcast::reliable::records::{FORGETS, REMEMBERS};
                if self.seen.len() != self.delivered.len() {
                    return Err((
                        REMEMBERS,
                        format!(
                            "it has delivered {} values but its seen holds {} ids: {:?}",
                            self.delivered.len(),
                            self.seen.len(),
                            self.seen
                        ),
                    ));
                }
                if let Some((id, _)) = self.outgoing.iter().find(|(_, o)| o.waiting_for.is_empty()) {
                    return Err((
                        FORGETS,
                        format!("its outgoing still holds {id:?}, which no peer is waiting for"),
                    ));
                }
                Ok(())
            }
            fn copy_origin(msg: &$crate::subject::broadcast::reliable::Msg) -> Option<dsim::NodeId> {
                match msg {
                    $crate::subject::broadcast::reliable::Msg::Data { id, .. } => Some(id.origin),
                    $crate::subject::broadcast::reliable::Msg::Ack { .. } => None,
                }
            }
        }
    )*};
}

/// Checks after every event: the records of each node that took part, and
/// that no copy goes to its origin.
pub fn watch_records<N: Records>(sim: &mut Sim<N>) {
    for property in [REMEMBERS, FORGETS] {
        sim.check(property, move |sim, step| {
            let mut touched: Vec<NodeId> = step.iter().flat_map(|e| e.event.handled_by()).collect();
            touched.dedup();
            for node in touched {
                let Some(state) = sim.node(node) else {
                    continue;
                };
                if let Err((broken, detail)) = state.records() {
                    if broken.name == property.name {
                        return Err(Broken::new(format!("{node}: {detail}")).nodes([node]));
                    }
                }
            }
            Ok(())
        });
    }
    sim.check(NOT_TO_ORIGIN, |_, step| {
        for entry in step {
            if let Event::Send { from, to, msg, .. } = &entry.event {
                if N::copy_origin(msg) == Some(*to) {
                    return Err(Broken::new(format!(
                        "{from} sent {to} a copy of a message {to} broadcast itself"
                    ))
                    .nodes([*from, *to]));
                }
            }
        }
        Ok(())
    });
}

/// After the run has settled with every node up: within `grace` the
/// retransmissions end, and then nothing is sent for another `watch`.
pub fn falls_silent<N: Records>(
    sim: &mut Sim<N>,
    grace: Duration,
    watch: Duration,
) -> Result<(), Failure> {
    run(sim, |s| s.run_for(grace))?;
    let before = sim.stats().sent;
    run(sim, |s| s.run_for(watch))?;
    let sent = sim.stats().sent - before;
    if sent > 0 {
        let detail = format!(
            "every node had delivered every value {} ms before, yet {sent} messages were sent in the next {} ms",
            grace.as_millis(),
            watch.as_millis()
        );
        return Err(Failure::after_run(sim, QUIET, detail));
    }
    Ok(())
}

/// Each value, broadcast while every node was up and the links lost
/// nothing, reached every node within `bound` of its broadcast.
pub fn prompt<N: Records>(sim: &Sim<N>, seen: &Shared, bound: Duration) -> Result<(), Failure> {
    let d = seen.borrow();
    for (value, sent) in &d.sent {
        let late = match d.reached.get(value) {
            Some(&(nodes, at)) if nodes == sim.len() => at.saturating_since(sent.at) > bound,
            _ => true,
        };
        if late {
            let detail = format!(
                "{value}, broadcast by {}, had not reached every node {} ms after its broadcast",
                sent.origin,
                bound.as_millis()
            );
            return Err(Failure::after_run(sim, PROMPT, detail));
        }
    }
    Ok(())
}
