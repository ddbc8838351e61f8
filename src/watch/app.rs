//! The event loop of watch mode: saves become (debounced) checks on a worker
//! thread, verdicts become the report on screen and the progress file, keys
//! become hints, lists, resets and moves to the next exercise.

use super::ahead::Ahead;
use super::files::Change;
use super::screen::{Screen, CHECK_THREAD};
use super::{worker, Checked, Event, Replayed};
use crate::check::{self, Outcome};
use crate::colour::{bold, paint};
use crate::invocation::command;
use crate::kit::Kit;
use crate::manifest::Exercise;
use crate::render;
use crate::state::Progress;
use crate::timings::Stages;
use anyhow::{anyhow, Result};
use crossterm::style::Color;
use std::process::ExitCode;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A save starts a check once the files have been quiet this long, so that
/// the several events of one save give one check; an event that says the
/// save is complete (a writer closed the file, a file renamed into place:
/// `files::Step::Complete`) starts it at once. Events of the same save that
/// come after are not lost: they make another check due, as any save made
/// during a check does.
pub const DEBOUNCE: Duration = Duration::from_millis(50);
/// A stream of events that never goes quiet still gets checked this often.
const LONGEST_WAIT: Duration = Duration::from_millis(500);
/// How long to wait for an exercise file that an editor removed to write it anew.
const MISSING_WAIT: Duration = Duration::from_secs(1);

/// What the keys do right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    Normal,
    /// The progress table: a number and Enter switch to that exercise, any
    /// other key returns.
    List,
    /// Waiting for `y` or `n` before resetting the exercise.
    ConfirmReset,
}

/// Saves seen (or checks asked for) but not yet checked.
#[derive(Clone, Copy)]
pub(super) struct Pending {
    /// The first save since the last check started.
    pub(super) first: Instant,
    /// When the check may start.
    pub(super) due: Instant,
    /// Whether the current exercise's file was saved (or a key asked for a
    /// check) among them: then a save of another exercise's file in the
    /// same burst (an editor's "save all", a formatter) does not switch.
    pub(super) current: bool,
}

/// The check in progress.
pub(super) struct Running {
    pub(super) id: u64,
    pub(super) exercise: String,
    /// The suite it builds has not been built yet: its first build is slow.
    pub(super) first_build: Option<String>,
    /// Its verdict is shown; the failing seed is being replayed.
    pub(super) replaying: Option<u64>,
}

/// The last verdict on the current exercise.
pub(super) struct Report {
    pub(super) lines: Vec<String>,
    pub(super) id: u64,
    pub(super) elapsed: Duration,
}

/// A message under the report, kept until the verdict of a check numbered
/// above `keep_through` arrives.
pub(super) struct Note {
    pub(super) lines: Vec<String>,
    pub(super) keep_through: u64,
}

pub struct App {
    pub(super) kit: Arc<Kit>,
    pub(super) progress: Progress,
    pub(super) exercise: Exercise,
    pub(super) mode: Mode,
    /// The digits typed in the list, naming the exercise to switch to.
    pub(super) typed: String,
    pub(super) send: Sender<Event>,
    pub(super) pending: Option<Pending>,
    pub(super) running: Option<Running>,
    /// Checks started so far.
    pub(super) checks: u64,
    pub(super) report: Option<Report>,
    /// The outcome the report shows, while its replays run.
    pub(super) shown: Option<Outcome>,
    /// The check running now: its number, its first save, its start (for
    /// `DSCOURSE_TIMINGS`).
    timing: Option<(u64, Instant, Instant)>,
    /// The last save event, for saves of a burst that come after its
    /// check started (see `switch::saved_file`).
    pub(super) last_save: Option<Instant>,
    /// The last complete save: its file and when (see `switch::saved_file`).
    pub(super) completed: Option<(std::path::PathBuf, Instant)>,
    pub(super) notes: Vec<Note>,
    /// The next exercise's check, built while nothing else runs.
    pub(super) ahead: Ahead,
    /// How changes are noticed ("events" or "polling").
    pub(super) how: &'static str,
    pub(super) terminal: bool,
    pub(super) quit: bool,
}

impl App {
    pub fn new(
        kit: &Kit,
        mut progress: Progress,
        exercise: Exercise,
        how: &'static str,
        terminal: bool,
        send: Sender<Event>,
    ) -> App {
        let kit = Arc::new(Kit {
            root: kit.root.clone(),
            manifest: kit.manifest.clone(),
        });
        let mut notes = Vec::new();
        if let Some(warning) = progress.warning.take() {
            notes.push(Note {
                lines: vec![format!(" {} {warning}", paint("warning:", Color::Yellow))],
                keep_through: 1,
            });
        }
        if !progress.state.welcome_shown {
            let mut lines: Vec<String> = kit
                .manifest
                .welcome_message
                .trim()
                .lines()
                .map(|l| format!(" {l}"))
                .collect();
            lines.push(String::new());
            lines.push(format!(
                " Your first exercise: {}",
                kit.display(&kit.exercise_path(&exercise))
            ));
            notes.push(Note {
                lines,
                keep_through: 1,
            });
            progress.state.welcome_shown = true;
            if let Err(error) = progress.save() {
                notes.push(error_note(&error));
            }
        }
        let now = Instant::now();
        App {
            kit,
            progress,
            exercise,
            mode: Mode::Normal,
            typed: String::new(),
            send,
            // The first check starts at once.
            pending: Some(Pending {
                first: now,
                due: now,
                current: true,
            }),
            running: None,
            checks: 0,
            report: None,
            shown: None,
            timing: None,
            last_save: None,
            completed: None,
            notes,
            ahead: Ahead::default(),
            how,
            terminal,
            quit: false,
        }
    }

    /// Handles events until the learner quits.
    pub fn run(&mut self, screen: &mut Screen, events: Receiver<Event>) -> Result<ExitCode> {
        loop {
            self.maybe_start_check();
            self.maybe_build_ahead();
            screen.show(&self.view());
            if self.quit {
                return Ok(ExitCode::SUCCESS);
            }
            // A build ahead is looked at now and then, to keep its record.
            let wake = self.due().or_else(|| self.ahead.next_look());
            let event = match wake {
                Some(at) => match events.recv_timeout(at.saturating_duration_since(Instant::now()))
                {
                    Ok(event) => event,
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => return Ok(ExitCode::SUCCESS),
                },
                None => match events.recv() {
                    Ok(event) => event,
                    Err(_) => return Ok(ExitCode::SUCCESS),
                },
            };
            match event {
                Event::File(Change::Saved(file, step)) => {
                    self.saved_file(&file, step, Instant::now())
                }
                Event::File(Change::Failed(error)) => self.notes.push(Note {
                    lines: vec![format!(
                        " {} the file watcher failed: {error}; saves may go unnoticed (try `{}`)",
                        paint("warning:", Color::Yellow),
                        command("watch --poll")
                    )],
                    keep_through: u64::MAX,
                }),
                Event::Key(key) => self.key(key),
                Event::InputClosed => {
                    if self.terminal {
                        // No keys means no way to quit: stop rather than hang.
                        self.quit = true;
                    }
                }
                Event::Resized => screen.invalidate(),
                Event::Checked(checked) => {
                    let (id, received) = (checked.id, Instant::now());
                    self.checked(checked);
                    screen.show(&self.view());
                    self.log_timing(id, received);
                }
                Event::Replayed(replayed) => self.replayed(replayed),
            }
        }
    }

    /// Records a save of the current exercise; the check starts once the
    /// files are quiet, or at once when the save is `complete`.
    pub(super) fn saved(&mut self, now: Instant, complete: bool) {
        self.pending = Some(next_pending(self.pending, now, complete));
    }

    /// Asks for a check as soon as possible (a key, not a save).
    pub(super) fn request_check(&mut self) {
        let now = Instant::now();
        self.pending = Some(Pending {
            first: now,
            due: now,
            current: true,
        });
    }

    /// When a pending check may start (none while one runs: the pending
    /// saves wait for it, then get their own check).
    fn due(&self) -> Option<Instant> {
        match (&self.pending, &self.running) {
            (Some(p), None) => Some(p.due),
            _ => None,
        }
    }

    fn maybe_start_check(&mut self) {
        let Some(due) = self.due() else { return };
        let now = Instant::now();
        if now < due {
            return;
        }
        let Some(pending) = self.pending else { return };
        // Some editors remove the file and write it anew: give them a moment.
        if !self.kit.exercise_path(&self.exercise).exists() && now < pending.first + MISSING_WAIT {
            self.pending = Some(Pending {
                due: now + DEBOUNCE,
                ..pending
            });
            return;
        }
        self.pending = None;
        // The check comes first (see `ahead`).
        self.ahead.stop();
        self.checks += 1;
        let id = self.checks;
        let suite = &self.exercise.suite;
        let first_build = (!check::suite_built(&self.kit.root, suite)).then(|| suite.clone());
        self.running = Some(Running {
            id,
            exercise: self.exercise.name.clone(),
            first_build,
            replaying: None,
        });
        self.timing = Some((id, pending.first, now));
        let kit = Arc::clone(&self.kit);
        let exercise = self.exercise.clone();
        let send = self.send.clone();
        let spawned = std::thread::Builder::new()
            .name(CHECK_THREAD.into())
            .spawn(move || worker::check_and_replay(&kit, &exercise, id, &send));
        if let Err(error) = spawned {
            self.running = None;
            self.notes
                .push(error_note(&anyhow!("cannot start a check: {error}")));
        }
    }

    /// A verdict: record it, and show it if it is about the current exercise.
    fn checked(&mut self, checked: Checked) {
        self.running = None;
        self.shown = None;
        if let Some(seed) = checked.replaying {
            // The check goes on (saves meanwhile wait for it), its verdict shown.
            self.running = Some(Running {
                id: checked.id,
                exercise: checked.exercise.clone(),
                first_build: None,
                replaying: Some(seed),
            });
        }
        if checked.exercise != self.exercise.name {
            // The learner moved on while it ran; the new exercise has its own check.
            return;
        }
        self.notes.retain(|n| n.keep_through >= checked.id);
        let (lines, elapsed) = match checked.result {
            Ok(outcome) => {
                let lines = self.verdict(&outcome);
                let elapsed = outcome.elapsed;
                if checked.replaying.is_some() {
                    self.shown = Some(outcome);
                }
                (lines, elapsed)
            }
            Err(error) => {
                let mut lines = self.header();
                lines.push(String::new());
                lines.push(format!(
                    " {} the check could not run: {error:#}",
                    paint("✗", Color::Red)
                ));
                (lines, Duration::ZERO)
            }
        };
        self.report = Some(Report {
            lines,
            id: checked.id,
            elapsed,
        });
    }

    /// With `DSCOURSE_TIMINGS`, logs where the time from the first save
    /// of check `id` to its verdict on screen went.
    fn log_timing(&mut self, id: u64, received: Instant) {
        let Some((timed, first, started)) = self.timing.take() else {
            return;
        };
        if timed != id {
            return;
        }
        let mut stages = Stages::since(first);
        stages.mark_at("debounce", started);
        stages.mark_at("check", received);
        stages.mark("redraw");
        stages.log(
            &self.kit.state_dir(),
            &format!("watch check #{id} save to verdict"),
        );
    }

    /// The replays of the failing seed of the verdict shown: a difference
    /// joins the report.
    fn replayed(&mut self, replayed: Replayed) {
        self.running = None;
        let shown = self.shown.take();
        let current = self.report.as_ref().map(|r| r.id) == Some(replayed.id)
            && replayed.exercise == self.exercise.name;
        if let (true, Some(mut outcome), Some(divergence)) =
            (current, shown, replayed.nondeterminism)
        {
            outcome.nondeterminism = Some(divergence);
            let lines = render::outcome(
                &self.kit,
                &self.exercise,
                &outcome,
                self.progress.state.done.len(),
            );
            if let Some(report) = &mut self.report {
                report.lines = lines;
            }
        }
    }

    /// Records an outcome in the progress file and renders it.
    fn verdict(&mut self, outcome: &Outcome) -> Vec<String> {
        let name = self.exercise.name.clone();
        let mut progress = self.reload();
        if outcome.compile_errors.is_none() {
            progress.set_done(&name, outcome.passed());
        }
        self.keep(progress);
        let mut lines = render::outcome(
            &self.kit,
            &self.exercise,
            outcome,
            self.progress.state.done.len(),
        );
        if outcome.passed() {
            lines.push(String::new());
            lines.push(format!(
                " {} {} is done.",
                paint("✓", Color::Green),
                bold(&name)
            ));
            lines.push(format!(
                "   You can now compare your code with the reference: {} (or read it: {})",
                command(&format!("diff {name}")),
                command(&format!("solution {name}"))
            ));
            match self.next_exercise() {
                Some(next) => lines.push(format!(
                    "   Press {} for the next exercise, {}.",
                    bold("n"),
                    next.name
                )),
                None => lines.extend(self.final_message()),
            }
        }
        lines
    }

    /// The progress as it is on disk now: `dscourse hint` or `run` in
    /// another terminal may have changed it since.
    pub(super) fn reload(&self) -> Progress {
        let mut progress = Progress::load(&self.kit);
        progress.warning = None;
        progress
    }

    /// Saves `progress` and makes it the one shown.
    pub(super) fn keep(&mut self, progress: Progress) {
        if let Err(error) = progress.save() {
            self.notes.push(error_note(&error));
        }
        self.progress = progress;
    }
}

/// The pending check after a save at `now` (`complete`: the event says the
/// save is whole), given the one pending before.
fn next_pending(before: Option<Pending>, now: Instant, complete: bool) -> Pending {
    let first = before.map_or(now, |p| p.first);
    let due = if complete {
        now
    } else {
        (now + DEBOUNCE).min(first + LONGEST_WAIT)
    };
    Pending {
        first,
        due,
        current: true,
    }
}

pub(super) fn error_note(error: &anyhow::Error) -> Note {
    Note {
        lines: vec![format!(" {} {error:#}", paint("error:", Color::Red))],
        keep_through: u64::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_complete_save_is_due_at_once_and_a_partial_one_after_the_debounce() {
        let t0 = Instant::now();
        let partial = next_pending(None, t0, false);
        assert_eq!((partial.first, partial.due), (t0, t0 + DEBOUNCE));
        // The close after the write: at once, the burst's start kept.
        let t1 = t0 + Duration::from_millis(3);
        let complete = next_pending(Some(partial), t1, true);
        assert_eq!((complete.first, complete.due), (t0, t1));
        // An event after it (while its check runs) makes another check due.
        let t2 = t1 + Duration::from_millis(1);
        let after = next_pending(None, t2, false);
        assert_eq!(after.due, t2 + DEBOUNCE);
        // A burst that never goes quiet is still checked.
        let late = t0 + LONGEST_WAIT - Duration::from_millis(10);
        assert_eq!(
            next_pending(Some(partial), late, false).due,
            t0 + LONGEST_WAIT
        );
    }
}
