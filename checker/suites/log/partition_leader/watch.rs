//! The properties of a replicated partition, checked after every step of
//! a run. The committed records are what any replica ever held below its
//! high watermark; every check compares the replicas' logs with them.

use crate::subject::log::partition_leader::{
    Acks, Msg, Record, Reply, Request, CONTROLLER, REPLICAS,
};
use dscheck::{Fact, Property};
use dsim::{Broken, Event, Node, NodeId, Sim};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// A node of the exercise: the reference, the learner's, or a known-wrong
/// one from `bugs/`, all speaking the same messages.
pub trait Partition: Node<Msg = Msg, Request = Request, Reply = Reply> {
    fn fresh() -> Self;
    fn log(&self) -> &[Record];
    fn hw(&self) -> u64;
    fn epoch(&self) -> u64;
    fn leader(&self) -> NodeId;
    fn leading(&self) -> bool;
    fn isr(&self) -> &BTreeSet<NodeId>;
    fn proposed(&self) -> Option<&BTreeSet<NodeId>>;
}

macro_rules! partition {
    ($($node:ty),* $(,)?) => {$(
        impl crate::log::partition_leader::watch::Partition for $node {
            fn fresh() -> Self {
                <$node>::new()
            }
            fn log(&self) -> &[crate::subject::log::partition_leader::Record] {
                &self.log
            }
            fn hw(&self) -> u64 {
                self.hw
            }
            fn epoch(&self) -> u64 {
                self.epoch
            }
            fn leader(&self) -> dsim::NodeId {
                self.leader
            }
            fn leading(&self) -> bool {
                self.leading
            }
            fn isr(&self) -> &std::collections::BTreeSet<dsim::NodeId> {
                &self.isr
            }
            fn proposed(&self) -> Option<&std::collections::BTreeSet<dsim::NodeId>> {
                self.proposed.as_ref()
            }
        }
    )*};
}
pub(crate) use partition;

partition!(crate::subject::log::partition_leader::PartitionLeader);

pub const AGREES: Property = Property {
    name: "every replica's log agrees with every other's below its high watermark: the same \
           records at the same offsets",
    hint: "a follower takes records only when they start at its log end and the leader has \
           checked its last record (holds); on Diverged it drops only its last record, and only \
           if the answer is about its log as it is now",
    when: &[(
        Fact::Restarted,
        "a restarted replica reloads its log and HW as stored: store END_KEY when you truncate",
    )],
};

pub const HIGH_WATERMARK: Property = Property {
    name: "a leader's high watermark never passes the log end of a replica it counts in sync, \
           never passes its own log, and never goes back within its epoch",
    hint: "advance_hw takes the least log end over counted() (the confirmed ISR and the \
           proposal), the followers' as their fetches said, and only ever raises the HW; a \
           follower drops a record on Diverged only if the answer is about its log as it is \
           now (offset its log end, its last record of last_epoch), never on a late copy",
    when: &[(
        Fact::Restarted,
        "a restarted leader reloads its HW: set_hw stores it",
    )],
};

pub const KEPT: Property = Property {
    name: "no committed record is lost: an acks=all producer is answered only once its record \
           is below the high watermark, and the partition's leader and every replica of its ISR \
           hold every committed record",
    hint: "answer Acks::All only from advance_hw; elect only a member of the ISR; add a replica \
           to the ISR only when its log reaches the HW, and count a proposed ISR in the HW; \
           only an IsrChanged of your epoch equal to your proposal confirms it (a late answer \
           to an older proposal does not)",
    when: &[],
};

pub const READS: Property = Property {
    name: "a consumer reads only committed records: below the high watermark, at their offsets",
    hint: "on_read answers the values from offset up to hw (not the log end), at most BATCH",
    when: &[],
};

pub const ISR: Property = Property {
    name: "the ISR rules hold: the leader is always in its ISR, a replica joins only with a log \
           that reaches the leader's high watermark, and the controller elects only a member of \
           its ISR",
    hint: "review_isr keeps you in the wanted set and adds a follower only if it is in sync and \
           its end >= hw; elect picks from isr (not the old leader) and drops the old leader",
    when: &[],
};

pub const FENCED: Property = Property {
    name: "one replica at most leads each epoch, and a replica's epoch never goes back, not \
           even across a restart",
    hint: "take over only on an epoch newer than yours (or yours, naming you, after a restart); \
           store (epoch, leader) under EPOCH_KEY before acting on it",
    when: &[(
        Fact::Restarted,
        "the replica came back with an older epoch: store EPOCH_KEY in take_over and reload it",
    )],
};

/// The records committed so far: the longest prefix any replica held
/// below its high watermark.
pub type Committed = Rc<RefCell<Vec<Record>>>;

/// The replicas that are up, with their node.
fn up<N: Partition>(sim: &Sim<N>) -> impl Iterator<Item = (NodeId, &N)> {
    (1..=REPLICAS)
        .map(NodeId)
        .filter_map(|r| sim.node(r).map(|n| (r, n)))
}

/// The controller's (epoch, leader, ISR).
fn controller<N: Partition>(sim: &Sim<N>) -> Option<(u64, NodeId, BTreeSet<NodeId>)> {
    let c = sim.node(CONTROLLER)?;
    Some((c.epoch(), c.leader(), c.isr().clone()))
}

/// Registers every property on `sim`; returns the committed records.
pub fn watch<N: Partition>(sim: &mut Sim<N>) -> Committed {
    let committed: Committed = Rc::default();
    let mine = committed.clone();
    sim.check(AGREES, move |sim, _| {
        let mut committed = mine.borrow_mut();
        for (r, node) in up(sim) {
            let below = &node.log()[..(node.hw() as usize).min(node.log().len())];
            if let Some(i) =
                (0..below.len().min(committed.len())).find(|&i| below[i] != committed[i])
            {
                let detail = format!(
                    "{r} holds {:?} at offset {i}, below its high watermark {}, where a replica \
                     committed {:?}",
                    below[i],
                    node.hw(),
                    committed[i]
                );
                return Err(Broken::new(detail).nodes([r]));
            }
            if below.len() > committed.len() {
                *committed = below.to_vec();
            }
        }
        Ok(())
    });
    let mut highest: BTreeMap<u64, u64> = BTreeMap::new();
    sim.check(HIGH_WATERMARK, move |sim, _| {
        for (r, node) in up(sim) {
            if node.hw() > node.log().len() as u64 {
                let detail = format!(
                    "{r}'s high watermark {} is past its log end {}",
                    node.hw(),
                    node.log().len()
                );
                return Err(Broken::new(detail).nodes([r]));
            }
            if !node.leading() {
                continue;
            }
            let counted = node
                .isr()
                .iter()
                .chain(node.proposed().into_iter().flatten());
            for &m in counted {
                let Some(end) = sim.node(m).map(|n| n.log().len() as u64) else {
                    continue;
                };
                if node.hw() > end {
                    let detail = format!(
                        "{r}, leading epoch {}, has its high watermark at {} while {m}, which it \
                         counts in sync, holds {end} records",
                        node.epoch(),
                        node.hw()
                    );
                    return Err(Broken::new(detail).nodes([r, m]));
                }
            }
            let was = highest.entry(node.epoch()).or_default();
            if node.hw() < *was {
                let detail = format!(
                    "{r}'s high watermark went back from {was} to {} in epoch {}",
                    node.hw(),
                    node.epoch()
                );
                return Err(Broken::new(detail).nodes([r]));
            }
            *was = node.hw();
        }
        Ok(())
    });
    let mine = committed.clone();
    sim.check(KEPT, move |sim, step| {
        let committed = mine.borrow();
        for e in step.iter() {
            let Event::Reply {
                node,
                id,
                reply: Reply::Produced { offset },
            } = &e.event
            else {
                continue;
            };
            let Request::Produce {
                value,
                acks: Acks::All,
            } = sim.operation(*id).request
            else {
                continue;
            };
            let hw = sim.node(*node).map_or(0, |n| n.hw());
            let at = committed.get(*offset as usize);
            if *offset >= hw || at.is_none_or(|r| r.value != value) {
                let detail = format!(
                    "{node} answered an acks=all producer of {value} at offset {offset} with its \
                     high watermark at {hw} (committed there: {at:?})"
                );
                return Err(Broken::new(detail).nodes([*node]).events([e.index]));
            }
        }
        let Some((epoch, leader, isr)) = controller(sim) else {
            return Ok(());
        };
        for m in isr.iter().copied().chain([leader]) {
            let Some(node) = sim.node(m) else { continue };
            let log = node.log();
            if let Some(i) = (0..committed.len()).find(|&i| log.get(i) != Some(&committed[i])) {
                let role = if m == leader {
                    "the leader"
                } else {
                    "a member of the ISR"
                };
                let detail = format!(
                    "{m}, {role} of epoch {epoch} for the controller, holds {:?} at offset {i}, \
                     where {:?} was committed",
                    log.get(i),
                    committed[i]
                );
                return Err(Broken::new(detail).nodes([m]));
            }
        }
        Ok(())
    });
    let mine = committed.clone();
    sim.check(READS, move |sim, step| {
        let committed = mine.borrow();
        for e in step.iter() {
            let Event::Reply {
                node,
                reply: Reply::Records { offset, values },
                ..
            } = &e.event
            else {
                continue;
            };
            for (i, value) in values.iter().enumerate() {
                let at = *offset as usize + i;
                if committed.get(at).is_none_or(|r| r.value != *value) {
                    let hw = sim.node(*node).map_or(0, |n| n.hw());
                    let detail = format!(
                        "{node} gave a consumer {value} at offset {at}, with its high watermark \
                         at {hw}; committed there: {:?}",
                        committed.get(at)
                    );
                    return Err(Broken::new(detail).nodes([*node]).events([e.index]));
                }
            }
        }
        Ok(())
    });
    let mut before: Option<(u64, NodeId, BTreeSet<NodeId>)> = None;
    sim.check(ISR, move |sim, _| {
        for (r, node) in up(sim) {
            let counted = node.isr().contains(&r) || node.proposed().is_some_and(|p| p.contains(&r));
            if node.leading() && !counted {
                let detail = format!("{r} leads epoch {} and is not in its own ISR", node.epoch());
                return Err(Broken::new(detail).nodes([r]));
            }
        }
        let now = controller(sim);
        if let (Some((epoch, leader, isr)), Some((was_epoch, _, was_isr))) = (&now, &before) {
            if !isr.contains(leader) {
                let detail = format!("the controller's ISR {isr:?} of epoch {epoch} lacks its leader {leader}");
                return Err(Broken::new(detail).nodes([CONTROLLER, *leader]));
            }
            if epoch > was_epoch && !was_isr.contains(leader) {
                let detail = format!("the controller elected {leader} for epoch {epoch}, out of its ISR {was_isr:?}");
                return Err(Broken::new(detail).nodes([CONTROLLER, *leader]));
            }
            let hw = sim.node(*leader).map(|n| n.hw());
            for &m in isr.difference(was_isr) {
                let end = sim.node(m).map(|n| n.log().len() as u64);
                if let (Some(hw), Some(end)) = (hw, end) {
                    if end < hw {
                        let detail = format!(
                            "{m} joined the ISR with {end} records, below the high watermark {hw} of {leader}"
                        );
                        return Err(Broken::new(detail).nodes([m, *leader]));
                    }
                }
            }
        }
        before = now;
        Ok(())
    });
    let mut leaders: BTreeMap<u64, NodeId> = BTreeMap::new();
    let mut epochs: BTreeMap<NodeId, u64> = BTreeMap::new();
    sim.check(FENCED, move |sim, _| {
        for (r, node) in up(sim) {
            let had = epochs.entry(r).or_default();
            if node.epoch() < *had {
                let detail = format!("{r} had epoch {had} and now has {}", node.epoch());
                return Err(Broken::new(detail).nodes([r]));
            }
            *had = node.epoch();
            if node.leading() {
                let first = *leaders.entry(node.epoch()).or_insert(r);
                if first != r {
                    let detail = format!("{first} and {r} both led epoch {}", node.epoch());
                    return Err(Broken::new(detail).nodes([first, r]));
                }
            }
        }
        Ok(())
    });
    committed
}
