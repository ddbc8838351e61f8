//! The rules of the leader: how it backs up, commits and keeps its
//! indices for each follower.

use super::{Handled, Memory, Shared};
use crate::raft::observe::Observed;
use crate::subject::raft::{AppendReply, Index, Msg, Role};
use dsim::{Broken, Event, NodeId, Sim, Step};

/// The leader's indices for `peer` (match_index 0 if it has none).
fn indices<N: Observed>(node: &N, peer: NodeId) -> (Option<Index>, Index) {
    let next = node.next_index().get(&peer).copied();
    let matched = node.match_index().get(&peer).copied().unwrap_or(0);
    (next, matched)
}

/// A reply of this leader's term from a follower: the rules of the leader.
fn leader_reply<'a, N: Observed>(h: &'a Handled<'_, N>) -> Option<&'a AppendReply> {
    let Msg::AppendReply(reply) = h.msg else {
        return None;
    };
    let current = h.before.role == Role::Leader && reply.term == h.before.term;
    current.then_some(reply)
}

pub(super) fn leader_backs_up<N: Observed>(h: &Handled<'_, N>, _: &Shared) -> Result<(), Broken> {
    let Some(reply) = leader_reply(h).filter(|r| !r.success) else {
        return Ok(());
    };
    let f = h.from;
    let before_next = h.before.next.get(&f).copied();
    let before_match = h.before.matched.get(&f).copied().unwrap_or(0);
    let (next, _) = indices(h.node, f);
    let ceiling = reply.retry_from.max(before_match + 1);
    let floor = before_match + 1;
    let moved_back = match (before_next, next) {
        (Some(b), Some(n)) => n < b || b <= floor,
        (_, n) => n.is_some(),
    };
    let sent = h
        .replies()
        .any(|m| matches!(m, Msg::AppendEntries(_) | Msg::InstallSnapshot(_)));
    let ok = moved_back && next.is_some_and(|n| n <= ceiling && n >= floor) && sent;
    if ok {
        return Ok(());
    }
    Err(h.broken(format!(
        "next_index for {f} went from {before_next:?} to {next:?} (match_index {before_match}, \
         retry_from {}), and it {} again at once",
        reply.retry_from,
        if sent { "sent" } else { "did not send" }
    )))
}

pub(super) fn leader_commit<N: Observed>(h: &Handled<'_, N>, _: &Shared) -> Result<(), Broken> {
    let Some(reply) = leader_reply(h) else {
        return Ok(());
    };
    let node = h.node;
    let log = node.log();
    if log.base_index() > h.before.commit {
        return Ok(()); // compacted past what it knew before: terms are gone
    }
    let config = log.config();
    let held_by_majority = |n: Index| {
        let holders = config
            .iter()
            .filter(|&&m| m == h.to || indices(node, m).1 >= n)
            .count();
        2 * holders > config.len()
    };
    let mut expected = h.before.commit;
    if reply.success {
        for n in (h.before.commit + 1..=log.last_index()).rev() {
            if log.term_at(n) != Some(h.before.term) {
                break;
            }
            if held_by_majority(n) {
                expected = n;
                break;
            }
        }
    }
    let commit = node.commit_index();
    if commit == expected {
        return Ok(());
    }
    Err(h.broken(format!(
        "its commit index went from {} to {commit}, but the highest index of its term that \
         a majority of {config:?} holds (match_index {:?}) is {expected}",
        h.before.commit,
        node.match_index()
    )))
}

pub(super) fn leader_indices_on_reply<N: Observed>(
    h: &Handled<'_, N>,
    _: &Shared,
) -> Result<(), Broken> {
    let Some(reply) = leader_reply(h).filter(|r| r.success) else {
        return Ok(());
    };
    let f = h.from;
    let before_match = h.before.matched.get(&f).copied().unwrap_or(0);
    let before_next = h.before.next.get(&f).copied().unwrap_or(0);
    let (next, matched) = indices(h.node, f);
    let expected = before_match.max(reply.match_index);
    if matched == expected && next.is_some_and(|n| n >= before_next) {
        return Ok(());
    }
    Err(h.broken(format!(
        "match_index for {f} went from {before_match} to {matched} (expected {expected}) and \
         next_index from {before_next} to {next:?}: a success never moves either back"
    )))
}

/// After every step: a leader's indices are in bounds, and were reset if it
/// just became leader.
pub(super) fn leader_indices<N: Observed>(
    sim: &Sim<N>,
    step: Step<'_, N>,
    memory: &Memory,
) -> Result<(), Broken> {
    let Some(id) = step.trigger_event().and_then(Event::handled_by) else {
        return Ok(());
    };
    let Some(node) = sim.node(id).filter(|n| n.role() == Role::Leader) else {
        return Ok(());
    };
    let seen = memory.seen[id.0].as_ref();
    let was_leader = seen.is_some_and(|s| s.role == Role::Leader && s.term == node.term());
    let last = node.log().last_index();
    // A leader may append (a no-op, say) as it takes office: next_index is
    // then its last index before that, + 1, or after.
    let last_before = seen.map_or(last, |s| s.last.min(last));
    for &peer in node.log().config().iter().filter(|&&p| p != id) {
        let (next, matched) = indices(node, peer);
        let fresh = next.is_none_or(|n| n > last_before && n <= last + 1) && matched == 0;
        let bounded = next.is_none_or(|n| matched < n && n <= last + 1);
        if (was_leader || fresh) && bounded {
            continue;
        }
        let what = if was_leader {
            format!("match_index < next_index <= {} fails", last + 1)
        } else {
            format!(
                "it just became leader of term {}: they must be {} and 0",
                node.term(),
                last + 1
            )
        };
        return Err(Broken::new(format!(
            "{id} leads with next_index {next:?} and match_index {matched} for {peer}: {what}"
        ))
        .nodes([id, peer]));
    }
    Ok(())
}
