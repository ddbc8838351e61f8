//! # coord_sessions: a coordination service and a leader election on it
//!
//! A small service in the style of ZooKeeper: a tree of nodes ("znodes")
//! named by paths, kept by three replicas that apply one totally ordered log
//! of commands. The log is given: replica `n0` is the sequencer, which
//! numbers every command and streams the log to the others (a real service
//! runs this log on Raft or ZAB; here the sequencer never fails). Clients are
//! the other nodes; each talks to one replica. You write the two halves
//! that make it a coordination service:
//!
//! - [`Tree::apply`]'s rules, a deterministic state machine:
//!   - a **session** lives while its client's commands keep coming: it
//!     expires at the first `Tick` whose time is at least
//!     [`SESSION_TIMEOUT`] past the log time of its last command;
//!   - an **ephemeral** node belongs to a session and is deleted when the
//!     session expires; a **sequential** node's name gets a ten-digit
//!     number, strictly increasing per parent;
//!   - a **watch** (set by `Exists` or `Children`) is one-shot: it fires
//!     once, for the first change of what it watches, and is gone.
//! - Time enters the state machine only through the log: the sequencer
//!   proposes `Tick { now }` with its clock, so every replica expires the
//!   same sessions at the same log position.
//! - [`Election`], the client's recipe: create an ephemeral sequential node
//!   under [`ELECTION`], list the children, lead if yours is the lowest,
//!   otherwise watch only your immediate predecessor (so one deletion
//!   wakes one client: no herd), and look again when the watch fires.
//!
//! Read `exercises/14_coord/README.md` first. Then fill in the `todo!()`s
//! below: the tree's rules, the sequencer's tick, and the election recipe.

use dsim::{Ctx, Node, NodeId, RequestId, Time};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The replicas are nodes `0..REPLICAS`; node 0 is the sequencer. Every
/// other node is a client.
pub const REPLICAS: usize = 3;
/// A session expires this long (in log time) after its last command.
pub const SESSION_TIMEOUT: Duration = Duration::from_millis(600);
/// How often a client pings the service to keep its session alive.
pub const HEARTBEAT: Duration = Duration::from_millis(100);
/// How often the sequencer puts its clock into the log.
pub const TICK: Duration = Duration::from_millis(20);
/// How long a client waits for a reply (or a replica for a missing entry)
/// before asking again.
pub const RETRY: Duration = Duration::from_millis(60);
/// The parent of the election's nodes.
pub const ELECTION: &str = "/election";
/// The prefix of each election node's name.
pub const CANDIDATE: &str = "/election/n-";

/// A session: opened by one client, numbered by that client's incarnation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SessionId {
    pub client: NodeId,
    pub number: u64,
}

/// What a client asks of the tree.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Op {
    Open,
    Create {
        path: String,
        ephemeral: bool,
        sequential: bool,
    },
    Delete {
        path: String,
    },
    /// Does `path` exist? With `watch`, fire once when it is created or deleted.
    Exists {
        path: String,
        watch: bool,
    },
    /// The names of `path`'s children, sorted. With `watch`, fire once when
    /// a child is created or deleted (or `path` itself is deleted).
    Children {
        path: String,
        watch: bool,
    },
}

/// An entry of the log.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Command {
    /// The sequencer's clock reading: the log's time from here on.
    Tick { now: Time },
    /// A client's keep-alive, sent at `sent` by its clock.
    Ping { session: SessionId, sent: Time },
    /// A client's request number `xid` (1, 2, …; a repeat is answered, not redone).
    Request {
        session: SessionId,
        xid: u64,
        op: Op,
    },
}

/// The answer to a request.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Output {
    Ok,
    Created(String),
    Exists(bool),
    Children(Vec<String>),
    NoNode,
    NodeExists,
    NotEmpty,
    SessionExpired,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum WatchKind {
    Exists,
    Children,
}

/// A watch set by `session` on `path`; also the notification it fires.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Watch {
    pub path: String,
    pub kind: WatchKind,
    pub session: SessionId,
}

/// A znode: ephemeral ones name their owner.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Znode {
    pub owner: Option<SessionId>,
}

/// A live session: when it expires (log time), and its last request's
/// number and answer (for repeats).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Session {
    pub expires: Time,
    pub xid: u64,
    pub last: Output,
}

/// What applying one command produced: the answer to a request or ping
/// (for the session's client), and the watches it fired.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub reply: Option<(SessionId, Reply)>,
    pub fired: Vec<Watch>,
}

/// The replicated state machine. Everything it does follows from the
/// commands it applies, in order: never from a clock.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Tree {
    /// The log's time: the latest `Tick`'s `now`.
    pub now: Time,
    /// Every znode but the root `/`, by path.
    pub nodes: BTreeMap<String, Znode>,
    /// The next sequence number of each parent.
    pub counters: BTreeMap<String, u64>,
    pub sessions: BTreeMap<SessionId, Session>,
    /// Sessions that expired: they can never be opened again.
    pub closed: BTreeSet<SessionId>,
    pub watches: BTreeSet<Watch>,
}

/// The parent of `path` (`/` for a top-level node).
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

impl Tree {
    pub fn new() -> Self {
        Tree::default()
    }

    /// Whether `path` names a znode (the root always exists).
    pub fn exists(&self, path: &str) -> bool {
        path == "/" || self.nodes.contains_key(path)
    }

    /// The names (last components) of `path`'s children, sorted.
    pub fn children(&self, path: &str) -> Vec<String> {
        self.nodes
            .keys()
            .filter(|p| parent(p) == path)
            .map(|p| p[p.rfind('/').map_or(0, |i| i + 1)..].to_string())
            .collect()
    }

    /// Applies one command of the log.
    pub fn apply(&mut self, command: &Command) -> Applied {
        let mut applied = Applied::default();
        match command {
            Command::Tick { now } => {
                self.now = self.now.max(*now);
                self.expire(&mut applied);
            }
            Command::Ping { session, sent } => {
                let alive = self.touch(*session);
                let reply = Reply::Pong { sent: *sent, alive };
                applied.reply = Some((*session, reply));
            }
            Command::Request { session, xid, op } => {
                if *op == Op::Open && !self.closed.contains(session) {
                    let expires = self.now + SESSION_TIMEOUT;
                    self.sessions.entry(*session).or_insert(Session {
                        expires,
                        xid: 0,
                        last: Output::Ok,
                    });
                }
                let output = if !self.touch(*session) {
                    Output::SessionExpired
                } else if *xid <= self.sessions[session].xid {
                    // A repeat: answer it again, do nothing again.
                    self.sessions[session].last.clone()
                } else {
                    let output = self.run(*session, op, &mut applied);
                    let s = self.sessions.get_mut(session).expect("live session");
                    s.xid = *xid;
                    s.last = output.clone();
                    output
                };
                let xid = self.sessions.get(session).map_or(*xid, |s| s.xid);
                applied.reply = Some((*session, Reply::Done { xid, output }));
            }
        }
        applied
    }

    /// A command from `session` arrived: if the session is live, it lives
    /// on for SESSION_TIMEOUT of log time from now. Whether it is live.
    pub fn touch(&mut self, session: SessionId) -> bool {
        todo!("if the session is live, set its expires to self.now + SESSION_TIMEOUT and say true")
    }

    /// Expires every session whose `expires` has come (log time): it is
    /// closed, its watches are dropped, its ephemeral nodes deleted.
    pub fn expire(&mut self, out: &mut Applied) {
        todo!("remove every session with expires <= self.now, close it, drop its watches, and remove every node it owns")
    }

    /// Fires (and removes) every watch of `kind` on `path`.
    pub fn fire(&mut self, path: &str, kind: WatchKind, out: &mut Applied) {
        todo!("move every watch on path of this kind from self.watches to out.fired")
    }

    /// Deletes the node at `path` (it has no children), firing the watches
    /// on it and on its parent's children.
    pub fn remove(&mut self, path: &str, out: &mut Applied) {
        self.nodes.remove(path);
        todo!("fire the Exists watches on path, its Children watches, and the Children watches on its parent")
    }

    /// Runs a new request of a live session.
    fn run(&mut self, session: SessionId, op: &Op, out: &mut Applied) -> Output {
        match op {
            Op::Open => Output::Ok,
            Op::Create {
                path,
                ephemeral,
                sequential,
            } => self.create(session, path, *ephemeral, *sequential, out),
            Op::Delete { path } => {
                if !self.nodes.contains_key(path) {
                    Output::NoNode
                } else if !self.children(path).is_empty() {
                    Output::NotEmpty
                } else {
                    self.remove(path, out);
                    Output::Ok
                }
            }
            Op::Exists { path, watch } => {
                self.arm(session, path, WatchKind::Exists, *watch);
                Output::Exists(self.exists(path))
            }
            Op::Children { path, watch } => {
                if !self.exists(path) {
                    return Output::NoNode;
                }
                self.arm(session, path, WatchKind::Children, *watch);
                Output::Children(self.children(path))
            }
        }
    }

    /// Sets a watch of `session` on `path`, if asked to.
    fn arm(&mut self, session: SessionId, path: &str, kind: WatchKind, watch: bool) {
        if watch {
            let path = path.to_string();
            self.watches.insert(Watch {
                path,
                kind,
                session,
            });
        }
    }

    /// Creates a node: under an existing parent; a sequential one named
    /// `path` followed by the parent's next number in ten digits; an
    /// ephemeral one owned by `session`. Fires the watches on it and on its
    /// parent's children.
    pub fn create(
        &mut self,
        session: SessionId,
        path: &str,
        ephemeral: bool,
        sequential: bool,
        out: &mut Applied,
    ) -> Output {
        let up = parent(path).to_string();
        if !self.exists(&up) {
            return Output::NoNode;
        }
        todo!("name it (sequential: path + the parent's counter in ten digits, then count up), refuse an existing name, insert it (owner: Some(session) if ephemeral), fire the watches, answer Created(name)")
    }
}

/// The client's side of the election recipe.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Election {
    /// This client's node, once created (a full path).
    pub mine: Option<String>,
    /// The node this client watches, if it waits.
    pub predecessor: Option<String>,
    /// Whether this client's node was the lowest when it last looked.
    pub leader: bool,
}

impl Election {
    /// The first request: make sure the parent exists.
    pub fn start(&mut self) -> Op {
        *self = Election::default();
        Op::Create {
            path: ELECTION.to_string(),
            ephemeral: false,
            sequential: false,
        }
    }

    /// The answer to this client's last request came: the next request, if any.
    pub fn on_output(&mut self, output: &Output) -> Option<Op> {
        todo!("after the parent exists, create an ephemeral sequential CANDIDATE; once created, list ELECTION's children (no watch); lead if yours is the lowest, else watch (Exists) only the child just below yours; if it is already gone, list again")
    }

    /// A watch of this client fired: the next request, if any.
    pub fn on_watch(&mut self, watch: &Watch) -> Option<Op> {
        todo!("when the watch on your predecessor fires, list ELECTION's children again")
    }
}

/// What a replica sends its clients.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reply {
    /// The answer to request `xid` (the session's latest).
    Done { xid: u64, output: Output },
    /// The answer to the ping sent at `sent`: whether the session lives.
    Pong { sent: Time, alive: bool },
}

/// Between the nodes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    /// Client to its replica, replica to the sequencer: "put this in the log".
    Propose(Command),
    /// Sequencer to replicas: the log from index `first` (0-based) on.
    Entries { first: u64, entries: Vec<Command> },
    /// Replica to sequencer: "I have the log up to `next`; send the rest".
    Fetch { next: u64 },
    /// Replica to client: the answer to a command of `session`.
    Reply { session: SessionId, reply: Reply },
    /// Replica to client: a watch fired at log index `index`.
    Notify { index: u64, watch: Watch },
    /// Client to replica: "notification `index`/`watch` arrived".
    Notified { index: u64, watch: Watch },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Timer {
    /// Sequencer: put the clock in the log. Replica: resend notifications.
    Tick,
    /// Client: ping.
    Heartbeat,
    /// Client: resend the pending request.
    Retry,
}

/// What the scenario asks of a client.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Request {
    /// Open a session and run for leader.
    Join,
}

/// The replica a client talks to.
pub fn connected_to(client: NodeId) -> NodeId {
    NodeId(client.index() % REPLICAS)
}

/// The storage key of a client's incarnation (so a restart opens a new session).
pub const INCARNATION_KEY: &str = "incarnation";

/// A node of coord_sessions: a replica (nodes `0..REPLICAS`) or a client.
#[derive(Debug, Default)]
pub struct Member {
    /// Replica: the tree, and the log applied so far (the sequencer's is the log).
    pub tree: Tree,
    pub log: Vec<Command>,
    /// Replica: the notifications its clients have not confirmed.
    pub unconfirmed: BTreeSet<(u64, Watch)>,
    /// Client: its session, and its last request's number and the request
    /// while unanswered (one at a time).
    pub session: Option<SessionId>,
    pub xid: u64,
    pub pending: Option<Op>,
    /// Client: the session surely lives until this reading of its clock.
    pub valid_until: Option<Time>,
    pub election: Election,
    /// Client: the notifications already handled.
    pub seen: BTreeSet<(u64, Watch)>,
}

fn sequencer(ctx: &Ctx<Member>) -> bool {
    ctx.id() == NodeId(0)
}

impl Member {
    /// A node before it has started.
    pub fn new() -> Self {
        Member::default()
    }

    /// Replica, every TICK: the clock into the log, and the notifications
    /// not yet confirmed sent again.
    pub fn tick(&mut self, ctx: &mut Ctx<Self>) {
        self.clock_into_log(ctx);
        // Resend what the clients have not confirmed (while they live).
        let tree = &self.tree;
        self.unconfirmed
            .retain(|(_, w)| tree.sessions.contains_key(&w.session));
        for (index, watch) in self.unconfirmed.clone() {
            let to = watch.session.client;
            ctx.send(to, Msg::Notify { index, watch });
        }
    }

    /// Time enters the tree only through the log, so that every replica
    /// expires the same sessions at the same log position: one clock (the
    /// sequencer's) is read, and its reading is a command like any other.
    pub fn clock_into_log(&mut self, ctx: &mut Ctx<Self>) {
        todo!("the sequencer (only) puts its clock reading into the log as a Tick")
    }

    /// The sequencer appends a command to the log and streams it.
    fn sequence(&mut self, ctx: &mut Ctx<Self>, command: Command) {
        let first = self.log.len() as u64;
        self.commit(ctx, command.clone());
        for r in 1..REPLICAS {
            let entries = vec![command.clone()];
            ctx.send(NodeId(r), Msg::Entries { first, entries });
        }
    }

    /// A replica applies the next entry and answers its own clients.
    fn commit(&mut self, ctx: &mut Ctx<Self>, command: Command) {
        let index = self.log.len() as u64;
        let applied = self.tree.apply(&command);
        self.log.push(command);
        let me = ctx.id();
        let mine = |s: &SessionId| connected_to(s.client) == me;
        if let Some((session, reply)) = applied.reply.filter(|(s, _)| mine(s)) {
            ctx.send(session.client, Msg::Reply { session, reply });
        }
        for watch in applied.fired.into_iter().filter(|w| mine(&w.session)) {
            let to = watch.session.client;
            ctx.send(
                to,
                Msg::Notify {
                    index,
                    watch: watch.clone(),
                },
            );
            self.unconfirmed.insert((index, watch));
        }
    }

    fn on_replica_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Propose(command) if sequencer(ctx) => self.sequence(ctx, command),
            Msg::Propose(command) => ctx.send(NodeId(0), Msg::Propose(command)),
            Msg::Entries { first, entries } => {
                let next = self.log.len() as u64;
                if first > next {
                    ctx.send(from, Msg::Fetch { next });
                }
                for (i, command) in (first..).zip(entries) {
                    if i == self.log.len() as u64 {
                        self.commit(ctx, command);
                    }
                }
            }
            Msg::Fetch { next } => {
                let rest = self.log.iter().skip(next as usize).take(64);
                let entries: Vec<Command> = rest.cloned().collect();
                ctx.send(
                    from,
                    Msg::Entries {
                        first: next,
                        entries,
                    },
                );
            }
            Msg::Notified { index, watch } => {
                self.unconfirmed.remove(&(index, watch));
            }
            Msg::Reply { .. } | Msg::Notify { .. } => {}
        }
    }

    /// Whether this client leads at `now` (its clock): its node was the
    /// lowest, and its session surely still lives. The service expires a
    /// session no sooner than SESSION_TIMEOUT - TICK after a ping is sent
    /// (the log's time lags the sequencer's clock by up to a tick), so a
    /// ping answered alive vouches for SESSION_TIMEOUT - 2 TICK.
    pub fn leads(&self, now: Time) -> bool {
        self.election.leader && self.valid_until.is_some_and(|u| now < u)
    }

    /// A client opens a new session and runs for leader.
    fn join(&mut self, ctx: &mut Ctx<Self>) {
        let number: u64 = ctx.storage().get(INCARNATION_KEY).unwrap_or(0) + 1;
        ctx.storage().put(INCARNATION_KEY, &number);
        let client = ctx.id();
        self.session = Some(SessionId { client, number });
        self.xid = 0;
        self.valid_until = None;
        self.election = Election::default();
        self.ask(ctx, Some(Op::Open));
        ctx.set_timer(Timer::Heartbeat, HEARTBEAT);
    }

    /// Sends the next request, if any, and waits for its answer.
    fn ask(&mut self, ctx: &mut Ctx<Self>, op: Option<Op>) {
        if let Some(op) = op {
            self.xid += 1;
            self.pending = Some(op);
            self.resend(ctx);
        }
    }

    fn resend(&mut self, ctx: &mut Ctx<Self>) {
        if let (Some(session), Some(op)) = (self.session, self.pending.clone()) {
            let xid = self.xid;
            let command = Command::Request { session, xid, op };
            ctx.send(connected_to(ctx.id()), Msg::Propose(command));
            ctx.set_timer(Timer::Retry, RETRY);
        }
    }

    fn on_client_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        let Some(session) = self.session else { return };
        match timer {
            Timer::Heartbeat => {
                let sent = ctx.now();
                let ping = Command::Ping { session, sent };
                ctx.send(connected_to(ctx.id()), Msg::Propose(ping));
                ctx.set_timer(Timer::Heartbeat, HEARTBEAT);
            }
            Timer::Retry => self.resend(ctx),
            Timer::Tick => {}
        }
    }

    fn on_client_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        let ours = |s: &SessionId| Some(*s) == self.session;
        match msg {
            Msg::Reply { session, .. } if !ours(&session) => {}
            Msg::Reply {
                reply:
                    Reply::Pong { alive: false, .. }
                    | Reply::Done {
                        output: Output::SessionExpired,
                        ..
                    },
                ..
            } => {
                // The session is gone, and with it this client's node: start over.
                self.join(ctx);
            }
            Msg::Reply {
                reply: Reply::Pong { sent, .. },
                ..
            } => {
                let until = sent + SESSION_TIMEOUT - TICK * 2;
                self.valid_until = Some(self.valid_until.map_or(until, |u| u.max(until)));
            }
            Msg::Reply {
                reply: Reply::Done { xid, output },
                ..
            } if xid == self.xid && self.pending.is_some() => {
                self.pending = None;
                ctx.cancel_timer(Timer::Retry);
                let next = match output {
                    Output::Ok if self.xid == 1 => Some(self.election.start()),
                    output => self.election.on_output(&output),
                };
                self.ask(ctx, next);
            }
            Msg::Notify { index, watch } => {
                ctx.send(
                    from,
                    Msg::Notified {
                        index,
                        watch: watch.clone(),
                    },
                );
                if ours(&watch.session) && self.seen.insert((index, watch.clone())) {
                    let next = self.election.on_watch(&watch);
                    self.ask(ctx, next);
                }
            }
            _ => {}
        }
    }
}

impl Node for Member {
    type Msg = Msg;
    type Timer = Timer;
    type Request = Request;
    type Reply = ();

    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        if ctx.id().index() < REPLICAS {
            ctx.set_timer(Timer::Tick, TICK);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        if ctx.id().index() < REPLICAS {
            self.on_replica_message(ctx, from, msg);
        } else {
            self.on_client_message(ctx, from, msg);
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        if timer == Timer::Tick {
            self.tick(ctx);
            ctx.set_timer(Timer::Tick, TICK);
        } else {
            self.on_client_timer(ctx, timer);
        }
    }

    /// A client asked to join opens a session (once per incarnation).
    fn on_request(&mut self, ctx: &mut Ctx<Self>, _id: RequestId, _req: Request) {
        if ctx.id().index() >= REPLICAS && self.session.is_none() {
            self.join(ctx);
        }
    }
}
