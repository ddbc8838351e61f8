//! How a run goes and stops: a panic in a handler becomes a violation,
//! `run_until` and `run_until_quiet` stop when they should, the event budget
//! stops a message storm, and the trace can keep only its last events.

use dsim::{Ctx, Event, Network, Node, NodeId, RequestId, Sim, Time};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const N0: NodeId = NodeId(0);
const N1: NodeId = NodeId(1);

// ----- panics in handlers ------------------------------------------------------------

/// The line of the `panic!` in [`Bomb`], recorded as it panics.
static PANIC_LINE: AtomicU32 = AtomicU32::new(0);

/// A node that panics in one chosen handler, after asking to send a message.
#[derive(Debug)]
struct Bomb {
    handler: &'static str,
}

impl Bomb {
    fn maybe_explode(&self, ctx: &mut Ctx<Self>, handler: &str) {
        if ctx.id() == N1 && self.handler == handler {
            ctx.send(N0, ());
            PANIC_LINE.store(line!() + 1, Ordering::SeqCst);
            panic!("boom in {handler}");
        }
    }
}

impl Node for Bomb {
    type Msg = ();
    type Timer = ();
    type Request = ();
    type Reply = ();

    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        self.maybe_explode(ctx, "on_start");
        ctx.set_timer((), ms(5));
        if ctx.id() == N0 {
            ctx.send(N1, ());
        }
    }
    fn on_message(&mut self, ctx: &mut Ctx<Self>, _from: NodeId, _msg: ()) {
        self.maybe_explode(ctx, "on_message");
    }
    fn on_timer(&mut self, ctx: &mut Ctx<Self>, _timer: ()) {
        self.maybe_explode(ctx, "on_timer");
    }
    fn on_request(&mut self, ctx: &mut Ctx<Self>, _id: RequestId, _req: ()) {
        self.maybe_explode(ctx, "on_request");
    }
}

#[test]
fn a_panic_in_a_handler_becomes_a_violation_naming_node_handler_and_place() {
    dsim::panics::install_hook();
    for handler in ["on_start", "on_message", "on_timer", "on_request"] {
        let mut sim = Sim::new(1, 2, move |_| Bomb { handler });
        sim.set_network(Network::reliable(ms(10), ms(10)));
        sim.request_after(ms(20), N1, ());
        let violation = sim.run_for(ms(100)).unwrap_err();
        assert_eq!(violation.property.name, "handlers run without panicking");
        assert_eq!(*violation.nodes, [N1]);
        let place = format!("{}:{}", file!(), PANIC_LINE.load(Ordering::SeqCst));
        let detail = &violation.detail;
        assert!(
            detail.starts_with(&format!("n1 panicked in {handler}: ")),
            "{detail}"
        );
        assert!(detail.contains(&format!("boom in {handler}")), "{detail}");
        assert!(detail.contains(&place), "{detail} does not name {place}");
        // What the handler asked for before it panicked is not carried out.
        let n1_sent = sim
            .trace()
            .entries()
            .any(|e| matches!(e.event, Event::Send { from: N1, .. }));
        assert!(!n1_sent, "a panicking handler's send went out");
        assert_eq!(sim.violation(), Some(&violation));
    }
}

// ----- running -------------------------------------------------------------------------

/// A node that counts the ticks of a timer repeating every 10 ms.
#[derive(Debug, Default)]
struct Ticker {
    ticks: u32,
}

impl Node for Ticker {
    type Msg = ();
    type Timer = ();
    type Request = ();
    type Reply = ();

    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        ctx.set_timer((), ms(10));
    }
    fn on_message(&mut self, _ctx: &mut Ctx<Self>, _from: NodeId, _msg: ()) {}
    fn on_timer(&mut self, ctx: &mut Ctx<Self>, _timer: ()) {
        self.ticks += 1;
        if self.ticks < 100 {
            ctx.set_timer((), ms(10));
        }
    }
}

fn ticks(sim: &Sim<Ticker>) -> u32 {
    sim.node(N0).unwrap().ticks
}

#[test]
fn run_until_returns_as_soon_as_the_condition_holds() {
    let mut sim = Sim::new(1, 1, |_| Ticker::default());
    assert!(sim.run_until(ms(1000), |s| ticks(s) >= 3).unwrap());
    assert_eq!(ticks(&sim), 3);
    assert_eq!(sim.now(), Time::from_millis(30));
    // Already true: no event is processed.
    let events = sim.stats().events;
    assert!(sim.run_until(ms(1000), |s| ticks(s) >= 3).unwrap());
    assert_eq!(sim.stats().events, events);
    assert_eq!(sim.now(), Time::from_millis(30));
}

#[test]
fn run_until_gives_up_at_its_limit() {
    let mut sim = Sim::new(1, 1, |_| Ticker::default());
    assert!(!sim.run_until(ms(55), |s| ticks(s) >= 50).unwrap());
    assert_eq!(ticks(&sim), 5);
    assert_eq!(sim.now(), Time::from_millis(55));
}

#[test]
fn run_until_quiet_tells_whether_the_run_went_quiet() {
    let mut sim = Sim::new(1, 1, |_| Ticker::default());
    // Not quiet within the limit: time has moved on to the limit, as with
    // run_for and run_until.
    assert!(!sim.run_until_quiet(ms(505)).unwrap());
    assert_eq!(ticks(&sim), 50);
    assert_eq!(sim.now(), Time::from_millis(505));
    // Quiet: time stops at the last event.
    assert!(sim.run_until_quiet(ms(1000)).unwrap());
    assert_eq!(ticks(&sim), 100);
    assert_eq!(sim.now(), Time::from_millis(1000));
    assert!(!sim.step().unwrap());
}

/// Answers every message with two: a storm that never ends.
#[derive(Debug)]
struct Storm;

impl Node for Storm {
    type Msg = ();
    type Timer = ();
    type Request = ();
    type Reply = ();

    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        ctx.broadcast(());
    }
    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, _msg: ()) {
        ctx.send(from, ());
        ctx.send(from, ());
    }
}

#[test]
fn max_events_stops_a_message_storm() {
    let mut sim = Sim::new(1, 3, |_| Storm);
    sim.max_events(5_000);
    let violation = sim.run_for(Duration::from_secs(3600)).unwrap_err();
    assert_eq!(
        violation.property.name,
        "the run stays within its event budget"
    );
    assert_eq!(sim.stats().events, 5_001);
    assert!(
        sim.now() < Time::from_millis(1000),
        "stopped early, at {}",
        sim.now()
    );
}

#[test]
fn the_trace_can_keep_only_its_last_events() {
    let mut sim = Sim::new(1, 1, |_| Ticker::default());
    sim.limit_trace(Some(10));
    sim.run_until_quiet(ms(2000)).unwrap();
    assert_eq!(sim.trace().entries().len(), 10);
    assert_eq!(sim.trace().total(), 101);
    let indexes: Vec<u64> = sim.trace().entries().map(|e| e.index).collect();
    assert_eq!(indexes, (91..101).collect::<Vec<u64>>());
    assert_eq!(sim.trace().render().len(), 10);
}
