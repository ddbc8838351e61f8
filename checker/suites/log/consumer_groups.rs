//! log_consumer_groups: three consumers share four partitions through a
//! coordinator while they join, leave and crash, on a network that may
//! lose, duplicate and delay. After every step: no partition has two owners
//! in one generation (from the consumers' own state), and no committed
//! offset passes a record no one processed. After a calm end: every record
//! was processed at least once (duplicates counted), every offset committed
//! to the end, and the partitions dealt among the live members.

use crate::subject::log::consumer_groups::{
    ConsumerGroups, Msg, Reply, Request, COORDINATOR, PARTITIONS, RECORDS, SESSION_TIMEOUT,
};
use dscheck::{ms, run, Failure, Property, Suite};
use dsim::{Broken, Clock, Network, Node, NodeId, Sim, SimRng};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// A node of the exercise: the reference, the learner's, or a known-wrong
/// one from `bugs/`.
pub trait Grouping: Node<Msg = Msg, Request = Request, Reply = Reply> {
    fn fresh() -> Self;
    fn generation(&self) -> u64;
    fn owned(&self) -> Vec<u64>;
    fn processed(&self) -> &[(u64, u64)];
    fn committed(&self) -> &BTreeMap<u64, u64>;
    fn owners(&self) -> &BTreeMap<u64, NodeId>;
    fn left(&self) -> bool;
}

macro_rules! grouping {
    ($($node:ty),* $(,)?) => {$(
        impl crate::log::consumer_groups::Grouping for $node {
            fn fresh() -> Self {
                <$node>::new()
            }
            fn generation(&self) -> u64 {
                self.generation
            }
            fn owned(&self) -> Vec<u64> {
                self.owned.keys().copied().collect()
            }
            fn processed(&self) -> &[(u64, u64)] {
                &self.processed
            }
            fn committed(&self) -> &std::collections::BTreeMap<u64, u64> {
                &self.committed
            }
            fn owners(&self) -> &std::collections::BTreeMap<u64, dsim::NodeId> {
                &self.owners
            }
            fn left(&self) -> bool {
                self.left
            }
        }
    )*};
}

grouping!(ConsumerGroups);

/// The coordinator and three consumers.
const NODES: usize = 4;

const ONE_OWNER: Property = Property {
    name: "each partition has at most one owner per generation",
    hint: "rebalance starts a new generation (generation += 1) and deals each partition to one \
           member; a consumer adopts only an assignment of a newer generation, and then owns \
           exactly its partitions",
    when: &[],
};

const NO_SKIP: Property = Property {
    name: "a committed offset never passes a record no consumer has processed",
    hint: "commit offset + 1 only after processing the record at offset; the coordinator takes \
           a commit only from the partition's owner in the current generation",
    when: &[],
};

const OWNED: Property = Property {
    name: "a consumer processes only records of partitions it owns in its generation",
    hint: "when a newer assignment comes, drop the records fetched under the old one (clear the \
           queue): whoever owns their partition now starts from its committed offset",
    when: &[],
};

const PROMPT: Property = Property {
    name: "on a network that delivers in 1 ms, a join, a leave or a crash is followed by a new \
           generation that every live member knows at once (a crash after SESSION_TIMEOUT, a \
           missed assignment by the next heartbeat), and while the group is stable no record \
           is processed twice",
    hint: "rebalance on every join (or a stranger's heartbeat), every leave of a member and \
           every member dropped by check_sessions, sending each member its Assignment; answer \
           each heartbeat of a member with its assignment; adopt only a newer generation",
    when: &[],
};

const DELIVERED: Property = Property {
    name: "once the network is calm and the consumers up, every record is processed at least \
           once, every offset is committed to the end, and the partitions are dealt among the \
           live members, each knowing its share",
    hint: "drop members silent for SESSION_TIMEOUT and rebalance; answer each heartbeat with \
           the current assignment; start a partition from its committed offset; fetch from \
           your position, and queue only records that start there",
    when: &[],
};

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded("consumer_groups::joins_leaves_and_crashes", 4, |seed| {
            churn::<ConsumerGroups>(seed, false)
        })
        .seeded(
            "consumer_groups::on_a_lossy_network_with_skewed_clocks",
            4,
            |seed| churn::<ConsumerGroups>(seed, true),
        )
        .seeded(
            "consumer_groups::rebalances_reach_every_member",
            2,
            calm::<ConsumerGroups>,
        )
}

/// The checks, run on the reference with one bug each (`bugs/`).
#[cfg(bugs)]
pub fn meta(suite: Suite) -> Suite {
    use crate::bugs::commits_before_processing::consumer_groups::ConsumerGroups as Early;
    use crate::bugs::same_generation::consumer_groups::ConsumerGroups as Same;
    use dscheck::expect_caught;
    suite
        .test("meta::a_rebalance_keeping_the_generation_is_caught", || {
            expect_caught(ONE_OWNER, 3, |seed| churn::<Same>(seed, false))
        })
        .test("meta::a_commit_before_processing_is_caught", || {
            expect_caught(NO_SKIP, 3, |seed| churn::<Early>(seed, false))
        })
}

#[cfg(bugs)]
grouping!(
    crate::bugs::commits_before_processing::consumer_groups::ConsumerGroups,
    crate::bugs::same_generation::consumer_groups::ConsumerGroups,
);

/// The consumers.
fn consumers() -> impl Iterator<Item = NodeId> {
    (1..NODES).map(NodeId)
}

/// What the checks learned of processing: each record's count, and each
/// consumer's processed list as far as it was read.
#[derive(Default)]
struct Processing {
    counts: BTreeMap<(u64, u64), u64>,
    read: BTreeMap<NodeId, usize>,
    /// Per partition, the first offset no one has processed.
    prefix: BTreeMap<u64, u64>,
}

impl Processing {
    fn update<N: Grouping>(&mut self, sim: &Sim<N>) {
        for c in consumers() {
            let Some(node) = sim.node(c) else {
                self.read.insert(c, 0);
                continue;
            };
            let read = self.read.entry(c).or_default();
            for &record in &node.processed()[*read..] {
                *self.counts.entry(record).or_default() += 1;
            }
            *read = node.processed().len();
        }
        for p in 0..PARTITIONS {
            let at = self.prefix.entry(p).or_default();
            while self.counts.contains_key(&(p, *at)) {
                *at += 1;
            }
        }
    }
}

/// Registers ONE_OWNER and NO_SKIP; returns what was processed.
fn watch<N: Grouping>(sim: &mut Sim<N>) -> std::rc::Rc<std::cell::RefCell<Processing>> {
    let mut owner: BTreeMap<(u64, u64), NodeId> = BTreeMap::new();
    sim.check(ONE_OWNER, move |sim, _| {
        for c in consumers() {
            let Some(node) = sim.node(c).filter(|n| !n.left()) else {
                continue;
            };
            for p in node.owned() {
                let first = *owner.entry((node.generation(), p)).or_insert(c);
                if first != c {
                    let detail = format!(
                        "{first} and {c} both owned partition {p} in generation {}",
                        node.generation()
                    );
                    return Err(Broken::new(detail).nodes([first, c]));
                }
            }
        }
        Ok(())
    });
    let mut read: BTreeMap<NodeId, usize> = BTreeMap::new();
    sim.check(OWNED, move |sim, _| {
        for c in consumers() {
            let Some(node) = sim.node(c) else {
                read.insert(c, 0);
                continue;
            };
            let at = read.entry(c).or_default();
            let owned = node.owned();
            if let Some(&(p, o)) = node.processed()[*at..]
                .iter()
                .find(|(p, _)| !owned.contains(p))
            {
                let detail = format!(
                    "{c} processed offset {o} of partition {p}, which it does not own in \
                     generation {} (it owns {owned:?})",
                    node.generation()
                );
                return Err(Broken::new(detail).nodes([c]));
            }
            *at = node.processed().len();
        }
        Ok(())
    });
    let processing = std::rc::Rc::new(std::cell::RefCell::new(Processing::default()));
    let mine = processing.clone();
    sim.check(NO_SKIP, move |sim, _| {
        let mut processing = mine.borrow_mut();
        processing.update(sim);
        let Some(coordinator) = sim.node(COORDINATOR) else {
            return Ok(());
        };
        for (&p, &committed) in coordinator.committed() {
            let prefix = processing.prefix.get(&p).copied().unwrap_or(0);
            if committed > prefix {
                let detail = format!(
                    "partition {p} is committed up to offset {committed}, and no consumer has \
                     processed offset {prefix}"
                );
                return Err(Broken::new(detail).nodes([COORDINATOR]));
            }
        }
        Ok(())
    });
    processing
}

/// A run: the group starts with n1 and n2 (n3 down); every 20 to 60 ms a
/// consumer drawn at random comes back (a join), crashes, or (once) leaves;
/// after 400 ms the calm end: every consumer that did not leave up, and
/// 1.5 s for the group to finish the topic.
fn churn<N: Grouping>(seed: u64, lossy: bool) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, NODES, |_| N::fresh());
    let mut rng = sim.scenario_rng();
    set_up(&mut sim, &mut rng, lossy);
    let processing = watch(&mut sim);
    run(&mut sim, |s| s.crash(NodeId(3)))?;
    let mut left = false;
    let end = sim.now() + ms(400);
    while sim.now() < end {
        let pause = rng.duration(ms(20)..=ms(60));
        run(&mut sim, |s| s.run_for(pause))?;
        let all: Vec<NodeId> = consumers().collect();
        let c = *rng.pick(&all);
        if !sim.is_up(c) {
            run(&mut sim, |s| s.restart(c))?;
        } else if !left && rng.chance(0.3) {
            left = true;
            sim.request(c, Request::Leave);
        } else if rng.chance(0.5) {
            run(&mut sim, |s| s.crash(c))?;
        }
    }
    sim.set_network(Network::reliable(ms(1), ms(10)));
    for c in consumers() {
        run(&mut sim, |s| s.restart(c))?;
    }
    run(&mut sim, |s| s.run_for(Duration::from_millis(1_500)))?;
    let processing = processing.borrow();
    let duplicates: u64 = processing.counts.values().map(|n| n - 1).sum();
    dscheck::metric("records processed more than once", duplicates);
    let coordinator = sim
        .node(COORDINATOR)
        .expect("the coordinator never crashes");
    for p in 0..PARTITIONS {
        let done = processing.prefix.get(&p).copied().unwrap_or(0);
        let committed = coordinator.committed().get(&p).copied().unwrap_or(0);
        if done < RECORDS || committed < RECORDS {
            let detail = format!(
                "1.5 s after the churn stopped, partition {p} is processed up to {done} and \
                 committed up to {committed} of its {RECORDS} records"
            );
            return Err(Failure::after_run(&sim, DELIVERED, detail));
        }
    }
    let live: BTreeSet<NodeId> = consumers()
        .filter(|&c| sim.node(c).is_some_and(|n| !n.left()))
        .collect();
    dealt(&sim, &live, DELIVERED, "at the end")
}

/// Fails with `property` unless the coordinator deals every partition
/// among exactly `live`, and each of them owns its share in the
/// coordinator's generation.
fn dealt<N: Grouping>(
    sim: &Sim<N>,
    live: &BTreeSet<NodeId>,
    property: Property,
    when: &str,
) -> Result<(), Failure> {
    let coordinator = sim
        .node(COORDINATOR)
        .expect("the coordinator never crashes");
    let owners: BTreeSet<NodeId> = coordinator.owners().values().copied().collect();
    for &c in live {
        let node = sim.node(c);
        let share: Vec<u64> = (coordinator.owners().iter())
            .filter(|(_, &o)| o == c)
            .map(|(&p, _)| p)
            .collect();
        if coordinator.owners().len() as u64 != PARTITIONS
            || owners != *live
            || node.map(|n| n.owned()) != Some(share)
            || node.map(|n| n.generation()) != Some(coordinator.generation())
        {
            let detail = format!(
                "{when}, the coordinator deals {:?} in generation {}, the live members are \
                 {live:?}, and {c} owns {:?} in generation {:?}",
                coordinator.owners(),
                coordinator.generation(),
                node.map(|n| n.owned()),
                node.map(|n| n.generation())
            );
            return Err(Failure::after_run(
                sim,
                property,
                Broken::new(detail).nodes([c]),
            ));
        }
    }
    Ok(())
}

/// The network (lossy or calm) and, when lossy, skewed clocks.
fn set_up<N: Node>(sim: &mut Sim<N>, rng: &mut SimRng, lossy: bool) {
    let calm = Network::reliable(ms(1), ms(10));
    if !lossy {
        sim.set_network(calm);
        return;
    }
    sim.set_network(
        calm.with_loss(0.05 + 0.1 * rng.unit())
            .with_duplication(0.1)
            .with_long_delays(0.05, ms(60)),
    );
    for id in sim.ids().collect::<Vec<_>>() {
        let clock = Clock {
            skew_nanos: rng.range(0..=100_000_000) as i64 - 50_000_000,
            drift_ppm: 400.0 * rng.unit() - 200.0,
        };
        sim.set_clock(id, clock);
    }
}

/// Written out, on a network that delivers in 1 ms: n1 and n2 consume
/// from the start (n3 down), and from 20 to 40 ms no record may be
/// processed twice. n3 joins: 5 ms later every member knows the new deal.
/// n2 leaves while the coordinator's messages to n1 are lost for 5 ms: 30
/// ms later n1 knows it (from a heartbeat's answer). n3 crashes: after
/// SESSION_TIMEOUT and two heartbeat intervals, n1 alone owns everything.
/// Then the calm end.
fn calm<N: Grouping>(seed: u64) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, NODES, |_| N::fresh());
    sim.set_network(Network::reliable(ms(1), ms(1)));
    let processing = watch(&mut sim);
    let (n1, n2, n3) = (NodeId(1), NodeId(2), NodeId(3));
    run(&mut sim, |s| s.crash(n3))?;
    run(&mut sim, |s| s.run_for(ms(20)))?;
    let before: u64 = processing.borrow().counts.values().map(|n| n - 1).sum();
    run(&mut sim, |s| s.run_for(ms(20)))?;
    let after: u64 = processing.borrow().counts.values().map(|n| n - 1).sum();
    if after > before {
        let detail = format!(
            "{} records were processed twice while the group was stable",
            after - before
        );
        return Err(Failure::after_run(&sim, PROMPT, detail));
    }
    run(&mut sim, |s| s.restart(n3))?;
    run(&mut sim, |s| s.run_for(ms(5)))?;
    dealt(&sim, &[n1, n2, n3].into(), PROMPT, "5 ms after n3 joined")?;
    run(&mut sim, |s| s.cut(COORDINATOR, n1))?;
    sim.request(n2, Request::Leave);
    run(&mut sim, |s| s.run_for(ms(5)))?;
    run(&mut sim, |s| s.heal())?;
    run(&mut sim, |s| s.run_for(ms(30)))?;
    dealt(
        &sim,
        &[n1, n3].into(),
        PROMPT,
        "35 ms after n2 left (n1 missing the news)",
    )?;
    run(&mut sim, |s| s.crash(n3))?;
    run(&mut sim, |s| s.run_for(SESSION_TIMEOUT + ms(45)))?;
    dealt(&sim, &[n1].into(), PROMPT, "145 ms after n3 crashed")?;
    run(&mut sim, |s| s.restart(n3))?;
    run(&mut sim, |s| s.run_for(Duration::from_millis(1_500)))?;
    let done = processing.borrow().prefix.clone();
    if let Some((p, at)) = done.iter().find(|(_, &at)| at < RECORDS) {
        let detail = format!("at the end, partition {p} is processed up to {at} of {RECORDS}");
        return Err(Failure::after_run(&sim, DELIVERED, detail));
    }
    Ok(())
}
