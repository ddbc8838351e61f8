//! The rules of Figure 2 about one node, checked in every step in which a
//! node handles a message: what it must do given its state just before
//! (recorded after its previous step) and what it received. The cluster
//! properties of `observe.rs` see a wrong rule only when it happens to
//! break safety; these see it the first time the rule is used.

mod leader;

use super::observe::Observed;
use crate::subject::raft::{AppendEntries, AppendReply, Index, Msg, Role, Term, Vote};
use dscheck::Property;
use dsim::{Broken, Entry, Event, NodeId, Sim, Step};
use leader::{leader_backs_up, leader_commit, leader_indices, leader_indices_on_reply};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

pub const VOTE_RULE: Property = Property {
    name: "a vote is granted exactly when the request's term is current, the voter has not \
           voted for another candidate in it, and the candidate's log is at least as up to date",
    hint: "observe_term first; then grant iff term == current_term, voted_for is None or this \
           candidate, and (last_log_term, last_log_index) >= (log.last_term(), log.last_index()): \
           a higher last term wins whatever the lengths, an equal last term needs an index at \
           least as high; answer with your current term",
    when: &[],
};
pub const NEWER_TERM: Property = Property {
    name: "a node that sees a newer term in any message (request or reply) adopts it and \
           becomes a follower",
    hint: "call observe_term(term) first in every handler: RequestVote, Vote, AppendEntries, \
           AppendReply and InstallSnapshot; it sets current_term, clears voted_for and leader, \
           and makes the node a follower, whatever its role",
    when: &[],
};
pub const FOLLOWS_LEADER: Property = Property {
    name: "a node that gets AppendEntries or InstallSnapshot of its term follows the sender; \
           one of an older term is refused with the newer term",
    hint: "after observe_term: term < current_term: reply success false (your term tells the old \
           leader to step down); otherwise follow(ctx, leader): a candidate of that term gives \
           up, role = Follower, leader = Some(sender)",
    when: &[],
};
pub const VOTES_OF_A_MAJORITY: Property = Property {
    name: "a candidate becomes leader only once granted votes of its term from a majority of \
           the members (its own included) have reached it",
    hint: "count a vote only if granted, only as a candidate, and only if its term is your \
           current term (a late vote of an earlier candidacy does not count); become leader \
           when is_quorum(&votes)",
    when: &[],
};
pub const LEADER_INDICES: Property = Property {
    name: "a leader starts its term with next_index = last index + 1 and match_index = 0 for \
           every follower, and keeps match_index < next_index <= last index + 1",
    hint: "become_leader resets both maps at every election (a leader of an earlier term knows \
           nothing of this one); on success match_index = max(old, reply's), next_index = \
           max(old, match_index + 1); on failure next_index = max(min(retry_from, next_index \
           - 1), match_index + 1)",
    when: &[],
};
pub const FOLLOWER_APPEND: Property = Property {
    name: "a follower that accepts AppendEntries holds every entry sent, answers match_index = \
           prev_log_index + the entries sent, and commits min(leader_commit, that index)",
    hint: "merge the entries (skip matching ones, truncate at the first conflict, append the \
           rest); reply match_index = prev_log_index + entries.len(); commit_index = \
           max(commit_index, min(leader_commit, prev_log_index + entries.len())), never the \
           last index of your log, which may hold entries the leader did not vouch for",
    when: &[],
};
pub const REFUSES_ONLY_CONFLICTS: Property = Property {
    name: "a follower refuses AppendEntries of its term only when its log lacks prev_log_term at \
           prev_log_index, and then says where to retry",
    hint: "refuse iff log.term_at(prev_log_index) != Some(prev_log_term); retry_from = \
           log.last_index() + 1 if prev_log_index is past your log, else \
           log.first_index_of_term_at(prev_log_index); change nothing else",
    when: &[],
};
pub const LEADER_BACKS_UP: Property = Property {
    name: "a leader refused by a follower moves next_index back (to retry_from at most, never \
           to match_index or below) and sends again at once",
    hint: "on a failed AppendReply of your term: next_index = max(min(retry_from, next_index - \
           1), match_index + 1), then replicate_to(follower) in the same handler",
    when: &[],
};
pub const LEADER_COMMIT: Property = Property {
    name: "a leader commits the highest index of its term held by a majority, as soon as a \
           reply shows it, and never an index a majority does not hold",
    hint: "after each successful AppendReply: for n from the last index down to commit_index + \
           1 while log.term_at(n) is the current term, commit n if the followers with \
           match_index >= n plus yourself (a member) are a quorum",
    when: &[],
};

/// A node's state after its last step.
struct Seen {
    term: Term,
    voted_for: Option<NodeId>,
    role: Role,
    commit: Index,
    last: Index,
    next: BTreeMap<NodeId, Index>,
    matched: BTreeMap<NodeId, Index>,
}

impl Seen {
    fn of<N: Observed>(node: &N) -> Self {
        Seen {
            term: node.term(),
            voted_for: node.voted_for(),
            role: node.role(),
            commit: node.commit_index(),
            last: node.log().last_index(),
            next: node.next_index().clone(),
            matched: node.match_index().clone(),
        }
    }
}

/// What the rules remember between steps.
#[derive(Default)]
struct Memory {
    /// Shared with each rule's view of a step: one snapshot per step, not
    /// one copy of it per rule.
    seen: Vec<Option<Rc<Seen>>>,
    /// The voters whose granted votes reached each (candidate, term).
    votes: BTreeMap<(NodeId, Term), BTreeSet<NodeId>>,
}

type Shared = Rc<RefCell<Memory>>;

/// A delivery in this step: (sender, receiver, message), its node's state
/// before, and the node now.
struct Handled<'a, N: Observed> {
    from: NodeId,
    to: NodeId,
    msg: &'a Msg<u64>,
    before: Rc<Seen>,
    node: &'a N,
    caused: &'a [Entry<N>],
}

impl<'a, N: Observed> Handled<'a, N> {
    fn of(sim: &'a Sim<N>, step: Step<'a, N>, memory: &Shared) -> Option<Self> {
        let Some(Event::Deliver { from, to, msg, .. }) = step.trigger_event() else {
            return None;
        };
        let before = memory.borrow().seen.get(to.0).cloned().flatten()?;
        Some(Handled {
            from: *from,
            to: *to,
            msg,
            before,
            node: sim.node(*to)?,
            caused: step.caused(),
        })
    }

    /// The messages this node sent back to the sender in this step.
    fn replies(&self) -> impl Iterator<Item = &'a Msg<u64>> + '_ {
        self.caused.iter().filter_map(move |e| match &e.event {
            Event::Send { from, to, msg, .. } if *from == self.to && *to == self.from => Some(msg),
            _ => None,
        })
    }

    fn append_reply(&self) -> Option<&'a AppendReply> {
        self.replies().find_map(|m| match m {
            Msg::AppendReply(r) => Some(r),
            _ => None,
        })
    }

    fn broken(&self, detail: String) -> Broken {
        Broken::new(format!(
            "{} got {:?} from {} in term {} as {:?}: {detail}",
            self.to, self.msg, self.from, self.before.term, self.before.role
        ))
        .nodes([self.to, self.from])
    }
}

/// The term a message carries.
fn term_of(msg: &Msg<u64>) -> Term {
    match msg {
        Msg::RequestVote(r) => r.term,
        Msg::Vote(v) => v.term,
        Msg::AppendEntries(r) => r.term,
        Msg::AppendReply(r) => r.term,
        Msg::InstallSnapshot(r) => r.term,
    }
}

/// Registers the rules on `sim`.
pub fn watch_rules<N: Observed>(sim: &mut Sim<N>) {
    let memory: Shared = Rc::default();
    memory.borrow_mut().seen = vec![None; sim.len()];
    type Rule<N> = fn(&Handled<'_, N>, &Shared) -> Result<(), Broken>;
    let rules: [(Property, Rule<N>); 9] = [
        (NEWER_TERM, newer_term),
        (VOTE_RULE, vote_rule),
        (FOLLOWS_LEADER, follows_leader),
        (VOTES_OF_A_MAJORITY, votes_of_a_majority),
        (REFUSES_ONLY_CONFLICTS, refuses_only_conflicts),
        (FOLLOWER_APPEND, follower_append),
        (LEADER_BACKS_UP, leader_backs_up),
        (LEADER_COMMIT, leader_commit),
        (LEADER_INDICES, leader_indices_on_reply),
    ];
    for (property, rule) in rules {
        let m = Rc::clone(&memory);
        sim.check(property, move |sim, step| {
            match Handled::of(sim, step, &m) {
                Some(handled) => rule(&handled, &m),
                None => Ok(()),
            }
        });
    }
    let m = Rc::clone(&memory);
    sim.check(LEADER_INDICES, move |sim, step| {
        let result = leader_indices(sim, step, &m.borrow());
        remember(sim, step, &mut m.borrow_mut());
        result
    });
}

/// Records the state of the node that handled the step (or forgets a
/// crashed one).
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
    memory.seen[id.0] = sim.node(id).map(|node| Rc::new(Seen::of(node)));
}

fn newer_term<N: Observed>(h: &Handled<'_, N>, _: &Shared) -> Result<(), Broken> {
    let term = term_of(h.msg);
    let now = (h.node.term(), h.node.role());
    if term > h.before.term && now != (term, Role::Follower) {
        return Err(h.broken(format!(
            "its term is now {} and its role {:?}, not term {term} as a follower",
            now.0, now.1
        )));
    }
    let is_vote_request = matches!(h.msg, Msg::RequestVote(_));
    if term > h.before.term && !is_vote_request && h.node.voted_for().is_some() {
        return Err(h.broken(format!(
            "it adopted term {term} but kept voted_for {:?}: a new term has no vote yet",
            h.node.voted_for()
        )));
    }
    if term <= h.before.term && now.0 != h.before.term {
        return Err(h.broken(format!(
            "a message of term {term} changed its term to {}",
            now.0
        )));
    }
    Ok(())
}

fn vote_rule<N: Observed>(h: &Handled<'_, N>, _: &Shared) -> Result<(), Broken> {
    let Msg::RequestVote(request) = h.msg else {
        return Ok(());
    };
    let newer = request.term > h.before.term;
    let free = newer || h.before.voted_for.is_none_or(|v| v == h.from);
    let log = h.node.log();
    let up_to_date =
        (request.last_log_term, request.last_log_index) >= (log.last_term(), log.last_index());
    let grant = request.term >= h.before.term && free && up_to_date;
    let expected = Vote {
        term: request.term.max(h.before.term),
        granted: grant,
    };
    let vote = h.replies().find_map(|m| match m {
        Msg::Vote(v) => Some(v),
        _ => None,
    });
    if vote != Some(&expected) {
        let why = format!(
            "its log ends at index {} of term {}, it had voted for {:?}",
            log.last_index(),
            log.last_term(),
            h.before.voted_for
        );
        return Err(h.broken(format!(
            "{why}; it should answer {expected:?}, but answered {vote:?}"
        )));
    }
    if grant && h.node.voted_for() != Some(h.from) {
        return Err(h.broken(format!(
            "it granted its vote but voted_for is {:?}",
            h.node.voted_for()
        )));
    }
    Ok(())
}

fn follows_leader<N: Observed>(h: &Handled<'_, N>, _: &Shared) -> Result<(), Broken> {
    let term = match h.msg {
        Msg::AppendEntries(r) => r.term,
        Msg::InstallSnapshot(r) => r.term,
        _ => return Ok(()),
    };
    if term >= h.before.term {
        let now = (h.node.role(), h.node.leader());
        if now != (Role::Follower, Some(h.from)) {
            return Err(h.broken(format!(
                "it is now {:?} with leader {:?}, not a follower of {}",
                now.0, now.1, h.from
            )));
        }
        return Ok(());
    }
    match h.append_reply() {
        Some(r) if !r.success && r.term == h.before.term => Ok(()),
        other => Err(h.broken(format!(
            "a request of an older term must be refused with term {}, but the answer was {other:?}",
            h.before.term
        ))),
    }
}

fn votes_of_a_majority<N: Observed>(h: &Handled<'_, N>, memory: &Shared) -> Result<(), Broken> {
    if let Msg::Vote(Vote {
        term,
        granted: true,
    }) = h.msg
    {
        let mut memory = memory.borrow_mut();
        memory
            .votes
            .entry((h.to, *term))
            .or_default()
            .insert(h.from);
    }
    let became = h.before.role != Role::Leader && h.node.role() == Role::Leader;
    if !became {
        return Ok(());
    }
    let term = h.node.term();
    let mut voters = memory
        .borrow()
        .votes
        .get(&(h.to, term))
        .cloned()
        .unwrap_or_default();
    voters.insert(h.to);
    let config = h.node.log().config();
    let present = config.iter().filter(|m| voters.contains(m)).count();
    if 2 * present > config.len() {
        return Ok(());
    }
    Err(h.broken(format!(
        "it became leader of term {term} with votes of that term from {voters:?} only, of the \
         members {config:?}"
    )))
}

fn refuses_only_conflicts<N: Observed>(h: &Handled<'_, N>, _: &Shared) -> Result<(), Broken> {
    let Msg::AppendEntries(request) = h.msg else {
        return Ok(());
    };
    let Some(reply) = h.append_reply() else {
        return Ok(());
    };
    if reply.success || request.term < h.before.term {
        return Ok(());
    }
    let log = h.node.log();
    let prev = request.prev_log_index;
    if prev < log.base_index() || log.term_at(prev) == Some(request.prev_log_term) {
        return Err(h.broken(format!(
            "its log holds term {:?} at index {prev} (its snapshot ends at {}), yet it refused",
            log.term_at(prev),
            log.base_index()
        )));
    }
    let retry = if prev > log.last_index() {
        log.last_index() + 1
    } else {
        log.first_index_of_term_at(prev)
    };
    if reply.retry_from != retry {
        return Err(h.broken(format!(
            "its log ends at index {} (term {:?} at {prev}); it should say retry_from {retry}, \
             not {}",
            log.last_index(),
            log.term_at(prev),
            reply.retry_from
        )));
    }
    Ok(())
}

fn follower_append<N: Observed>(h: &Handled<'_, N>, _: &Shared) -> Result<(), Broken> {
    let Msg::AppendEntries(request) = h.msg else {
        return Ok(());
    };
    let Some(reply) = h.append_reply().filter(|r| r.success) else {
        return Ok(());
    };
    let AppendEntries {
        prev_log_index: prev,
        entries,
        leader_commit,
        ..
    } = request;
    let log = h.node.log();
    if *prev < log.base_index() {
        return Ok(()); // partly inside its snapshot: committed already
    }
    let last_new = prev + entries.len() as Index;
    for (index, entry) in (prev + 1..).zip(entries) {
        if index < log.base_index() {
            continue; // compacted in the same step, once applied
        }
        if log.term_at(index) != Some(entry.term) {
            return Err(h.broken(format!(
                "it answered success but holds term {:?} at index {index}, where the leader sent \
                 an entry of term {}",
                log.term_at(index),
                entry.term
            )));
        }
    }
    let commit = h.before.commit.max(*leader_commit.min(&last_new));
    if reply.match_index != last_new || h.node.commit_index() != commit {
        return Err(h.broken(format!(
            "it answered match_index {} and its commit index went from {} to {}; it should be \
             match_index {last_new} and commit index {commit}",
            reply.match_index,
            h.before.commit,
            h.node.commit_index()
        )));
    }
    Ok(())
}
