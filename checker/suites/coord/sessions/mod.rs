//! coord_sessions: a coordination service on one replicated log, and a
//! leader election on it. Three replicas apply the sequencer's log; clients
//! open sessions, keep them alive with pings, and run the election recipe.
//!
//! The checks replay the sequencer's log, entry by entry, on a tree of the
//! implementation under test (a shadow), and judge each entry by what it
//! changed: a session is born by an Open and expires exactly at the first
//! Tick SESSION_TIMEOUT (log time) after its last command, never to return;
//! an ephemeral node never outlives its session; sequential numbers increase
//! per parent; each watch fires once, for the first change of what it
//! watches (the suite keeps its own list of the watches set); a change under
//! /election wakes at most one client per node deleted. Every replica's tree
//! must equal the shadow's at the same log position. In true time, with
//! every clock skewed: at most one client leads, and it owns the lowest
//! election node in the sequencer's tree; a crashed client's ephemeral nodes
//! are gone within the session timeout plus a stated bound; a leadership
//! change costs a number of messages that does not grow with the clients.
//! The tree alone is also run on random logs, and the `meta` group runs the
//! checks on the reference with one bug from `coord/bugs/`.

use crate::subject::coord::sessions::{
    Applied, Command, Member, Msg, Op, Reply, Request, Session, SessionId, Timer, Znode, ELECTION,
    REPLICAS, SESSION_TIMEOUT, TICK,
};
use dscheck::{ms, run, Failure, Property, Suite};
use dsim::{Broken, Clock, Event, Network, Node, NodeId, Sim, SimRng, Time};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

mod audit;
use audit::Audit;

/// A node of the exercise: the reference, the learner's, or one from `bugs/`.
/// The tree is reached through the node, whose type each variant has.
pub trait Service: Node<Msg = Msg, Timer = Timer, Request = Request, Reply = ()> {
    fn fresh() -> Self;
    /// Applies `command` to this node's tree.
    fn apply(&mut self, command: &Command) -> Applied;
    /// A fresh node holding a copy of this node's tree.
    fn tree_copy(&self) -> Self;
    fn same_tree(&self, other: &Self) -> bool;
    fn tree_text(&self) -> String;
    fn nodes(&self) -> &BTreeMap<String, Znode>;
    fn sessions(&self) -> &BTreeMap<SessionId, Session>;
    fn log(&self) -> &[Command];
    /// The tree's time: the latest Tick's now.
    fn log_time(&self) -> Time;
    fn leads_at(&self, now: Time) -> bool;
    fn session_id(&self) -> Option<SessionId>;
}

macro_rules! service {
    ($($node:ty),* $(,)?) => {$(
        impl Service for $node {
            fn fresh() -> Self {
                <$node>::new()
            }
            fn apply(&mut self, command: &Command) -> Applied {
                self.tree.apply(command)
            }
            fn tree_copy(&self) -> Self {
                let mut copy = <$node>::new();
                copy.tree = self.tree.clone();
                copy
            }
            fn same_tree(&self, other: &Self) -> bool {
                self.tree == other.tree
            }
            fn tree_text(&self) -> String {
                format!("{:?}", self.tree)
            }
            fn nodes(&self) -> &BTreeMap<String, Znode> {
                &self.tree.nodes
            }
            fn sessions(&self) -> &BTreeMap<SessionId, Session> {
                &self.tree.sessions
            }
            fn log(&self) -> &[Command] {
                &self.log
            }
            fn log_time(&self) -> Time {
                self.tree.now
            }
            fn leads_at(&self, now: Time) -> bool {
                self.leads(now)
            }
            fn session_id(&self) -> Option<SessionId> {
                self.session
            }
        }
    )*};
}

service!(Member);
#[cfg(bugs)]
service!(
    crate::bugs::watch_fires_twice::sessions::Member,
    crate::bugs::expiry_keeps_ephemerals::sessions::Member,
    crate::bugs::herd::sessions::Member,
    crate::bugs::expiry_by_own_clock::sessions::Member,
    crate::bugs::leads_past_its_session::sessions::Member,
);

pub const ONE_LEADER: Property = Property {
    name: "at most one client leads at any true instant, and it owns the lowest node under \
           /election in the sequencer's tree",
    hint: "a client leads only if its node is the lowest of the children it listed; nodes are \
           sequential, so no lower one can appear later, and the given session check ends its \
           belief before the service can expire its session",
    when: &[],
};
pub const AGREE: Property = Property {
    name: "every replica's tree equals the sequencer's at the same log position",
    hint: "the tree may change only by applying log entries: never expire sessions by a \
           replica's own clock; only the sequencer reads its clock, and puts the reading into the \
           log as a Tick",
    when: &[],
};
pub const LIFETIME: Property = Property {
    name: "a session lives from its Open until the first Tick at least SESSION_TIMEOUT (log \
           time) after its last command, neither sooner nor later, and never again",
    hint: "every command of a live session (a ping or a request) sets its expiry to the log's \
           time + SESSION_TIMEOUT; a Tick expires the sessions whose expiry is <= its now, and \
           an expired session goes into closed, so that a late Open cannot revive it",
    when: &[],
};
pub const OWNED: Property = Property {
    name: "an ephemeral node exists only while its owner's session lives",
    hint: "when a session expires, delete every node it owns (firing the watches on them)",
    when: &[],
};
pub const GONE: Property = Property {
    name: "a crashed client's ephemeral nodes are gone from the sequencer's tree within \
           SESSION_TIMEOUT + TICK + two message delays of the crash (true time)",
    hint: "a Tick expires every session whose expiry has come, closes it, and deletes the \
           nodes it owns",
    when: &[],
};
pub const SEQUENTIAL: Property = Property {
    name: "a sequential node is named its path followed by ten digits, strictly increasing per \
           parent",
    hint: "keep a counter per parent (not per path, not per session): name = path + \
           format!(\"{:010}\", counter), then count up",
    when: &[],
};
pub const WATCH_ONCE: Property = Property {
    name: "every watch fires exactly once, at the first change of what it watches (Exists: the \
           node created or deleted; Children: a child created or deleted, or the node deleted), \
           and never for another path",
    hint: "a watch is one-shot: when it fires, remove it from the tree's watches; fire the \
           Exists watches of the path created or deleted, and the Children watches of its \
           parent (and of a deleted node itself)",
    when: &[],
};
pub const NO_HERD: Property = Property {
    name: "no herd: a change under /election wakes at most one client per node deleted, and a \
           leadership change costs a bounded number of client messages, however many clients \
           wait",
    hint: "a client that does not lead watches only its immediate predecessor (the highest \
           node below its own), never the leader's node, and lists the children without a \
           watch",
    when: &[],
};
pub const ELECTED: Property = Property {
    name: "on a calm network some client leads within 2 s of joining, and again within \
           SESSION_TIMEOUT + 1 s of its leader crashing",
    hint: "create an ephemeral sequential node under /election, list the children, lead if \
           yours is the lowest, else watch (Exists) the one just below yours and list again \
           when the watch fires, or at once if it is already gone",
    when: &[],
};

/// The messages of one leadership change, at most, whatever the number of
/// clients (the notified client confirms, lists the children, and may
/// watch once more; with room for resends).
const CHANGE_MESSAGES: u64 = 16;

/// Which checks a run makes (meta tests turn one off to see another catch
/// the same bug).
#[derive(Clone, Copy, Debug)]
pub struct Checks {
    /// OWNED, from the log (before GONE, in true time, can see it).
    pub owned: bool,
    /// NO_HERD per deletion (before the message count can see it).
    pub per_deletion: bool,
}

const ALL: Checks = Checks {
    owned: true,
    per_deletion: true,
};

type Shared<N> = Rc<RefCell<Audit<N>>>;

/// The longest a message can take on `network`.
fn longest(network: &Network) -> Duration {
    *network.latency.end() + network.long_delay_max
}

/// How long after a client's crash its ephemeral nodes may remain: its last
/// command may still reach the sequencer two message delays later, and the
/// first Tick after its expiry comes within a TICK.
fn gone_bound(network: &Network) -> Duration {
    SESSION_TIMEOUT + TICK + longest(network) * 2
}

pub fn parent_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

fn is_client(id: NodeId) -> bool {
    id.index() >= REPLICAS
}

/// The clients that lead now, each by its own clock.
fn leaders<N: Service>(sim: &Sim<N>) -> Vec<NodeId> {
    sim.ids()
        .filter(|&id| is_client(id))
        .filter(|&id| sim.node(id).is_some_and(|n| n.leads_at(sim.local_time(id))))
        .collect()
}

/// Registers every safety check, run after every event.
fn watch<N: Service>(sim: &mut Sim<N>, checks: Checks) -> Shared<N> {
    let audit: Shared<N> = Rc::new(RefCell::new(Audit::new()));
    let mut from_log = vec![LIFETIME, SEQUENTIAL, WATCH_ONCE];
    if checks.owned {
        from_log.push(OWNED);
    }
    if checks.per_deletion {
        from_log.push(NO_HERD);
    }
    for property in from_log {
        let audit = audit.clone();
        sim.check(property, move |sim, _| {
            let mut audit = audit.borrow_mut();
            audit.catch_up(sim);
            audit.take(property)
        });
    }
    let agree = audit.clone();
    sim.check(AGREE, move |sim, step| {
        let mut audit = agree.borrow_mut();
        audit.catch_up(sim);
        // Only a replica whose handler ran in this step can have a new tree
        // (the others were checked when they last changed).
        let touched: Vec<NodeId> = step.iter().filter_map(|e| e.event.handled_by()).collect();
        for id in (0..REPLICAS).map(NodeId).filter(|id| touched.contains(id)) {
            let Some(replica) = sim.node(id) else {
                continue;
            };
            let at = replica.log().len();
            let Some(expected) = audit.trees.get(at) else {
                continue;
            };
            if !replica.same_tree(expected) {
                return Err(Broken::new(format!(
                    "after {at} log entries {id}'s tree is\n  {}\nbut applying those entries \
                     makes\n  {}",
                    replica.tree_text(),
                    expected.tree_text()
                ))
                .nodes([id]));
            }
        }
        Ok(())
    });
    sim.check(ONE_LEADER, |sim, _| {
        let now = leaders(sim);
        if now.len() > 1 {
            return Err(
                Broken::new(format!("at {} (true time) {now:?} all lead", sim.now())).nodes(now),
            );
        }
        let (Some(&leader), Some(sequencer)) = (now.first(), sim.node(NodeId(0))) else {
            return Ok(());
        };
        let session = sim.node(leader).and_then(|n| n.session_id());
        let lowest = sequencer
            .nodes()
            .iter()
            .find(|(path, _)| parent_of(path) == ELECTION);
        if lowest.and_then(|(_, n)| n.owner).is_none()
            || lowest.and_then(|(_, n)| n.owner) != session
        {
            return Err(Broken::new(format!(
                "at {} (true time) {leader} (session {session:?}) leads, but the lowest node \
                 under {ELECTION} in the sequencer's tree is {lowest:?}",
                sim.now()
            ))
            .nodes([leader]));
        }
        Ok(())
    });
    let gone = audit.clone();
    sim.check(GONE, move |sim, _| {
        let bound = gone_bound(sim.network());
        let Some(sequencer) = sim.node(NodeId(0)) else {
            return Ok(());
        };
        for &(session, crashed) in &gone.borrow().crashed {
            let left: Vec<&String> = sequencer
                .nodes()
                .iter()
                .filter(|(_, n)| n.owner == Some(session))
                .map(|(path, _)| path)
                .collect();
            if sim.now() >= crashed + bound && !left.is_empty() {
                return Err(Broken::new(format!(
                    "{} crashed at {crashed} (true time) and at {} its ephemeral nodes {left:?} \
                     remain ({} ms later; the bound is {} ms)",
                    session.client,
                    sim.now(),
                    sim.now().saturating_since(crashed).as_millis(),
                    bound.as_millis()
                ))
                .nodes([session.client]));
            }
        }
        Ok(())
    });
    audit
}

/// Crashes client `id`, noting its session for GONE.
fn crash<N: Service>(sim: &mut Sim<N>, audit: &Shared<N>, id: NodeId) -> Result<(), Failure> {
    if let Some(session) = sim.node(id).and_then(|n| n.session_id()) {
        audit.borrow_mut().crashed.push((session, sim.now()));
    }
    run(sim, |s| s.crash(id))
}

/// Every clock ahead of true time by 0 to 400 ms, so up to 400 ms apart
/// (no drift: the session rules are about durations on one clock). Never
/// behind: a clock behind true time reads zero until true time catches up
/// with it, and a duration measured from such a reading comes out short.
fn skew<N: Node>(sim: &mut Sim<N>, rng: &mut SimRng) {
    for id in sim.ids().collect::<Vec<_>>() {
        let clock = Clock {
            skew_nanos: rng.range(0..=400_000_000) as i64,
            drift_ppm: 0.0,
        };
        sim.set_clock(id, clock);
    }
}

fn calm() -> Network {
    Network::reliable(ms(1), ms(10))
}

/// Loss, duplication and long delays between every pair of nodes.
fn lossy(rng: &mut SimRng) -> Network {
    calm()
        .with_loss(0.05 + 0.1 * rng.unit())
        .with_duplication(0.1)
        .with_long_delays(0.1, ms(150))
}

/// A run of `replicas + clients` nodes, clocks skewed, every check on.
fn start<N: Service>(
    seed: u64,
    clients: usize,
    network: impl FnOnce(&mut SimRng) -> Network,
    checks: Checks,
) -> (Sim<N>, SimRng, Shared<N>) {
    let mut sim = Sim::new(seed, REPLICAS + clients, |_| N::fresh());
    let mut rng = sim.scenario_rng();
    skew(&mut sim, &mut rng);
    sim.set_network(network(&mut rng));
    let audit = watch(&mut sim, checks);
    (sim, rng, audit)
}

/// Runs until some client leads, for at most `limit`: that client.
fn await_leader<N: Service>(sim: &mut Sim<N>, limit: Duration) -> Result<Option<NodeId>, Failure> {
    let end = sim.now() + limit;
    while sim.now() < end {
        if let Some(&leader) = leaders(sim).first() {
            return Ok(Some(leader));
        }
        if !run(sim, |s| s.step())? {
            break;
        }
    }
    Ok(None)
}

/// Whether a message is client traffic of the election (not a ping, not
/// the log between replicas).
fn election_traffic(from: NodeId, msg: &Msg) -> bool {
    match msg {
        Msg::Propose(Command::Request { .. }) => is_client(from),
        Msg::Reply {
            reply: Reply::Done { .. },
            ..
        }
        | Msg::Notify { .. }
        | Msg::Notified { .. } => true,
        _ => false,
    }
}

/// A calm network: `clients` clients join within 300 ms, one leads within
/// 2 s; once all have settled, three times the leader crashes, and another must lead within
/// SESSION_TIMEOUT + 1 s, at a cost of at most CHANGE_MESSAGES messages of
/// election traffic, counted from the crash to 300 ms after the new leader.
pub fn changes<N: Service>(seed: u64, clients: usize, checks: Checks) -> Result<(), Failure> {
    let (mut sim, mut rng, audit) = start::<N>(seed, clients, |_| calm(), checks);
    for id in (REPLICAS..REPLICAS + clients).map(NodeId) {
        let at = rng.duration(ms(0)..=ms(300));
        sim.request_after(at, id, Request::Join);
    }
    let count = Rc::new(RefCell::new(0u64));
    let counted = count.clone();
    sim.check(NO_HERD, move |_, step| {
        for e in step.iter() {
            if let Event::Send { from, msg, .. } = &e.event {
                if election_traffic(*from, msg) {
                    *counted.borrow_mut() += 1;
                }
            }
        }
        Ok(())
    });
    let Some(mut leader) = await_leader(&mut sim, ms(2_300))? else {
        return Err(Failure::after_run(
            &sim,
            ELECTED,
            "no client led within 2 s of joining",
        ));
    };
    // Every client has joined and settled before the first crash.
    run(&mut sim, |s| s.run_for(ms(700)))?;
    for _ in 0..3 {
        let wait = rng.duration(ms(0)..=ms(300));
        run(&mut sim, |s| s.run_for(wait))?;
        *count.borrow_mut() = 0;
        crash(&mut sim, &audit, leader)?;
        let crashed = sim.now();
        let Some(next) = await_leader(&mut sim, SESSION_TIMEOUT + ms(1_000))? else {
            return Err(Failure::after_run(
                &sim,
                ELECTED,
                format!(
                    "the leader {leader} crashed at {crashed} and no client led by {}",
                    sim.now()
                ),
            ));
        };
        run(&mut sim, |s| s.run_for(ms(300)))?;
        let spent = *count.borrow();
        if spent > CHANGE_MESSAGES {
            return Err(Failure::after_run(
                &sim,
                NO_HERD,
                format!(
                    "with {clients} clients, the change from {leader} to {next} took {spent} \
                     messages of election traffic (requests, answers, notifications), more than \
                     {CHANGE_MESSAGES}"
                ),
            ));
        }
        leader = next;
    }
    Ok(())
}

/// Five seconds of faults drawn from the seed, every 150 to 500 ms: a
/// client joins, the leader crashes, or another client crashes (with
/// `cuts`, the leader is also cut off from everyone, long enough for its
/// session to expire, then healed); on a calm or a lossy network (loss,
/// duplicates, long delays), every clock skewed.
pub fn turmoil<N: Service>(seed: u64, lossy_net: bool, cuts: bool) -> Result<(), Failure> {
    let clients = 6;
    let network = |rng: &mut SimRng| if lossy_net { lossy(rng) } else { calm() };
    let (mut sim, mut rng, audit) = start::<N>(seed, clients, network, ALL);
    let mut waiting: Vec<NodeId> = (REPLICAS..REPLICAS + clients).map(NodeId).collect();
    for _ in 0..3 {
        let id = waiting.remove(rng.below(waiting.len() as u64) as usize);
        sim.request(id, Request::Join);
    }
    let mut crashes = 0;
    let mut cut = false;
    // With cuts, the first leader there is gets cut off for certain.
    let mut cut_once = false;
    let end = sim.now() + Duration::from_secs(5);
    while sim.now() < end {
        let pause = rng.duration(ms(150)..=ms(500));
        run(&mut sim, |s| s.run_for(pause))?;
        let roll = rng.unit();
        if cut {
            run(&mut sim, |s| s.heal())?;
            cut = false;
        } else if cuts && (roll >= 0.8 || !cut_once) && !leaders(&sim).is_empty() {
            if let Some(&leader) = leaders(&sim).first() {
                cut_once = true;
                let rest: Vec<NodeId> = sim.ids().filter(|&id| id != leader).collect();
                run(&mut sim, |s| s.partition(&[&[leader], &rest]))?;
                let away = rng.duration(SESSION_TIMEOUT..=SESSION_TIMEOUT * 2);
                run(&mut sim, |s| s.run_for(away))?;
                cut = true;
            }
        } else if roll < 0.3 && !waiting.is_empty() {
            let id = waiting.remove(rng.below(waiting.len() as u64) as usize);
            sim.request(id, Request::Join);
        } else if roll < 0.5 && crashes < 3 {
            let victim = match leaders(&sim).first() {
                Some(&leader) if rng.chance(0.6) => leader,
                _ => NodeId(REPLICAS + rng.below(clients as u64) as usize),
            };
            if sim.is_up(victim) {
                crash(&mut sim, &audit, victim)?;
                crashes += 1;
            }
        }
    }
    // Long enough for the last crash's nodes to go.
    let settle = gone_bound(sim.network()) + ms(100);
    run(&mut sim, |s| s.run_for(settle))
}

/// The tree alone, on a log drawn from the seed: sessions open, ping, go
/// quiet and expire; they create (plain, ephemeral, sequential), delete,
/// list and watch a few paths, and repeat requests. Every entry is judged
/// by the same rules as the service's log.
pub fn random_log<N: Service>(seed: u64) -> Result<(), Failure> {
    let mut rng = SimRng::new(seed);
    let paths = ["/a", "/b", "/a/x", "/a/y", "/b/x", "/a/x/z"];
    let mut log = Vec::new();
    let mut now = Time::ZERO;
    // Each client's session number and next request number.
    let mut sessions: Vec<(SessionId, u64)> = (REPLICAS..REPLICAS + 3)
        .map(|c| {
            let session = SessionId {
                client: NodeId(c),
                number: 1,
            };
            (session, 1)
        })
        .collect();
    for _ in 0..600 {
        let i = rng.below(sessions.len() as u64) as usize;
        let (session, xid) = sessions[i];
        let path = paths[rng.below(paths.len() as u64) as usize].to_string();
        let watch = rng.chance(0.7);
        let op = match rng.below(9) {
            0 | 1 => Op::Create {
                path,
                ephemeral: rng.chance(0.5),
                sequential: false,
            },
            2 => Op::Create {
                path: format!("{path}/s-"),
                ephemeral: rng.chance(0.5),
                sequential: true,
            },
            3 | 4 => Op::Delete { path },
            5 | 6 => Op::Exists { path, watch },
            7 => Op::Children { path, watch },
            _ => {
                // On a 50 ms grid, so that expiries fall exactly on a Tick.
                now = now + ms(50) * rng.below(6) as u32;
                log.push(Command::Tick { now });
                continue;
            }
        };
        let roll = rng.unit();
        if roll < 0.1 {
            // A repeat of the last request (or a fresh one if none yet).
            let xid = xid.saturating_sub(1).max(1);
            log.push(Command::Request { session, xid, op });
        } else if roll < 0.2 {
            let sent = now;
            log.push(Command::Ping { session, sent });
        } else if roll >= 0.97 && session.number > 1 {
            // A late Open of this client's previous session.
            let old = SessionId {
                number: session.number - 1,
                ..session
            };
            let (op, xid) = (Op::Open, 1);
            log.push(Command::Request {
                session: old,
                xid,
                op,
            });
        } else if roll < 0.23 {
            // A new session for this client (the old one goes quiet).
            let next = SessionId {
                number: session.number + 1,
                ..session
            };
            log.push(Command::Request {
                session: next,
                xid: 1,
                op: Op::Open,
            });
            sessions[i] = (next, 2);
        } else {
            if xid == 1 {
                log.push(Command::Request {
                    session,
                    xid,
                    op: Op::Open,
                });
                sessions[i].1 = 2;
                continue;
            }
            log.push(Command::Request { session, xid, op });
            sessions[i].1 += 1;
        }
    }
    let mut audit = Audit::<N>::new();
    audit.replay(&log);
    match audit.broken.into_values().next() {
        Some((property, detail)) => Err(Failure::new(property, detail)),
        None => Ok(()),
    }
}

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded(
            "sessions::the_tree_keeps_its_rules_on_a_random_log",
            8,
            random_log::<Member>,
        )
        .seeded(
            "sessions::one_leader_as_clients_join_and_crash",
            4,
            |seed| turmoil::<Member>(seed, false, false),
        )
        .seeded(
            "sessions::one_leader_on_a_lossy_network_with_skewed_clocks",
            4,
            |seed| turmoil::<Member>(seed, true, false),
        )
        .seeded(
            "sessions::one_leader_when_the_leader_is_cut_off_past_its_session",
            4,
            |seed| turmoil::<Member>(seed, false, true),
        )
        .seeded("sessions::leader_changes_without_a_herd_of_5", 3, |seed| {
            changes::<Member>(seed, 5, ALL)
        })
        .seeded("sessions::leader_changes_without_a_herd_of_10", 3, |seed| {
            changes::<Member>(seed, 10, ALL)
        })
}

/// The checks, run on the reference with one bug each (`bugs/`).
#[cfg(bugs)]
pub fn meta(suite: Suite) -> Suite {
    use crate::bugs::expiry_by_own_clock::sessions::Member as OwnClock;
    use crate::bugs::expiry_keeps_ephemerals::sessions::Member as KeepsEphemerals;
    use crate::bugs::herd::sessions::Member as Herd;
    use crate::bugs::leads_past_its_session::sessions::Member as PastSession;
    use crate::bugs::watch_fires_twice::sessions::Member as FiresTwice;
    use dscheck::expect_caught;
    suite
        .test("meta::a_watch_that_fires_twice_is_caught", || {
            expect_caught(WATCH_ONCE, 10, random_log::<FiresTwice>)
        })
        .test(
            "meta::an_ephemeral_node_outliving_its_session_is_caught",
            || expect_caught(OWNED, 10, random_log::<KeepsEphemerals>),
        )
        .test(
            "meta::a_crashed_client_whose_nodes_remain_is_caught_in_true_time",
            || {
                let checks = Checks {
                    owned: false,
                    ..ALL
                };
                expect_caught(GONE, 10, |seed| changes::<KeepsEphemerals>(seed, 5, checks))
            },
        )
        .test("meta::a_herd_is_caught_per_deletion", || {
            expect_caught(NO_HERD, 10, |seed| changes::<Herd>(seed, 5, ALL))
        })
        .test("meta::a_herd_is_caught_by_the_message_count", || {
            let checks = Checks {
                per_deletion: false,
                ..ALL
            };
            expect_caught(NO_HERD, 10, |seed| changes::<Herd>(seed, 5, checks))
        })
        .test("meta::a_leader_cut_off_past_its_session_is_caught", || {
            expect_caught(ONE_LEADER, 10, |seed| {
                turmoil::<PastSession>(seed, false, true)
            })
        })
        .test("meta::expiry_by_each_replicas_own_clock_is_caught", || {
            expect_caught(AGREE, 10, |seed| turmoil::<OwnClock>(seed, false, false))
        })
}
