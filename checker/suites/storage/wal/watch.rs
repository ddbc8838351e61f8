//! storage_wal's checks, registered on every run and checked after every
//! event.

use super::{Store, ATOMIC, CHECKPOINTED, DURABLE, KEYS, READS, SYNCED_ACK};
use crate::storage::common::history::{allowed, by_key, shown, written};
use crate::storage::common::{check_synced_ack, NODE, UNSYNCED_ACK};
use crate::subject::storage::wal::{Reply, Request, CHECKPOINT_EVERY};
use dsim::{Broken, Event, Sim};

/// Registers ATOMIC, DURABLE, READS and SYNCED_ACK, checked after every
/// event, and CHECKPOINTED, checked after every restart. A meta test turns
/// SYNCED_ACK off to see DURABLE catch, after a power cut, what SYNCED_ACK
/// would catch first.
pub fn watch<N: Store>(sim: &mut Sim<N>, synced_ack: bool) {
    sim.check(ATOMIC, |sim, _| {
        let Some(node) = sim.node(NODE) else {
            return Ok(());
        };
        for (key, value) in node.map() {
            if !written(sim, value) {
                return Err(Broken::new(format!(
                    "the store holds {} under {key:?}, a value no client wrote",
                    shown(Some(value))
                ))
                .nodes([NODE]));
            }
        }
        Ok(())
    });
    sim.check(DURABLE, |sim, _| {
        let Some(node) = sim.node(NODE) else {
            return Ok(());
        };
        let writes = by_key(sim);
        for k in 0..KEYS {
            let key = format!("k{k}");
            let now = node.map().get(&key).map(String::as_str);
            let allowed = allowed(writes.get(key.as_str()).map_or(&[], Vec::as_slice));
            if !allowed.contains(&now) {
                return Err(Broken::new(format!(
                    "the store holds {} under {key:?}, but the latest acknowledged write \
                     to it left {} (lost, or an older write brought back)",
                    shown(now),
                    shown(allowed[0])
                ))
                .nodes([NODE]));
            }
        }
        Ok(())
    });
    sim.check(READS, |sim, step| {
        for entry in step.caused() {
            if let Event::Reply {
                id,
                reply: Reply::Value(got),
                ..
            } = &entry.event
            {
                let Request::Get { key } = &sim.operation(*id).request else {
                    return Err(Broken::new("a write was answered with a value").nodes([NODE]));
                };
                let writes = by_key(sim);
                let allowed = allowed(writes.get(key.as_str()).map_or(&[], Vec::as_slice));
                if !allowed.contains(&got.as_deref()) {
                    return Err(Broken::new(format!(
                        "a Get of {key:?} returned {}, but the latest acknowledged write \
                         to it left {}",
                        shown(got.as_deref()),
                        shown(allowed[0])
                    ))
                    .nodes([NODE]));
                }
            }
        }
        Ok(())
    });
    check_synced_ack(sim, SYNCED_ACK, synced_ack, UNSYNCED_ACK);
    sim.check(CHECKPOINTED, |sim, step| {
        let restarted = step
            .iter()
            .any(|e| matches!(e.event, Event::Start { .. } | Event::Restart { .. }));
        if let Some(node) = sim.node(NODE).filter(|_| restarted) {
            if node.replayed() > 2 * CHECKPOINT_EVERY {
                return Err(Broken::new(format!(
                    "recovery replayed {} log records (more than 2 × CHECKPOINT_EVERY = {})",
                    node.replayed(),
                    2 * CHECKPOINT_EVERY
                ))
                .nodes([NODE]));
            }
        }
        Ok(())
    });
}
