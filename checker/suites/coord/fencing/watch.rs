//! The safety checks, made after every event from the trace: the grants
//! the lock service sent (INCREASING, ONE_HOLDER, by its own clock) and the
//! writes storage applied (FENCED).

use super::{Fenced, FENCED, INCREASING, ONE_HOLDER};
use crate::subject::coord::fencing::{Msg, Write, LEASE, LOCK, STORAGE};
use dsim::{Broken, Event, NodeId, Sim, Time};

/// A grant the lock service sent: to whom, which token.
#[derive(Clone, Copy, Debug)]
pub(super) struct Grant {
    pub(super) client: NodeId,
    pub(super) token: u64,
    /// The trace index of its send.
    pub(super) event: u64,
}

/// The grants the lock service sent in `events`.
pub(super) fn grants<'a, N: Fenced>(
    events: impl IntoIterator<Item = &'a dsim::Entry<N>>,
) -> Vec<Grant> {
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
pub(super) fn release_of<N: Fenced>(
    step: dsim::Step<'_, N>,
    grant: Grant,
) -> Option<&dsim::Entry<N>> {
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
