//! The properties of failover, checked after every step of a run: epochs
//! never go back, the epoch fence holds (one leader per epoch, nothing
//! taken from an older epoch, no write appended by a node that has heard
//! of a newer epoch), and each follower agrees with its epoch's leader.
//! The properties checked at a run's points (after a promotion, at the
//! end) are here too, as plain functions.

use crate::subject::replication::log_shipping::{
    entry_key, Entry, Msg, Reply, Request, APPLIED_KEY,
};
use crate::subject::replication::AckMode;
use dscheck::{Fact, Property};
use dsim::{Broken, Event, Node, NodeId, Sim};
use std::collections::BTreeMap;

/// A node of the exercise: the reference, the learner's, or a known-wrong
/// one from `bugs/`, all speaking the same messages.
pub trait Failing: Node<Msg = Msg, Request = Request, Reply = Reply> {
    fn fresh(mode: AckMode) -> Self;
    fn log(&self) -> &[Entry];
    fn epoch(&self) -> u64;
    fn leading(&self) -> bool;
}

macro_rules! failing {
    ($($node:ty),* $(,)?) => {$(
        impl crate::replication::guard::Failing for $node {
            fn fresh(mode: crate::subject::replication::AckMode) -> Self {
                <$node>::with_mode(mode)
            }
            fn log(&self) -> &[crate::subject::replication::log_shipping::Entry] {
                &self.log
            }
            fn epoch(&self) -> u64 {
                self.epoch
            }
            fn leading(&self) -> bool {
                self.leading
            }
        }
    )*};
}
pub(crate) use failing;

failing!(crate::subject::replication::log_shipping::LogShipping);

pub const EPOCHS: Property = Property {
    name: "a node's epoch never goes back, not even across a crash and restart",
    hint: "adopt a higher epoch only, and store it (EPOCH_KEY) before acting on it; read it back \
           in recover_epoch",
    when: &[(
        Fact::Restarted,
        "the node came back with an older epoch: store EPOCH_KEY in adopt and read it in \
         recover_epoch",
    )],
};

pub const FENCED: Property = Property {
    name: "the epoch fence holds: a node applies entries of its own epoch only (it adopts a \
           newer one first, refuses an older one), one node at most leads each epoch, and a node that has heard of a newer epoch \
           appends no client write",
    hint: "in fence, adopt a higher epoch (stepping down: leading = false) and refuse any \
           message of a lower one; adopt before handling the message",
    when: &[],
};

pub const AGREES: Property = Property {
    name: "a follower's log agrees with its epoch's leader up to the last entry it took from \
           that leader: the same entries at the same indices",
    hint: "take a batch only if your log holds the leader's entry at prev_index with prev_epoch \
           (matches), and drop your entries from the first one that conflicts with the batch, \
           and your older-epoch entries past leader_last (truncate_conflicts)",
    when: &[(
        Fact::Restarted,
        "a restarted node reloads its log as stored: store the truncated length (APPLIED_KEY) \
         when you drop entries",
    )],
};

pub const KEPT: Property = Property {
    name: "with Majority acknowledgement, a write is answered only once a majority of the nodes \
           hold it, and no answered write is lost: the promoted leader has it, and in the end \
           every node has it",
    hint: "in Majority mode keep the write in waiting and answer it only once majority_index() \
           reaches it: counting the leader and the followers whose acknowledgement of this epoch \
           shows they have it",
    when: &[],
};

pub const LOSES: Property = Property {
    name: "with Async acknowledgement, a leader that dies before shipping loses writes it \
           acknowledged",
    hint: "in Async mode, answer a write as soon as it is appended (acknowledge_write), \
           without waiting for any follower",
    when: &[],
};

pub const CONVERGED: Property = Property {
    name: "after the last failover, once the network is calm and whole, every node holds the \
           new leader's log, the old leader included",
    hint: "a promoted leader ships to every follower, even an empty batch, until it confirms \
           where each stands; on Mismatch move next_index back and ship again; an old leader \
           that hears of the new epoch steps down and follows",
    when: &[],
};

/// What the checks remember of each node between two steps.
#[derive(Default)]
struct Seen {
    /// The highest epoch the node ever had.
    epoch: u64,
    /// The highest epoch of a message delivered to it.
    heard: u64,
    /// Its log's length and last entry.
    len: usize,
    last: Option<Entry>,
}

/// The epoch a replication message carries.
fn epoch_of(msg: &Msg) -> u64 {
    match *msg {
        Msg::Entries { epoch, .. } | Msg::Ack { epoch, .. } => epoch,
        Msg::Mismatch { epoch, .. } | Msg::Stale { epoch } => epoch,
    }
}

/// Registers EPOCHS, FENCED and AGREES on `sim`, and in `Majority` mode
/// the majority behind every answered write (KEPT).
pub fn guard<N: Failing>(sim: &mut Sim<N>, mode: AckMode) {
    if mode == AckMode::Majority {
        sim.check(KEPT, |sim, step| {
            for e in step.iter() {
                let Event::Reply {
                    node,
                    reply: Reply::Appended { index },
                    ..
                } = &e.event
                else {
                    continue;
                };
                let holders = sim.ids().filter(|&n| holds(sim, n, *index)).count();
                if holders <= sim.len() / 2 {
                    let detail = format!(
                        "{node} answered a write at index {index} when {holders} of the {} \
                         nodes held that entry",
                        sim.len()
                    );
                    return Err(Broken::new(detail).nodes([*node]).events([e.index]));
                }
            }
            Ok(())
        });
    }
    let mut highest: BTreeMap<NodeId, u64> = BTreeMap::new();
    sim.check(EPOCHS, move |sim, _| {
        for id in sim.ids() {
            let Some(node) = sim.node(id) else { continue };
            let had = highest.entry(id).or_default();
            if node.epoch() < *had {
                let detail = format!("{id} had epoch {had} and now has {}", node.epoch());
                return Err(Broken::new(detail).nodes([id]));
            }
            *had = node.epoch();
        }
        Ok(())
    });
    let mut seen: BTreeMap<NodeId, Seen> = BTreeMap::new();
    let mut leaders: BTreeMap<u64, NodeId> = BTreeMap::new();
    sim.check(FENCED, move |sim, step| {
        for e in step.iter() {
            if let Event::Deliver { to, msg, .. } = &e.event {
                let before = seen.entry(*to).or_default();
                let grew = sim.node(*to).is_some_and(|n| changed(n.log(), before));
                let now = sim.node(*to).map_or(0, |n| n.epoch());
                if let (Msg::Entries { epoch, .. }, true) = (msg, grew) {
                    if *epoch < before.epoch || *epoch != now {
                        let detail = format!(
                            "{to}, in epoch {} (then {now}), changed its log on entries of epoch \
                             {epoch}",
                            before.epoch
                        );
                        return Err(Broken::new(detail).nodes([*to]).events([e.index]));
                    }
                }
                before.heard = before.heard.max(epoch_of(msg));
            }
            if let Event::Request {
                node,
                req: Request::Write { .. },
                ..
            } = &e.event
            {
                let before = seen.entry(*node).or_default();
                let appended = sim.node(*node).is_some_and(|n| n.log().len() > before.len);
                if appended && before.heard > before.epoch {
                    let detail = format!(
                        "{node} appended a client write in epoch {} after it had heard of \
                         epoch {}: split brain",
                        before.epoch, before.heard
                    );
                    return Err(Broken::new(detail).nodes([*node]).events([e.index]));
                }
            }
        }
        for id in sim.ids() {
            let Some(node) = sim.node(id) else { continue };
            if node.leading() {
                let first = *leaders.entry(node.epoch()).or_insert(id);
                if first != id {
                    let detail = format!("{first} and {id} both led epoch {}", node.epoch());
                    return Err(Broken::new(detail).nodes([first, id]));
                }
            }
            let mine = seen.entry(id).or_default();
            mine.epoch = mine.epoch.max(node.epoch());
            mine.len = node.log().len();
            mine.last = node.log().last().copied();
        }
        Ok(())
    });
    let mut acked: BTreeMap<NodeId, BTreeMap<u64, u64>> = BTreeMap::new();
    sim.check(AGREES, move |sim, step| {
        for e in step.iter() {
            if let Event::Send {
                from,
                msg: Msg::Ack { epoch, applied },
                ..
            } = &e.event
            {
                let at = acked.entry(*from).or_default().entry(*epoch).or_default();
                *at = (*at).max(*applied);
            }
        }
        for id in sim.ids() {
            let Some(node) = sim.node(id) else { continue };
            let epoch = node.epoch();
            let leader = sim.ids().find(|&l| {
                sim.node(l)
                    .is_some_and(|n| n.leading() && n.epoch() == epoch)
            });
            let Some(leader) = leader.filter(|&l| l != id) else {
                continue;
            };
            let truth = sim.node(leader).map_or(&[][..], |n| n.log());
            let log = node.log();
            let taken = log
                .iter()
                .rposition(|entry| entry.epoch == epoch)
                .map_or(0, |i| i + 1);
            let acked = acked
                .get(&id)
                .and_then(|a| a.get(&epoch))
                .copied()
                .unwrap_or(0);
            if (log.len() as u64) < acked {
                let detail = format!(
                    "{id} acknowledged index {acked} in epoch {epoch} and now holds {} entries: \
                     it dropped entries of its own epoch's leader",
                    log.len()
                );
                return Err(Broken::new(detail).nodes([id, leader]));
            }
            let upto = taken.max(acked as usize).min(log.len());
            if let Some(i) = (0..upto).find(|&i| truth.get(i) != log.get(i)) {
                let detail =
                    format!(
                    "{id} holds {:?} at index {}, where {leader}, the leader of epoch {epoch}, \
                     holds {}",
                    log[i],
                    i + 1,
                    truth.get(i).map_or("nothing".to_string(), |w| format!("{w:?}"))
                );
                return Err(Broken::new(detail).nodes([id, leader]));
            }
        }
        Ok(())
    });
}

/// Whether node `n` holds an entry at `index`, in its log if it is up,
/// in its storage if it is down.
fn holds<N: Failing>(sim: &Sim<N>, n: NodeId, index: u64) -> bool {
    match sim.node(n) {
        Some(node) => node.log().len() as u64 >= index,
        None => {
            let stored: u64 = sim.storage(n).get(APPLIED_KEY).unwrap_or(0);
            stored >= index && sim.storage(n).get::<Entry>(&entry_key(index)).is_some()
        }
    }
}

/// Whether `log` differs from what was seen of it: its length or last entry.
fn changed(log: &[Entry], seen: &Seen) -> bool {
    log.len() != seen.len || log.last() != seen.last.as_ref()
}

/// The writes the clients had acknowledged, as (index, value), in `sim`'s
/// history.
pub fn acknowledged<N: Failing>(sim: &Sim<N>) -> Vec<(u64, u64)> {
    (sim.history().iter())
        .filter_map(|op| match (op.request, op.reply()) {
            (Request::Write { value }, Some(Reply::Appended { index })) => Some((*index, value)),
            _ => None,
        })
        .collect()
}

/// The acknowledged writes `log` does not hold at their index.
pub fn missing(acked: &[(u64, u64)], log: &[Entry]) -> Vec<(u64, u64)> {
    let holds = |&(index, value): &(u64, u64)| {
        let at = log.get(index as usize - 1);
        at.is_some_and(|entry| entry.value == value)
    };
    acked.iter().filter(|w| !holds(w)).copied().collect()
}
