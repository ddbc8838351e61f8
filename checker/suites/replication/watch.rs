//! The properties of log shipping, checked after every step of a run, and
//! the replication lag measured on the way.
//!
//! The leader (n0) is never crashed in these runs, so its log is the truth
//! the followers' logs are compared with. Each check looks only at what
//! changed since the last step (the entries a log gained, the messages the
//! step sent), so a long run stays cheap to check.

use crate::subject::replication::log_shipping::{Entry, Msg, Reply, Request, APPLIED_KEY, LEADER};
use dscheck::{Fact, Property};
use dsim::{Broken, Event, Node, NodeId, Sim, Time};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// A node of the exercise: the reference, the learner's, or a known-wrong
/// one from `bugs/`, all speaking the same messages.
pub trait Shipping: Node<Msg = Msg, Request = Request, Reply = Reply> {
    fn fresh() -> Self;
    fn log(&self) -> &[Entry];
}

macro_rules! shipping {
    ($($node:ty),* $(,)?) => {$(
        impl crate::replication::watch::Shipping for $node {
            fn fresh() -> Self {
                <$node>::new()
            }
            fn log(&self) -> &[crate::subject::replication::log_shipping::Entry] {
                &self.log
            }
        }
    )*};
}
pub(crate) use shipping;

shipping!(crate::subject::replication::log_shipping::LogShipping);

pub const PREFIX: Property = Property {
    name: "every follower's log is a prefix of the leader's: the same entries at the same \
           indices, none applied twice or out of order",
    hint: "a follower applies an entry only if its index is exactly its last index + 1; it \
           skips duplicates (index already applied) and entries after a gap, which the leader \
           sends again",
    when: &[(
        Fact::Restarted,
        "after a restart a follower must reload exactly the entries it had stored, in order, \
         and continue from there",
    )],
};

pub const APPENDED: Property = Property {
    name: "the leader appends each write once, at the index it acknowledges, and keeps its log",
    hint: "on a write, push Entry { index: last_index() + 1, value } and reply with that index; \
           never change or remove an entry of the leader's log",
    when: &[],
};

pub const POSITION: Property = Property {
    name: "a follower's acknowledged position is what it applied and stored: never more than \
           its log holds, never less than it acknowledged before, even across a restart",
    hint: "send Ack { applied: last_index() } only after applying; store every applied entry \
           and the applied index (APPLIED_KEY), and reload them when the node starts",
    when: &[(
        Fact::Restarted,
        "the follower came back with less than it had acknowledged: store each applied entry \
         and APPLIED_KEY in ctx.storage() before sending the Ack, and reload them in on_start",
    )],
};

pub const CONVERGED: Property = Property {
    name: "once faults and writes stop, every follower applies the leader's whole log",
    hint: "the leader must send a follower's batch again when no acknowledgement came within \
           RETRANSMIT_AFTER, and ship the next batch when an acknowledgement advances \
           next_index",
    when: &[(
        Fact::Restarted,
        "a restarted follower reloads its stored log and answers every batch with an Ack, \
         duplicates and gaps included, so that the leader learns where it stands",
    )],
};

/// When each entry was appended by the leader and applied by each
/// follower (true time), kept while the run goes.
#[derive(Debug, Default)]
pub struct Lag {
    /// `appended[i]`: when the leader appended the entry at index i + 1.
    pub appended: Vec<Time>,
    /// Per follower, `applied[i]`: when it first applied index i + 1.
    pub applied: BTreeMap<NodeId, Vec<Time>>,
    /// The most entries a follower was ever behind the leader.
    pub max_entries_behind: u64,
}

impl Lag {
    /// How long after the leader appended it each follower applied each
    /// entry, in milliseconds.
    pub fn delays_ms(&self) -> Vec<f64> {
        let mut delays: Vec<f64> = (self.applied.values())
            .flat_map(|times| times.iter().zip(&self.appended))
            .map(|(&done, &appended)| done.saturating_since(appended).as_secs_f64() * 1e3)
            .collect();
        delays.sort_by(f64::total_cmp);
        delays
    }
}

/// Registers every safety property on `sim` and returns the lag being
/// measured.
pub fn watch<N: Shipping>(sim: &mut Sim<N>) -> Rc<RefCell<Lag>> {
    let lag = Rc::new(RefCell::new(Lag::default()));
    watch_leader(sim, lag.clone());
    watch_prefix(sim, lag.clone());
    watch_position(sim);
    lag
}

/// APPENDED: the leader's log only grows, entry i at index i + 1, and each
/// reply names the index holding the write's value.
fn watch_leader<N: Shipping>(sim: &mut Sim<N>, lag: Rc<RefCell<Lag>>) {
    let mut last: Option<Entry> = None;
    sim.check(APPENDED, move |sim, step| {
        let Some(leader) = sim.node(LEADER) else {
            return Ok(());
        };
        let log = leader.log();
        let mut lag = lag.borrow_mut();
        let kept = lag.appended.len();
        if log.len() < kept || (kept > 0 && log.get(kept - 1) != last.as_ref()) {
            return Err(Broken::new(format!(
                "the leader's log had {kept} entries ending in {last:?} and now has {} ending \
                 in {:?}",
                log.len(),
                log.last()
            ))
            .nodes([LEADER]));
        }
        for (i, entry) in log.iter().enumerate().skip(kept) {
            if entry.index != i as u64 + 1 {
                return Err(Broken::new(format!(
                    "the leader's log holds {entry:?} at position {}, where index {} belongs",
                    i,
                    i + 1
                ))
                .nodes([LEADER]));
            }
            lag.appended.push(sim.now());
        }
        last = log.last().copied();
        for e in step.iter() {
            if let Event::Reply { id, reply, .. } = &e.event {
                // Reads are checked in `reads.rs`.
                let (Request::Write { value }, Reply::Appended { index }) =
                    (sim.operation(*id).request, *reply)
                else {
                    continue;
                };
                let at = index.checked_sub(1).and_then(|i| log.get(i as usize));
                if at.is_none_or(|entry| entry.value != value) {
                    return Err(Broken::new(format!(
                        "the leader answered write {id} of {value} with index {index}, but its \
                         log holds {at:?} there"
                    ))
                    .nodes([LEADER])
                    .events([e.index]));
                }
            }
        }
        Ok(())
    });
}

/// PREFIX: each follower's log agrees with the leader's, checked on the
/// entries it gained since the last step (and on its last entry, always).
fn watch_prefix<N: Shipping>(sim: &mut Sim<N>, lag: Rc<RefCell<Lag>>) {
    let mut checked: BTreeMap<NodeId, usize> = BTreeMap::new();
    sim.check(PREFIX, move |sim, _| {
        let Some(leader) = sim.node(LEADER) else {
            return Ok(());
        };
        let truth = leader.log();
        let mut lag = lag.borrow_mut();
        for f in sim.ids().filter(|&f| f != LEADER) {
            let Some(node) = sim.node(f) else {
                continue;
            };
            let log = node.log();
            let from = checked.get(&f).copied().unwrap_or(0).min(log.len());
            let from = from.saturating_sub(1); // the last entry, again
            for (i, entry) in log.iter().enumerate().skip(from) {
                let want = truth.get(i);
                if want != Some(entry) {
                    return Err(Broken::new(format!(
                        "{f} holds {entry:?} at position {i} of its log, where the leader's log \
                         holds {}",
                        want.map_or("nothing yet".to_string(), |w| format!("{w:?}"))
                    ))
                    .nodes([f, LEADER]));
                }
            }
            checked.insert(f, log.len());
            let times = lag.applied.entry(f).or_default();
            while times.len() < log.len() {
                times.push(sim.now());
            }
            let behind = truth.len().saturating_sub(log.len()) as u64;
            lag.max_entries_behind = lag.max_entries_behind.max(behind);
        }
        Ok(())
    });
}

/// POSITION: every Ack a follower sends is at most its log's length and at
/// least its previous Ack; its stored applied index never goes down.
fn watch_position<N: Shipping>(sim: &mut Sim<N>) {
    let mut acked: BTreeMap<NodeId, (u64, u64)> = BTreeMap::new();
    let mut stored: BTreeMap<NodeId, u64> = BTreeMap::new();
    sim.check(POSITION, move |sim, step| {
        for e in step.iter() {
            let Event::Send {
                from,
                msg: Msg::Ack { applied, .. },
                ..
            } = &e.event
            else {
                continue;
            };
            let (from, applied) = (*from, *applied);
            let holds = sim.node(from).map_or(0, |n| n.log().len() as u64);
            if applied > holds {
                return Err(Broken::new(format!(
                    "{from} acknowledged position {applied} but has applied {holds} entries"
                ))
                .nodes([from])
                .events([e.index]));
            }
            let (before, at) = acked.get(&from).copied().unwrap_or((0, 0));
            if applied < before {
                return Err(Broken::new(format!(
                    "{from} acknowledged position {applied}, after acknowledging {before}: the \
                     entries in between were lost"
                ))
                .nodes([from])
                .events([at, e.index]));
            }
            acked.insert(from, (applied, e.index));
        }
        for f in sim.ids().filter(|&f| f != LEADER) {
            let now: u64 = sim.storage(f).get(APPLIED_KEY).unwrap_or(0);
            let before = stored.insert(f, now).unwrap_or(0);
            if now < before {
                return Err(Broken::new(format!(
                    "{f}'s stored applied index went from {before} down to {now}"
                ))
                .nodes([f]));
            }
        }
        Ok(())
    });
}
