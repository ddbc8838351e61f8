//! Clients with sessions, and the read guarantees checked on every reply.
//!
//! A client is sequential: one request at a time, the next sent once the
//! last is answered (or lost with the node it waited on). The suite keeps
//! its own record of each client's positions (the highest write index
//! acknowledged to it, the highest position it read at), from the replies
//! themselves; the learner's `Session` only builds the requests. A read is
//! checked against the record as it stood when the read was sent.

use super::watch::Shipping;
use crate::subject::replication::log_shipping::{Reply, Request, LEADER};
use dscheck::Property;
use dsim::{Broken, Event, NodeId, RequestId, Sim, Time};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

/// A client's session as the exercise writes it: the reference's, the
/// learner's, or a known-wrong one from `bugs/`.
pub trait Session: std::fmt::Debug + 'static {
    fn fresh() -> Self;
    fn read(&self) -> Request;
    fn on_reply(&mut self, reply: &Reply);
}

macro_rules! session {
    ($($session:ty),* $(,)?) => {$(
        impl crate::replication::reads::Session for $session {
            fn fresh() -> Self {
                <$session>::new()
            }
            fn read(&self) -> crate::subject::replication::log_shipping::Request {
                <$session>::read(self)
            }
            fn on_reply(&mut self, reply: &crate::subject::replication::log_shipping::Reply) {
                <$session>::on_reply(self, reply)
            }
        }
    )*};
}
pub(crate) use session;

session!(crate::subject::replication::read_guarantees::Session);

/// How long a read may stay unanswered once its node has applied up to
/// the read's position.
pub const ANSWER_WITHIN: Duration = Duration::from_millis(50);

pub const READ_YOUR_WRITES: Property = Property {
    name: "read-your-writes: a session's read is served at a log position no lower than the \
           session's last acknowledged write",
    hint: "the session must send the index of its last acknowledged write as min_index (keep \
           the highest Appended index in on_reply), and a node must not answer a read before \
           its applied index reaches min_index: keep the read in self.pending until then",
    when: &[],
};

pub const MONOTONIC: Property = Property {
    name: "monotonic reads: a session's reads never go back to an older log position than one \
           it already read at",
    hint: "the session must remember the highest position it read at (the index of each \
           Reply::Read) and send the higher of that and its last write as min_index; a node \
           answers only once it has applied that far",
    when: &[],
};

pub const REAL: Property = Property {
    name: "a read's answer is the leader's log at the position it reports: the value of the \
           entry at that index (none at index 0), never a position the leader has not reached",
    hint: "answer Reply::Read { index: last_index(), value } with the value of the last entry \
           of this node's log (None when the log is empty), at the moment of answering",
    when: &[],
};

pub const ANSWERED: Property = Property {
    name: "a read waiting for its position is answered within 50 ms of its node applying up to \
           that position",
    hint: "answer_pending runs after each batch a follower applies: reply (read_now()) to every \
           pending read whose min_index is at most last_index(), and remove it from \
           self.pending; a read whose min_index the node already reached is answered at once",
    when: &[],
};

/// How a client reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reads {
    /// Through its session: read-your-writes and monotonic reads must hold.
    Session,
    /// `min_index` 0: whatever the node has. Anomalies are only counted.
    Plain,
}

/// One client: the learner's session and the suite's record.
#[derive(Debug)]
pub struct Client<S> {
    pub session: S,
    pub reads: Reads,
    /// The highest write index acknowledged to this client.
    pub written: u64,
    /// The highest position this client read at.
    pub read: u64,
    /// The request it waits on, if any.
    pub busy: Option<RequestId>,
}

/// A read sent: by whom, with the client's record at that moment.
#[derive(Clone, Copy, Debug)]
struct Sent {
    client: usize,
    written: u64,
    read: u64,
}

/// A read that reached its node and is not answered yet.
#[derive(Clone, Copy, Debug)]
struct Waiting {
    node: NodeId,
    min_index: u64,
    /// When the node was first seen applied up to `min_index`.
    caught_up: Option<Time>,
}

/// Every client of a run, what they sent, and what was seen.
#[derive(Debug)]
pub struct Clients<S> {
    pub clients: Vec<Client<S>>,
    sent: BTreeMap<RequestId, Sent>,
    waiting: BTreeMap<RequestId, Waiting>,
    /// Plain reads below the client's own last write (stale reads).
    pub stale: u64,
    /// Plain reads below a position the client had read at (time travel).
    pub back: u64,
    /// How long each answered read took (ms), session reads and plain reads.
    pub waits: BTreeMap<&'static str, Vec<f64>>,
}

pub type Shared<S> = Rc<RefCell<Clients<S>>>;

impl<S: Session> Clients<S> {
    /// Whether client `c` may send its next request.
    pub fn idle(&self, c: usize) -> bool {
        self.clients[c].busy.is_none()
    }

    /// Client `c` writes `value` to the leader.
    pub fn write<N: Shipping>(&mut self, sim: &mut Sim<N>, c: usize, value: u64) -> RequestId {
        let id = sim.request(LEADER, Request::Write { value });
        self.clients[c].busy = Some(id);
        id
    }

    /// Client `c` reads from `node`, the way it reads.
    pub fn read<N: Shipping>(&mut self, sim: &mut Sim<N>, c: usize, node: NodeId) -> RequestId {
        let client = &mut self.clients[c];
        let request = match client.reads {
            Reads::Session => client.session.read(),
            Reads::Plain => Request::Read { min_index: 0 },
        };
        let id = sim.request(node, request);
        client.busy = Some(id);
        let sent = Sent {
            client: c,
            written: client.written,
            read: client.read,
        };
        self.sent.insert(id, sent);
        id
    }

    /// Whether every read that reached a node still up has been answered.
    pub fn unanswered(&self) -> Option<(RequestId, NodeId, u64)> {
        (self.waiting.iter())
            .next()
            .map(|(&id, w)| (id, w.node, w.min_index))
    }
}

/// Registers the read properties on `sim` for `reads` clients of each
/// kind, and returns them.
pub fn clients<N: Shipping, S: Session>(sim: &mut Sim<N>, kinds: &[Reads]) -> Shared<S> {
    let clients = kinds
        .iter()
        .map(|&reads| Client {
            session: S::fresh(),
            reads,
            written: 0,
            read: 0,
            busy: None,
        })
        .collect();
    let shared = Rc::new(RefCell::new(Clients {
        clients,
        sent: BTreeMap::new(),
        waiting: BTreeMap::new(),
        stale: 0,
        back: 0,
        waits: BTreeMap::new(),
    }));
    watch_real(sim);
    watch_sessions(sim, shared.clone());
    watch_answered(sim, shared.clone());
    shared
}

/// REAL: every read reply names a position the leader's log has, with the
/// value the leader's log holds there.
fn watch_real<N: Shipping>(sim: &mut Sim<N>) {
    sim.check(REAL, |sim, step| {
        let Some(leader) = sim.node(LEADER) else {
            return Ok(());
        };
        for e in step.iter() {
            let Event::Reply { node, id, reply } = &e.event else {
                continue;
            };
            let Request::Read { .. } = sim.operation(*id).request else {
                continue;
            };
            let broken = |what: String| Broken::new(what).nodes([*node]).events([e.index]);
            let Reply::Read { index, value } = *reply else {
                return Err(broken(format!("{node} answered read {id} with {reply:?}")));
            };
            let truth = match index {
                0 => None,
                i => match leader.log().get(i as usize - 1) {
                    Some(entry) => Some(entry.value),
                    None => {
                        return Err(broken(format!(
                            "{node} answered read {id} at position {index}, but the leader's \
                             log has only {} entries",
                            leader.log().len()
                        )))
                    }
                },
            };
            if value != truth {
                return Err(broken(format!(
                    "{node} answered read {id} with {value:?} at position {index}, where the \
                     leader's log holds {truth:?}"
                )));
            }
        }
        Ok(())
    });
}

/// READ_YOUR_WRITES and MONOTONIC for session clients (anomalies of plain
/// clients are counted); then every reply updates its client's record and
/// the learner's session.
fn watch_sessions<N: Shipping, S: Session>(sim: &mut Sim<N>, shared: Shared<S>) {
    let checks = shared.clone();
    sim.check(READ_YOUR_WRITES, move |sim, step| {
        session_check(sim, step, &checks, true)
    });
    sim.check(MONOTONIC, move |sim, step| {
        session_check(sim, step, &shared, false)
    });
}

/// One of the two session guarantees on the read replies of `step`: for
/// read-your-writes (`ryw`), the position against the client's last write
/// when the read was sent; else against its highest read position then.
fn session_check<N: Shipping, S: Session>(
    sim: &Sim<N>,
    step: dsim::Step<'_, N>,
    shared: &Shared<S>,
    ryw: bool,
) -> Result<(), Broken> {
    let mut clients = shared.borrow_mut();
    for e in step.iter() {
        let Event::Reply { node, id, reply } = &e.event else {
            continue;
        };
        let (Some(sent), Reply::Read { index, .. }) = (clients.sent.get(id).copied(), *reply)
        else {
            continue;
        };
        let floor = if ryw { sent.written } else { sent.read };
        if index >= floor {
            continue;
        }
        if clients.clients[sent.client].reads == Reads::Plain {
            if ryw {
                clients.stale += 1;
            } else {
                clients.back += 1;
            }
            continue;
        }
        let what = if ryw {
            format!("its last acknowledged write was at index {floor}")
        } else {
            format!("it had already read at position {floor}")
        };
        let request = sim.operation(*id).request;
        return Err(Broken::new(format!(
            "client {} sent {request:?} to {node} as read {id}, when {what}; {node} answered at \
             position {index}",
            sent.client
        ))
        .nodes([*node])
        .events([e.index]));
    }
    Ok(())
}

/// ANSWERED: tracks every read from its arrival to its reply, and fails
/// one left waiting [`ANSWER_WITHIN`] after its node caught up. A read
/// whose node is down (on arrival, or crashes before answering) is lost:
/// its client moves on. Replies update the records and the sessions.
fn watch_answered<N: Shipping, S: Session>(sim: &mut Sim<N>, shared: Shared<S>) {
    sim.check(ANSWERED, move |sim, step| {
        let mut guard = shared.borrow_mut();
        let clients = &mut *guard;
        for e in step.iter() {
            match &e.event {
                Event::Request {
                    id, refused: true, ..
                } => free(clients, *id),
                Event::Request {
                    node,
                    id,
                    req: Request::Read { min_index },
                    ..
                } => {
                    let waiting = Waiting {
                        node: *node,
                        min_index: *min_index,
                        caught_up: None,
                    };
                    clients.waiting.insert(*id, waiting);
                }
                Event::Crash { node } => {
                    let lost: Vec<RequestId> = (clients.waiting.iter())
                        .filter(|(_, w)| w.node == *node)
                        .map(|(&id, _)| id)
                        .collect();
                    for id in lost {
                        clients.waiting.remove(&id);
                        free(clients, id);
                    }
                }
                Event::Reply { id, reply, .. } => {
                    clients.waiting.remove(id);
                    answered(sim, clients, *id, reply);
                }
                _ => {}
            }
        }
        let now = sim.now();
        for (id, w) in clients.waiting.iter_mut() {
            let applied = sim.node(w.node).map_or(0, |n| n.log().len() as u64);
            if applied < w.min_index {
                continue;
            }
            let since = *w.caught_up.get_or_insert(now);
            if now.saturating_since(since) > ANSWER_WITHIN {
                return Err(Broken::new(format!(
                    "read {id} asked {} for position {}; {} had applied {applied} entries for \
                     {} ms and not answered",
                    w.node,
                    w.min_index,
                    w.node,
                    now.saturating_since(since).as_millis()
                ))
                .nodes([w.node]));
            }
        }
        Ok(())
    });
}

/// The client waiting on `id` gives it up.
fn free<S>(clients: &mut Clients<S>, id: RequestId) {
    for client in clients.clients.iter_mut() {
        if client.busy == Some(id) {
            client.busy = None;
        }
    }
}

/// A reply reached its client: the record and the session learn from it.
fn answered<N: Shipping, S: Session>(
    sim: &Sim<N>,
    clients: &mut Clients<S>,
    id: RequestId,
    reply: &Reply,
) {
    let Some(c) = clients.clients.iter().position(|c| c.busy == Some(id)) else {
        return;
    };
    let client = &mut clients.clients[c];
    client.busy = None;
    client.session.on_reply(reply);
    match *reply {
        Reply::Appended { index } => client.written = client.written.max(index),
        Reply::Read { index, .. } => {
            client.read = client.read.max(index);
            let op = sim.operation(id);
            let waited = sim.now().saturating_since(op.invoked_at).as_secs_f64() * 1e3;
            let kind = match client.reads {
                Reads::Session => "session",
                Reads::Plain => "plain",
            };
            clients.waits.entry(kind).or_default().push(waited);
        }
        Reply::Position { .. } | Reply::Promoted { .. } => {}
    }
}
