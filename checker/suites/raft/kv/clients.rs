//! Clients of the key-value store, driven by the scenario: each sends one
//! command at a time, with its client id and sequence number; with no
//! answer for a while, or a "not the leader", it sends the same command
//! again, to the leader named or to another node. What each saw becomes a
//! history for the linearizability checker.

use crate::subject::raft::kv::{ClientId, KvCommand, KvOutput, Op};
use crate::subject::raft::{Raft, Reply, Request, StateMachine};
use dscheck::linearizability::{KvOp, KvRet, Op as LinOp};
use dscheck::ms;
use dsim::{NodeId, RequestId, Sim, SimRng, Time};
use std::collections::VecDeque;
use std::time::Duration;

/// A state machine the clients can drive.
pub trait Store: StateMachine<Command = KvCommand, Output = KvOutput> {}
impl<S: StateMachine<Command = KvCommand, Output = KvOutput>> Store for S {}

/// The keys the clients use.
const KEYS: [&str; 3] = ["x", "y", "z"];

struct Pending {
    seq: u64,
    op: Op,
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
    /// Whether clients start new operations (off in the final phase).
    pub issuing: bool,
    /// Answers that reached a client: (client, seq, node that answered).
    pub answered: Vec<(ClientId, u64, NodeId, Time)>,
}

impl Clients {
    pub fn new(count: usize, rng: SimRng, retry_after: Duration) -> Self {
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
            retry_after,
            issuing: true,
            answered: Vec::new(),
        }
    }

    /// Whether every client's last operation is answered and nothing is
    /// left in its script (the final reads, say).
    pub fn idle(&self) -> bool {
        self.clients
            .iter()
            .all(|c| c.pending.is_none() && c.script.is_empty())
    }

    /// How many operations completed.
    pub fn completed(&self) -> usize {
        self.clients.iter().map(|c| c.done.len()).sum()
    }

    /// The operations still waiting, as `(client, op)`.
    pub fn waiting(&self) -> Vec<(ClientId, Op)> {
        let pending = self
            .clients
            .iter()
            .filter_map(|c| Some((c.id, c.pending.as_ref()?.op.clone())));
        pending.collect()
    }

    /// Looks at answers, sends what is due; `targets` are the nodes
    /// clients send to when they know no leader.
    pub fn tick<S: Store>(&mut self, sim: &mut Sim<Raft<S>>, targets: &[NodeId]) {
        let now = sim.now();
        for client in &mut self.clients {
            if let Some(p) = &client.pending {
                let op = sim.operation(p.attempt);
                let reply = op.completion.clone();
                match reply {
                    Some((Reply::Applied { output, .. }, at)) => {
                        client.done.push(LinOp::complete(
                            client.id as usize,
                            lin_input(&p.op),
                            p.invoked.as_nanos(),
                            lin_output(&output),
                            at.as_nanos(),
                        ));
                        self.answered.push((client.id, p.seq, op.node, at));
                        client.pending = None;
                        client.next_at = now + ms(self.rng.range(0..=20));
                    }
                    Some((Reply::NotLeader { leader }, at)) if now >= at + ms(10) => {
                        let to = leader
                            .filter(|l| targets.contains(l))
                            .unwrap_or(*self.rng.pick(targets));
                        resend(sim, client, to);
                    }
                    None if now >= p.sent_at + self.retry_after => {
                        let to = *self.rng.pick(targets);
                        resend(sim, client, to);
                    }
                    _ => {}
                }
            } else if (self.issuing || !client.script.is_empty()) && now >= client.next_at {
                client.seq += 1;
                let key = KEYS[self.rng.below(KEYS.len() as u64) as usize].to_string();
                let value = format!("{}.{};", client.id, client.seq);
                let random = match self.rng.below(3) {
                    0 => Op::Get { key },
                    1 => Op::Put { key, value },
                    _ => Op::Append { key, value },
                };
                let op = client.script.pop_front().unwrap_or(random);
                let to = *self.rng.pick(targets);
                let attempt = send(sim, client.id, client.seq, &op, to);
                client.pending = Some(Pending {
                    seq: client.seq,
                    op,
                    invoked: now,
                    attempt,
                    sent_at: now,
                });
            }
        }
    }

    /// The first client reads every key once more (so that a command
    /// applied twice shows in a value read).
    pub fn read_every_key(&mut self) {
        let keys = KEYS.iter().map(|k| Op::Get { key: k.to_string() });
        self.clients[0].script.extend(keys);
    }

    /// Each client appends `count` values of its own to key `k`, one after
    /// another, and issues nothing else: a value applied twice is still
    /// there when `k` is read at the end (no Put overwrites it).
    pub fn append_only(&mut self, count: u64) {
        for client in &mut self.clients {
            let appends = (1..=count).map(|n| Op::Append {
                key: KEYS[0].to_string(),
                value: format!("{}.{n};", client.id),
            });
            client.script.extend(appends);
        }
        self.issuing = false;
    }

    /// The history: completed operations, and the pending ones as such.
    pub fn history(&self) -> Vec<LinOp<KvOp, KvRet>> {
        let mut ops = Vec::new();
        for c in &self.clients {
            ops.extend(c.done.iter().cloned());
            if let Some(p) = &c.pending {
                ops.push(LinOp::pending(
                    c.id as usize,
                    lin_input(&p.op),
                    p.invoked.as_nanos(),
                ));
            }
        }
        ops
    }
}

fn send<S: Store>(
    sim: &mut Sim<Raft<S>>,
    client: ClientId,
    seq: u64,
    op: &Op,
    to: NodeId,
) -> RequestId {
    let command = KvCommand {
        client,
        seq,
        op: op.clone(),
    };
    sim.request(to, Request::Command(command))
}

fn resend<S: Store>(sim: &mut Sim<Raft<S>>, client: &mut Client, to: NodeId) {
    let now = sim.now();
    if let Some(p) = &mut client.pending {
        p.attempt = send(sim, client.id, p.seq, &p.op, to);
        p.sent_at = now;
    }
}

fn lin_input(op: &Op) -> KvOp {
    match op.clone() {
        Op::Get { key } => KvOp::Get { key },
        Op::Put { key, value } => KvOp::Put { key, value },
        Op::Append { key, value } => KvOp::Append { key, value },
    }
}

fn lin_output(output: &KvOutput) -> KvRet {
    match output {
        KvOutput::Value(v) => KvRet::Value(v.clone()),
        KvOutput::Done => KvRet::Done,
    }
}
