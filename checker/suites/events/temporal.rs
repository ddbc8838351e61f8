//! events_temporal: queries as of a version, as of a time, between two
//! times, and as of a version from snapshots, on seeded random price
//! histories whose timestamps often repeat (so that every boundary is
//! tried: a query time equal to an event's time, one before, one after).

use crate::expect_caught;
use crate::subject::events::temporal::{self as subject, Change, PriceList, Recorded, Snapshot};
use dscheck::{ensure, Failure, Property, Suite};
use dsim::SimRng;

pub const AS_OF_VERSION: Property = Property {
    name: "the state as of version v holds exactly the first v changes",
    hint: "version v means the changes with versions 1..=v: the slice log[..v], cut at log.len() if v is beyond the end",
    when: &[],
};
pub const AS_OF_TIME: Property = Property {
    name: "the state as of time t holds exactly the changes recorded at or before t",
    hint: "version_at(t) counts the changes with at <= t (inclusive: a change recorded exactly at t is in); partition_point finds it without a scan",
    when: &[],
};
pub const BETWEEN: Property = Property {
    name: "the changes between two times are those recorded after the first and at or before the second",
    hint: "between from and to is log[version_at(from)..version_at(to)]: after from (a change at from is already in as_of_time(from)) and up to to inclusive",
    when: &[],
};
pub const FROM_SNAPSHOT: Property = Property {
    name: "a query from a snapshot equals the replay of the first v changes",
    hint: "use only snapshots with version <= v (a later one already contains changes after v), the one with the highest version, then apply log[snapshot.version..v]",
    when: &[],
};
pub const LATEST_SNAPSHOT: Property = Property {
    name: "a query from snapshots starts at the latest snapshot at or before the version",
    hint: "among the snapshots with version <= v (v cut at the log's length), take the one with the highest version, including one taken exactly at v, and apply only the changes after it: its state stands for everything before",
    when: &[],
};

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded(
            "temporal::as_of_a_version_holds_the_first_v_changes",
            10,
            as_of_version::<Subject>,
        )
        .seeded(
            "temporal::as_of_a_time_holds_the_changes_recorded_until_then",
            10,
            as_of_time::<Subject>,
        )
        .seeded(
            "temporal::the_changes_between_two_times_join_the_two_states",
            10,
            between::<Subject>,
        )
        .seeded(
            "temporal::a_query_from_snapshots_equals_the_replay",
            10,
            from_snapshots::<Subject>,
        )
        .seeded(
            "temporal::a_query_starts_from_the_latest_snapshot_at_or_before_the_version",
            5,
            from_latest_snapshot::<Subject>,
        )
        .test(
            "meta::a_snapshot_query_that_replays_from_the_start_is_caught",
            || expect_caught(LATEST_SNAPSHOT, from_latest_snapshot::<Replays>),
        )
        .test(
            "meta::a_time_query_that_leaves_out_changes_at_t_is_caught",
            || expect_caught(AS_OF_TIME, as_of_time::<Exclusive>),
        )
        .test(
            "meta::a_snapshot_query_that_starts_after_the_version_is_caught",
            || expect_caught(FROM_SNAPSHOT, from_snapshots::<Exclusive>),
        )
}

/// The queries, so that the same checks run on the learner's and on a
/// known-wrong set.
pub trait Queries {
    fn as_of_version(log: &[Recorded], v: u64) -> PriceList;
    fn version_at(log: &[Recorded], t: u64) -> u64;
    fn as_of_time(log: &[Recorded], t: u64) -> PriceList;
    fn changes_between(log: &[Recorded], from: u64, to: u64) -> Vec<Recorded>;
    fn as_of_version_from(snapshots: &[Snapshot], log: &[Recorded], v: u64) -> PriceList;
}

pub struct Subject;

impl Queries for Subject {
    fn as_of_version(log: &[Recorded], v: u64) -> PriceList {
        subject::as_of_version(log, v)
    }
    fn version_at(log: &[Recorded], t: u64) -> u64 {
        subject::version_at(log, t)
    }
    fn as_of_time(log: &[Recorded], t: u64) -> PriceList {
        subject::as_of_time(log, t)
    }
    fn changes_between(log: &[Recorded], from: u64, to: u64) -> Vec<Recorded> {
        subject::changes_between(log, from, to).to_vec()
    }
    fn as_of_version_from(snapshots: &[Snapshot], log: &[Recorded], v: u64) -> PriceList {
        subject::as_of_version_from(snapshots, log, v)
    }
}

/// A random history: 80 changes to 4 items, at times that advance by 0,
/// 1, 2 or 5 ms.
pub fn history(seed: u64) -> Vec<Recorded> {
    let mut rng = SimRng::fork(seed, 0x7E3F);
    let items = ["tea", "jam", "oats", "figs"];
    let mut at = 1_000;
    (1..=80)
        .map(|version| {
            at += *rng.pick(&[0, 0, 1, 2, 5]);
            let item = rng.pick(&items).to_string();
            let change = if rng.chance(0.15) {
                Change::Delisted { item }
            } else {
                Change::PriceSet {
                    item,
                    cents: rng.range(50..=900),
                }
            };
            Recorded {
                version,
                at,
                change,
            }
        })
        .collect()
}

/// The tests' own replay of a prefix.
fn fold(changes: &[Recorded]) -> PriceList {
    let mut list = PriceList::default();
    changes.iter().for_each(|r| list.apply(&r.change));
    list
}

/// The times worth asking about: one before the first change, every time
/// a change has, the millisecond after each, one after the last.
fn times(log: &[Recorded]) -> Vec<u64> {
    let mut times: Vec<u64> = log.iter().flat_map(|r| [r.at, r.at + 1]).collect();
    times.push(log[0].at - 1);
    times.sort_unstable();
    times.dedup();
    times
}

fn around(log: &[Recorded], t: u64) -> String {
    let near: Vec<String> = log
        .iter()
        .filter(|r| r.at + 2 >= t && r.at <= t + 2)
        .map(|r| format!("v{} at {}", r.version, r.at))
        .collect();
    format!("changes near t = {t}: {}", near.join(", "))
}

fn as_of_version<Q: Queries>(seed: u64) -> Result<(), Failure> {
    let log = history(seed);
    for v in 0..=log.len() as u64 + 2 {
        let expected = fold(&log[..(v as usize).min(log.len())]);
        let actual = Q::as_of_version(&log, v);
        ensure(actual == expected, AS_OF_VERSION, || {
            format!(
                "as of version {v} (of {}):\n  actual   {:?}\n  expected {:?}",
                log.len(),
                actual.prices,
                expected.prices
            )
        })?;
    }
    Ok(())
}

fn as_of_time<Q: Queries>(seed: u64) -> Result<(), Failure> {
    let log = history(seed);
    for t in times(&log) {
        let version = log.iter().filter(|r| r.at <= t).count() as u64;
        let got = Q::version_at(&log, t);
        ensure(got == version, AS_OF_TIME, || {
            format!(
                "version_at({t}) is {got}, expected {version}\n  {}",
                around(&log, t)
            )
        })?;
        let expected = fold(&log[..version as usize]);
        let actual = Q::as_of_time(&log, t);
        ensure(actual == expected, AS_OF_TIME, || {
            format!("as of time {t} (the first {version} changes):\n  actual   {:?}\n  expected {:?}\n  {}", actual.prices, expected.prices, around(&log, t))
        })?;
    }
    Ok(())
}

fn between<Q: Queries>(seed: u64) -> Result<(), Failure> {
    let log = history(seed);
    let times = times(&log);
    let mut rng = SimRng::fork(seed, 0xB7);
    for _ in 0..200 {
        let (from, to) = (*rng.pick(&times), *rng.pick(&times));
        let expected: Vec<Recorded> = log
            .iter()
            .filter(|r| r.at > from && r.at <= to)
            .cloned()
            .collect();
        let actual = Q::changes_between(&log, from, to);
        let versions = |rs: &[Recorded]| rs.iter().map(|r| r.version).collect::<Vec<_>>();
        ensure(actual == expected, BETWEEN, || {
            format!(
                "changes_between({from}, {to}) gave versions {:?}, expected {:?}\n  {}\n  {}",
                versions(&actual),
                versions(&expected),
                around(&log, from),
                around(&log, to)
            )
        })?;
        if from <= to {
            let joined = Q::as_of_time(&log, from).then(&actual);
            let at_to = Q::as_of_time(&log, to);
            ensure(joined == at_to, BETWEEN, || {
                format!("as_of_time({from}) then the changes between {from} and {to} gave {:?}, but as_of_time({to}) is {:?}", joined.prices, at_to.prices)
            })?;
        }
    }
    Ok(())
}

fn from_snapshots<Q: Queries>(seed: u64) -> Result<(), Failure> {
    let log = history(seed);
    let mut rng = SimRng::fork(seed, 0x5A);
    let every = rng.range(3..=12);
    let mut snapshots: Vec<Snapshot> = (1..=log.len() as u64 / every)
        .map(|k| Snapshot {
            version: k * every,
            state: fold(&log[..(k * every) as usize]),
        })
        .collect();
    rng.shuffle(&mut snapshots);
    let at: Vec<u64> = snapshots.iter().map(|s| s.version).collect();
    for v in 0..=log.len() as u64 + 1 {
        let expected = fold(&log[..(v as usize).min(log.len())]);
        let actual = Q::as_of_version_from(&snapshots, &log, v);
        ensure(actual == expected, FROM_SNAPSHOT, || {
            format!(
                "as of version {v}, with snapshots at versions {at:?} (in that order):\n  actual   {:?}\n  expected {:?}",
                actual.prices, expected.prices
            )
        })?;
    }
    Ok(())
}

/// Snapshots whose states carry a mark (an item named after the snapshot),
/// so that the answer shows which snapshot a query started from: the
/// latest at or before the version, then the changes after it.
fn from_latest_snapshot<Q: Queries>(seed: u64) -> Result<(), Failure> {
    let log = history(seed);
    let mut rng = SimRng::fork(seed, 0x1A7E);
    let mut versions: Vec<u64> = (0..rng.range(3..=8))
        .map(|_| rng.range(1..=log.len() as u64))
        .collect();
    versions.sort_unstable();
    versions.dedup();
    let mut snapshots: Vec<Snapshot> = versions.iter().map(|&v| marked(&log, v)).collect();
    rng.shuffle(&mut snapshots);
    let at: Vec<u64> = snapshots.iter().map(|s| s.version).collect();
    for v in 0..=log.len() as u64 + 1 {
        let end = v.min(log.len() as u64);
        let expected = match versions.iter().rev().find(|&&s| s <= end) {
            Some(&s) => marked(&log, s).state.then(&log[s as usize..end as usize]),
            None => fold(&log[..end as usize]),
        };
        let actual = Q::as_of_version_from(&snapshots, &log, v);
        ensure(actual == expected, LATEST_SNAPSHOT, || {
            format!(
                "as of version {v}, with snapshots at versions {at:?} (in that order; each holds an item snapshot@VERSION):\n  actual   {:?}\n  expected {:?}",
                actual.prices, expected.prices
            )
        })?;
    }
    Ok(())
}

/// The snapshot at `version`, with the mark `snapshot@VERSION` in its state.
fn marked(log: &[Recorded], version: u64) -> Snapshot {
    let mut state = fold(&log[..version as usize]);
    state.prices.insert(format!("snapshot@{version}"), version);
    Snapshot { version, state }
}

/// Known-wrong queries: right, but a snapshot query that ignores the
/// snapshots and replays the log from the start.
pub struct Replays;

impl Queries for Replays {
    fn as_of_version(log: &[Recorded], v: u64) -> PriceList {
        fold(&log[..(v as usize).min(log.len())])
    }
    fn version_at(log: &[Recorded], t: u64) -> u64 {
        log.partition_point(|r| r.at <= t) as u64
    }
    fn as_of_time(log: &[Recorded], t: u64) -> PriceList {
        Self::as_of_version(log, Self::version_at(log, t))
    }
    fn changes_between(log: &[Recorded], from: u64, to: u64) -> Vec<Recorded> {
        log.iter()
            .filter(|r| r.at > from && r.at <= to)
            .cloned()
            .collect()
    }
    fn as_of_version_from(_: &[Snapshot], log: &[Recorded], v: u64) -> PriceList {
        Self::as_of_version(log, v)
    }
}

/// Known-wrong queries: a time query that takes only the changes recorded
/// strictly before t, and a snapshot query that takes the first snapshot
/// at or after the version and replays nothing (off by up to a snapshot).
pub struct Exclusive;

impl Queries for Exclusive {
    fn as_of_version(log: &[Recorded], v: u64) -> PriceList {
        fold(&log[..(v as usize).min(log.len())])
    }
    fn version_at(log: &[Recorded], t: u64) -> u64 {
        log.partition_point(|r| r.at < t) as u64
    }
    fn as_of_time(log: &[Recorded], t: u64) -> PriceList {
        Self::as_of_version(log, Self::version_at(log, t))
    }
    fn changes_between(log: &[Recorded], from: u64, to: u64) -> Vec<Recorded> {
        let (a, b) = (
            Self::version_at(log, from) as usize,
            Self::version_at(log, to) as usize,
        );
        log[a..b.max(a)].to_vec()
    }
    fn as_of_version_from(snapshots: &[Snapshot], log: &[Recorded], v: u64) -> PriceList {
        match snapshots
            .iter()
            .filter(|s| s.version >= v)
            .min_by_key(|s| s.version)
        {
            Some(s) => s.state.clone(),
            None => Self::as_of_version(log, v),
        }
    }
}
