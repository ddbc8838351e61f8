//! storage_wal's runs: random workloads across cuts, torn tails, a burst,
//! and checkpoints one write at a time.

use super::{watch, Store, ACKED, CHECKPOINTED, DURABLE, GROUP_COMMIT, KEYS};
use crate::storage::common::{self, down_and_up, NODE};
use crate::subject::storage::wal::{Request, CHECKPOINT_EVERY, GROUP_WINDOW};
use dscheck::{ms, run, Failure};
use dsim::{Sim, SimRng};

/// A write's value, recognizable as request `n`'s: its tag repeated to a
/// length drawn from `rng` (often more than a sector, so it can tear).
pub(super) fn value(n: usize, rng: &mut SimRng) -> String {
    let tag = format!("<{n}>");
    let len = rng.range(1..=200) as usize;
    tag.repeat(len)
}

/// How the node goes down in a run of [`faults`]: `common::Cut`'s two
/// ways, and one more that only this suite's handlers are cut by.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cut {
    /// The power fails between two handlers.
    Power,
    Crash,
    /// The power fails between two disk operations of a handler (a commit,
    /// a checkpoint half written or half renamed), a few operations on.
    MidHandler,
}

/// Writes, deletes and reads over a few keys, a few at a time, with the
/// node's power cut (or the node crashed) at random points, then restarted.
pub fn faults<N: Store>(seed: u64, cut: Cut, synced_ack: bool) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, 1, |_| N::fresh());
    let mut rng = sim.scenario_rng();
    watch(&mut sim, synced_ack);
    for _ in 0..60 {
        for _ in 0..rng.range(1..=4) {
            let key = format!("k{}", rng.below(KEYS));
            let n = sim.history().len();
            let request = match rng.below(10) {
                0..=5 => Request::Put {
                    key,
                    value: value(n, &mut rng),
                },
                6 => Request::Delete { key },
                _ => Request::Get { key },
            };
            if sim.is_up(NODE) {
                sim.request(NODE, request);
            }
        }
        let pause = rng.duration(ms(0)..=ms(3));
        run(&mut sim, |s| s.run_for(pause))?;
        if rng.chance(0.15) {
            match cut {
                Cut::Power => run(&mut sim, |s| s.power_cut(NODE))?,
                Cut::Crash => run(&mut sim, |s| s.crash(NODE))?,
                Cut::MidHandler => sim.power_cut_after(NODE, rng.below(12)),
            }
        }
        if !sim.is_up(NODE) {
            run(&mut sim, |s| s.run_for(ms(1)))?;
            run(&mut sim, |s| s.restart(NODE))?;
        }
    }
    run(&mut sim, |s| s.run_for(ms(5)))?;
    down_and_up(&mut sim, common::Cut::Power)?;
    run(&mut sim, |s| s.run_for(ms(1)))
}

pub fn workload<N: Store>(seed: u64) -> Result<(), Failure> {
    faults::<N>(seed, Cut::Power, true)
}

/// The workload with SYNCED_ACK off.
pub fn workload_unwatched_acks<N: Store>(seed: u64) -> Result<(), Failure> {
    faults::<N>(seed, Cut::Power, false)
}

/// Power cuts while large writes wait for their sync, over a log reused
/// after checkpoints: the last record that reached the disk is often torn,
/// its first sectors new and the rest a stale record's bytes.
pub fn torn_tails<N: Store>(seed: u64) -> Result<(), Failure> {
    cuts_while_logging::<N>(seed, true)
}

/// [`torn_tails`], with SYNCED_ACK on or off.
pub fn cuts_while_logging<N: Store>(seed: u64, synced_ack: bool) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, 1, |_| N::fresh());
    let mut rng = sim.scenario_rng();
    watch(&mut sim, synced_ack);
    for _ in 0..40 {
        for synced in [true, false] {
            for _ in 0..2 {
                let n = sim.history().len();
                let key = format!("k{}", rng.below(KEYS));
                let len = rng.range(100..=250) as usize;
                let value = format!("<{n}>").repeat(len);
                sim.request(NODE, Request::Put { key, value });
            }
            // The second pair is logged but not yet synced at the cut.
            let wait = if synced { ms(5) } else { GROUP_WINDOW / 2 };
            run(&mut sim, |s| s.run_for(wait))?;
        }
        down_and_up(&mut sim, common::Cut::Power)?;
    }
    Ok(())
}

/// Writes one at a time, each acknowledged within 10 ms; after a crash,
/// recovery replays exactly those since the last checkpoint, which came
/// after every CHECKPOINT_EVERY of them.
pub fn checkpoints<N: Store>(seed: u64) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, 1, |_| N::fresh());
    let mut rng = sim.scenario_rng();
    watch(&mut sim, true);
    let mut logged = 0;
    for round in 0..4 {
        let writes = rng.range(1..=2 * CHECKPOINT_EVERY as u64) as usize;
        for _ in 0..writes {
            let n = sim.history().len();
            let key = format!("k{}", rng.below(KEYS));
            let id = sim.request(
                NODE,
                Request::Put {
                    key,
                    value: value(n, &mut rng),
                },
            );
            run(&mut sim, |s| s.run_for(ms(10)))?;
            if !sim.operation(id).is_complete() {
                return Err(Failure::after_run(
                    &sim,
                    ACKED,
                    format!("write {n} was not acknowledged within 10 ms"),
                ));
            }
        }
        logged = (logged + writes) % CHECKPOINT_EVERY;
        run(&mut sim, |s| s.crash(NODE))?;
        run(&mut sim, |s| s.restart(NODE))?;
        let replayed = sim.node(NODE).map_or(0, |n| n.replayed());
        if replayed != logged {
            return Err(Failure::after_run(
                &sim,
                CHECKPOINTED,
                format!(
                    "after round {round}, recovery replayed {replayed} records, but {logged} \
                     were logged since the last checkpoint (one every {CHECKPOINT_EVERY})"
                ),
            ));
        }
    }
    Ok(())
}

/// 40 writes arrive together, then 40 more 3 ms later: every one is
/// acknowledged, with at most one sync per two of them.
pub fn burst<N: Store>(seed: u64) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, 1, |_| N::fresh());
    let mut rng = sim.scenario_rng();
    watch(&mut sim, true);
    run(&mut sim, |s| s.run_for(ms(1)))?;
    let before = sim.disk(NODE).syncs();
    for _ in 0..2 {
        for _ in 0..40 {
            let n = sim.history().len();
            let key = format!("k{}", rng.below(KEYS));
            sim.request(
                NODE,
                Request::Put {
                    key,
                    value: value(n, &mut rng),
                },
            );
        }
        run(&mut sim, |s| s.run_for(ms(3)))?;
    }
    run(&mut sim, |s| s.run_for(ms(20)))?;
    let acked = sim.history().iter().filter(|op| op.is_complete()).count();
    let syncs = sim.disk(NODE).syncs() - before;
    if acked < 80 {
        return Err(Failure::after_run(
            &sim,
            DURABLE,
            format!("only {acked} of 80 writes were acknowledged within 20 ms of the last"),
        ));
    }
    if syncs * 2 > acked as u64 {
        return Err(Failure::after_run(
            &sim,
            GROUP_COMMIT,
            format!("{syncs} syncs for {acked} acknowledged writes"),
        ));
    }
    Ok(())
}
