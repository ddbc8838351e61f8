//! The state machine of the Raft tests: it records every command applied
//! and its index, so that the checks can compare nodes after every event.

use crate::subject::raft::Raft;
use crate::subject::raft::{Index, StateMachine};

/// Keeps the commands applied since it was created or restored.
#[derive(Debug, Default)]
pub struct Recorder {
    /// The index of the snapshot it was restored from (0: none).
    pub base: Index,
    /// `(index, command)` for every command applied since, in order.
    pub applied: Vec<(Index, u64)>,
}

impl Recorder {
    /// The last index applied (or restored).
    pub fn through(&self) -> Index {
        self.applied.last().map_or(self.base, |&(i, _)| i)
    }
}

impl StateMachine for Recorder {
    type Command = u64;
    type Output = u64;

    fn apply(&mut self, index: Index, command: &u64) -> u64 {
        self.applied.push((index, *command));
        index
    }

    /// The state is only how far it got: eight bytes, whatever the log.
    fn snapshot(&self) -> Vec<u8> {
        self.through().to_le_bytes().to_vec()
    }

    fn restore(snapshot: &[u8]) -> Self {
        let bytes: [u8; 8] = snapshot.try_into().unwrap_or_default();
        Recorder {
            base: u64::from_le_bytes(bytes),
            applied: Vec::new(),
        }
    }
}

/// The node the suite grades.
pub type Subject = Raft<Recorder>;
