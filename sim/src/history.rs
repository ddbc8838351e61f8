//! Client operations as a history: when each was invoked and when (if ever)
//! it completed, as linearizability and similar checkers need.

use crate::node::{Node, NodeId, RequestId};
use crate::time::Time;
use serde::Serialize;

/// One client operation.
#[derive(Serialize)]
#[serde(bound = "")]
pub struct Operation<N: Node> {
    /// Its id, as the node saw it.
    pub id: RequestId,
    /// The node the request was sent to.
    pub node: NodeId,
    /// What the client asked.
    pub request: N::Request,
    /// True time at which the request reached the node.
    pub invoked_at: Time,
    /// The first reply and its true time, if the operation completed.
    pub completion: Option<(N::Reply, Time)>,
}

impl<N: Node> Operation<N> {
    /// Whether the client got an answer.
    pub fn is_complete(&self) -> bool {
        self.completion.is_some()
    }

    /// The reply, if there was one.
    pub fn reply(&self) -> Option<&N::Reply> {
        self.completion.as_ref().map(|(reply, _)| reply)
    }
}
