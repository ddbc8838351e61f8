//! The properties of two-phase commit, in plain words, as functions of a
//! snapshot of the system, so that a simulation (after every event) and an
//! exploration (in every state) check exactly the same thing.

use super::observed::{Observed, Outcome};
use dscheck::Property;
use dsim::{Broken, Event, Fact, NodeId, Sim, View};
use std::collections::BTreeMap;

pub const ATOMIC: Property = Property {
    name: "no participant commits while another aborts",
    hint: "only the coordinator decides between commit and abort; a participant applies what it \
           is told, or aborts by itself only before it has voted yes",
    when: &[],
};
pub const VOTE_KEPT: Property = Property {
    name: "a participant remembers the vote it sent, even across a crash",
    hint: "set vote when the participant votes, before sending it, and never clear it: a second \
           Prepare gets the same vote, and a yes vote is what makes it wait for the decision",
    when: &[(
        Fact::Restarted,
        "a restarted participant must know how it voted: log the vote (log_vote) before sending \
         it, and reload it (logged_vote) in on_start",
    )],
};
pub const VALID: Property = Property {
    name: "a transaction commits only if every participant voted yes",
    hint: "the coordinator commits only when it holds a yes vote from every participant \
           (ctx.peers().len() of them), never on a majority",
    when: &[],
};
pub const WAITS: Property = Property {
    name: "a participant that voted yes decides only what the coordinator decided",
    hint: "after a yes vote a participant has given up its right to decide: it commits or aborts \
           only when the coordinator's Decide says so, never when it votes and never on a \
           timeout; until then it may only ask the coordinator again and wait",
    when: &[],
};
pub const STABLE: Property = Property {
    name: "a decision, once made, is never changed or forgotten",
    hint: "log the decision (log_decision) before telling anyone, and on restart reload it from \
           ctx.storage() in on_start: a restarted node must know what it decided",
    when: &[],
};
pub const RESENDS_PREPARE: Property = Property {
    name: "a lost Prepare costs only time: with every participant able to commit and reachable \
           again well before the vote timeout, the transaction commits",
    hint: "on begin, set the Resend timer (RETRY_AFTER) besides VoteTimeout, and on Resend send \
           Prepare again: a participant that never got it cannot vote, and the vote timeout \
           would abort a transaction everyone could commit",
    when: &[],
};
pub const DECIDES: Property = Property {
    name: "every participant decides once the network and the nodes recover",
    hint: "lost messages must be sent again: the coordinator resends Prepare and Decide on its \
           Resend timer until answered, a prepared participant resends its yes vote, and the \
           coordinator answers a vote that arrives after the decision with the decision",
    when: &[],
};
pub const OUTCOME: Property = Property {
    name: "a reliable run commits exactly when every participant can commit",
    hint: "on a network that loses nothing, every vote arrives before the timeout: commit when \
           all are yes, abort on the first no",
    when: &[],
};
pub const REPLIES: Property = Property {
    name: "the client is told the outcome the coordinator decided",
    hint: "reply to the client with the decision, once, when the coordinator decides",
    when: &[],
};
pub const BLOCKS: Property = Property {
    name: "prepared participants wait while the coordinator is down",
    hint: "a participant that voted yes cannot know whether the coordinator committed: it must \
           wait for the coordinator, however long it is down",
    when: &[],
};
pub const ASKS: Property = Property {
    name: "a prepared participant keeps asking the coordinator for the outcome",
    hint: "while it has voted yes and knows no decision, a participant sends its yes vote to the \
           coordinator again every RETRY_AFTER: on_prepare and on_start set Inquire when \
           is_blocked(), and on_inquire sends the vote and sets Inquire again",
    when: &[],
};
pub const PRESUMED_ABORT: Property = Property {
    name: "a coordinator that restarts without a logged decision aborts",
    hint: "presumed abort: in on_start, a transaction that began (logged_begun) but has no \
           logged decision cannot have committed anywhere, so decide Abort; do not count the \
           votes again",
    when: &[],
};
pub const TIMES_OUT: Property = Property {
    name: "a vote that does not come in time counts as a no",
    hint: "start the VoteTimeout when the transaction begins; when it fires before every yes \
           has arrived, decide Abort and tell the client",
    when: &[],
};
pub const QUIET: Property = Property {
    name: "once every participant has acknowledged the decision, nothing more is sent",
    hint: "record each Ack (acks.insert(from)) and resend Decide only to participants missing \
           from acks; a participant acknowledges every Decide, even a copy, and a decided \
           participant stops asking",
    when: &[],
};
pub const REACHES: Property = Property {
    name: "both all-commit and all-abort runs are reachable",
    hint: "commit when every vote is yes; abort when a vote is no or missing at the timeout",
    when: &[],
};

/// What the checks see of one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub id: NodeId,
    pub up: bool,
    /// The node's decision while it is up; its logged decision while down.
    pub decision: Option<Outcome>,
    pub vote: Option<bool>,
    pub logged: Option<Outcome>,
}

/// What the checks see of the system; the coordinator is `nodes[0]`.
pub type Snapshot = Vec<Seen>;

fn seen<N: Observed>(id: NodeId, node: Option<&N>, storage: &dsim::Storage) -> Seen {
    let logged = N::logged(storage);
    Seen {
        id,
        up: node.is_some(),
        decision: node.map_or(logged, N::decision),
        vote: node.and_then(N::vote),
        logged,
    }
}

pub fn of_sim<N: Observed>(sim: &Sim<N>) -> Snapshot {
    sim.ids()
        .map(|id| seen(id, sim.node(id), sim.storage(id)))
        .collect()
}

pub fn of_view<N: Observed>(view: &View<N>) -> Snapshot {
    view.ids()
        .map(|id| seen(id, view.node(id), view.storage(id)))
        .collect()
}

fn show(s: &Snapshot) -> String {
    s.iter()
        .map(|n| match n.decision {
            Some(d) => format!("{}: {d:?}", n.id),
            None => format!("{}: undecided", n.id),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn atomic(s: &Snapshot) -> Result<(), Broken> {
    let commit = s.iter().find(|n| n.decision == Some(Outcome::Commit));
    let abort = s.iter().find(|n| n.decision == Some(Outcome::Abort));
    match (commit, abort) {
        (Some(c), Some(a)) => Err(Broken::new(format!(
            "{} committed while {} aborted ({})",
            c.id,
            a.id,
            show(s)
        ))
        .nodes([c.id, a.id])),
        _ => Ok(()),
    }
}

/// The coordinator's commit, checked against the participants' votes.
/// `can_commit[i]`: whether participant `i` can commit (index 0, the
/// coordinator, unused). A participant that commits on its own breaks
/// [`WAITS`] instead: the coordinator did nothing wrong.
pub fn valid(s: &Snapshot, can_commit: &[bool]) -> Result<(), Broken> {
    let coordinator = &s[0];
    if coordinator.decision != Some(Outcome::Commit) {
        return Ok(());
    }
    for n in &s[1..] {
        let voted_yes = n.vote == Some(true) || (!n.up && can_commit[n.id.0]);
        if !can_commit[n.id.0] || !voted_yes {
            let why = if can_commit[n.id.0] {
                format!("holds no yes vote (its vote: {:?})", n.vote)
            } else {
                "cannot commit (it votes no)".to_string()
            };
            return Err(
                Broken::new(format!("{} committed, but {} {why}", coordinator.id, n.id))
                    .nodes([coordinator.id, n.id]),
            );
        }
    }
    Ok(())
}

pub fn waits(s: &Snapshot) -> Result<(), Broken> {
    let coordinator = s[0].logged.or(if s[0].up { s[0].decision } else { None });
    for n in &s[1..] {
        if let (true, Some(true), Some(d)) = (n.up, n.vote, n.decision) {
            if coordinator != Some(d) {
                return Err(Broken::new(format!(
                    "{} voted yes and decided {d:?}, but the coordinator has decided {}",
                    n.id,
                    coordinator.map_or("nothing".to_string(), |c| format!("{c:?}"))
                ))
                .nodes([NodeId(0), n.id]));
            }
        }
    }
    Ok(())
}

pub fn stable(before: &Snapshot, after: &Snapshot) -> Result<(), Broken> {
    for (b, a) in before.iter().zip(after) {
        if let Some(d) = b.decision {
            if a.decision != Some(d) {
                let now = a
                    .decision
                    .map_or("undecided".to_string(), |x| format!("{x:?}"));
                return Err(Broken::new(format!(
                    "{} had decided {d:?} and is now {now}{}",
                    a.id,
                    if b.up { "" } else { " after its restart" }
                ))
                .nodes([a.id]));
            }
        }
    }
    Ok(())
}

/// Registers the safety properties on a simulation, checked after every
/// event, and the coordinator's promptness ([`super::prompt`]). What a
/// participant did comes first ([`VOTE_KEPT`], [`WAITS`]): the checks of
/// the transaction ([`ATOMIC`], [`VALID`]) read the votes from its state.
pub fn watch<N: Observed>(sim: &mut Sim<N>, can_commit: Vec<bool>) {
    // Each participant's last vote sent, and the event that sent it.
    let mut sent: BTreeMap<NodeId, (bool, u64)> = BTreeMap::new();
    sim.check(VOTE_KEPT, move |sim, step| {
        for e in step {
            if let Event::Send { from, msg, .. } = &e.event {
                if let Some(yes) = N::vote_in(msg).filter(|_| *from != NodeId(0)) {
                    sent.insert(*from, (yes, e.index));
                }
            }
        }
        vote_kept(sim, &sent)
    });
    sim.check(WAITS, |sim, _| waits(&of_sim(sim)));
    // After WAITS: a participant that commits on its own next to one that
    // aborted breaks atomicity too, but the fault is its own.
    sim.check(ATOMIC, |sim, _| atomic(&of_sim(sim)));
    sim.check(VALID, move |sim, _| valid(&of_sim(sim), &can_commit));
    let mut before: Option<Snapshot> = None;
    sim.check(STABLE, move |sim, _| {
        let now = of_sim(sim);
        let result = before.as_ref().map_or(Ok(()), |b| stable(b, &now));
        before = Some(now);
        result
    });
    super::prompt::watch_prompt(sim);
}

/// Every participant that is up holds the vote it last sent.
fn vote_kept<N: Observed>(
    sim: &Sim<N>,
    sent: &BTreeMap<NodeId, (bool, u64)>,
) -> Result<(), Broken> {
    for (&id, &(yes, at)) in sent {
        let Some(vote) = sim.node(id).map(N::vote) else {
            continue;
        };
        if vote != Some(yes) {
            let when = if sim.fact(Fact::Restarted, &[id], Some(at)) {
                "and since its restart"
            } else {
                "but"
            };
            return Err(Broken::new(format!(
                "{id} sent the coordinator a {} vote, {when} its vote is {vote:?}",
                if yes { "yes" } else { "no" }
            ))
            .nodes([id])
            .events([at]));
        }
    }
    Ok(())
}
