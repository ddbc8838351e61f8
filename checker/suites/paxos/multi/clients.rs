//! The clients of the replicated store, driven by the scenario: each sends
//! one command at a time with its client id and sequence number, and sends
//! the same command again (to the leader named in a `NotLeader`, or to any
//! node) until it is applied. What each saw becomes a history for
//! `dscheck::linearizability`.

use super::observe::Observed;
use crate::subject::paxos::multi::{ClientId, Command, Op, Output, Reply};
use dscheck::linearizability::{KvOp, KvRet, Op as LinOp};
use dscheck::ms;
use dsim::{NodeId, RequestId, Sim, SimRng, Time};
use std::collections::VecDeque;
use std::time::Duration;

/// The keys the clients use.
pub const KEYS: [&str; 2] = ["x", "y"];

struct Pending {
    command: Command,
    invoked: Time,
    attempt: RequestId,
    sent_at: Time,
}

struct Client {
    id: ClientId,
    seq: u64,
    pending: Option<Pending>,
    next_at: Time,
    /// Operations to send next, before any random one.
    script: VecDeque<Op>,
    done: Vec<LinOp<KvOp, KvRet>>,
}

/// The clients of a run.
pub struct Clients {
    clients: Vec<Client>,
    rng: SimRng,
    /// How long a client waits for an answer before it sends again.
    retry_after: Duration,
    /// The longest pause between a client's commands.
    pub think: Duration,
    /// Whether clients start new commands.
    pub issuing: bool,
    /// The node each client believes leads.
    leader: Option<NodeId>,
}

impl Clients {
    pub fn new(count: usize, rng: SimRng) -> Self {
        let clients = (0..count as u64)
            .map(|id| Client {
                id,
                seq: 0,
                pending: None,
                next_at: Time::ZERO,
                script: VecDeque::new(),
                done: Vec::new(),
            })
            .collect();
        Clients {
            clients,
            rng,
            retry_after: ms(100),
            think: ms(40),
            issuing: true,
            leader: None,
        }
    }

    /// Whether every command is answered and no script is left.
    pub fn idle(&self) -> bool {
        (self.clients.iter()).all(|c| c.pending.is_none() && c.script.is_empty())
    }

    /// How many commands completed.
    pub fn completed(&self) -> usize {
        self.clients.iter().map(|c| c.done.len()).sum()
    }

    /// The commands still waiting.
    pub fn waiting(&self) -> Vec<Command> {
        let pending = self.clients.iter().filter_map(|c| c.pending.as_ref());
        pending.map(|p| p.command.clone()).collect()
    }

    /// Looks at the answers and sends what is due, to the node believed to
    /// lead or, knowing none, to any of `targets`.
    pub fn tick<N: Observed>(&mut self, sim: &mut Sim<N>, targets: &[NodeId]) {
        let now = sim.now();
        for c in &mut self.clients {
            if let Some(p) = &c.pending {
                let op = sim.operation(p.attempt);
                match op.completion.clone() {
                    Some((Reply::Applied { output }, at)) => {
                        let (input, output) = (lin_input(&p.command.op), lin_output(output));
                        let invoked = p.invoked.as_nanos();
                        let done =
                            LinOp::complete(c.id as usize, input, invoked, output, at.as_nanos());
                        c.done.push(done);
                        self.leader = Some(op.node);
                        c.pending = None;
                        c.next_at = now + self.rng.duration(Duration::ZERO..=self.think);
                    }
                    Some((Reply::NotLeader { leader }, at)) if now >= at + ms(5) => {
                        self.leader = leader.filter(|l| targets.contains(l));
                        let to = self.leader.unwrap_or(*self.rng.pick(targets));
                        resend(sim, c, to);
                    }
                    None if now >= p.sent_at + self.retry_after => {
                        let to = *self.rng.pick(targets);
                        resend(sim, c, to);
                    }
                    _ => {}
                }
            } else if (self.issuing || !c.script.is_empty()) && now >= c.next_at {
                c.seq += 1;
                let key = KEYS[self.rng.below(KEYS.len() as u64) as usize].to_string();
                let value = format!("{}.{};", c.id, c.seq);
                let random = match self.rng.below(3) {
                    0 => Op::Get { key },
                    1 => Op::Put { key, value },
                    _ => Op::Append { key, value },
                };
                let op = c.script.pop_front().unwrap_or(random);
                let to = self.leader.unwrap_or(*self.rng.pick(targets));
                let command = Command {
                    client: c.id,
                    seq: c.seq,
                    op,
                };
                let attempt = sim.request(to, command.clone());
                c.pending = Some(Pending {
                    command,
                    invoked: now,
                    attempt,
                    sent_at: now,
                });
            }
        }
    }

    /// The first client reads every key once more, so that a command
    /// applied twice shows in a value read.
    pub fn read_every_key(&mut self) {
        let keys = KEYS.iter().map(|k| Op::Get { key: k.to_string() });
        self.clients[0].script.extend(keys);
    }

    /// The history: completed commands, and the pending ones as such.
    pub fn history(&self) -> Vec<LinOp<KvOp, KvRet>> {
        let mut ops = Vec::new();
        for c in &self.clients {
            ops.extend(c.done.iter().cloned());
            if let Some(p) = &c.pending {
                let input = lin_input(&p.command.op);
                ops.push(LinOp::pending(c.id as usize, input, p.invoked.as_nanos()));
            }
        }
        ops
    }
}

fn resend<N: Observed>(sim: &mut Sim<N>, client: &mut Client, to: NodeId) {
    let Some(p) = client.pending.as_mut() else {
        return;
    };
    p.attempt = sim.request(to, p.command.clone());
    p.sent_at = sim.now();
}

fn lin_input(op: &Op) -> KvOp {
    match op.clone() {
        Op::Get { key } => KvOp::Get { key },
        Op::Put { key, value } => KvOp::Put { key, value },
        Op::Append { key, value } => KvOp::Append { key, value },
    }
}

fn lin_output(output: Output) -> KvRet {
    match output {
        Output::Value(v) => KvRet::Value(v),
        Output::Done => KvRet::Done,
    }
}
