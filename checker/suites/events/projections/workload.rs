//! The tests' own source of events: valid account histories drawn from a
//! seed, appended straight to the log (so that the read-model tests do not
//! depend on the learner's `decide`); and a guard that stops a
//! subscription that never ends.

use crate::subject::events::projections::{Delivery, Event, EventLog, Projection, Recorded};
use dsim::SimRng;
use std::collections::BTreeMap;

/// Where each account of the workload stands.
pub struct Workload {
    rng: SimRng,
    /// Open accounts and their balances; closed ones are gone.
    open: BTreeMap<String, u64>,
    next_account: u64,
}

impl Workload {
    pub fn new(seed: u64) -> Workload {
        Workload {
            rng: SimRng::fork(seed, 0xACC7),
            open: BTreeMap::new(),
            next_account: 1,
        }
    }

    /// Appends one valid batch to one account (opening one, moving money,
    /// or closing one with its payout) and returns it as recorded.
    pub fn step(&mut self, log: &mut EventLog) -> Vec<Recorded> {
        let roll = self.rng.below(10);
        let (stream, events) = if self.open.is_empty() || roll == 0 {
            let stream = format!("acct-{}", self.next_account);
            self.next_account += 1;
            self.open.insert(stream.clone(), 0);
            let owner = format!("owner-{}", self.rng.below(20));
            (stream, vec![Event::Opened { owner }])
        } else {
            let streams: Vec<String> = self.open.keys().cloned().collect();
            let stream = self.rng.pick(&streams).clone();
            let balance = self.open[&stream];
            if roll == 1 {
                self.open.remove(&stream);
                let mut events = Vec::new();
                if balance > 0 {
                    events.push(Event::Withdrawn { amount: balance });
                }
                events.push(Event::Closed);
                (stream, events)
            } else if roll < 6 || balance == 0 {
                let amount = self.rng.range(1..=100);
                self.open.insert(stream.clone(), balance + amount);
                (stream, vec![Event::Deposited { amount }])
            } else {
                let amount = self.rng.range(1..=balance);
                self.open.insert(stream.clone(), balance - amount);
                (stream, vec![Event::Withdrawn { amount }])
            }
        };
        let version = log.version(&stream);
        log.append(&stream, version, events)
            .expect("the workload is the only writer")
    }
}

/// A projection passed to the learner's subscription, which panics with a
/// clear message if the subscription offers far more events than the log
/// holds (a catch-up loop that never ends).
pub struct Guarded<'a, P> {
    inner: &'a mut P,
    offers: u64,
    limit: u64,
}

impl<'a, P: Projection> Guarded<'a, P> {
    pub fn new(inner: &'a mut P, log: &EventLog) -> Self {
        Guarded {
            inner,
            offers: 0,
            limit: 10 * log.len() + 100,
        }
    }
}

impl<P: Projection> Projection for Guarded<'_, P> {
    fn checkpoint(&self) -> u64 {
        self.inner.checkpoint()
    }
    fn apply(&mut self, recorded: &Recorded) -> Delivery {
        self.offers += 1;
        assert!(
            self.offers <= self.limit,
            "the subscription offered {} events without stopping (the projection is at checkpoint {}): does catch_up stop when log.read returns no events, and does apply move the checkpoint?",
            self.offers,
            self.inner.checkpoint()
        );
        self.inner.apply(recorded)
    }
}
