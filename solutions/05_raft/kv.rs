//! # raft_kv: a key-value store on the log, with client sessions
//!
//! The store is a [`StateMachine`]: every node applies the same commands in
//! the same order, so every node's map is the same, and the leader answers
//! each client with the output of applying its command. Reads go through
//! the log too: a leader answering from its own map might have been deposed
//! without knowing it, and serve a stale value.
//!
//! A client that gets no answer cannot tell a lost request from a lost
//! reply, so it sends the same command again, perhaps to another node, and
//! the log may then hold it twice. A *session* per client makes that
//! harmless: each command carries its client's id and a sequence number
//! that grows by one per new command; the store remembers, per client, the
//! last sequence number applied and its output, and answers a copy with
//! that output instead of applying it again. Because the sessions are part
//! of the state machine, they are the same on every node and travel in
//! snapshots.

use crate::raft::{Index, Raft, StateMachine};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Names a client.
pub type ClientId = u64;

/// What a client asks of the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Read a key (`None` if it was never written).
    Get { key: String },
    /// Set a key.
    Put { key: String, value: String },
    /// Add to the end of a key's value (an absent key counts as empty).
    Append { key: String, value: String },
}

/// A command in the log: the operation and who sent it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvCommand {
    /// The client.
    pub client: ClientId,
    /// 1 for the client's first command, one more for each new one; a
    /// command sent again keeps its number.
    pub seq: u64,
    /// What to do.
    pub op: Op,
}

/// What the store answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KvOutput {
    /// The value read by a `Get`.
    Value(Option<String>),
    /// A `Put` or `Append` took effect.
    Done,
}

/// What the store remembers of a client: its last command applied, and
/// what that command returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The sequence number of the last command applied.
    pub last_seq: u64,
    /// Its output, to answer a copy of it.
    pub last_output: KvOutput,
}

/// The store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kv {
    /// The data.
    pub data: BTreeMap<String, String>,
    /// One session per client that has sent a command.
    pub sessions: BTreeMap<ClientId, Session>,
}

/// A key-value server: a Raft node driving a [`Kv`].
pub type KvServer = Raft<Kv>;

impl Kv {
    /// Carries out `op` on the data.
    pub fn execute(&mut self, op: &Op) -> KvOutput {
        // exercise: begin "Get: the value (cloned); Put: insert; Append: push_str onto the value (or onto an empty one); Put and Append answer Done"
        match op {
            Op::Get { key } => KvOutput::Value(self.data.get(key).cloned()),
            Op::Put { key, value } => {
                self.data.insert(key.clone(), value.clone());
                KvOutput::Done
            }
            Op::Append { key, value } => {
                self.data.entry(key.clone()).or_default().push_str(value);
                KvOutput::Done
            }
        }
        // exercise: end
    }
}

impl StateMachine for Kv {
    type Command = KvCommand;
    type Output = KvOutput;

    /// Applies a command once per client and sequence number: a command at
    /// or below the client's last applied number is a copy, answered with
    /// the output remembered (a client waits for each command before it
    /// sends the next, so a copy is always of its last one).
    // exercise: begin
    // stub: fn apply(&mut self, index: Index, command: &KvCommand) -> KvOutput {
    // stub:     todo!("a seq at or below the client's session last_seq: return its last_output; else execute, remember (seq, output) in the session, return the output")
    fn apply(&mut self, _index: Index, command: &KvCommand) -> KvOutput {
        if let Some(session) = self.sessions.get(&command.client) {
            if command.seq <= session.last_seq {
                return session.last_output.clone();
            }
        }
        let output = self.execute(&command.op);
        let session = Session {
            last_seq: command.seq,
            last_output: output.clone(),
        };
        self.sessions.insert(command.client, session);
        output
        // exercise: end
    }

    /// The data and the sessions: a node restored from a snapshot must
    /// still recognise copies of commands applied before it.
    fn snapshot(&self) -> Vec<u8> {
        // exercise: begin "serde_json::to_vec(self): data and sessions"
        serde_json::to_vec(self).expect("the store serialises")
        // exercise: end
    }

    fn restore(snapshot: &[u8]) -> Self {
        // exercise: begin "serde_json::from_slice(snapshot)"
        serde_json::from_slice(snapshot).expect("a snapshot written by Kv::snapshot")
        // exercise: end
    }
}
