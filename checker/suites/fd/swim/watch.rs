//! What every run of fd_swim is held to, checked after every step against
//! true time, and what is counted on the way.
//!
//! After each step the suite reads the view of the member that handled it
//! (a handler changes only its own member's state) and compares it with
//! the view it held before: every change must be one the precedence rules
//! allow, no incarnation may exceed the member's own, and no member that is
//! up may be held dead. Against the members that are really down (true
//! time) it checks that every live member has confirmed a crash within the
//! detection bound; against the ones that are up, that a suspicion of one
//! ends within the refutation bound once the network is whole.

use crate::fd::watch::{note_life, overdue};
use crate::subject::fd::swim::{Msg, Status, Timer, Update, K, MAX_PIGGYBACK};
use dscheck::Property;
use dsim::{Broken, Event, Node, NodeId, Sim, Time};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

/// A member of the exercise: the reference, the learner's, or one from
/// `bugs/`.
pub trait Member: Node<Msg = Msg, Timer = Timer, Request = (), Reply = ()> {
    fn fresh() -> Self;
    /// What this member believes of `member` (`None` before it starts).
    fn view(&self, member: NodeId) -> Option<Update>;
    /// This member's own incarnation.
    fn own_incarnation(&self) -> u64;
    /// The number of this member's current probe, if any.
    fn probe_seq(&self) -> Option<u64>;
}

pub const PRECEDENCE: Property = Property {
    name: "a member's view of another changes only as SWIM's precedence allows: Alive(i) \
           replaces Suspect(j) only if i > j, Suspect(i) replaces Alive(j) only if i ≥ j, \
           news of one kind replaces its like only at a higher incarnation, and nothing \
           replaces Confirmed",
    hint: "updates arrive late, twice and out of order: in overrides, compare incarnations \
           with > except Suspect over Alive (>=), let Confirmed win, and never let anything \
           replace a Confirmed",
    when: &[],
};
pub const INCARNATION: Property = Property {
    name: "a member's incarnation only goes up, it holds itself Alive at that incarnation, and \
           no view holds an incarnation above the member's own",
    hint: "only the member itself raises its incarnation, in refute, where it also stores \
           Alive at the new incarnation in its own slot of members; a suspicion is made at the \
           incarnation the prober holds, never a higher one",
    when: &[],
};
pub const NUMBERED: Property = Property {
    name: "every probe a member starts has a number above all its earlier probes, so that a \
           late Ack of an earlier probe cannot end it",
    hint: "in period, raise self.seq before each new probe and give the Probe and its Ping \
           that seq",
    when: &[],
};
pub const INDIRECT: Property = Property {
    name: "a probe's PingReqs go to at most K members, none of them the target, the prober \
           itself, or a member the prober holds Confirmed",
    hint: "in probe_indirectly, choose the helpers among the peers that are not the target and \
           not Confirmed, shuffle them, and take K",
    when: &[],
};
pub const NEVER_CONFIRMED_LIVE: Property = Property {
    name: "no member that is up is ever confirmed dead (on a calm network, under 10% loss, \
           and across partitions shorter than the suspicion timeout)",
    hint: "a suspect must hear that it is suspected and refute in time: take in the updates \
           of every message, refute a suspicion at your own incarnation or above, and spread \
           the new Alive on your messages",
    when: &[],
};
pub const REFUTED: Property = Property {
    name: "once the network is whole, a member that is up and suspected is Alive again in \
           every view within the refutation bound",
    hint: "a suspect hears of the suspicion in the updates piggybacked on what it receives: \
           one at its own incarnation or above makes it refute with incarnation + 1, and that \
           Alive, spread in turn, overrides the Suspect wherever it arrives",
    when: &[],
};
pub const DETECTED: Property = Property {
    name: "once a member has been down for longer than the detection bound, every live \
           member holds it Confirmed",
    hint: "no Ack by the end of the period makes the target Suspect; Timer::Suspicion turns a \
           suspect still unrefuted into Confirmed; and every update you take in is spread \
           (piggybacked) to the others, so one member's finding reaches all",
    when: &[],
};
pub const PIGGYBACK: Property = Property {
    name: "no message carries more than MAX_PIGGYBACK updates",
    hint: "piggyback takes at most MAX_PIGGYBACK of the queued updates",
    when: &[],
};

/// What a run remembers.
#[derive(Debug)]
pub struct Tally {
    pub n: usize,
    /// Since when each member has been up (`None`: down).
    pub up_since: Vec<Option<Time>>,
    pub down_since: Vec<Option<Time>>,
    /// Every member's view of every member after the last step.
    views: Vec<Option<Update>>,
    /// The highest incarnation each member has held of itself.
    own: Vec<u64>,
    /// Since when each (viewer, member) suspicion of a live member has
    /// held, and the same ordered by time.
    suspected_since: Vec<Option<Time>>,
    suspicions: BTreeSet<(Time, usize)>,
    /// Messages each member has sent.
    pub sent: Vec<u64>,
    /// When each member was last newly held Confirmed by a viewer.
    pub last_confirmed: Vec<Option<Time>>,
    /// Suspicions of live members raised by a member's own probe.
    pub false_suspicions: u64,
    /// Every suspicion of a live member, from probes or from gossip.
    pub suspected: u64,
    /// Whether the network is split now, and since when it is whole.
    pub split: bool,
    pub whole_since: Time,
    /// The number of each member's last probe.
    probe_seq: Vec<Option<u64>>,
    /// Findings for the checks after the first.
    numbered: Option<Broken>,
    indirect: Option<Broken>,
    confirmed_live: Option<Broken>,
    incarnation: Option<Broken>,
    too_many: Option<Broken>,
}

impl Tally {
    fn new(n: usize) -> Self {
        Tally {
            n,
            up_since: vec![None; n],
            down_since: vec![None; n],
            views: vec![None; n * n],
            own: vec![0; n],
            suspected_since: vec![None; n * n],
            suspicions: BTreeSet::new(),
            sent: vec![0; n],
            last_confirmed: vec![None; n],
            false_suspicions: 0,
            suspected: 0,
            split: false,
            whole_since: Time::ZERO,
            probe_seq: vec![None; n],
            numbered: None,
            indirect: None,
            confirmed_live: None,
            incarnation: None,
            too_many: None,
        }
    }

    fn end_suspicion(&mut self, link: usize) {
        if let Some(since) = self.suspected_since[link].take() {
            self.suspicions.remove(&(since, link));
        }
    }
}

/// What to check beside PRECEDENCE, INCARNATION, NEVER_CONFIRMED_LIVE and
/// PIGGYBACK (always checked).
#[derive(Clone, Copy, Debug, Default)]
pub struct Checks {
    /// DETECTED, with this bound (true time).
    pub detected: Option<Duration>,
    /// REFUTED, with this bound (true time).
    pub refuted: Option<Duration>,
}

/// Whether SWIM's precedence lets `new` replace `old` in a view.
pub fn may_replace(old: &Update, new: &Update) -> bool {
    match (old.status, new.status) {
        (Status::Confirmed, _) => false,
        (_, Status::Confirmed) => true,
        (Status::Alive, Status::Suspect) => new.incarnation >= old.incarnation,
        _ => new.incarnation > old.incarnation,
    }
}

/// How many updates a message carries.
pub fn carried(msg: &Msg) -> usize {
    match msg {
        Msg::Ping { updates, .. } | Msg::PingReq { updates, .. } | Msg::Ack { updates, .. } => {
            updates.len()
        }
    }
}

/// The member whose handler ran in a step, if one did.
fn actor<N: Node>(event: &Event<N>) -> Option<NodeId> {
    match event {
        Event::Start { node } | Event::Timer { node, .. } => Some(*node),
        Event::Deliver { to, .. } => Some(*to),
        _ => None,
    }
}

/// Reads the view of `q`, whose handler just ran, against the one it held
/// before (`started`: it has just started, so there is no before).
fn observe<N: Member>(
    t: &mut Tally,
    sim: &Sim<N>,
    q: NodeId,
    started: bool,
    by_timer: bool,
    new_period: bool,
) -> Result<(), Broken> {
    let n = t.n;
    let now = sim.now();
    let Some(node) = sim.node(q) else {
        return Ok(());
    };
    let inc = node.own_incarnation();
    if inc < t.own[q.0] {
        t.incarnation.get_or_insert(
            Broken::new(format!(
                "{q}'s own incarnation went down from {} to {inc} at {now}",
                t.own[q.0]
            ))
            .nodes([q]),
        );
    }
    t.own[q.0] = t.own[q.0].max(inc);
    let itself = node.view(q);
    if itself.is_some_and(|v| v.status != Status::Alive || v.incarnation != inc) {
        t.incarnation.get_or_insert(
            Broken::new(format!(
                "at {now} {q} is at incarnation {inc} but holds itself {itself:?}"
            ))
            .nodes([q]),
        );
    }
    // A period's timer is where a new probe starts.
    let seq = node.probe_seq();
    if let (Some(new), Some(old), true) = (seq, t.probe_seq[q.0], new_period) {
        if new <= old {
            t.numbered.get_or_insert(
                Broken::new(format!(
                    "at {now} {q} started a probe numbered {new}, after one numbered {old}"
                ))
                .nodes([q]),
            );
        }
    }
    if seq.is_some() {
        t.probe_seq[q.0] = seq;
    }
    for p in sim.ids() {
        let link = q.0 * n + p.0;
        let new = node.view(p);
        let old = t.views[link];
        if new == old {
            continue;
        }
        t.views[link] = new;
        let Some(new) = new else { continue };
        if new.incarnation > t.own[p.0] {
            t.incarnation.get_or_insert(
                Broken::new(format!(
                    "at {now} {q} holds {p} at incarnation {}, but {p} itself has never \
                     been above {}",
                    new.incarnation, t.own[p.0]
                ))
                .nodes([q, p]),
            );
        }
        let live = t.up_since[p.0].is_some();
        if new.status == Status::Confirmed {
            t.last_confirmed[p.0] = Some(now);
        }
        if new.status == Status::Confirmed && live {
            t.confirmed_live.get_or_insert(
                Broken::new(format!(
                    "at {now} {q} holds {p} Confirmed dead, but {p} is up (since {})",
                    t.up_since[p.0].unwrap_or(Time::ZERO)
                ))
                .nodes([q, p]),
            );
        }
        if new.status == Status::Suspect && live && p != q {
            if old.is_none_or(|o| o.status != Status::Suspect) {
                t.suspected += 1;
                if by_timer {
                    t.false_suspicions += 1;
                }
            }
            if t.suspected_since[link].is_none() {
                t.suspected_since[link] = Some(now);
                t.suspicions.insert((now, link));
            }
        } else {
            t.end_suspicion(link);
        }
        let Some(old) = old.filter(|_| !started) else {
            continue;
        };
        if !may_replace(&old, &new) {
            return Err(Broken::new(format!(
                "at {now} {q}'s view of {p} went from {old:?} to {new:?}, which SWIM's \
                 precedence forbids"
            ))
            .nodes([q, p]));
        }
    }
    Ok(())
}

/// Registers the checks and the counting; the tally is shared with the test.
pub fn watch<N: Member>(sim: &mut Sim<N>, checks: Checks) -> Rc<RefCell<Tally>> {
    let tally = Rc::new(RefCell::new(Tally::new(sim.len())));
    let t = tally.clone();
    sim.check(PRECEDENCE, move |sim, step| {
        let mut guard = t.borrow_mut();
        let t = &mut *guard;
        let mut helpers = 0;
        for e in step.iter() {
            match &e.event {
                Event::Start { .. } => {
                    note_life(&e.event, e.at, &mut t.up_since, &mut t.down_since)
                }
                Event::Crash { node } => {
                    note_life(&e.event, e.at, &mut t.up_since, &mut t.down_since);
                    for v in 0..t.n {
                        t.end_suspicion(v * t.n + node.0);
                        t.end_suspicion(node.0 * t.n + v);
                    }
                }
                Event::Send { from, to, msg, .. } => {
                    t.sent[from.0] += 1;
                    if let Msg::PingReq { target, .. } = msg {
                        helpers += 1;
                        let held = t.views[from.0 * t.n + to.0];
                        let confirmed = held.is_some_and(|v| v.status == Status::Confirmed);
                        if to == target || to == from || confirmed || helpers > K {
                            t.indirect.get_or_insert(
                                Broken::new(format!(
                                    "at {} {from} sent PingReq number {helpers} of its probe \
                                     of {target} to {to}, which it holds {held:?}",
                                    e.at
                                ))
                                .nodes([*from, *to]),
                            );
                        }
                    }
                    let count = carried(msg);
                    if count > MAX_PIGGYBACK {
                        t.too_many.get_or_insert(
                            Broken::new(format!(
                                "at {} {from} sent {to} a message carrying {count} updates: \
                                 {msg:?}",
                                e.at
                            ))
                            .nodes([*from, *to]),
                        );
                    }
                }
                _ => {}
            }
        }
        let Some(trigger) = step.trigger_event() else {
            return Ok(());
        };
        let Some(q) = actor(trigger) else {
            return Ok(());
        };
        let started = matches!(trigger, Event::Start { .. });
        let by_timer = matches!(trigger, Event::Timer { .. });
        let new_period = matches!(
            trigger,
            Event::Timer {
                timer: Timer::Period,
                ..
            }
        );
        observe(t, sim, q, started, by_timer, new_period)
    });
    let t = tally.clone();
    sim.check(INCARNATION, move |_, _| {
        t.borrow_mut().incarnation.take().map_or(Ok(()), Err)
    });
    let t = tally.clone();
    sim.check(NUMBERED, move |_, _| {
        t.borrow_mut().numbered.take().map_or(Ok(()), Err)
    });
    let t = tally.clone();
    sim.check(INDIRECT, move |_, _| {
        t.borrow_mut().indirect.take().map_or(Ok(()), Err)
    });
    let t = tally.clone();
    sim.check(NEVER_CONFIRMED_LIVE, move |_, _| {
        t.borrow_mut().confirmed_live.take().map_or(Ok(()), Err)
    });
    let t = tally.clone();
    sim.check(PIGGYBACK, move |_, _| {
        t.borrow_mut().too_many.take().map_or(Ok(()), Err)
    });
    if let Some(bound) = checks.refuted {
        let t = tally.clone();
        sim.check(REFUTED, move |sim, _| {
            let t = t.borrow();
            let now = sim.now();
            let Some(&(since, link)) = t.suspicions.first() else {
                return Ok(());
            };
            if t.split || now.saturating_since(since.max(t.whole_since)) <= bound {
                return Ok(());
            }
            let (q, p) = (NodeId(link / t.n), NodeId(link % t.n));
            Err(Broken::new(format!(
                "{q} has held {p} Suspect since {since}, the network is whole since {}, and \
                 {p} is up: at {now} it is still suspected, past the bound of {} ms",
                t.whole_since,
                bound.as_millis()
            ))
            .nodes([q, p]))
        });
    }
    if let Some(bound) = checks.detected {
        let t = tally.clone();
        sim.check(DETECTED, move |sim, _| {
            let t = t.borrow();
            let now = sim.now();
            for (p, down, q, _) in overdue(now, bound, &t.up_since, &t.down_since) {
                let view = t.views[q.0 * t.n + p.0];
                if view.is_none_or(|v| v.status != Status::Confirmed) {
                    return Err(Broken::new(format!(
                        "{p} has been down since {down} (true time) and at {now} {q} holds it \
                         {view:?}, not Confirmed: the bound is {} ms",
                        bound.as_millis()
                    ))
                    .nodes([q, p]));
                }
            }
            Ok(())
        });
    }
    tally
}
