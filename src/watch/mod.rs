//! Watch mode: check the current exercise on every save.
//!
//! Three parts, each on its own thread:
//! - `files`: the file watcher, which reports saves of exercise files;
//! - `screen`: the terminal (raw mode and its restoration, drawing, keys),
//!   or plain lines when there is no terminal;
//! - `app`: the event loop, which debounces saves, runs checks on a worker
//!   thread (so keys stay responsive) and never loses a save made while a
//!   check runs; `keys` (what each key does), `switch` (moving to another
//!   exercise) and `view` (what the screen shows) are the rest of its
//!   methods; `worker` is the check's thread (the verdict first, then the
//!   replays of a failing seed); `ahead` builds the next exercise's check
//!   while nothing else runs.

mod ahead;
mod app;
mod files;
mod keys;
mod screen;
mod switch;
mod view;
mod worker;

use crate::check::Outcome;
use crate::kit::Kit;
use crate::state::Progress;
use anyhow::Result;
use std::process::ExitCode;
use std::sync::mpsc;

/// Everything the event loop reacts to.
pub enum Event {
    /// From the file watcher.
    File(files::Change),
    /// A key (on a terminal) or a line's first letter, or each digit of a
    /// number and then Enter (without one).
    Key(Key),
    /// No more keys can be read.
    InputClosed,
    /// The terminal changed size.
    Resized,
    /// A check's verdict.
    Checked(Checked),
    /// The replays of a failing seed that a verdict was shown before.
    Replayed(Replayed),
}

/// A key, as the loop sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    Char(char),
    /// Ctrl-C (or Ctrl-D) in raw mode.
    Quit,
    /// Backspace, to correct a number typed in the list.
    Backspace,
    Other,
}

/// The end of one check.
pub struct Checked {
    /// The number of the check (1 for the first of the session).
    pub id: u64,
    /// The exercise it checked.
    pub exercise: String,
    pub result: Result<Outcome>,
    /// The failing seed being replayed now; a [`Replayed`] follows.
    pub replaying: Option<u64>,
}

/// The end of a check whose failing seed was replayed after its verdict.
pub struct Replayed {
    pub id: u64,
    pub exercise: String,
    /// What the replays found (`None`: the learner's code is deterministic,
    /// as far as they tell).
    pub nondeterminism: Option<Box<crate::check::nondeterminism::Divergence>>,
}

/// Runs watch mode until the learner quits.
pub fn run(kit: &Kit, poll: bool) -> Result<ExitCode> {
    let progress = Progress::load(kit);
    let Some(exercise) = progress.current(kit).cloned() else {
        println!("Every exercise passes.");
        println!("{}", kit.manifest.final_message.trim());
        return Ok(ExitCode::SUCCESS);
    };
    let (send, receive) = mpsc::channel();
    let watcher = files::watch(&kit.root, poll, send.clone(), Event::File)?;
    let mut screen = screen::Screen::open();
    screen.read_keys(send.clone());
    let mut app = app::App::new(
        kit,
        progress,
        exercise,
        watcher.how,
        screen.is_terminal(),
        send,
    );
    let result = app.run(&mut screen, receive);
    // A suite still running would no longer be watched: stop it.
    crate::child::kill_running();
    drop(screen);
    drop(watcher);
    result
}
