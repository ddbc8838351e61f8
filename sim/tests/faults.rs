//! The network's faults: partitions, isolated nodes, one-way cuts and healing
//! drop exactly the messages they should, for the reason they should; loss,
//! duplication and delays happen at about the configured rates.

use dsim::{Ctx, DropReason, Event, Network, Node, NodeId, RequestId, Sim, Time};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn n(i: usize) -> NodeId {
    NodeId(i)
}

/// What a test asks a probe to send.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Cmd {
    /// One message to `to`.
    One(NodeId),
    /// `count` messages to `to`.
    Many(NodeId, u64),
}

/// Sends what it is told to and counts what it receives.
#[derive(Debug, Default)]
struct Probe {
    received: Vec<(NodeId, u64)>,
}

impl Node for Probe {
    type Msg = u64;
    type Timer = ();
    type Request = Cmd;
    type Reply = ();

    fn on_message(&mut self, _ctx: &mut Ctx<Self>, from: NodeId, msg: u64) {
        self.received.push((from, msg));
    }

    fn on_request(&mut self, ctx: &mut Ctx<Self>, _id: RequestId, cmd: Cmd) {
        match cmd {
            Cmd::One(to) => ctx.send(to, 0),
            Cmd::Many(to, count) => (0..count).for_each(|k| ctx.send(to, k)),
        }
    }
}

/// `nodes` probes on a network with a fixed 10 ms latency.
fn probes(seed: u64, nodes: usize) -> Sim<Probe> {
    let mut sim = Sim::new(seed, nodes, |_| Probe::default());
    sim.set_network(Network::reliable(ms(10), ms(10)));
    sim.run_for(ms(1)).unwrap();
    sim
}

/// What became of the messages sent since trace index `since`.
#[derive(Debug, Default, PartialEq)]
struct Fate {
    delivered: BTreeSet<(usize, usize)>,
    dropped: BTreeMap<(usize, usize), DropReason>,
}

fn fate(sim: &Sim<Probe>, since: u64) -> Fate {
    let mut fate = Fate::default();
    for e in sim.trace().entries().filter(|e| e.index >= since) {
        match e.event {
            Event::Deliver { from, to, .. } => {
                fate.delivered.insert((from.0, to.0));
            }
            Event::Drop {
                from, to, reason, ..
            } => {
                fate.dropped.insert((from.0, to.0), reason);
            }
            _ => {}
        }
    }
    fate
}

/// Every node sends one message to every other node; the run goes quiet.
fn all_pairs(sim: &mut Sim<Probe>) -> Fate {
    let since = sim.trace().total();
    let ids: Vec<NodeId> = sim.ids().collect();
    for &from in &ids {
        for &to in &ids {
            if from != to {
                sim.request(from, Cmd::One(to));
            }
        }
    }
    assert!(sim.run_until_quiet(ms(1000)).unwrap());
    fate(sim, since)
}

/// The expected fate: pairs for which `blocked` holds are dropped for
/// `reason`, the rest delivered.
fn expect(nodes: usize, reason: DropReason, blocked: impl Fn(usize, usize) -> bool) -> Fate {
    let mut fate = Fate::default();
    for from in 0..nodes {
        for to in (0..nodes).filter(|&to| to != from) {
            if blocked(from, to) {
                fate.dropped.insert((from, to), reason);
            } else {
                fate.delivered.insert((from, to));
            }
        }
    }
    fate
}

fn group(i: usize) -> usize {
    usize::from(i >= 2)
}

#[test]
fn a_partition_blocks_exactly_the_links_between_groups() {
    let mut sim = probes(1, 4);
    sim.partition(&[&[n(0), n(1)], &[n(2), n(3)]]).unwrap();
    let expected = expect(4, DropReason::Partitioned, |a, b| group(a) != group(b));
    assert_eq!(all_pairs(&mut sim), expected);
    for a in 0..4 {
        for b in 0..4 {
            assert_eq!(sim.connected(n(a), n(b)), a == b || group(a) == group(b));
        }
    }
}

#[test]
fn nodes_left_out_of_a_partition_are_cut_off_from_everyone() {
    let mut sim = probes(1, 4);
    sim.partition(&[&[n(0), n(1)], &[n(2)]]).unwrap();
    let expected = expect(4, DropReason::Partitioned, |a, b| {
        a == 3 || b == 3 || group(a) != group(b)
    });
    assert_eq!(all_pairs(&mut sim), expected);
}

#[test]
fn isolate_cuts_one_node_off_both_ways() {
    let mut sim = probes(1, 3);
    sim.isolate(n(1)).unwrap();
    let expected = expect(3, DropReason::Partitioned, |a, b| a == 1 || b == 1);
    assert_eq!(all_pairs(&mut sim), expected);
}

#[test]
fn cut_blocks_one_direction_only() {
    let mut sim = probes(1, 3);
    sim.cut(n(0), n(1)).unwrap();
    assert!(!sim.connected(n(0), n(1)));
    assert!(sim.connected(n(1), n(0)));
    let expected = expect(3, DropReason::Partitioned, |a, b| (a, b) == (0, 1));
    assert_eq!(all_pairs(&mut sim), expected);
}

#[test]
fn heal_restores_every_link() {
    let mut sim = probes(1, 4);
    sim.partition(&[&[n(0)], &[n(1), n(2)]]).unwrap();
    sim.cut(n(2), n(1)).unwrap();
    sim.heal().unwrap();
    assert!(sim.ids().all(|a| sim.ids().all(|b| sim.connected(a, b))));
    assert_eq!(
        all_pairs(&mut sim),
        expect(4, DropReason::Lost, |_, _| false)
    );
}

#[test]
fn faults_are_recorded_in_the_trace() {
    let mut sim = probes(1, 3);
    sim.partition(&[&[n(0), n(1)], &[n(2)]]).unwrap();
    sim.isolate(n(0)).unwrap();
    sim.cut(n(1), n(2)).unwrap();
    sim.heal().unwrap();
    let faults: Vec<String> = sim
        .trace()
        .entries()
        .filter_map(|e| match &e.event {
            Event::Fault { what } => Some(what.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        faults,
        [
            "partition {n0 n1} | {n2}",
            "n0 is cut off from everyone",
            "link n1 → n2 cut",
            "all links restored"
        ]
    );
}

#[test]
fn a_message_in_flight_when_a_partition_starts_is_dropped_on_arrival() {
    let mut sim = probes(1, 2);
    sim.request(n(0), Cmd::One(n(1)));
    sim.run_for(ms(5)).unwrap();
    sim.partition(&[&[n(0)], &[n(1)]]).unwrap();
    let since = sim.trace().total();
    sim.run_for(ms(20)).unwrap();
    let drop = sim.trace().entries().find(|e| e.index >= since).unwrap();
    assert!(matches!(
        drop.event,
        Event::Drop {
            reason: DropReason::Partitioned,
            ..
        }
    ));
    assert_eq!(drop.at, Time::from_millis(11));
    assert!(sim.node(n(1)).unwrap().received.is_empty());
}

#[test]
fn a_message_sent_across_a_partition_is_dropped_even_if_it_heals_at_once() {
    let mut sim = probes(1, 2);
    sim.cut(n(0), n(1)).unwrap();
    sim.request(n(0), Cmd::One(n(1)));
    sim.step().unwrap();
    sim.heal().unwrap();
    sim.run_for(ms(50)).unwrap();
    assert!(sim.node(n(1)).unwrap().received.is_empty());
    let fate = fate(&sim, 0);
    assert_eq!(fate.dropped.get(&(0, 1)), Some(&DropReason::Partitioned));
}

#[test]
fn a_message_to_a_crashed_node_is_dropped_and_a_restarted_node_receives_again() {
    let mut sim = probes(1, 2);
    sim.crash(n(1)).unwrap();
    let since = sim.trace().total();
    sim.request(n(0), Cmd::One(n(1)));
    sim.run_for(ms(20)).unwrap();
    let f = fate(&sim, since);
    assert_eq!(f.dropped.get(&(0, 1)), Some(&DropReason::ReceiverDown));
    sim.restart(n(1)).unwrap();
    sim.request(n(0), Cmd::One(n(1)));
    sim.run_for(ms(20)).unwrap();
    assert_eq!(sim.node(n(1)).unwrap().received, vec![(n(0), 0)]);
}

// ----- rates over many messages ---------------------------------------------------

/// Sends `count` messages from n0 to n1 on `network` and returns the run.
fn flood(seed: u64, network: Network, count: u64) -> Sim<Probe> {
    let mut sim = Sim::new(seed, 2, |_| Probe::default());
    sim.set_network(network);
    sim.request(n(0), Cmd::Many(n(1), count));
    assert!(sim.run_until_quiet(Duration::from_secs(60)).unwrap());
    sim
}

fn lost(sim: &Sim<Probe>) -> u64 {
    sim.trace()
        .entries()
        .filter(|e| {
            matches!(
                e.event,
                Event::Drop {
                    reason: DropReason::Lost,
                    ..
                }
            )
        })
        .count() as u64
}

fn close(measured: f64, expected: f64, tolerance: f64, what: &str) {
    assert!(
        (measured - expected).abs() <= tolerance,
        "{what}: measured {measured:.4}, configured {expected}"
    );
}

#[test]
fn a_reliable_network_delivers_everything_once() {
    let sim = flood(1, Network::default(), 5_000);
    assert_eq!(sim.stats().sent, 5_000);
    assert_eq!(sim.stats().delivered, 5_000);
    assert_eq!(sim.stats().dropped, 0);
    let mut got: Vec<u64> = sim
        .node(n(1))
        .unwrap()
        .received
        .iter()
        .map(|r| r.1)
        .collect();
    got.sort();
    assert_eq!(got, (0..5_000).collect::<Vec<u64>>());
}

#[test]
fn loss_is_roughly_as_configured() {
    for (seed, loss) in [(1, 0.1), (2, 0.3), (3, 0.5)] {
        let sim = flood(seed, Network::default().with_loss(loss), 20_000);
        close(lost(&sim) as f64 / 20_000.0, loss, 0.015, "fraction lost");
        assert_eq!(sim.stats().dropped, lost(&sim));
        assert_eq!(sim.stats().delivered + sim.stats().dropped, 20_000);
    }
}

#[test]
fn duplication_is_roughly_as_configured_and_copies_share_their_id() {
    let sim = flood(4, Network::default().with_duplication(0.25), 20_000);
    close(
        sim.stats().delivered as f64 / 20_000.0,
        1.25,
        0.015,
        "deliveries per message",
    );
    let mut copies: BTreeMap<u64, u32> = BTreeMap::new();
    for e in sim.trace().entries() {
        if let Event::Deliver { msg_id, .. } = e.event {
            *copies.entry(msg_id).or_default() += 1;
        }
    }
    assert_eq!(copies.len(), 20_000, "every message arrives");
    assert!(
        copies.values().all(|&c| c <= 2),
        "a message arrives at most twice"
    );
    let twice = copies.values().filter(|&&c| c == 2).count();
    close(
        twice as f64 / 20_000.0,
        0.25,
        0.015,
        "fraction delivered twice",
    );
}

#[test]
fn loss_and_duplication_combine() {
    let network = Network::default().with_loss(0.2).with_duplication(0.5);
    let sim = flood(5, network, 20_000);
    close(lost(&sim) as f64 / 20_000.0, 0.2, 0.015, "fraction lost");
    // A message not lost arrives once or twice: 0.8 × 1.5 deliveries each.
    close(
        sim.stats().delivered as f64 / 20_000.0,
        1.2,
        0.02,
        "deliveries per message",
    );
}

/// The delay of every delivery: its time minus its message's send time.
fn delays(sim: &Sim<Probe>) -> Vec<Duration> {
    let mut sent = BTreeMap::new();
    let mut delays = Vec::new();
    for e in sim.trace().entries() {
        match e.event {
            Event::Send { msg_id, .. } => {
                sent.insert(msg_id, e.at);
            }
            Event::Deliver { msg_id, .. } => delays.push(e.at.saturating_since(sent[&msg_id])),
            _ => {}
        }
    }
    delays
}

#[test]
fn latency_stays_in_its_range_and_reorders() {
    let sim = flood(6, Network::reliable(ms(5), ms(15)), 5_000);
    let delays = delays(&sim);
    assert!(delays.iter().all(|d| (ms(5)..=ms(15)).contains(d)));
    assert!(delays.iter().any(|d| *d < ms(6)) && delays.iter().any(|d| *d > ms(14)));
    // Sent in order 0, 1, 2, … at the same moment, received in another order.
    let got: Vec<u64> = sim
        .node(n(1))
        .unwrap()
        .received
        .iter()
        .map(|r| r.1)
        .collect();
    assert!(got.windows(2).any(|w| w[0] > w[1]));
}

#[test]
fn long_delays_hold_back_about_the_configured_fraction() {
    let network = Network::reliable(ms(1), ms(10)).with_long_delays(0.1, ms(500));
    let sim = flood(7, network, 20_000);
    let delays = delays(&sim);
    assert_eq!(delays.len(), 20_000);
    assert!(delays.iter().all(|d| *d <= ms(510)));
    // A held-back message gets 0–500 ms more: all but a few of them end up
    // beyond the ordinary 10 ms.
    let long = delays.iter().filter(|d| **d > ms(10)).count() as f64 / 20_000.0;
    close(long, 0.1 * (1.0 - 10.0 / 500.0), 0.01, "fraction held back");
    assert!(delays.iter().any(|d| *d > ms(400)));
}
