//! intro_pingpong: numbered pings every interval, each answered by a pong.

use dscheck::{ms, run, secs, Failure, Property, Suite};
use dsim::{Broken, DynNode, Erased, Event, Network, Node, NodeId, Sim, Time};
use protocols::intro::pingpong::{Msg, Timer, PING_INTERVAL};
use std::collections::BTreeSet;

mod wrong;

/// What the checks read of a node: the learner's, or a known-wrong one in
/// the `meta` tests.
pub trait Pinger {
    /// The number of the last round of pings sent.
    fn seq(&self) -> u64;
    /// Every `(peer, seq)` whose pong was received.
    fn pongs(&self) -> &BTreeSet<(NodeId, u64)>;
}

/// A node of the protocol the checks can read: any node with its types and
/// a [`Pinger`] view, behind a trait object.
pub trait PingerNode: DynNode<Msg = Msg, Timer = Timer, Request = (), Reply = ()> + Pinger {}

impl<T: DynNode<Msg = Msg, Timer = Timer, Request = (), Reply = ()> + Pinger> PingerNode for T {}

/// The node the checks run: whichever [`PingerNode`] a test was given.
type Tested = Erased<dyn PingerNode>;

impl Pinger for Tested {
    fn seq(&self) -> u64 {
        self.0.seq()
    }
    fn pongs(&self) -> &BTreeSet<(NodeId, u64)> {
        self.0.pongs()
    }
}

// ----- properties and their hints ---------------------------------------------

const ANSWERED: Property = Property {
    name: "a ping is answered at once with the pong of the same number",
    hint: "on Ping { seq } from `from`, send `from` a Pong with the same seq, in the same handler",
    when: &[],
};
const ONLY_ANSWERS: Property = Property {
    name: "pongs are sent only in answer to pings",
    hint: "send a Pong only from on_message, in answer to the Ping that just arrived",
    when: &[],
};
const ROUNDS: Property = Property {
    name: "each round pings every peer once, numbered one more than the last",
    hint: "in on_timer: add one to self.seq, then ctx.broadcast(Msg::Ping { seq: self.seq }) once",
    when: &[],
};
const INTERVAL: Property = Property {
    name: "a round of pings goes out every interval",
    hint: "on_start only sets the ping timer, for PING_INTERVAL; each time it fires, on_timer \
           sends one round and sets the timer again, for PING_INTERVAL (a timer fires once)",
    when: &[],
};
const REMEMBERS: Property = Property {
    name: "a node remembers exactly the pongs it received",
    hint: "on Pong { seq } from `from`, insert (from, seq) into self.pongs, and put nothing else there",
    when: &[],
};
const AFRESH: Property = Property {
    name: "a restarted node starts afresh and keeps pinging",
    hint: "on_start runs again after a restart: set the timer there, and keep the round number in self (it is lost on a crash, as it should be)",
    when: &[],
};

/// The tests of `intro_pingpong`, run on the nodes `make` builds, then the
/// meta tests.
pub fn tests(suite: Suite, make: fn() -> Box<dyn PingerNode>) -> Suite {
    let suite = suite
        .seeded("pingpong::answers_every_ping", 20, move |seed| {
            answers_every_ping(seed, make)
        })
        .seeded("pingpong::pings_every_interval", 5, move |seed| {
            pings_every_interval(seed, make)
        })
        .seeded(
            "pingpong::remembers_exactly_the_pongs_received",
            20,
            move |seed| remembers_pongs(seed, make),
        )
        .seeded("pingpong::starts_afresh_after_a_crash", 10, move |seed| {
            starts_afresh_after_crash(seed, make)
        });
    wrong::tests(suite)
}

/// A three-node cluster on a network with `loss`, with the protocol's rules
/// checked after every event.
fn cluster(seed: u64, loss: f64, make: impl Fn() -> Box<dyn PingerNode> + 'static) -> Sim<Tested> {
    let mut sim = Sim::new(seed, 3, move |_| Erased(make()));
    sim.set_network(Network::reliable(ms(1), ms(10)).with_loss(loss));
    sim.check(ANSWERED, |_, step| {
        let Some(Event::Deliver { from, to, msg: Msg::Ping { seq }, .. }) = step.trigger_event() else {
            return Ok(());
        };
        let answered = step.caused().iter().any(|e| {
            matches!(&e.event, Event::Send { from: f, to: t, msg: Msg::Pong { seq: s }, .. }
                if f == to && t == from && s == seq)
        });
        if answered {
            Ok(())
        } else {
            Err(Broken::new(format!("{to} received Ping {{ seq: {seq} }} from {from} but did not send {from} Pong {{ seq: {seq} }}"))
                .nodes([*from, *to]))
        }
    });
    sim.check(ONLY_ANSWERS, |_, step| {
        let trigger = step.trigger_event();
        for e in step {
            if let Event::Send { from, to, msg: Msg::Pong { seq }, .. } = &e.event {
                let answers = matches!(trigger, Some(Event::Deliver { from: f, to: t, msg: Msg::Ping { seq: s }, .. })
                    if f == to && t == from && s == seq);
                if !answers {
                    return Err(Broken::new(format!("{from} sent Pong {{ seq: {seq} }} to {to} without receiving that ping"))
                        .nodes([*from, *to]));
                }
            }
        }
        Ok(())
    });
    sim.check(INTERVAL, |_, step| {
        let Some(trigger) = step.trigger() else {
            return Ok(());
        };
        for e in step {
            let Event::Send { from, to, msg: Msg::Ping { seq }, .. } = &e.event else {
                continue;
            };
            if !matches!(&trigger.event, Event::Timer { node, .. } if node == from) {
                return Err(Broken::new(format!(
                    "{from} sent Ping {{ seq: {seq} }} to {to} {}, not when its ping timer fired: \
                     a round goes out only when the timer fires, the first one interval after the start",
                    handler(&trigger.event)
                ))
                .nodes([*from]));
            }
        }
        Ok(())
    });
    sim.check(ROUNDS, |sim, step| {
        let Some(Event::Timer { node, .. }) = step.trigger_event() else {
            return Ok(());
        };
        let Some(state) = sim.node(*node) else {
            return Ok(());
        };
        let mut pinged = Vec::new();
        for e in step {
            if let Event::Send {
                from,
                to,
                msg: Msg::Ping { seq },
                ..
            } = &e.event
            {
                if from == node {
                    if *seq != state.seq() {
                        return Err(Broken::new(format!(
                            "{node} sent Ping {{ seq: {seq} }} in round {}",
                            state.seq()
                        ))
                        .nodes([*node]));
                    }
                    pinged.push(*to);
                }
            }
        }
        pinged.sort();
        let peers: Vec<NodeId> = sim.ids().filter(|p| p != node).collect();
        if pinged == peers {
            Ok(())
        } else {
            Err(Broken::new(format!(
                "{node}'s ping timer fired and it pinged {pinged:?}, not each of {peers:?} once"
            ))
            .nodes([*node]))
        }
    });
    sim
}

pub(super) fn answers_every_ping(
    seed: u64,
    make: impl Fn() -> Box<dyn PingerNode> + 'static,
) -> Result<(), Failure> {
    let mut sim = cluster(seed, 0.0, make);
    run(&mut sim, |s| s.run_for(secs(1)))
}

pub(super) fn pings_every_interval(
    seed: u64,
    make: impl Fn() -> Box<dyn PingerNode> + 'static,
) -> Result<(), Failure> {
    let mut sim = cluster(seed, 0.0, make);
    // Rounds go out at 100, 200, …, 1000 ms.
    let rounds = 10;
    run(&mut sim, |s| s.run_for(PING_INTERVAL * rounds + ms(5)))?;
    for id in sim.ids() {
        let sent = rounds_of(&sim, id);
        // Round k (from 0) is due k + 1 intervals after the start.
        let due = |k: usize| Time::from_nanos(PING_INTERVAL.as_nanos() as u64 * (k as u64 + 1));
        // The first round that went out at the wrong time, else the last
        // one, after which the next did not come.
        let off = (sent.iter().enumerate()).position(|(k, &(at, _))| at != due(k));
        if sent.len() != rounds as usize || off.is_some() {
            let mut times: Vec<String> =
                sent.iter().take(12).map(|(at, _)| at.to_string()).collect();
            if sent.len() > times.len() {
                times.push("…".to_string());
            }
            let named = off.or(sent.len().checked_sub(1)).map(|k| sent[k].1);
            let why = match (off, sent.last()) {
                (Some(k), _) => {
                    format!("round {} went out at {}, not {}", k + 1, sent[k].0, due(k))
                }
                (None, Some((last, _))) => format!("no round followed the one at {last}"),
                (None, None) => "no round went out".to_string(),
            };
            let detail = format!(
                "after {} ms, {id} has sent {} of pings instead of {rounds}: {why} (rounds at {})",
                sim.now().as_millis(),
                match sent.len() {
                    1 => "1 round".to_string(),
                    n => format!("{n} rounds"),
                },
                if times.is_empty() {
                    "none".to_string()
                } else {
                    times.join(", ")
                }
            );
            return Err(Failure::after_run(
                &sim,
                INTERVAL,
                Broken::new(detail).nodes([id]).events(named),
            ));
        }
    }
    Ok(())
}

/// When node `id` sent each round of pings, with the index of its first ping.
fn rounds_of(sim: &Sim<Tested>, id: NodeId) -> Vec<(Time, u64)> {
    let mut rounds: Vec<(Time, u64)> = Vec::new();
    for e in sim.trace().entries() {
        if let Event::Send {
            from,
            msg: Msg::Ping { .. },
            ..
        } = &e.event
        {
            if *from == id && rounds.last().is_none_or(|(at, _)| *at != e.at) {
                rounds.push((e.at, e.index));
            }
        }
    }
    rounds
}

/// Which handler ran for the event that started a step, in words.
fn handler<N: Node>(event: &Event<N>) -> &'static str {
    match event {
        Event::Start { .. } | Event::Restart { .. } => "at start (in on_start)",
        Event::Deliver { .. } => "on receiving a message (in on_message)",
        _ => "outside the ping timer's handler",
    }
}

pub(super) fn remembers_pongs(
    seed: u64,
    make: impl Fn() -> Box<dyn PingerNode> + 'static,
) -> Result<(), Failure> {
    let mut sim = cluster(seed, 0.3, make);
    sim.check(REMEMBERS, |sim, step| {
        let Some(Event::Deliver { to, .. }) = step.trigger_event() else {
            return Ok(());
        };
        let received: BTreeSet<(NodeId, u64)> = sim
            .trace()
            .entries()
            .chain(step.iter())
            .filter_map(|e| match &e.event {
                Event::Deliver {
                    from,
                    to: t,
                    msg: Msg::Pong { seq },
                    ..
                } if t == to => Some((*from, *seq)),
                _ => None,
            })
            .collect();
        let Some(node) = sim.node(*to) else {
            return Ok(());
        };
        ensure_same(*to, node.pongs(), &received)
    });
    run(&mut sim, |s| s.run_for(ms(800)))
}

fn ensure_same(
    node: NodeId,
    remembered: &BTreeSet<(NodeId, u64)>,
    received: &BTreeSet<(NodeId, u64)>,
) -> Result<(), Broken> {
    if let Some(missing) = received.difference(remembered).next() {
        return Err(Broken::new(format!(
            "{node} received a pong from {} for ping {} but does not remember it",
            missing.0, missing.1
        ))
        .nodes([node]));
    }
    if let Some(extra) = remembered.difference(received).next() {
        return Err(Broken::new(format!(
            "{node} remembers a pong from {} for ping {} that it never received",
            extra.0, extra.1
        ))
        .nodes([node]));
    }
    Ok(())
}

pub(super) fn starts_afresh_after_crash(
    seed: u64,
    make: impl Fn() -> Box<dyn PingerNode> + 'static,
) -> Result<(), Failure> {
    let mut sim = cluster(seed, 0.0, make);
    run(&mut sim, |s| s.run_for(ms(350)))?;
    let victim = NodeId(1);
    run(&mut sim, |s| s.crash(victim))?;
    run(&mut sim, |s| s.run_for(ms(200)))?;
    run(&mut sim, |s| s.restart(victim))?;
    run(&mut sim, |s| s.run_for(ms(250)))?;
    let seq = sim.node(victim).map_or(0, |n| n.seq());
    if seq != 2 {
        return Err(Failure::after_run(&sim, AFRESH, format!(
            "{victim} crashed and restarted 250 ms ago, so it should be in round 2, but it is in round {seq}"
        )));
    }
    Ok(())
}
