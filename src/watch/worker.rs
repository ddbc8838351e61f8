//! The worker thread of a check: the verdict goes to the event loop as soon
//! as the suite has run, and a failing seed's replays (whether the learner's
//! code is deterministic) follow as their own event, so that the verdict is
//! on screen while they run.

use super::{Checked, Event, Replayed};
use crate::check::{self, Options};
use crate::kit::Kit;
use crate::manifest::Exercise;
use anyhow::anyhow;
use std::sync::mpsc::Sender;

/// Checks `exercise` on the worker thread: sends the verdict, then, for a
/// failing seed, replays it and sends what the replays found. A panic inside
/// the check becomes an error to show (inside the replays, no finding).
pub(super) fn check_and_replay(kit: &Kit, exercise: &Exercise, id: u64, send: &Sender<Event>) {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    let options = Options::learner_waiting();
    let verdict = catch_unwind(AssertUnwindSafe(|| {
        check::check_verdict(kit, exercise, &options)
    }))
    .unwrap_or_else(|_| {
        Err(anyhow!(
            "the check stopped on an internal error (a bug in dscourse; please report it)"
        ))
    });
    let (result, verdict) = match verdict {
        Ok(verdict) => (Ok(verdict.outcome.clone()), Some(verdict)),
        Err(error) => (Err(error), None),
    };
    let replaying = verdict.as_ref().and_then(|v| v.replay_seed());
    let _ = send.send(Event::Checked(Checked {
        id,
        exercise: exercise.name.clone(),
        result,
        replaying,
    }));
    let (Some(verdict), Some(_)) = (verdict, replaying) else {
        return;
    };
    let nondeterminism = catch_unwind(AssertUnwindSafe(|| {
        check::replay(kit, exercise, &options, &verdict)
    }))
    .unwrap_or(None);
    let _ = send.send(Event::Replayed(Replayed {
        id,
        exercise: exercise.name.clone(),
        nondeterminism,
    }));
}
