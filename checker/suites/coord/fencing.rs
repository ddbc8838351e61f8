//! coord_fencing: storage never applies a write with an older fencing token
//! than one it applied, the lock service's tokens strictly increase (across
//! its restarts too) and it never grants over another client's unexpired
//! grant, by its own clock; a paused holder's late write is turned away; a
//! crashed holder's lock is taken over, a released one granted again.
//!
//! `n0` is the lock service, `n1` storage, `n2`–`n4` clients. The safety
//! properties are checked after every event, from what the trace shows the
//! lock service send (grants) and receive (releases) and from storage's
//! list of applied writes; clocks are skewed and drift.

use crate::subject::coord::fencing::{
    Fencing, Msg, Timer, Write, BACKOFF, LEASE, LOCK, STORAGE, TICK,
};
use dscheck::{ms, run, Failure, Property, Suite};
use dsim::{Broken, Clock, Event, Fact, Network, Node, NodeId, Sim, SimRng, Time};
use std::time::Duration;

/// Nodes per run: the lock service, storage and three clients.
const NODES: usize = 5;
/// The clocks' drift in the runs that skew them (5%).
const DRIFT_PPM: f64 = 50_000.0;
/// How long the scenario pauses a holder: three leases.
const PAUSE: Duration = Duration::from_millis(900);
/// How long after the start a client must hold the lock on a calm network.
const ACQUIRE: Duration = Duration::from_millis(2_000);

/// A node of the exercise: the reference, the learner's, or one from `bugs/`.
pub trait Fenced: Node<Msg = Msg, Timer = Timer, Request = (), Reply = ()> {
    fn fresh() -> Self;
    fn applied(&self) -> &[Write];
    fn pending(&self) -> Option<Write>;
}

macro_rules! fenced {
    ($($node:ty),* $(,)?) => {$(
        impl Fenced for $node {
            fn fresh() -> Self {
                <$node>::new()
            }
            fn applied(&self) -> &[Write] {
                &self.store.applied
            }
            fn pending(&self) -> Option<Write> {
                self.client.pending
            }
        }
    )*};
}

fenced!(Fencing);
#[cfg(bugs)]
fenced!(
    crate::bugs::storage_without_fencing::fencing::Fencing,
    crate::bugs::counter_in_memory::fencing::Fencing,
    crate::bugs::grants_before_expiry::fencing::Fencing,
    crate::bugs::no_quiet_after_restart::fencing::Fencing,
);

pub const FENCED: Property = Property {
    name: "storage never applies a write whose token is lower than the token of a write it \
           applied before",
    hint: "the resource itself must turn away the past: in apply, refuse (Err(highest)) a write \
           whose token is below the highest applied, and only otherwise raise highest and keep \
           the write",
    when: &[],
};
pub const INCREASING: Property = Property {
    name: "every grant the lock service sends carries a higher token than every grant before \
           it, across its restarts too",
    hint: "each grant takes last_token + 1 and writes it to storage under TOKEN_KEY before the \
           grant goes out",
    when: &[(
        Fact::Restarted,
        "the lock service restarted: what is only in memory is gone, so start_lock reads \
         last_token back from storage (TOKEN_KEY), where every grant wrote it",
    )],
};
pub const ONE_HOLDER: Property = Property {
    name: "the lock service never grants the lock while another client's grant is unexpired \
           (by its own clock) and not released",
    hint: "refuse while holder names another client and now < holder.until (a renewal by the \
           holder itself is fine); a release counts only for the holder's own token",
    when: &[(
        Fact::Restarted,
        "the lock service restarted and forgot who holds the lock: if it ever granted (TOKEN_KEY \
         is in storage), it must grant nothing for one LEASE after it comes back (quiet_until)",
    )],
};
pub const TAKEN_OVER: Property = Property {
    name: "once the holder crashes or pauses past its lease, another client holds the lock \
           within 2 × LEASE and storage applies its writes",
    hint: "grant to a new client once the holder's grant has expired by your clock \
           (now >= holder.until)",
    when: &[],
};
pub const RESUMED: Property = Property {
    name: "after the lock service restarts, some client holds the lock within 2 × LEASE",
    hint: "a restarted lock service is quiet for one LEASE only, then grants as before",
    when: &[],
};
pub const STALE_SENT: Property = Property {
    name: "a client paused while preparing a write sends it when it wakes, with the token it \
           started with",
    hint: "the given client sends client.pending at Timer::Send without looking at its lease \
           again; keep that code as it is",
    when: &[],
};
pub const RELEASED: Property = Property {
    name: "on a calm network, a lock released by its holder is granted again within 120 ms",
    hint: "on Release, forget the holder when the release is the holder's own (same client, \
           same token): then the next Acquire is granted at once",
    when: &[],
};
pub const ACCEPTED: Property = Property {
    name: "storage applies a write whose token is at least every token it applied: a lone \
           client's writes, several under one token, are all applied",
    hint: "a token equal to the highest is the same holder writing again: apply it, and reject \
           only a token strictly below the highest",
    when: &[],
};
pub const TURNS: Property = Property {
    name: "on a calm network, every client gets writes applied within 4 s",
    hint: "grant when no one holds the lock or the holder's grant expired; clients release \
           after their writes and ask again",
    when: &[],
};

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded(
            "fencing::a_paused_holders_late_write_is_rejected",
            8,
            paused_holder::<Fencing>,
        )
        .seeded("fencing::safe_under_pauses_and_crashes", 4, |seed| {
            faulty::<Fencing>(seed, false)
        })
        .seeded(
            "fencing::safe_under_pauses_and_crashes_on_a_lossy_network",
            4,
            |seed| faulty::<Fencing>(seed, true),
        )
        .seeded(
            "fencing::tokens_increase_across_lock_service_restarts",
            6,
            lock_restarts::<Fencing>,
        )
        .seeded(
            "fencing::taken_over_after_the_holder_crashes",
            6,
            takeover::<Fencing>,
        )
        .seeded(
            "fencing::released_locks_are_granted_again_and_clients_take_turns",
            4,
            turns::<Fencing>,
        )
        .seeded(
            "fencing::a_lone_clients_writes_are_all_applied",
            4,
            lone_client::<Fencing>,
        )
}

/// The checks, run on the reference with one bug each (`bugs/`).
#[cfg(bugs)]
pub fn meta(suite: Suite) -> Suite {
    use crate::bugs::counter_in_memory::fencing::Fencing as InMemory;
    use crate::bugs::grants_before_expiry::fencing::Fencing as BeforeExpiry;
    use crate::bugs::no_quiet_after_restart::fencing::Fencing as NoQuiet;
    use crate::bugs::storage_without_fencing::fencing::Fencing as Unfenced;
    use dscheck::{expect_caught, expect_caught_saying};
    suite
        .test("meta::storage_that_does_not_check_tokens_is_caught", || {
            expect_caught(FENCED, 10, paused_holder::<Unfenced>)
        })
        .test("meta::a_token_counter_kept_in_memory_is_caught", || {
            expect_caught_saying(
                INCREASING,
                10,
                &["restarted", "TOKEN_KEY"],
                &[],
                lock_restarts::<InMemory>,
            )
        })
        .test(
            "meta::a_lock_service_that_grants_before_expiry_is_caught",
            || expect_caught(ONE_HOLDER, 10, |seed| faulty::<BeforeExpiry>(seed, false)),
        )
        .test(
            "meta::a_lock_service_that_grants_at_once_after_a_restart_is_caught",
            || {
                expect_caught_saying(
                    ONE_HOLDER,
                    10,
                    &["quiet_until"],
                    &[],
                    lock_restarts::<NoQuiet>,
                )
            },
        )
}

/// A grant the lock service sent: to whom, which token.
#[derive(Clone, Copy, Debug)]
struct Grant {
    client: NodeId,
    token: u64,
    /// The trace index of its send.
    event: u64,
}

/// The grants the lock service sent in `events`.
fn grants<'a, N: Fenced>(events: impl IntoIterator<Item = &'a dsim::Entry<N>>) -> Vec<Grant> {
    let grants = events.into_iter().filter_map(|e| match e.event {
        Event::Send {
            from: LOCK,
            to,
            msg: Msg::Granted { token },
            ..
        } => Some(Grant {
            client: to,
            token,
            event: e.index,
        }),
        _ => None,
    });
    grants.collect()
}

/// The event in `step` at which the lock service receives the release of
/// `grant` by its own client, if there is one.
fn release_of<N: Fenced>(step: dsim::Step<'_, N>, grant: Grant) -> Option<&dsim::Entry<N>> {
    step.into_iter().find(|e| {
        matches!(e.event, Event::Deliver { from, to: LOCK, msg: Msg::Release { token }, .. }
            if from == grant.client && token == grant.token)
    })
}

/// Registers INCREASING, ONE_HOLDER and FENCED, checked after every event.
pub fn watch<N: Fenced>(sim: &mut Sim<N>) {
    let mut highest: Option<(u64, u64)> = None;
    sim.check(INCREASING, move |_, step| {
        for g in grants(step) {
            if let Some((token, event)) = highest.filter(|&(t, _)| g.token <= t) {
                return Err(Broken::new(format!(
                    "the lock service granted token {} to {} after it had granted token {token}",
                    g.token, g.client
                ))
                .nodes([LOCK])
                .events([event, g.event]));
            }
            highest = Some((g.token, g.event));
        }
        Ok(())
    });
    // The grant in force by the lock service's rules: (grant, until by
    // its clock), or None once released.
    let mut current: Option<(Grant, Time)> = None;
    sim.check(ONE_HOLDER, move |sim, step| {
        if current.is_some_and(|(g, _)| release_of(step, g).is_some()) {
            current = None;
        }
        let now = sim.local_time(LOCK);
        for g in grants(step) {
            if let Some((held, until)) = current {
                if held.client != g.client && now < until {
                    return Err(Broken::new(format!(
                        "the lock service granted {} token {} at {now} by its clock, while \
                         {}'s grant of token {} runs until {until} and was not released",
                        g.client, g.token, held.client, held.token
                    ))
                    .nodes([LOCK, g.client, held.client])
                    .events([held.event, g.event]));
                }
            }
            current = Some((g, now + LEASE));
        }
        Ok(())
    });
    let mut seen = 0;
    let mut newest: Option<Write> = None;
    sim.check(FENCED, move |sim, _| {
        let Some(store) = sim.node(STORAGE) else {
            return Ok(());
        };
        for w in &store.applied()[seen..] {
            if let Some(before) = newest.filter(|b| w.token < b.token) {
                return Err(Broken::new(format!(
                    "storage applied {}'s write #{} with token {} after it had applied {}'s \
                     write #{} with token {}",
                    w.client, w.seq, w.token, before.client, before.seq, before.token
                ))
                .nodes([STORAGE, w.client]));
            }
            newest = Some(*w);
        }
        seen = store.applied().len();
        Ok(())
    });
}

/// Every clock skewed by up to ±50 ms and drifting by up to 5%.
fn set_clocks<N: Node>(sim: &mut Sim<N>, rng: &mut SimRng) {
    for id in sim.ids().collect::<Vec<_>>() {
        let clock = Clock {
            skew_nanos: rng.range(0..=100_000_000) as i64 - 50_000_000,
            drift_ppm: (rng.unit() * 2.0 - 1.0) * DRIFT_PPM,
        };
        sim.set_clock(id, clock);
    }
}

/// A run with the checks on, its clocks skewed and drifting, on a calm
/// network (1–10 ms).
fn start<N: Fenced>(seed: u64) -> (Sim<N>, SimRng) {
    let mut sim = Sim::new(seed, NODES, |_| N::fresh());
    let mut rng = sim.scenario_rng();
    set_clocks(&mut sim, &mut rng);
    sim.set_network(Network::reliable(ms(1), ms(10)));
    watch(&mut sim);
    (sim, rng)
}

/// The clients.
fn clients() -> impl Iterator<Item = NodeId> {
    (2..NODES).map(NodeId)
}

/// Steps `sim` until `found` gives something, for at most `limit`.
fn step_until<N: Fenced, T>(
    sim: &mut Sim<N>,
    limit: Duration,
    mut found: impl FnMut(&Sim<N>) -> Option<T>,
) -> Result<Option<T>, Failure> {
    let end = sim.now() + limit;
    while sim.now() < end {
        if let Some(t) = found(sim) {
            return Ok(Some(t));
        }
        if !run(sim, |s| s.step())? {
            break;
        }
    }
    Ok(None)
}

/// The lock service's last grant in the trace since event `since`.
fn last_grant<N: Fenced>(sim: &Sim<N>, since: u64) -> Option<Grant> {
    grants(sim.trace().entries().filter(|e| e.index >= since)).pop()
}

/// The next trace index.
fn next_index<N: Fenced>(sim: &Sim<N>) -> u64 {
    sim.trace().total()
}

/// Kleppmann's scenario: after a random while, a client holds the lock and is preparing a write
/// when it pauses for three leases (a long garbage collection). Its lease
/// runs out, another client takes the lock and writes; the paused client
/// wakes and sends its write with its old token, which storage must reject.
pub fn paused_holder<N: Fenced>(seed: u64) -> Result<(), Failure> {
    let (mut sim, mut rng) = start::<N>(seed);
    let before = rng.duration(ms(0)..=LEASE * 2);
    run(&mut sim, |s| s.run_for(before))?;
    let writing = step_until(&mut sim, ACQUIRE, |sim| {
        clients().find_map(|c| sim.node(c)?.pending().map(|w| (c, w)))
    })?;
    let Some((paused, old)) = writing else {
        return Err(Failure::after_run(
            &sim,
            TAKEN_OVER,
            "no client held the lock and started a write within 2 s",
        ));
    };
    run(&mut sim, |s| s.pause(paused, PAUSE))?;
    let paused_at = next_index(&sim);
    run(&mut sim, |s| s.run_for(PAUSE + ms(500)))?;
    let trace: Vec<&dsim::Entry<N>> = sim
        .trace()
        .entries()
        .filter(|e| e.index >= paused_at)
        .collect();
    let resumed = trace
        .iter()
        .position(|e| matches!(e.event, Event::Resume { node } if node == paused));
    let resumed = resumed.expect("the pause ends within the run");
    let newer = grants(trace[..resumed].iter().copied())
        .into_iter()
        .find(|g| g.client != paused && g.token > old.token);
    let overtaken = newer.is_some_and(|_| {
        let store = sim.node(STORAGE).expect("storage does not crash here");
        store.applied().iter().any(|w| w.token > old.token)
    });
    if !overtaken {
        return Err(Failure::after_run(
            &sim,
            TAKEN_OVER,
            format!(
                "{paused} held the lock with token {} and paused for {} ms, and no other client \
                 got a newer token and had a write applied",
                old.token,
                PAUSE.as_millis()
            ),
        ));
    }
    let stale_sent = trace[resumed..].iter().any(|e| {
        matches!(&e.event, Event::Send { from, msg: Msg::Write(w), .. }
            if *from == paused && *w == old)
    });
    if !stale_sent {
        return Err(Failure::after_run(
            &sim,
            STALE_SENT,
            format!(
                "{paused} was preparing write #{} with token {} when it paused, and did not \
                 send it when it woke",
                old.seq, old.token
            ),
        ));
    }
    Ok(())
}

/// Six seconds of faults drawn from the seed, every 50 to 400 ms: a client
/// paused for up to two leases, a client crashed (then restarted), the lock
/// service crashed and restarted; on a calm network, or one that loses,
/// duplicates and delays.
pub fn faulty<N: Fenced>(seed: u64, lossy: bool) -> Result<(), Failure> {
    let (mut sim, mut rng) = start::<N>(seed);
    if lossy {
        let network = Network::reliable(ms(1), ms(10))
            .with_loss(0.05 + 0.15 * rng.unit())
            .with_duplication(0.1)
            .with_long_delays(0.1, ms(200));
        sim.set_network(network);
    }
    let end = sim.now() + Duration::from_secs(6);
    let mut down: Option<NodeId> = None;
    while sim.now() < end {
        let wait = rng.duration(ms(50)..=ms(400));
        run(&mut sim, |s| s.run_for(wait))?;
        let client = NodeId(2 + rng.below(NODES as u64 - 2) as usize);
        if let Some(back) = down.take() {
            run(&mut sim, |s| s.restart(back))?;
        } else if rng.chance(0.5) {
            let pause = rng.duration(ms(50)..=LEASE * 2);
            run(&mut sim, |s| s.pause(client, pause))?;
        } else if rng.chance(0.5) {
            run(&mut sim, |s| s.crash(client))?;
            down = Some(client);
        } else {
            run(&mut sim, |s| s.crash(LOCK))?;
            down = Some(LOCK);
        }
    }
    Ok(())
}

/// The lock service crashes four times, each time just after a grant or a
/// random moment of a lease later, and comes back within 100 ms: some
/// client must hold the lock within 2 × LEASE of each restart.
pub fn lock_restarts<N: Fenced>(seed: u64) -> Result<(), Failure> {
    let (mut sim, mut rng) = start::<N>(seed);
    let mut since = 0;
    for round in 0..=4 {
        let limit = if round == 0 { ACQUIRE } else { LEASE * 2 };
        if step_until(&mut sim, limit, |sim| last_grant(sim, since))?.is_none() {
            let property = if round == 0 { TAKEN_OVER } else { RESUMED };
            return Err(Failure::after_run(
                &sim,
                property,
                format!(
                    "no client was granted the lock within {} ms{}",
                    limit.as_millis(),
                    if round == 0 {
                        " of the start"
                    } else {
                        " of the lock service's restart"
                    }
                ),
            ));
        }
        if round == 4 {
            break;
        }
        if rng.chance(0.5) {
            let wait = rng.duration(ms(0)..=LEASE);
            run(&mut sim, |s| s.run_for(wait))?;
        }
        run(&mut sim, |s| s.crash(LOCK))?;
        let down = rng.duration(ms(0)..=ms(100));
        run(&mut sim, |s| s.run_for(down))?;
        run(&mut sim, |s| s.restart(LOCK))?;
        since = next_index(&sim);
    }
    Ok(())
}

/// Once a client holds the lock, at a random moment of its lease the
/// client of the last grant crashes; another client must be granted the
/// lock within 2 × LEASE.
pub fn takeover<N: Fenced>(seed: u64) -> Result<(), Failure> {
    let (mut sim, mut rng) = start::<N>(seed);
    if step_until(&mut sim, ACQUIRE, |sim| last_grant(sim, 0))?.is_none() {
        return Err(Failure::after_run(
            &sim,
            TAKEN_OVER,
            "no client was granted the lock within 2 s of the start",
        ));
    }
    let wait = rng.duration(ms(0)..=LEASE);
    run(&mut sim, |s| s.run_for(wait))?;
    let holder = last_grant(&sim, 0).expect("granted").client;
    run(&mut sim, |s| s.crash(holder))?;
    let crashed = sim.now();
    let since = next_index(&sim);
    let other = |sim: &Sim<N>| {
        let since_crash = sim.trace().entries().filter(|e| e.index >= since);
        grants(since_crash).into_iter().find(|g| g.client != holder)
    };
    if step_until(&mut sim, LEASE * 2, other)?.is_none() {
        return Err(Failure::after_run(
            &sim,
            TAKEN_OVER,
            format!(
                "{holder} crashed at {crashed} (true time) and no other client was granted the \
                 lock by {}",
                sim.now()
            ),
        ));
    }
    Ok(())
}

/// A calm network and clocks that keep true time, for 4 s: a lock released
/// by its holder is granted again within 120 ms (a client asks every TICK,
/// or after at most BACKOFF once it has released), and every client has
/// writes applied.
pub fn turns<N: Fenced>(seed: u64) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, NODES, |_| N::fresh());
    sim.set_network(Network::reliable(ms(1), ms(10)));
    watch(&mut sim);
    let within = ms(120);
    debug_assert!(BACKOFF + TICK + ms(2 * 10) < within);
    let mut current: Option<Grant> = None;
    let mut released: Option<(Time, u64)> = None;
    sim.check(RELEASED, move |sim, step| {
        if let Some(e) = current.and_then(|g| release_of(step, g)) {
            released = Some((e.at, e.index));
        }
        if let Some(g) = grants(step).pop() {
            current = Some(g);
            released = None;
        }
        match released {
            Some((at, event)) if sim.now() > at + within => Err(Broken::new(format!(
                "the holder's release reached the lock service at {at} and no client was \
                 granted the lock by {}",
                sim.now()
            ))
            .nodes([LOCK])
            .events([event])),
            _ => Ok(()),
        }
    });
    run(&mut sim, |s| s.run_for(Duration::from_secs(4)))?;
    let store = sim.node(STORAGE).expect("storage does not crash here");
    if let Some(idle) = clients().find(|&c| store.applied().iter().all(|w| w.client != c)) {
        return Err(Failure::after_run(
            &sim,
            TURNS,
            format!("in 4 s, storage applied no write of {idle}"),
        ));
    }
    Ok(())
}

/// One client alone with the lock service and storage, on a calm network,
/// for 3 s: it holds the lock, writes up to MAX_WRITES times under each
/// token, renews and releases; its writes are 25 ms apart and never
/// overtake each other, so storage must apply every one it receives.
pub fn lone_client<N: Fenced>(seed: u64) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, 3, |_| N::fresh());
    sim.set_network(Network::reliable(ms(1), ms(10)));
    watch(&mut sim);
    run(&mut sim, |s| s.run_for(Duration::from_secs(3)))?;
    let received = sim
        .trace()
        .entries()
        .filter(|e| {
            matches!(
                e.event,
                Event::Deliver {
                    to: STORAGE,
                    msg: Msg::Write(_),
                    ..
                }
            )
        })
        .count();
    let store = sim.node(STORAGE).expect("storage does not crash here");
    let applied = store.applied().len();
    let same_token = store.applied().windows(2).any(|w| w[0].token == w[1].token);
    if applied < received || !same_token {
        return Err(Failure::after_run(
            &sim,
            ACCEPTED,
            format!(
                "storage received {received} writes from the one client and applied {applied}{}",
                if same_token {
                    ""
                } else {
                    ", never two under the same token"
                }
            ),
        ));
    }
    Ok(())
}
