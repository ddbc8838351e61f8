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

mod audit;
#[cfg(bugs)]
mod meta;
mod random_log;
mod scenarios;
mod watch;

use crate::subject::coord::sessions::{
    Applied, Command, Member, Msg, Request, Session, SessionId, Timer, Znode,
};
use dscheck::{Property, Suite};
use dsim::{Node, Time};
#[cfg(bugs)]
pub use meta::meta;
use random_log::random_log;
use scenarios::{changes, turmoil};
use std::collections::BTreeMap;
pub use watch::parent_of;
use watch::ALL;

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
