//! A known-wrong store for the `meta::` tests: it applies every command it
//! is given, copies of a retried command included (no sessions).

use crate::subject::raft::kv::{KvCommand, KvOutput, Op};
use crate::subject::raft::{Index, StateMachine};
use std::collections::BTreeMap;

#[derive(Debug, Default)]
pub struct Sessionless(BTreeMap<String, String>);

impl StateMachine for Sessionless {
    type Command = KvCommand;
    type Output = KvOutput;

    fn apply(&mut self, _index: Index, command: &KvCommand) -> KvOutput {
        match &command.op {
            Op::Get { key } => KvOutput::Value(self.0.get(key).cloned()),
            Op::Put { key, value } => {
                self.0.insert(key.clone(), value.clone());
                KvOutput::Done
            }
            Op::Append { key, value } => {
                self.0.entry(key.clone()).or_default().push_str(value);
                KvOutput::Done
            }
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        let pairs: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
        pairs.join("\n").into_bytes()
    }

    fn restore(snapshot: &[u8]) -> Self {
        let text = String::from_utf8_lossy(snapshot);
        let pairs = text.lines().filter_map(|l| l.split_once('='));
        Sessionless(pairs.map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }
}
