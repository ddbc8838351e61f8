//! One seed, one run: the same seed and scenario give the same trace, event
//! for event, through loss, duplication, long delays, crashes, partitions and
//! drifting clocks; different seeds give different runs; and watching a run
//! (checks, a trace limit, the scenario's own random draws) does not change it.

use dsim::{
    Clock, Ctx, DropReason, DynNode, Erased, Event, Network, Node, NodeId, Property, RequestId, Sim,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn n(i: usize) -> NodeId {
    NodeId(i)
}

#[derive(Clone, Debug, Serialize, Deserialize)]
enum Msg {
    Gossip { hops: u8, payload: u64 },
    Ack(u64),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
enum Timer {
    Tick,
    Answer(RequestId),
}

/// Gossips random payloads at random intervals, forwards them a few hops,
/// and answers client requests now or later: every handler draws from its
/// node's random generator, and boots are counted in storage.
#[derive(Debug, Default)]
struct Chaos {
    seen: u64,
    pending: Vec<RequestId>,
}

impl Chaos {
    fn random_peer(ctx: &mut Ctx<Self>) -> NodeId {
        let peers = ctx.peers().to_vec();
        *ctx.rng().pick(&peers)
    }

    fn tick_later(ctx: &mut Ctx<Self>) {
        let after = ms(ctx.rng().range(5..=20));
        ctx.set_timer(Timer::Tick, after);
    }
}

impl Node for Chaos {
    type Msg = Msg;
    type Timer = Timer;
    type Request = u64;
    type Reply = u64;

    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        let boots = ctx.storage().get::<u64>("boots").unwrap_or(0) + 1;
        ctx.storage().put("boots", &boots);
        Self::tick_later(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        self.seen += 1;
        match msg {
            Msg::Gossip { hops, payload } => {
                ctx.send(from, Msg::Ack(payload));
                if hops < 3 {
                    let to = Self::random_peer(ctx);
                    ctx.send(
                        to,
                        Msg::Gossip {
                            hops: hops + 1,
                            payload,
                        },
                    );
                }
            }
            Msg::Ack(_) => {
                if let Some(id) = self.pending.pop() {
                    ctx.reply(id, self.seen);
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        match timer {
            Timer::Tick => {
                let to = Self::random_peer(ctx);
                let payload = ctx.rng().next_u64();
                ctx.send(to, Msg::Gossip { hops: 0, payload });
                Self::tick_later(ctx);
            }
            Timer::Answer(id) => ctx.reply(id, self.seen),
        }
    }

    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, value: u64) {
        if ctx.rng().chance(0.5) {
            ctx.reply(id, value);
        } else {
            self.pending.push(id);
            let after = ms(ctx.rng().range(1..=50));
            ctx.set_timer(Timer::Answer(id), after);
        }
    }
}

/// Ways of watching a run that must not change it.
#[derive(Default)]
struct Watching {
    check: bool,
    trace_limit: Option<usize>,
    scenario_draws: bool,
}

/// Five nodes, two with skewed, drifting clocks, on a network that loses,
/// duplicates and holds back messages; client requests at random times; and
/// a script of crashes, restarts, a partition, a cut link, an isolated node
/// and a heal.
fn chaos(seed: u64, watching: &Watching) -> Sim<Chaos> {
    chaos_of::<Chaos>(seed, watching)
}

/// [`chaos`] with nodes of type `N`.
fn chaos_of<N: Counted>(seed: u64, watching: &Watching) -> Sim<N> {
    let mut sim = Sim::new(seed, 5, |_| N::make());
    sim.set_network(
        Network::reliable(ms(1), ms(20))
            .with_loss(0.2)
            .with_duplication(0.2)
            .with_long_delays(0.05, ms(300)),
    );
    sim.set_clock(
        n(2),
        Clock {
            skew_nanos: 3_000_000,
            drift_ppm: 150.0,
        },
    );
    sim.set_clock(
        n(4),
        Clock {
            skew_nanos: -1_000_000,
            drift_ppm: -80.0,
        },
    );
    sim.limit_trace(watching.trace_limit);
    if watching.check {
        // Reads everything, changes nothing. (A step may be empty: a timer
        // lost in a crash still comes due, and nothing happens.)
        let passive = Property {
            name: "a passive check",
            hint: "",
            when: &[],
        };
        sim.check(passive, |sim, step| {
            let seen: u64 = sim
                .ids()
                .filter_map(|id| sim.node(id))
                .map(|c| c.seen())
                .sum();
            let events = step.entries().len() as u64 + sim.trace().total();
            if seen == u64::MAX || events == u64::MAX {
                return Err("impossible".into());
            }
            Ok(())
        });
    }
    let mut rng = sim.scenario_rng();
    for k in 0..40 {
        let node = n(rng.below(5) as usize);
        let at = rng.duration(Duration::ZERO..=ms(600));
        sim.request_after(at, node, k);
    }
    let victim = n(1 + rng.below(4) as usize);
    sim.run_for(ms(100)).unwrap();
    if watching.scenario_draws {
        sim.scenario_rng().below(1000);
    }
    sim.crash(victim).unwrap();
    sim.run_for(ms(50)).unwrap();
    sim.partition(&[&[n(0), n(1)], &[n(2), n(3), n(4)]])
        .unwrap();
    sim.run_for(ms(100)).unwrap();
    if watching.scenario_draws {
        sim.scenario_rng().shuffle(&mut [1, 2, 3]);
    }
    sim.restart(victim).unwrap();
    sim.cut(n(3), n(4)).unwrap();
    sim.isolate(n(0)).unwrap();
    sim.run_for(ms(100)).unwrap();
    sim.heal().unwrap();
    sim.crash(n(0)).unwrap();
    sim.run_for(ms(80)).unwrap();
    sim.restart(n(0)).unwrap();
    sim.run_for(ms(200)).unwrap();
    sim
}

/// Everything observable about a run, as text.
fn record<N: Node>(sim: &Sim<N>) -> String {
    let history: Vec<String> = sim
        .history()
        .iter()
        .map(|op| {
            format!(
                "{} {} {} {:?}",
                op.id, op.node, op.invoked_at, op.completion
            )
        })
        .collect();
    let boots: Vec<Option<u64>> = sim.ids().map(|id| sim.storage(id).get("boots")).collect();
    format!(
        "{}\n{:?}\n{history:?}\n{boots:?}",
        sim.trace().to_json(),
        sim.stats()
    )
}

#[test]
fn the_same_seed_gives_the_same_run() {
    for seed in [1, 2, 42, u64::MAX] {
        let first = record(&chaos(seed, &Watching::default()));
        let second = record(&chaos(seed, &Watching::default()));
        assert!(first == second, "seed {seed} gave two different runs");
    }
}

#[test]
fn the_scenario_exercises_every_fault() {
    let sim = chaos(1, &Watching::default());
    let mut kinds = BTreeSet::new();
    let mut deliveries: BTreeMap<u64, u32> = BTreeMap::new();
    for e in sim.trace().entries() {
        let kind = match &e.event {
            Event::Drop {
                reason: DropReason::Lost,
                ..
            } => "lost",
            Event::Drop {
                reason: DropReason::Partitioned,
                ..
            } => "partitioned",
            Event::Drop {
                reason: DropReason::ReceiverDown,
                ..
            } => "receiver down",
            Event::Deliver { msg_id, .. } => {
                *deliveries.entry(*msg_id).or_default() += 1;
                "deliver"
            }
            Event::Crash { .. } => "crash",
            Event::Restart { .. } => "restart",
            Event::Fault { .. } => "fault",
            Event::Timer { .. } => "timer",
            Event::Request { .. } => "request",
            Event::Reply { .. } => "reply",
            _ => "other",
        };
        kinds.insert(kind);
    }
    for kind in [
        "lost",
        "partitioned",
        "receiver down",
        "deliver",
        "crash",
        "restart",
        "fault",
        "timer",
        "request",
        "reply",
    ] {
        assert!(kinds.contains(kind), "no {kind} event in the run");
    }
    assert!(
        deliveries.values().any(|&c| c > 1),
        "no duplicate delivery in the run"
    );
    let json = sim.trace().to_json();
    let first = &json.as_array().unwrap()[0];
    assert_eq!(first["index"], 0);
    assert_eq!(first["kind"], "start");
}

#[test]
fn different_seeds_give_different_runs() {
    let runs: BTreeSet<String> = (1..=8)
        .map(|seed| {
            chaos(seed, &Watching::default())
                .trace()
                .to_json()
                .to_string()
        })
        .collect();
    assert_eq!(runs.len(), 8);
}

#[test]
fn watching_a_run_does_not_change_it() {
    let plain = chaos(5, &Watching::default());
    let checked = chaos(
        5,
        &Watching {
            check: true,
            ..Watching::default()
        },
    );
    assert!(
        record(&plain) == record(&checked),
        "a check changed the run"
    );
    let drawn = chaos(
        5,
        &Watching {
            scenario_draws: true,
            ..Watching::default()
        },
    );
    assert!(
        record(&plain) == record(&drawn),
        "draws on the side changed the run"
    );

    let limited = chaos(
        5,
        &Watching {
            trace_limit: Some(100),
            ..Watching::default()
        },
    );
    assert_eq!(limited.stats(), plain.stats());
    assert_eq!(limited.trace().total(), plain.trace().total());
    let full = plain.trace().to_json();
    let full = full.as_array().unwrap();
    let tail = &full[full.len() - 100..];
    assert_eq!(
        limited.trace().to_json().as_array().unwrap().as_slice(),
        tail
    );
}

/// A node type the chaos scenario can run: [`Chaos`] itself, or a `Chaos`
/// behind a trait object.
trait Counted: Node<Msg = Msg, Timer = Timer, Request = u64, Reply = u64> {
    fn make() -> Self;
    fn seen(&self) -> u64;
}

impl Counted for Chaos {
    fn make() -> Self {
        Chaos::default()
    }
    fn seen(&self) -> u64 {
        self.seen
    }
}

/// What a suite compiled against the protocol alone reads of a node.
trait ChaosView: DynNode<Msg = Msg, Timer = Timer, Request = u64, Reply = u64> {
    fn seen(&self) -> u64;
}

impl ChaosView for Chaos {
    fn seen(&self) -> u64 {
        self.seen
    }
}

impl Counted for Erased<dyn ChaosView> {
    fn make() -> Self {
        Erased(Box::new(Chaos::default()))
    }
    fn seen(&self) -> u64 {
        self.0.seen()
    }
}

#[test]
fn a_node_behind_a_trait_object_runs_as_the_node_itself() {
    let watching = Watching {
        check: true,
        ..Watching::default()
    };
    for seed in 1..=5 {
        let concrete = record(&chaos_of::<Chaos>(seed, &watching));
        let erased = record(&chaos_of::<Erased<dyn ChaosView>>(seed, &watching));
        assert_eq!(concrete, erased, "seed {seed}");
    }
    let node: Erased<dyn ChaosView> = Counted::make();
    assert_eq!(format!("{node:?}"), format!("{:?}", Chaos::default()));
    assert_eq!(format!("{node:#?}"), format!("{:#?}", Chaos::default()));
}
