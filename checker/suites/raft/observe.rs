//! What the checks read of a node, so that the same checks run on the
//! graded node and on the suite's known-wrong variants, and the properties
//! checked after every event.

use super::recorder::{Recorder, Subject};
use crate::subject::raft::Log;
use crate::subject::raft::{Index, Msg, Payload, Reply, Request, Role, Term, Timer};
use dscheck::Property;
use dsim::{Broken, Event, Fact, Node, NodeId, Sim, Step};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// What the checks need from a Raft node.
pub trait Observed:
    Node<Msg = Msg<u64>, Timer = Timer, Request = Request<u64>, Reply = Reply<u64>>
{
    fn role(&self) -> Role;
    fn term(&self) -> Term;
    fn voted_for(&self) -> Option<NodeId>;
    fn commit_index(&self) -> Index;
    fn log(&self) -> &Log<u64>;
    fn recorder(&self) -> &Recorder;
    /// The leader of its term, once known.
    fn leader(&self) -> Option<NodeId>;
    /// As a leader: the next index to send each follower.
    fn next_index(&self) -> &BTreeMap<NodeId, Index>;
    /// As a leader: how far each follower's log is known to match.
    fn match_index(&self) -> &BTreeMap<NodeId, Index>;
    /// Before the node starts: gives it a log of commands of these terms,
    /// and makes its term the last of them (a scenario's prepared state).
    fn prepare(&mut self, terms: &[Term]);
    /// How it is set up.
    fn options(&self) -> crate::subject::raft::Options;
}

/// The commands of prepared logs are numbered from here: no scenario's
/// command is this high, and prepared entries were never saved.
pub const PREPARED: u64 = 1 << 60;

/// Implements [`Observed`] for each node type given: the subject's node,
/// and the known-wrong variants of it (`raft/bugs/`), which have the same
/// fields.
macro_rules! observed {
    ($($node:ty),* $(,)?) => {$(
        impl $crate::raft::observe::Observed for $node {
            fn role(&self) -> $crate::subject::raft::Role {
                self.role
            }
            fn term(&self) -> $crate::subject::raft::Term {
                self.current_term
            }
            fn voted_for(&self) -> Option<dsim::NodeId> {
                self.voted_for
            }
            fn commit_index(&self) -> $crate::subject::raft::Index {
                self.commit_index
            }
            fn log(&self) -> &$crate::subject::raft::Log<u64> {
                &self.log
            }
            fn recorder(&self) -> &$crate::raft::recorder::Recorder {
                &self.state_machine
            }
            fn leader(&self) -> Option<dsim::NodeId> {
                self.leader
            }
            fn next_index(
                &self,
            ) -> &std::collections::BTreeMap<dsim::NodeId, $crate::subject::raft::Index> {
                &self.next_index
            }
            fn match_index(
                &self,
            ) -> &std::collections::BTreeMap<dsim::NodeId, $crate::subject::raft::Index> {
                &self.match_index
            }
            fn prepare(&mut self, terms: &[$crate::subject::raft::Term]) {
                for (i, &term) in terms.iter().enumerate() {
                    let payload = $crate::subject::raft::Payload::Command(
                        $crate::raft::observe::PREPARED + i as u64,
                    );
                    self.log.append($crate::subject::raft::Entry { term, payload });
                }
                self.current_term = terms.last().copied().unwrap_or(0);
            }
            fn options(&self) -> $crate::subject::raft::Options {
                self.options
            }
        }
    )*};
}
#[cfg(bugs)]
pub(crate) use observed;

observed!(Subject);

pub const ELECTION_SAFETY: Property = Property {
    name: "at most one leader per term (Election Safety)",
    hint: "a node grants at most one vote per term, and a candidate becomes leader only with \
           votes from a majority of its term; a vote counts only if it answers a RequestVote of \
           the candidate's current term",
    when: &[],
};
pub const ONE_VOTE: Property = Property {
    name: "a node votes for at most one candidate per term, even across a crash",
    hint: "a node remembers whom it voted for in the term: grant a vote only if voted_for is \
           None or already this candidate, and set voted_for when you grant it (a candidate has \
           voted for itself); observe_term clears it only for a newer term",
    when: &[(
        Fact::Restarted,
        "voted_for must be on storage (Raft::persist) before the Vote reply is sent, and read \
         back in restore: a restarted node must remember whom it voted for",
    )],
};
pub const LOG_MATCHING: Property = Property {
    name: "a follower accepts AppendEntries only if its entry at prev_log_index has \
           prev_log_term (Log Matching)",
    hint: "the consistency check compares terms, not only indices: succeed only if \
           log.term_at(prev_log_index) == Some(prev_log_term); an entry of another term there is \
           a conflict, answered with success false and retry_from",
    when: &[],
};
pub const STATE_MACHINE_SAFETY: Property = Property {
    name: "every node applies the same command at each index (State Machine Safety)",
    hint: "apply only committed entries; commit only entries of the leader's current term by \
           counting replicas (Figure 8); a follower commits min(leader_commit, index of the last \
           new entry)",
    when: &[],
};
pub const IN_ORDER: Property = Property {
    name: "each node applies committed entries once each, in index order",
    hint: "apply from last_applied + 1 up to commit_index, one index after the other, and never \
           apply an index twice",
    when: &[],
};
pub const COMMIT_MONOTONE: Property = Property {
    name: "a node's commit index never decreases",
    hint: "commit_index only grows: take max(commit_index, …) and ignore a snapshot older than \
           what is already committed",
    when: &[],
};
pub const COMMITTED_ENTRIES: Property = Property {
    name: "a committed entry never changes: every node that commits an index holds the same entry there",
    hint: "refuse AppendEntries from an older term; accept entries only after the consistency \
           check on prev_log_index/prev_log_term; on a conflict delete the entry and everything \
           after it; never delete an entry that matches",
    when: &[],
};
pub const LEADER_COMPLETENESS: Property = Property {
    name: "a new leader's log holds every committed entry (Leader Completeness)",
    hint: "the election restriction: grant a vote only if the candidate's last log term is \
           higher than yours, or equal with a last index at least as high",
    when: &[],
};

/// What the run has seen committed, shared by the checks and the scenario.
#[derive(Default)]
pub struct Ledger {
    /// Every command some node applied, by index, and the node that did first.
    pub applied: BTreeMap<Index, (u64, NodeId)>,
    /// The term of the entry at each commit index some node reached.
    pub committed_terms: BTreeMap<Index, (Term, NodeId)>,
    /// The leader of each term.
    pub leaders: BTreeMap<Term, NodeId>,
    /// A command applied where another node applied a different one:
    /// (index, first node, its command, this node, this command).
    conflict: Option<(Index, NodeId, u64, NodeId, u64)>,
}

pub type Shared = Rc<RefCell<Ledger>>;

/// Registers every safety property on `sim`, fed into `ledger`.
pub fn watch<N: Observed>(sim: &mut Sim<N>, ledger: &Shared) {
    let l = Rc::clone(ledger);
    sim.check(ELECTION_SAFETY, move |sim, _| {
        election_safety(sim, &mut l.borrow_mut())
    });
    // Each node's vote in each term, and the step in which it was cast.
    let mut votes: BTreeMap<(NodeId, Term), (NodeId, u64)> = BTreeMap::new();
    sim.check(ONE_VOTE, move |sim, step| {
        let Some(now) = step.trigger().map(|e| e.index) else {
            return Ok(());
        };
        for id in sim.ids() {
            let Some(node) = sim.node(id) else { continue };
            let Some(vote) = node.voted_for() else {
                continue;
            };
            let term = node.term();
            let (earlier, cast) = *votes.entry((id, term)).or_insert((vote, now));
            if earlier != vote {
                let how = if sim.fact(Fact::Restarted, &[id], Some(cast)) {
                    "then, after a restart, for"
                } else {
                    "then, without a restart in between, for"
                };
                return Err(Broken::new(format!(
                    "{id} voted for {earlier} in term {term}, {how} {vote}"
                ))
                .nodes([id])
                .events([cast]));
            }
        }
        Ok(())
    });
    sim.check(LOG_MATCHING, consistency_check);
    let l = Rc::clone(ledger);
    let mut cursors: Vec<Option<Cursor>> = vec![None; sim.len()];
    sim.check(IN_ORDER, move |sim, _| {
        in_order(sim, &mut cursors, &mut l.borrow_mut())
    });
    let l = Rc::clone(ledger);
    sim.check(STATE_MACHINE_SAFETY, move |sim, _| {
        let ledger = l.borrow();
        state_machine_safety(sim, &ledger)
    });
    let mut commits: Vec<Option<Index>> = vec![None; sim.len()];
    sim.check(COMMIT_MONOTONE, move |sim, _| {
        for id in sim.ids() {
            let now = sim.node(id).map(|n| n.commit_index());
            if let (Some(before), Some(now)) = (commits[id.0], now) {
                if now < before {
                    return Err(Broken::new(format!(
                        "{id}'s commit index went back from {before} to {now}"
                    ))
                    .nodes([id]));
                }
            }
            commits[id.0] = now;
        }
        Ok(())
    });
    let l = Rc::clone(ledger);
    sim.check(COMMITTED_ENTRIES, move |sim, _| {
        committed_entries(sim, &mut l.borrow_mut())
    });
    let l = Rc::clone(ledger);
    let mut checked_terms: BTreeMap<Term, NodeId> = BTreeMap::new();
    sim.check(LEADER_COMPLETENESS, move |sim, _| {
        leader_completeness(sim, &l.borrow(), &mut checked_terms)
    });
    super::rules::watch_rules(sim);
    super::node_state::watch_node_state(sim);
}

/// A follower that answers AppendEntries with success holds, at
/// `prev_log_index`, an entry of `prev_log_term` (an index inside its
/// snapshot is committed, and not compared).
fn consistency_check<N: Observed>(sim: &Sim<N>, step: Step<'_, N>) -> Result<(), Broken> {
    let Some(Event::Deliver {
        from: leader,
        to,
        msg: Msg::AppendEntries(request),
        ..
    }) = step.trigger_event()
    else {
        return Ok(());
    };
    let accepted = step.caused().iter().any(|e| {
        matches!(&e.event, Event::Send { from, msg: Msg::AppendReply(r), .. }
            if from == to && r.success)
    });
    let Some(node) = sim.node(*to).filter(|_| accepted) else {
        return Ok(());
    };
    let prev = request.prev_log_index;
    let held = node.log().term_at(prev);
    if prev < node.log().base_index() || held == Some(request.prev_log_term) {
        return Ok(());
    }
    let own = match held {
        Some(term) => format!("its own entry at index {prev} is of term {term}"),
        None => format!("its log ends at index {}", node.log().last_index()),
    };
    Err(Broken::new(format!(
        "{to} accepted AppendEntries from {leader} with prev_log_index {prev} and prev_log_term \
         {}, but {own}\n{}",
        request.prev_log_term,
        side_by_side(sim, &[*leader, *to], prev)
    ))
    .nodes([*leader, *to]))
}

fn election_safety<N: Observed>(sim: &Sim<N>, ledger: &mut Ledger) -> Result<(), Broken> {
    for id in sim.ids() {
        let Some(node) = sim.node(id) else { continue };
        if node.role() != Role::Leader {
            continue;
        }
        let first = *ledger.leaders.entry(node.term()).or_insert(id);
        if first != id {
            return Err(Broken::new(format!(
                "{first} and {id} both became leader of term {}",
                node.term()
            ))
            .nodes([first, id]));
        }
    }
    Ok(())
}

/// How far the checks have read one node's recorder.
#[derive(Clone, Copy)]
struct Cursor {
    base: Index,
    seen: usize,
    last: Index,
}

/// Reads the commands each node applied since the last event: their
/// indices must rise, and they go into the ledger (the first node to apply
/// an index sets what every other must apply there).
fn in_order<N: Observed>(
    sim: &Sim<N>,
    cursors: &mut [Option<Cursor>],
    ledger: &mut Ledger,
) -> Result<(), Broken> {
    for id in sim.ids() {
        let Some(node) = sim.node(id) else {
            cursors[id.0] = None;
            continue;
        };
        let recorder = node.recorder();
        let fresh = Cursor {
            base: recorder.base,
            seen: 0,
            last: recorder.base,
        };
        let mut cursor = match cursors[id.0] {
            Some(c) if c.base == recorder.base && c.seen <= recorder.applied.len() => c,
            _ => fresh,
        };
        for &(index, command) in &recorder.applied[cursor.seen..] {
            if index <= cursor.last {
                return Err(Broken::new(format!(
                    "{id} applied index {index} after index {}",
                    cursor.last
                ))
                .nodes([id]));
            }
            cursor.last = index;
            let (first, by) = *ledger.applied.entry(index).or_insert((command, id));
            if first != command && ledger.conflict.is_none() {
                ledger.conflict = Some((index, by, first, id, command));
            }
        }
        cursor.seen = recorder.applied.len();
        cursors[id.0] = Some(cursor);
    }
    Ok(())
}

fn state_machine_safety<N: Observed>(sim: &Sim<N>, ledger: &Ledger) -> Result<(), Broken> {
    let Some((index, by, first, id, command)) = ledger.conflict else {
        return Ok(());
    };
    Err(Broken::new(format!(
        "at index {index}, {by} applied command {first} but {id} applied command {command}\n{}",
        side_by_side(sim, &[by, id], index)
    ))
    .nodes([by, id]))
}

fn committed_entries<N: Observed>(sim: &Sim<N>, ledger: &mut Ledger) -> Result<(), Broken> {
    for id in sim.ids() {
        let Some(node) = sim.node(id) else { continue };
        let commit = node.commit_index();
        if commit == 0 {
            continue;
        }
        let Some(term) = node.log().term_at(commit) else {
            if commit > node.log().last_index() {
                return Err(Broken::new(format!(
                    "{id}'s commit index is {commit} but its log ends at {}\n{}",
                    node.log().last_index(),
                    side_by_side(sim, &[id], commit)
                ))
                .nodes([id]));
            }
            continue;
        };
        let (first, by) = *ledger.committed_terms.entry(commit).or_insert((term, id));
        if first != term {
            return Err(Broken::new(format!(
                "index {commit} is committed on {by} with an entry of term {first}, \
                 but on {id} with an entry of term {term}\n{}",
                side_by_side(sim, &[by, id], commit)
            ))
            .nodes([by, id]));
        }
    }
    Ok(())
}

fn leader_completeness<N: Observed>(
    sim: &Sim<N>,
    ledger: &Ledger,
    checked: &mut BTreeMap<Term, NodeId>,
) -> Result<(), Broken> {
    for id in sim.ids() {
        let Some(node) = sim.node(id) else { continue };
        if node.role() != Role::Leader || checked.contains_key(&node.term()) {
            continue;
        }
        checked.insert(node.term(), id);
        let log = node.log();
        for (&index, &(command, by)) in ledger.applied.range(log.base_index() + 1..) {
            let held = log.get(index).map(|e| &e.payload);
            if held != Some(&Payload::Command(command)) {
                return Err(Broken::new(format!(
                    "{id} became leader of term {} without the entry at index {index} \
                     (command {command}) that {by} had applied\n{}",
                    node.term(),
                    side_by_side(sim, &[by, id], index)
                ))
                .nodes([by, id]));
            }
        }
    }
    Ok(())
}

/// The logs of `nodes` around `index`, one column each.
pub fn side_by_side<N: Observed>(sim: &Sim<N>, nodes: &[NodeId], index: Index) -> String {
    let from = index.saturating_sub(3).max(1);
    let mut text = format!("{:>7}", "index");
    for id in nodes {
        let node = sim.node(*id);
        let state = node.map_or("down".to_string(), |n| {
            format!("term {}, commit {}", n.term(), n.commit_index())
        });
        text += &format!(" | {:<22}", format!("{id} ({state})"));
    }
    for i in from..=index + 3 {
        text += &format!("\n{}{i:>5}", if i == index { "→ " } else { "  " });
        for id in nodes {
            let cell = match sim.node(*id) {
                None => "".to_string(),
                Some(n) => describe(n.log(), i),
            };
            text += &format!(" | {cell:<22}");
        }
    }
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    lines.join("\n")
}

fn describe(log: &Log<u64>, index: Index) -> String {
    if index < log.base_index() {
        return "(in the snapshot)".to_string();
    }
    if index == log.base_index() {
        return format!("t{} (snapshot's last)", log.base_term());
    }
    match log.get(index) {
        None => "-".to_string(),
        Some(e) => match &e.payload {
            Payload::Command(c) => format!("t{} command {c}", e.term),
            Payload::Config(m) => format!("t{} config {m:?}", e.term),
            Payload::Noop => format!("t{} no-op", e.term),
        },
    }
}
