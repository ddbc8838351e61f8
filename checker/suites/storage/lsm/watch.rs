//! storage_lsm's checks, registered on every run and checked after every
//! event; a wrong answer to a Get is blamed on the property [`judge`] finds.

use super::{
    Store, BOUNDED_RUNS, DURABLE, MAX_RUNS, NO_GARBAGE, NO_RESURRECTION, READS, SYNCED_ACK,
};
use crate::storage::common::history::{allowed, floor, shown, write_of, Write};
use crate::storage::common::{check_synced_ack, NODE};
use crate::subject::storage::lsm::{Reply, Request};
use dscheck::Property;
use dsim::{Broken, Event, Sim, Time};
use std::collections::BTreeMap;

/// The history's writes by key, brought up to date as it grows (it only
/// grows), so that a check reads only the writes to the key it judges.
#[derive(Default)]
struct Writes {
    seen: usize,
    by_key: BTreeMap<String, Vec<usize>>,
}

impl Writes {
    /// The writes to `key`, in the order they arrived.
    fn to<'h, N: Store>(&mut self, sim: &'h Sim<N>, key: &str) -> Vec<Write<'h>> {
        let history = sim.history();
        for (i, op) in history.iter().enumerate().skip(self.seen) {
            if let Some((key, _)) = write_of(op) {
                self.by_key.entry(key.to_string()).or_default().push(i);
            }
        }
        self.seen = history.len();
        let indices = self.by_key.get(key).map_or(&[][..], Vec::as_slice);
        let writes = indices.iter().filter_map(|&i| write_of(&history[i]));
        writes.map(|(_, write)| write).collect()
    }
}

/// Which property, if any, a Get of `key` answered with `got` breaks, and
/// how; `down` is when the node last crashed or lost power. An answer that
/// misses a write acknowledged before the node went down is blamed on
/// durability; else a value where a Delete is the floor, on resurrection.
fn judge(
    writes: &[Write],
    key: &str,
    got: Option<&str>,
    down: Option<Time>,
) -> Option<(Property, String)> {
    // Absent before any write is acknowledged; then the floor or later.
    if allowed(writes).contains(&got) {
        return None;
    }
    let floor = floor(writes).map(|f| writes[f]);
    let what = format!(
        "a Get of {key:?} returned {}, but the latest acknowledged write to it left {}",
        shown(got),
        shown(floor.and_then(|w| w.value))
    );
    let deleted = floor.is_some_and(|w| w.value.is_none());
    let acked_before_down = floor
        .and_then(|w| w.acked)
        .zip(down)
        .is_some_and(|(a, d)| a <= d);
    if acked_before_down {
        let how = if deleted {
            "the Delete was acknowledged before the node went down: it was lost, or a \
             compaction dropped its tombstone while an older run held the key"
        } else {
            "it was acknowledged before the node went down, and lost"
        };
        return Some((DURABLE, format!("{what}: {how}")));
    }
    if deleted && writes.iter().any(|w| w.value == got) {
        return Some((
            NO_RESURRECTION,
            format!("{what}: a value written before the key was deleted came back"),
        ));
    }
    Some((READS, what))
}

/// Registers a check of every Get's answer for `property`: the answers
/// [`judge`] blames on it.
fn check_gets<N: Store>(sim: &mut Sim<N>, property: Property) {
    let mut down: Option<Time> = None;
    let mut writes = Writes::default();
    sim.check(property, move |sim, step| {
        for entry in step.iter() {
            match &entry.event {
                Event::Crash { .. } | Event::PowerCut { .. } => down = Some(sim.now()),
                Event::Reply {
                    id,
                    reply: Reply::Value(got),
                    ..
                } => {
                    let Request::Get { key } = &sim.operation(*id).request else {
                        return Err(Broken::new("a write was answered with a value").nodes([NODE]));
                    };
                    let writes = writes.to(sim, key);
                    if let Some((p, what)) = judge(&writes, key, got.as_deref(), down) {
                        if p.name == property.name {
                            return Err(Broken::new(what).nodes([NODE]));
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    });
}

/// Registers every property checked after each event. A meta test turns
/// SYNCED_ACK off to see DURABLE catch, after a power cut, what SYNCED_ACK
/// would catch first.
pub fn watch<N: Store>(sim: &mut Sim<N>, synced_ack: bool) {
    check_gets(sim, NO_RESURRECTION);
    check_gets(sim, DURABLE);
    check_gets(sim, READS);
    check_synced_ack(
        sim,
        SYNCED_ACK,
        synced_ack,
        "a write was acknowledged while the disk still held unsynced writes or names: a power \
         cut now could lose it",
    );
    sim.check(NO_GARBAGE, |sim, _| {
        let Some(node) = sim.node(NODE) else {
            return Ok(());
        };
        let live = node.run_files();
        let disk = sim.disk(NODE);
        match disk
            .list()
            .find(|f| f.starts_with("run-") && !live.iter().any(|l| l == f))
        {
            Some(stray) => Err(Broken::new(format!(
                "the disk holds {stray:?}, but the store's live runs are {live:?}"
            ))
            .nodes([NODE])),
            None => Ok(()),
        }
    });
    sim.check(BOUNDED_RUNS, |sim, _| match sim.node(NODE) {
        Some(node) if node.runs() > MAX_RUNS => Err(Broken::new(format!(
            "the store holds {} runs (more than {MAX_RUNS})",
            node.runs()
        ))
        .nodes([NODE])),
        _ => Ok(()),
    });
}
