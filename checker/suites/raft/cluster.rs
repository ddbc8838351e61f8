//! A Raft cluster under test: the simulation with every safety property
//! watched, and the moves of a scenario (find the leader, get a command
//! committed, count the nodes that applied it).

use super::observe::{watch, Ledger, Observed, Shared};
use crate::subject::raft::{Index, Options, Reply, Request, Role};
use dscheck::{ms, run, secs, Failure, Property};
use dsim::{NodeId, RequestId, Sim};
use std::rc::Rc;
use std::time::Duration;

/// Builds a node: its id, the initial members, its options.
pub type Build<N> = Rc<dyn Fn(NodeId, &[NodeId], Options) -> N>;

pub const LEADER_ELECTED: Property = Property {
    name: "a leader is elected within 3 s when a majority is up and connected",
    hint: "every node keeps an election timer running and resets it only on AppendEntries from \
           the current leader or when it grants a vote; a candidate that hears from a leader of \
           its term becomes a follower; votes must be answered whatever the voter's role",
    when: &[],
};
pub const AGREEMENT: Property = Property {
    name: "a command given to the leader is committed on every connected node within 10 s",
    hint: "follow one command: the leader appends it and sends AppendEntries; each follower must \
           pass the consistency check (log.term_at(prev_log_index) == Some(prev_log_term), the \
           snapshot's last entry included) or answer where to retry; the leader commits once a \
           majority's match_index covers it and the entry is of its term; everyone applies up to \
           commit_index",
    when: &[],
};

/// The most events one run may take (a guard against message storms).
const MAX_EVENTS: u64 = 3_000_000;

pub struct Cluster<N: Observed> {
    pub sim: Sim<N>,
    pub ledger: Shared,
    next_command: u64,
}

impl<N: Observed> Cluster<N> {
    /// `nodes` nodes, all of them members.
    pub fn new(seed: u64, nodes: usize, build: &Build<N>, options: Options) -> Self {
        let members: Vec<NodeId> = (0..nodes).map(NodeId).collect();
        Self::with_members(seed, nodes, &members, build, options)
    }

    /// `nodes` nodes, of which `members` are the initial members.
    pub fn with_members(
        seed: u64,
        nodes: usize,
        members: &[NodeId],
        build: &Build<N>,
        options: Options,
    ) -> Self {
        let build = Rc::clone(build);
        let members = members.to_vec();
        let mut sim = Sim::new(seed, nodes, move |id| build(id, &members, options));
        if !dscheck::replaying() {
            sim.limit_trace(Some(5_000));
        }
        sim.max_events(MAX_EVENTS);
        let ledger = Shared::default();
        watch(&mut sim, &ledger);
        Cluster {
            sim,
            ledger,
            next_command: seed * 1_000_000,
        }
    }

    pub fn ids(&self) -> Vec<NodeId> {
        self.sim.ids().collect()
    }

    /// A command never used before in this run.
    pub fn command(&mut self) -> u64 {
        self.next_command += 1;
        self.next_command
    }

    /// Runs for `d` of simulated time.
    pub fn run_for(&mut self, d: Duration) -> Result<(), Failure> {
        run(&mut self.sim, |s| s.run_for(d))
    }

    /// The leader of `group`: an up member of it that is leader in a term
    /// no other up node of the group has passed.
    pub fn leader_of(sim: &Sim<N>, group: &[NodeId]) -> Option<NodeId> {
        let up = || group.iter().filter_map(|&id| sim.node(id).map(|n| (id, n)));
        let newest = up().map(|(_, n)| n.term()).max()?;
        up().find(|(_, n)| n.role() == Role::Leader && n.term() == newest)
            .map(|(id, _)| id)
    }

    /// The node to give commands to: of the nodes that believe they lead,
    /// the one with the newest term.
    pub fn leader(&self) -> Option<NodeId> {
        let leaders = self.sim.ids().filter_map(|id| {
            let node = self.sim.node(id)?;
            (node.role() == Role::Leader).then_some((node.term(), id))
        });
        leaders.max().map(|(_, id)| id)
    }

    /// Runs until `group` has a leader; fails after 3 s.
    pub fn await_leader(&mut self, group: &[NodeId]) -> Result<NodeId, Failure> {
        let group = group.to_vec();
        let found = run(&mut self.sim, |s| {
            s.run_until(secs(3), |s| Self::leader_of(s, &group).is_some())
        })?;
        match Self::leader_of(&self.sim, &group) {
            Some(leader) if found => Ok(leader),
            _ => Err(Failure::after_run(
                &self.sim,
                LEADER_ELECTED,
                format!(
                    "no leader among {} after 3 s{}",
                    names(&group),
                    self.terms()
                ),
            )),
        }
    }

    /// Each node's term and role, for a failure's detail.
    pub fn terms(&self) -> String {
        let mut text = String::new();
        for id in self.sim.ids() {
            text += &match self.sim.node(id) {
                None => format!("\n  {id}: down"),
                Some(n) => format!("\n  {id}: term {}, {:?}", n.term(), n.role()),
            };
        }
        text
    }

    /// A client gives `command` to `node`.
    pub fn submit(&mut self, node: NodeId, command: u64) -> RequestId {
        self.sim.request(node, Request::Command(command))
    }

    /// The reply to request `id`, if it came.
    pub fn reply(&self, id: RequestId) -> Option<&Reply<u64>> {
        let op = self.sim.history().iter().rev().find(|op| op.id == id)?;
        op.reply()
    }

    /// How many up nodes have applied index `index` (or a snapshot past it).
    pub fn applied_on(&self, index: Index) -> usize {
        applied_on(&self.sim, index)
    }

    /// The index at which some node applied `command`, if one did.
    pub fn index_of(&self, command: u64) -> Option<Index> {
        index_of(&self.ledger.borrow(), command)
    }

    /// Gets a fresh command committed and applied on at least `expected`
    /// nodes, giving it to whichever node leads (again, if it is not
    /// applied there within 2 s); fails after 10 s. Returns its index (the
    /// last, if it was applied at more than one).
    pub fn one(&mut self, expected: usize) -> Result<Index, Failure> {
        let command = self.command();
        self.one_command(command, expected)
    }

    /// [`Cluster::one`] for a given command.
    pub fn one_command(&mut self, command: u64, expected: usize) -> Result<Index, Failure> {
        let deadline = self.sim.now() + secs(10);
        let ledger = Rc::clone(&self.ledger);
        let done = move |s: &Sim<N>| {
            index_of(&ledger.borrow(), command).is_some_and(|i| applied_on(s, i) >= expected)
        };
        while self.sim.now() < deadline {
            if done(&self.sim) {
                return Ok(self.index_of(command).expect("applied"));
            }
            // Given again if a leader does not get it applied within 2 s
            // (a new leader commits nothing until an entry of its own term
            // arrives), so it may be applied at two indices.
            match self.leader() {
                Some(leader) => {
                    self.submit(leader, command);
                    run(&mut self.sim, |s| s.run_until(secs(2), &done))?;
                }
                None => self.run_for(ms(50))?,
            }
        }
        let applied = match self.index_of(command) {
            Some(i) => format!("applied at index {i} on {} node(s)", self.applied_on(i)),
            None => "applied nowhere".to_string(),
        };
        Err(Failure::after_run(
            &self.sim,
            AGREEMENT,
            format!(
                "command {command} should be applied on {expected} nodes, but after 10 s it is \
                 {applied}{}",
                self.terms()
            ),
        ))
    }
}

fn applied_on<N: Observed>(sim: &Sim<N>, index: Index) -> usize {
    sim.ids()
        .filter(|&id| {
            sim.node(id)
                .is_some_and(|n| n.recorder().through() >= index)
        })
        .count()
}

fn index_of(ledger: &Ledger, command: u64) -> Option<Index> {
    let found = ledger
        .applied
        .iter()
        .rev()
        .find(|(_, &(c, _))| c == command);
    found.map(|(&i, _)| i)
}

/// `{n0 n2 n4}`.
pub fn names(ids: &[NodeId]) -> String {
    let names: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
    format!("{{{}}}", names.join(" "))
}

impl<N: Observed> Cluster<N> {
    /// Node `id` crashes.
    pub fn crash(&mut self, id: NodeId) -> Result<(), Failure> {
        run(&mut self.sim, |s| s.crash(id))
    }

    /// Node `id` restarts from its storage.
    pub fn restart(&mut self, id: NodeId) -> Result<(), Failure> {
        run(&mut self.sim, |s| s.restart(id))
    }

    /// Restarts every crashed node and restores every link.
    pub fn restore_all(&mut self) -> Result<(), Failure> {
        for id in self.ids() {
            self.restart(id)?;
        }
        run(&mut self.sim, |s| s.heal())
    }

    /// The up nodes.
    pub fn up(&self) -> Vec<NodeId> {
        self.sim.ids().filter(|&id| self.sim.is_up(id)).collect()
    }
}
