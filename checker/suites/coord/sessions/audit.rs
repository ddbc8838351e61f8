//! The judge of the log: replays the sequencer's log, entry by entry, on a
//! tree of the implementation under test, and checks each entry by what it
//! changed (see the group's documentation).

use super::{parent_of, Service, LIFETIME, NO_HERD, OWNED, SEQUENTIAL, WATCH_ONCE};
use crate::subject::coord::sessions::{
    Applied, Command, Op, SessionId, Watch, WatchKind, ELECTION, SESSION_TIMEOUT,
};
use dsim::{Broken, NodeId, Property, Sim, Time};
use std::collections::{BTreeMap, BTreeSet};

/// What the scenario set up, shared with the checks.
pub struct Audit<N> {
    /// The tree after each prefix of the sequencer's log: `trees[i]` after
    /// `i` entries.
    pub trees: Vec<N>,
    /// The watches set and not yet fired, by the suite's own count.
    armed: BTreeSet<Watch>,
    /// The last sequential number of each parent.
    numbers: BTreeMap<String, u64>,
    /// Each session's last command, in log time.
    heard: BTreeMap<SessionId, Time>,
    /// The sessions that expired.
    ended: BTreeSet<SessionId>,
    /// The first broken rule of each property, until reported.
    pub broken: BTreeMap<&'static str, (Property, String)>,
    /// Each crashed client's session, and when it crashed (true time).
    pub crashed: Vec<(SessionId, Time)>,
}

impl<N: Service> Audit<N> {
    pub fn new() -> Self {
        Audit {
            trees: vec![N::fresh()],
            armed: BTreeSet::new(),
            numbers: BTreeMap::new(),
            heard: BTreeMap::new(),
            ended: BTreeSet::new(),
            broken: BTreeMap::new(),
            crashed: Vec::new(),
        }
    }

    fn flag(&mut self, property: Property, detail: String) {
        self.broken
            .entry(property.name)
            .or_insert((property, detail));
    }

    /// The first broken rule of `property`, if any (taken).
    pub fn take(&mut self, property: Property) -> Result<(), Broken> {
        match self.broken.remove(property.name) {
            Some((_, detail)) => Err(Broken::new(detail)),
            None => Ok(()),
        }
    }

    /// Replays the sequencer's new log entries.
    pub fn catch_up(&mut self, sim: &Sim<N>) {
        if let Some(sequencer) = sim.node(NodeId(0)) {
            self.replay(sequencer.log());
        }
    }

    /// Replays the entries of `log` not replayed yet.
    pub fn replay(&mut self, log: &[Command]) {
        // The trees are set aside while an entry is judged, so that the
        // judge reads the tree before it without a copy.
        let mut trees = std::mem::take(&mut self.trees);
        while trees.len() <= log.len() {
            let index = trees.len() - 1;
            let command = &log[index];
            let before = &trees[index];
            let mut after = before.tree_copy();
            let applied = after.apply(command);
            self.judge(index, command, before, &after, &applied);
            trees.push(after);
        }
        self.trees = trees;
    }

    /// The rules of one entry, from what it changed.
    fn judge(&mut self, index: usize, command: &Command, before: &N, after: &N, applied: &Applied) {
        let tick = match command {
            Command::Tick { now } => Some(*now),
            _ => None,
        };
        // Sessions: born by an Open, expired at the first Tick that is
        // SESSION_TIMEOUT past the last command, never revived.
        let now = after.log_time();
        for id in before.sessions().keys() {
            let heard = self.heard.get(id).copied().unwrap_or(Time::ZERO);
            let due = tick.is_some() && now >= heard + SESSION_TIMEOUT;
            if after.sessions().contains_key(id) == due {
                let what = if due { "kept" } else { "expired" };
                self.flag(
                    LIFETIME,
                    format!(
                        "log entry {index} ({command:?}) {what} the session {id:?}, whose last \
                         command was at log time {heard}; the log's time is now {now}"
                    ),
                );
            }
            if !after.sessions().contains_key(id) {
                self.ended.insert(*id);
            }
        }
        for id in after.sessions().keys() {
            let opened =
                matches!(command, Command::Request { session, op: Op::Open, .. } if session == id);
            if !before.sessions().contains_key(id) && (!opened || self.ended.contains(id)) {
                self.flag(
                    LIFETIME,
                    format!("log entry {index} ({command:?}) brought the session {id:?} to life"),
                );
            }
        }
        let session = match command {
            Command::Ping { session, .. } | Command::Request { session, .. } => Some(*session),
            Command::Tick { .. } => None,
        };
        let mut repeat = false;
        if let Some(s) = session.filter(|s| after.sessions().contains_key(s)) {
            self.heard.insert(s, after.log_time());
            if let Command::Request { xid, .. } = command {
                repeat = before.sessions().get(&s).is_some_and(|b| *xid <= b.xid);
            }
        }
        // Ephemeral nodes live only with their session.
        for (path, node) in after.nodes() {
            if let Some(owner) = node.owner {
                if !after.sessions().contains_key(&owner) {
                    self.flag(
                        OWNED,
                        format!(
                            "after log entry {index} ({command:?}) the ephemeral node {path} \
                             remains, but its owner's session {owner:?} has expired"
                        ),
                    );
                }
            }
        }
        let created: Vec<&String> = after
            .nodes()
            .keys()
            .filter(|p| !before.nodes().contains_key(*p))
            .collect();
        let deleted: Vec<&String> = before
            .nodes()
            .keys()
            .filter(|p| !after.nodes().contains_key(*p))
            .collect();
        // Sequential names.
        if let Command::Request {
            op:
                Op::Create {
                    path,
                    sequential: true,
                    ..
                },
            ..
        } = command
        {
            for name in &created {
                let digits = name.strip_prefix(path.as_str()).unwrap_or("");
                let number = digits.parse::<u64>().ok().filter(|_| digits.len() == 10);
                let parent = parent_of(name).to_string();
                let last = self.numbers.get(&parent).copied();
                match number {
                    Some(n) if last.is_none_or(|l| n > l) => {
                        self.numbers.insert(parent, n);
                    }
                    _ => self.flag(
                        SEQUENTIAL,
                        format!(
                            "log entry {index} ({command:?}) created {name}, after the number \
                             {last:?} under {parent}"
                        ),
                    ),
                }
            }
        }
        // Watches: the suite's own list, then what fired.
        let changed = |w: &Watch| match w.kind {
            WatchKind::Exists => created.contains(&&w.path) || deleted.contains(&&w.path),
            WatchKind::Children => {
                deleted.contains(&&w.path)
                    || created
                        .iter()
                        .chain(deleted.iter())
                        .any(|p| parent_of(p) == w.path)
            }
        };
        let dying = |w: &Watch| !after.sessions().contains_key(&w.session);
        let mut seen = BTreeSet::new();
        for w in &applied.fired {
            if !seen.insert(w.clone()) || !self.armed.contains(w) {
                self.flag(
                    WATCH_ONCE,
                    format!(
                        "log entry {index} ({command:?}) fired {w:?}, which was not set or \
                         had fired already"
                    ),
                );
            } else if !changed(w) {
                self.flag(
                    WATCH_ONCE,
                    format!(
                        "log entry {index} ({command:?}) fired {w:?}, though it did not \
                         change what that watch watches"
                    ),
                );
            }
        }
        let missed: Vec<Watch> = self
            .armed
            .iter()
            .filter(|w| changed(w) && !dying(w) && !seen.contains(*w))
            .cloned()
            .collect();
        for w in missed {
            self.flag(
                WATCH_ONCE,
                format!(
                    "log entry {index} ({command:?}) changed what {w:?} watches, and the \
                     watch did not fire"
                ),
            );
        }
        self.armed
            .retain(|w| !seen.contains(w) && !changed(w) && !dying(w));
        if let (Some(s), false) = (session, repeat) {
            let set = match command {
                Command::Request {
                    op: Op::Exists { path, watch: true },
                    ..
                } => Some((path, WatchKind::Exists)),
                Command::Request {
                    op: Op::Children { path, watch: true },
                    ..
                } if path == "/" || after.nodes().contains_key(path) => {
                    Some((path, WatchKind::Children))
                }
                _ => None,
            };
            if let Some((path, kind)) = set.filter(|_| after.sessions().contains_key(&s)) {
                self.armed.insert(Watch {
                    path: path.clone(),
                    kind,
                    session: s,
                });
            }
        }
        // No herd: a change under /election wakes one client per deleted
        // node at most (and a creation none).
        let gone = deleted.iter().filter(|p| parent_of(p) == ELECTION).count();
        let woken: BTreeSet<SessionId> = applied
            .fired
            .iter()
            .filter(|w| w.path == ELECTION || parent_of(&w.path) == ELECTION)
            .map(|w| w.session)
            .collect();
        if woken.len() > gone {
            self.flag(
                NO_HERD,
                format!(
                    "log entry {index} ({command:?}) deleted {gone} node(s) under {ELECTION} and \
                     woke {} clients at once: {woken:?}",
                    woken.len()
                ),
            );
        }
    }
}
