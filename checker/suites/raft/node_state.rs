//! What must hold of one node's own state after each of its steps, and of
//! what it keeps on storage: the per-node invariants of Figure 2 and
//! Figure 13, checked after every event (the cluster-wide properties are in
//! `observe.rs`, the rules of each message in `rules.rs`).

use super::observe::Observed;
use super::observe::PREPARED;
use crate::subject::raft::{Entry, Index, Log, Msg, Payload, Request, Role, Snapshot, Term};
use dscheck::Property;
use dsim::{Broken, Event, NodeId, Sim, Step, Storage};
use serde::Deserialize;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

pub const ROLE_STATE: Property = Property {
    name: "a leader names itself as leader, a candidate names no leader, a follower never names \
           itself, and a leader whose removal is committed steps down",
    hint: "start_election sets leader = None; become_leader sets leader = Some(self.id); \
           step_down_if_removed makes a removed leader a follower with no leader once \
           log.config_index() <= commit_index",
    when: &[],
};
pub const INDICES_IN_ORDER: Property = Property {
    name: "a node's snapshot and applied index never pass its commit index, a log's terms never \
           decrease, and a leader's match_index never moves back in its term",
    hint: "a snapshot holds only applied entries; apply only up to commit_index; entries are \
           appended in term order, so an entry kept after a snapshot must agree with the \
           snapshot's last term (else drop the log: log.reset_to)",
    when: &[],
};
pub const SAVED_BEFORE_ANSWERING: Property = Property {
    name: "term, vote and log are on storage, as they are in memory, whenever the node sends \
           a message",
    hint: "Raft::persist after every change of term or vote, Log::save(storage, from) after \
           every change of the log (append, truncate, compact), before the handler sends \
           anything",
    when: &[],
};
pub const SNAPSHOT_WHEN_DUE: Property = Property {
    name: "a node snapshots only once its log holds more than snapshot_after entries, at its \
           last applied index",
    hint: "maybe_snapshot returns while log.len() <= limit or last_applied <= log.base_index(); \
           otherwise the snapshot ends at last_applied",
    when: &[],
};
pub const INSTALLED: Property = Property {
    name: "a follower installs a snapshot newer than its commit index completely: log, state \
           machine, commit index, storage; and answers match_index = its last included index",
    hint: "on_install_snapshot: if index > commit_index: log.compact(index, term) when \
           log.term_at(index) is the snapshot's term, else log.reset_to(&snapshot); \
           state_machine = S::restore; commit_index = last_applied = index; storage put \
           \"snapshot\"; log.save; then reply_append(true, index) in every case",
    when: &[],
};
pub const SENT_AT_ONCE: Property = Property {
    name: "a leader sends a new entry to every follower as soon as it appends it",
    hint: "append_as_leader: after log.append and log.save, broadcast_append_entries, so that a \
           command does not wait for the next heartbeat",
    when: &[],
};

/// A node's state after its last step.
#[derive(Clone, Copy)]
struct Seen {
    term: Term,
    commit: Index,
    base: Index,
    last: Index,
    last_term: Term,
}

impl Seen {
    fn of<N: Observed>(node: &N) -> Self {
        let log = node.log();
        Seen {
            term: node.term(),
            commit: node.commit_index(),
            base: log.base_index(),
            last: log.last_index(),
            last_term: log.last_term(),
        }
    }

    /// Whether the log looks changed since.
    fn log_changed(&self, log: &Log<u64>) -> bool {
        (self.base, self.last, self.last_term)
            != (log.base_index(), log.last_index(), log.last_term())
    }
}

/// What the checks remember of each node: its state after its last step,
/// and a leader's match_index (with its term).
struct Memory {
    seen: Vec<Option<Seen>>,
    matched: Vec<Option<(Term, BTreeMap<NodeId, Index>)>>,
}

/// Registers the per-node invariants on `sim`.
pub fn watch_node_state<N: Observed>(sim: &mut Sim<N>) {
    sim.check(ROLE_STATE, |sim, step| {
        handler(sim, step).map_or(Ok(()), |(id, node)| role_state(id, node))
    });
    sim.check(SENT_AT_ONCE, sent_at_once);
    let memory = Rc::new(RefCell::new(Memory {
        seen: vec![None; sim.len()],
        matched: vec![None; sim.len()],
    }));
    let checks: [(Property, Check<N>); 4] = [
        (INDICES_IN_ORDER, indices_in_order),
        (SAVED_BEFORE_ANSWERING, saved),
        (SNAPSHOT_WHEN_DUE, snapshot_when_due),
        (INSTALLED, installed),
    ];
    for (property, check) in checks {
        let m = Rc::clone(&memory);
        sim.check(property, move |sim, step| {
            let Some((id, node)) = handler(sim, step) else {
                return Ok(());
            };
            let memory = m.borrow();
            let before = memory.seen[id.0];
            check(&Ctx {
                sim,
                step,
                id,
                node,
                before,
                memory: &memory,
            })
        });
    }
    sim.check(INDICES_IN_ORDER, move |sim, step| {
        remember(sim, step, &mut memory.borrow_mut());
        Ok(())
    });
}

/// What a check sees: the step, the node that handled it, its state
/// before.
struct Ctx<'a, N: Observed> {
    sim: &'a Sim<N>,
    step: Step<'a, N>,
    id: NodeId,
    node: &'a N,
    before: Option<Seen>,
    memory: &'a Memory,
}

type Check<N> = fn(&Ctx<'_, N>) -> Result<(), Broken>;

/// The node whose handler ran in this step, if it is up.
fn handler<'a, N: Observed>(sim: &'a Sim<N>, step: Step<'_, N>) -> Option<(NodeId, &'a N)> {
    let id = step.trigger_event()?.handled_by()?;
    Some((id, sim.node(id)?))
}

fn remember<N: Observed>(sim: &Sim<N>, step: Step<'_, N>, memory: &mut Memory) {
    let Some(event) = step.trigger_event() else {
        return;
    };
    let id = match event {
        Event::Crash { node } => *node,
        other => match other.handled_by() {
            Some(id) => id,
            None => return,
        },
    };
    let node = sim.node(id);
    memory.seen[id.0] = node.map(Seen::of);
    memory.matched[id.0] = node
        .filter(|n| n.role() == Role::Leader)
        .map(|n| (n.term(), n.match_index().clone()));
}

fn role_state<N: Observed>(id: NodeId, node: &N) -> Result<(), Broken> {
    let leader = node.leader();
    let wrong = match node.role() {
        Role::Leader if leader != Some(id) => Some(format!("it leads but names {leader:?}")),
        Role::Candidate if leader.is_some() => {
            Some(format!("it is a candidate but names {leader:?} as leader"))
        }
        Role::Follower if leader == Some(id) => {
            Some("it is a follower but names itself as leader".to_string())
        }
        _ => None,
    };
    let log = node.log();
    let removed = node.role() == Role::Leader
        && !log.config().contains(&id)
        && log.config_index() <= node.commit_index();
    let wrong = wrong.or_else(|| {
        removed.then(|| {
            format!(
                "it is no longer a member and its removal (index {}) is committed, yet it still \
                 leads",
                log.config_index()
            )
        })
    });
    match wrong {
        None => Ok(()),
        Some(what) => Err(Broken::new(format!(
            "{id} (term {}, {:?}): {what}",
            node.term(),
            node.role()
        ))
        .nodes([id])),
    }
}

fn indices_in_order<N: Observed>(c: &Ctx<'_, N>) -> Result<(), Broken> {
    let (id, node) = (c.id, c.node);
    let log = node.log();
    let commit = node.commit_index();
    let applied = node.recorder().through();
    if log.base_index() > commit || applied > commit {
        return Err(Broken::new(format!(
            "{id}'s snapshot ends at {} and it applied up to {applied}, but its commit index is \
             {commit}",
            log.base_index()
        ))
        .nodes([id]));
    }
    if c.before.is_none_or(|b| b.log_changed(log)) {
        let mut term = log.base_term();
        for index in log.base_index() + 1..=log.last_index() {
            let next = log.term_at(index).unwrap_or(term);
            if next < term {
                return Err(Broken::new(format!(
                    "{id}'s log holds an entry of term {next} at index {index} after one of term \
                     {term} (its snapshot ends at {} with term {})",
                    log.base_index(),
                    log.base_term()
                ))
                .nodes([id]));
            }
            term = next;
        }
    }
    if let Some((term, before)) = &c.memory.matched[id.0] {
        if node.role() == Role::Leader && node.term() == *term {
            for (peer, &m) in before {
                let now = node.match_index().get(peer).copied().unwrap_or(0);
                if now < m {
                    return Err(Broken::new(format!(
                        "{id} leads term {term}, and its match_index for {peer} went back from \
                         {m} to {now}"
                    ))
                    .nodes([id, *peer]));
                }
            }
        }
    }
    Ok(())
}

/// Whether the node sent anything in this step.
fn sent_any<N: Observed>(step: Step<'_, N>, id: NodeId) -> bool {
    step.caused()
        .iter()
        .any(|e| matches!(&e.event, Event::Send { from, .. } if *from == id))
}

fn saved<N: Observed>(c: &Ctx<'_, N>) -> Result<(), Broken> {
    let (id, node) = (c.id, c.node);
    if !sent_any(c.step, id) {
        return Ok(());
    }
    let storage = c.sim.storage(id);
    // Term and vote: checked once the node stores them at all (persist
    // writes nothing until its step).
    if let Some(term) = storage.get::<Term>("term") {
        let vote: Option<NodeId> = storage.get::<Option<NodeId>>("voted_for").flatten();
        if (term, vote) != (node.term(), node.voted_for()) {
            return Err(Broken::new(format!(
                "{id} sent a message in term {} having voted for {:?}, but its storage says term \
                 {term}, vote {vote:?}",
                node.term(),
                node.voted_for()
            ))
            .nodes([id]));
        }
    }
    let log = node.log();
    if c.before.is_some_and(|b| b.log_changed(log)) {
        if let Some(index) = unsaved(storage, log) {
            return Err(Broken::new(format!(
                "{id}'s log changed (it now runs after index {} to index {}) and it sent a \
                 message, but its storage holds a log from {:?} to {:?}, and at index {index} \
                 {:?}, not {:?}",
                log.base_index(),
                log.last_index(),
                storage.get::<StoredBounds>("log").map(|b| b.index),
                storage.get::<StoredBounds>("log").map(|b| b.last),
                storage.get::<Entry<u64>>(&format!("log/{index}")),
                log.get(index)
            ))
            .nodes([id]));
        }
    }
    Ok(())
}

/// Where the log on storage starts and ends (as `Log::save` writes it
/// under "log").
#[derive(Deserialize)]
struct StoredBounds {
    index: Index,
    last: Index,
}

/// The first index at which the log on storage (as `Log::save` writes it)
/// differs from `log`: an entry missing or another, or one past its end
/// still there. Entries of a prepared log were never saved: skipped.
fn unsaved(storage: &Storage, log: &Log<u64>) -> Option<Index> {
    let bounds = storage.get::<StoredBounds>("log");
    if bounds.is_none_or(|b| (b.index, b.last) != (log.base_index(), log.last_index())) {
        return Some(log.base_index());
    }
    if log.base_index() > 0
        && storage
            .get::<Entry<u64>>(&format!("log/{}", log.base_index()))
            .is_some()
    {
        return Some(log.base_index());
    }
    let prepared = |e: &Entry<u64>| matches!(e.payload, Payload::Command(c) if c >= PREPARED);
    for index in log.base_index() + 1..=log.last_index() {
        let held = log.get(index).filter(|e| !prepared(e));
        if held.is_some() && storage.get::<Entry<u64>>(&format!("log/{index}")).as_ref() != held {
            return Some(index);
        }
    }
    let after = log.last_index() + 1;
    storage
        .get::<Entry<u64>>(&format!("log/{after}"))
        .map(|_| after)
}

fn snapshot_when_due<N: Observed>(c: &Ctx<'_, N>) -> Result<(), Broken> {
    let (Some(before), Some(limit)) = (c.before, c.node.options().snapshot_after) else {
        return Ok(());
    };
    let installed = matches!(
        c.step.trigger_event(),
        Some(Event::Deliver {
            msg: Msg::InstallSnapshot(_),
            ..
        })
    );
    let log = c.node.log();
    if installed || log.base_index() <= before.base {
        return Ok(());
    }
    let held = log.last_index() - before.base;
    let applied = c.node.recorder().through();
    if held as usize > limit && log.base_index() == applied {
        return Ok(());
    }
    Err(Broken::new(format!(
        "{} compacted its log through index {} when it held {held} entries (snapshot_after is \
         {limit}) and had applied up to {applied}",
        c.id,
        log.base_index()
    ))
    .nodes([c.id]))
}

fn installed<N: Observed>(c: &Ctx<'_, N>) -> Result<(), Broken> {
    let Some(Event::Deliver {
        from,
        msg: Msg::InstallSnapshot(request),
        ..
    }) = c.step.trigger_event()
    else {
        return Ok(());
    };
    let Some(before) = c.before.filter(|b| request.term >= b.term) else {
        return Ok(());
    };
    let snapshot = &request.snapshot;
    let index = snapshot.last_included_index;
    let (node, log) = (c.node, c.node.log());
    let reply = c.step.caused().iter().find_map(|e| match &e.event {
        Event::Send {
            from: f,
            to,
            msg: Msg::AppendReply(r),
            ..
        } if *f == c.id && to == from => Some(r),
        _ => None,
    });
    let mut wrong = Vec::new();
    if reply.is_none_or(|r| !r.success || r.match_index != index) {
        wrong.push(format!("answered {reply:?}"));
    }
    if index > before.commit {
        let stored: Option<Snapshot> = c.sim.storage(c.id).get("snapshot");
        if (log.base_index(), log.base_term()) != (index, snapshot.last_included_term) {
            wrong.push(format!(
                "its log starts after index {} of term {}",
                log.base_index(),
                log.base_term()
            ));
        }
        if node.commit_index() != index || node.recorder().through() != index {
            wrong.push(format!(
                "its commit index is {} and its state machine is at {}",
                node.commit_index(),
                node.recorder().through()
            ));
        }
        if stored.as_ref() != Some(snapshot) {
            wrong.push("the snapshot under \"snapshot\" in its storage is another".to_string());
        }
    } else if node.commit_index() != before.commit {
        wrong.push(format!(
            "an older snapshot moved its commit index from {} to {}",
            before.commit,
            node.commit_index()
        ));
    }
    if wrong.is_empty() {
        return Ok(());
    }
    Err(Broken::new(format!(
        "{} installed a snapshot through index {index} (term {}) from {from} with its commit \
         index at {}: {}",
        c.id,
        snapshot.last_included_term,
        before.commit,
        wrong.join("; ")
    ))
    .nodes([c.id, *from]))
}

fn sent_at_once<N: Observed>(sim: &Sim<N>, step: Step<'_, N>) -> Result<(), Broken> {
    let Some(Event::Request {
        node: id,
        req: Request::Command(_),
        refused: false,
        ..
    }) = step.trigger_event()
    else {
        return Ok(());
    };
    let Some(node) = sim.node(*id).filter(|n| n.role() == Role::Leader) else {
        return Ok(());
    };
    let sent_to = |peer: NodeId| {
        step.caused().iter().any(|e| {
            matches!(&e.event, Event::Send { from, to, msg: Msg::AppendEntries(_) | Msg::InstallSnapshot(_), .. }
                if from == id && *to == peer)
        })
    };
    let missed: Vec<NodeId> = node
        .log()
        .config()
        .iter()
        .copied()
        .filter(|&p| p != *id && !sent_to(p))
        .collect();
    if missed.is_empty() {
        return Ok(());
    }
    Err(Broken::new(format!(
        "{id} took a command as leader but sent nothing to {missed:?} in that step"
    ))
    .nodes([*id]))
}
