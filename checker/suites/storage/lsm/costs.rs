//! storage_lsm's runs that measure what the store costs: the bytes it
//! writes per byte of user data, the runs it keeps, and the runs a Get
//! reads (its Bloom filters sparing those of absent keys).

use super::scenarios::{all_answered, key, put, send, value};
use super::{watch, Store, AMPLIFICATION, FILTERED};
use crate::storage::common::NODE;
use crate::subject::storage::lsm::{Request, FALSE_POSITIVE_RATE};
use dscheck::{metric, ms, run, Failure};
use dsim::Sim;

/// 1600 Puts over 400 keys: the runs stay bounded after every event, and
/// the bytes written to the disk per byte of user data stay low.
pub fn write_heavy<N: Store>(seed: u64) -> Result<(), Failure> {
    const KEYS: u64 = 400;
    let mut sim = Sim::new(seed, 1, |_| N::fresh());
    let mut rng = sim.scenario_rng();
    watch(&mut sim, true);
    run(&mut sim, |s| s.run_for(ms(1)))?;
    let before = sim.disk(NODE).bytes_written();
    let mut user = 0;
    for _ in 0..1600 {
        let k = key(rng.below(KEYS));
        let v = value(sim.history().len(), &mut rng);
        user += k.len() + v.len();
        send(&mut sim, Request::Put { key: k, value: v });
        run(&mut sim, |s| s.run_for(ms(1)))?;
    }
    all_answered(&sim)?;
    let amplification = (sim.disk(NODE).bytes_written() - before) as f64 / user as f64;
    let runs = sim.node(NODE).map_or(0, |n| n.runs());
    metric("write amplification", format!("{amplification:.1}"));
    metric("runs after 1600 writes", runs);
    if amplification > 20.0 {
        return Err(Failure::after_run(
            &sim,
            AMPLIFICATION,
            format!("{amplification:.1} bytes written to the disk per byte of user data"),
        ));
    }
    Ok(())
}

/// 240 keys written (several runs), then Gets of present keys and of 600
/// keys never written: a Get of a present key reads few runs, and one of
/// an absent key reads a run only on a false positive of its filter.
pub fn absent_keys<N: Store>(seed: u64) -> Result<(), Failure> {
    const KEYS: u64 = 240;
    let mut sim = Sim::new(seed, 1, |_| N::fresh());
    let mut rng = sim.scenario_rng();
    watch(&mut sim, true);
    for k in 0..KEYS {
        put(&mut sim, &mut rng, key(k));
    }
    run(&mut sim, |s| s.run_for(ms(1)))?;
    let reads = |sim: &Sim<N>| sim.node(NODE).map_or(0, |n| n.runs_read());
    let runs = sim.node(NODE).map_or(0, |n| n.runs()) as u64;
    let start = reads(&sim);
    for k in 0..KEYS {
        send(&mut sim, Request::Get { key: key(k) });
    }
    run(&mut sim, |s| s.run_for(ms(1)))?;
    let present = (reads(&sim) - start) as f64 / KEYS as f64;
    let start = reads(&sim);
    let absent = 600;
    for a in 0..absent {
        send(
            &mut sim,
            Request::Get {
                key: format!("absent-{a}-{}", rng.below(1000)),
            },
        );
    }
    run(&mut sim, |s| s.run_for(ms(1)))?;
    let rate = (reads(&sim) - start) as f64 / (absent * runs.max(1)) as f64;
    metric("runs", runs);
    metric(
        "runs read per Get of a present key",
        format!("{present:.2}"),
    );
    metric(
        "false-positive rate (runs read per run consulted, absent keys)",
        format!("{rate:.4} (configured {FALSE_POSITIVE_RATE})"),
    );
    all_answered(&sim)?;
    if present > 2.0 {
        return Err(Failure::after_run(
            &sim,
            AMPLIFICATION,
            format!("a Get of a present key read {present:.2} runs on average"),
        ));
    }
    if rate > 2.0 * FALSE_POSITIVE_RATE {
        return Err(Failure::after_run(
            &sim,
            FILTERED,
            format!(
                "Gets of absent keys read {rate:.4} of the runs they consulted (their filters \
                 are sized for {FALSE_POSITIVE_RATE})"
            ),
        ));
    }
    Ok(())
}
