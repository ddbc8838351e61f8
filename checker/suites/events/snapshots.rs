//! events_snapshots: for random stock histories (drawn from the seed), a
//! snapshot plus the replay of its tail equals the full replay, at every
//! version; a repository that snapshots every few events loads the same
//! state as a full replay after every append; a snapshot that does not fit
//! the log is not used.

use crate::expect_caught;
use crate::subject::events::snapshots::{
    replay, restore, Event, Repository, Snapshot, Stock, FORMAT,
};
use dscheck::{ensure, Failure, Property, Suite};
use dsim::SimRng;
use std::collections::BTreeMap;

pub const REPLAY: Property = Property {
    name: "a full replay applies every event once, in order",
    hint: "start from Stock::default() and call apply for each event, in order",
    when: &[],
};
pub const EQUAL: Property = Property {
    name: "a snapshot plus the replay of its tail equals the full replay",
    hint: "the snapshot already contains log[..version]: clone its state and apply log[version..], nothing before it and everything after it",
    when: &[],
};
pub const POLICY: Property = Property {
    name: "a snapshot is taken at every multiple of `every` and holds the state at its version",
    hint: "in append, push the event first; then, if log.len() is a multiple of every, push Snapshot { format: FORMAT, version: log.len(), state: self.load() }",
    when: &[],
};
pub const LATEST: Property = Property {
    name: "load starts from the latest usable snapshot",
    hint: "usable_snapshot is the snapshot with the highest version among those that fit; load restores from it and replays only the tail",
    when: &[],
};
pub const FIT: Property = Property {
    name: "a snapshot of another format, or ahead of the log, is not used",
    hint: "a snapshot fits if its format == FORMAT and its version <= log.len(); skip the others, and fall back to replay(&self.log) if none fits",
    when: &[],
};

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded("snapshots::replay_applies_every_event_once", 10, |seed| {
            let log = history(seed, 120);
            let expected = fold(&log);
            let actual = replay(&log);
            ensure(actual == expected, REPLAY, || {
                format!(
                    "replay of {} events:\n  actual   {}\n  expected {}",
                    log.len(),
                    show(&actual),
                    show(&expected)
                )
            })
        })
        .seeded(
            "snapshots::a_snapshot_plus_its_tail_equals_the_full_replay",
            20,
            |seed| shrunk(history(seed, 150), &restore_law),
        )
        .seeded(
            "snapshots::loading_after_every_append_equals_the_full_replay",
            20,
            appends::<Repository>,
        )
        .seeded(
            "snapshots::a_snapshot_that_does_not_fit_is_not_used",
            10,
            misfits,
        )
        .test(
            "meta::a_snapshot_that_forgets_its_version_is_caught",
            || expect_caught(EQUAL, appends::<Forgetful>),
        )
}

/// The tests' own fold (with the given `Stock::apply`).
fn fold(events: &[Event]) -> Stock {
    let mut stock = Stock::default();
    events.iter().for_each(|e| stock.apply(e));
    stock
}

fn show(stock: &Stock) -> String {
    format!(
        "levels {:?}, discontinued {:?}, shipped {}",
        stock.levels, stock.discontinued, stock.shipped
    )
}

/// A random stock history of `len` events (no shipment above the level).
pub fn history(seed: u64, len: usize) -> Vec<Event> {
    let mut rng = SimRng::fork(seed, 0x5A95);
    let skus = ["bolt", "nut", "gear", "cog", "pin"];
    let mut levels: BTreeMap<&str, u64> = BTreeMap::new();
    (0..len)
        .map(|_| {
            let sku = *rng.pick(&skus);
            let level = levels.get(sku).copied().unwrap_or(0);
            match rng.below(10) {
                0..=3 => {
                    let qty = rng.range(1..=50);
                    levels.insert(sku, level + qty);
                    Event::Received {
                        sku: sku.to_string(),
                        qty,
                    }
                }
                4..=6 if level > 0 => {
                    let qty = rng.range(1..=level);
                    levels.insert(sku, level - qty);
                    Event::Shipped {
                        sku: sku.to_string(),
                        qty,
                    }
                }
                7 | 8 => {
                    let qty = rng.range(0..=60);
                    levels.insert(sku, qty);
                    Event::Counted {
                        sku: sku.to_string(),
                        qty,
                    }
                }
                9 => Event::Discontinued {
                    sku: sku.to_string(),
                },
                _ => {
                    levels.insert(sku, level + 1);
                    Event::Received {
                        sku: sku.to_string(),
                        qty: 1,
                    }
                }
            }
        })
        .collect()
}

/// `restore` from a snapshot at every version of `log` equals the full
/// replay.
fn restore_law(log: &[Event]) -> Result<(), Failure> {
    let full = fold(log);
    for version in 0..=log.len() {
        let snapshot = Snapshot {
            format: FORMAT,
            version: version as u64,
            state: fold(&log[..version]),
        };
        let actual = restore(&snapshot, log);
        ensure(actual == full, EQUAL, || {
            format!(
                "restore from a snapshot at version {version} of a log of {} events (the tail starts with {:?})\n  actual   {}\n  expected {}",
                log.len(),
                log.get(version),
                show(&actual),
                show(&full)
            )
        })?;
    }
    Ok(())
}

/// Runs `check` on `log`; if it fails, removes events one at a time, as
/// long as the same property still fails, and reports the failure on the
/// shortest history found, listed in full.
fn shrunk(log: Vec<Event>, check: &dyn Fn(&[Event]) -> Result<(), Failure>) -> Result<(), Failure> {
    let Err(mut failure) = check(&log) else {
        return Ok(());
    };
    let mut log = log;
    loop {
        let mut smaller = false;
        for i in (0..log.len()).rev() {
            let mut candidate = log.clone();
            candidate.remove(i);
            if let Err(f) = check(&candidate) {
                if f.property() == failure.property() {
                    (log, failure, smaller) = (candidate, f, true);
                }
            }
        }
        if !smaller {
            break;
        }
    }
    let listing: Vec<String> = (1..)
        .zip(&log)
        .map(|(v, e)| format!("    v{v} {e:?}"))
        .collect();
    let detail = format!(
        "{}\n  the history, shrunk to the {} events that still show it:\n{}",
        failure.detail(),
        log.len(),
        listing.join("\n")
    );
    Err(failure.with_detail(detail))
}

/// A repository as the tests drive it.
pub trait Repo {
    fn new(every: u64) -> Self;
    fn append(&mut self, event: Event);
    fn load(&self) -> Stock;
    /// (version, state) of each snapshot taken.
    fn taken(&self) -> Vec<(u64, Stock)>;
    /// The version load starts from.
    fn start(&self) -> u64;
}

impl Repo for Repository {
    fn new(every: u64) -> Self {
        Repository::new(every)
    }
    fn append(&mut self, event: Event) {
        Repository::append(self, event)
    }
    fn load(&self) -> Stock {
        Repository::load(self)
    }
    fn taken(&self) -> Vec<(u64, Stock)> {
        self.snapshots
            .iter()
            .map(|s| (s.version, s.state.clone()))
            .collect()
    }
    fn start(&self) -> u64 {
        self.usable_snapshot().map_or(0, |s| s.version)
    }
}

/// Appends a random history to a repository that snapshots every 1 to 10
/// events; after each append, loads and compares with the full replay.
fn appends<R: Repo>(seed: u64) -> Result<(), Failure> {
    let every = SimRng::fork(seed, 0xE7).range(1..=10);
    shrunk(history(seed, 120), &|log| appends_to::<R>(log, every))
}

/// Appends `log` to a repository that snapshots every `every` events,
/// checking after each append.
fn appends_to<R: Repo>(log: &[Event], every: u64) -> Result<(), Failure> {
    let mut repo = R::new(every);
    for (i, event) in log.iter().enumerate() {
        repo.append(event.clone());
        let len = i as u64 + 1;
        let expected = fold(&log[..=i]);
        let actual = repo.load();
        ensure(actual == expected, EQUAL, || {
            format!(
                "snapshots every {every} events; after append {len} ({event:?}), load (from the snapshot at version {}) gave\n  actual   {}\n  expected {} (the full replay)",
                repo.start(),
                show(&actual),
                show(&expected)
            )
        })?;
        let taken = repo.taken();
        let versions: Vec<u64> = taken.iter().map(|(v, _)| *v).collect();
        let wanted: Vec<u64> = (1..=len / every).map(|k| k * every).collect();
        ensure(versions == wanted, POLICY, || {
            format!("snapshots every {every} events; after {len} appends the snapshots are at versions {versions:?}, expected {wanted:?}")
        })?;
        if let Some((version, state)) = taken.last() {
            let expected = fold(&log[..*version as usize]);
            ensure(*state == expected, POLICY, || {
                format!("the snapshot at version {version} holds\n  {}\n  but the state after the first {version} events is\n  {}", show(state), show(&expected))
            })?;
        }
        let latest = len / every * every;
        ensure(repo.start() == latest, LATEST, || {
            format!("after {len} appends with snapshots every {every}, load starts from version {}, expected the latest snapshot, at version {latest}", repo.start())
        })?;
    }
    Ok(())
}

/// Snapshots that do not fit: another format, or ahead of the log, each
/// with a state that would show if it were used.
fn misfits(seed: u64) -> Result<(), Failure> {
    let log = history(seed, 60);
    let every = SimRng::fork(seed, 0xF1).range(5..=15);
    let mut repo = Repository::new(every);
    log.iter().for_each(|e| repo.append(e.clone()));
    let len = log.len() as u64;
    let mut bogus = Stock::default();
    bogus.levels.insert("stale".to_string(), 999);
    let cases = [
        (
            "a snapshot of format FORMAT - 1 at the log's end",
            Snapshot {
                format: FORMAT - 1,
                version: len,
                state: bogus.clone(),
            },
        ),
        (
            "a snapshot 3 events ahead of the log",
            Snapshot {
                format: FORMAT,
                version: len + 3,
                state: bogus.clone(),
            },
        ),
    ];
    let expected = fold(&log);
    for (what, snapshot) in cases {
        let mut repo = repo.clone();
        repo.snapshots.push(snapshot);
        let actual = repo.load();
        ensure(actual == expected, FIT, || {
            format!("with {what} added to the snapshots (its state holds a \"stale\" article), load gave\n  actual   {}\n  expected {}", show(&actual), show(&expected))
        })?;
        let start = repo.usable_snapshot().map(|s| (s.format, s.version));
        let wanted = Some((FORMAT, len / every * every)).filter(|&(_, v)| v > 0);
        ensure(start == wanted, FIT, || {
            format!("with {what} added, usable_snapshot is (format, version) {start:?}, expected {wanted:?}")
        })?;
    }
    let mut empty = Repository::new(every);
    empty.snapshots.push(Snapshot {
        format: FORMAT,
        version: 1,
        state: bogus,
    });
    let actual = empty.load();
    ensure(actual == Stock::default(), FIT, || {
        format!(
            "an empty log with a snapshot at version 1: load gave {}, expected the empty stock",
            show(&actual)
        )
    })
}

/// A repository whose snapshots keep the state but not the version they
/// cover: on load it cannot tell where the tail starts, and replays the
/// whole log on top of the snapshot.
struct Forgetful {
    log: Vec<Event>,
    states: Vec<Stock>,
    every: u64,
}

impl Repo for Forgetful {
    fn new(every: u64) -> Self {
        Forgetful {
            log: Vec::new(),
            states: Vec::new(),
            every,
        }
    }
    fn append(&mut self, event: Event) {
        self.log.push(event);
        if (self.log.len() as u64).is_multiple_of(self.every) {
            let state = self.load();
            self.states.push(state);
        }
    }
    fn load(&self) -> Stock {
        let mut stock = self.states.last().cloned().unwrap_or_default();
        self.log.iter().for_each(|e| stock.apply(e));
        stock
    }
    fn taken(&self) -> Vec<(u64, Stock)> {
        (1..)
            .zip(self.states.iter())
            .map(|(k, s)| (k * self.every, s.clone()))
            .collect()
    }
    fn start(&self) -> u64 {
        self.log.len() as u64 / self.every * self.every
    }
}
