//! What the cluster checks read of a node, so that the same checks run the
//! subject's `CacheNode` and the reference with one bug (`cache/bugs/`).

use crate::subject::cache::cluster::{
    Entry, Msg, Replication, Reply, Request, Ring, Timer, Unacked,
};
use dsim::{Node, NodeId};
use std::collections::BTreeMap;

pub trait Holder: Node<Msg = Msg, Timer = Timer, Request = Request, Reply = Reply> {
    fn make(mode: Replication, nodes: &[NodeId]) -> Self;
    fn ring(&self) -> &Ring;
    fn data(&self) -> &BTreeMap<u64, Entry>;
    fn unacked(&self) -> &BTreeMap<u64, Unacked>;
}

/// Implements [`Holder`] for cache node types with `CacheNode`'s fields.
macro_rules! holder {
    ($($node:ty),* $(,)?) => {$(
        impl $crate::cache::cluster::holder::Holder for $node {
            fn make(
                mode: $crate::subject::cache::cluster::Replication,
                nodes: &[dsim::NodeId],
            ) -> Self {
                <$node>::new(mode, nodes)
            }
            fn ring(&self) -> &$crate::subject::cache::cluster::Ring {
                &self.ring
            }
            fn data(&self) -> &std::collections::BTreeMap<u64, $crate::subject::cache::cluster::Entry> {
                &self.data
            }
            fn unacked(&self) -> &std::collections::BTreeMap<u64, $crate::subject::cache::cluster::Unacked> {
                &self.unacked
            }
        }
    )*};
}
#[cfg(bugs)]
pub(crate) use holder;

holder!(crate::subject::cache::cluster::CacheNode);
