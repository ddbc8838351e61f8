//! The keys of watch mode: hint, list (and a number to switch), next
//! exercise, rerun, reset, quit.

use super::app::{App, Mode, Note};
use super::Key;
use crate::colour::{bold, paint};
use crate::commands::{hint_text, reset_exercise};
use crate::manifest::Exercise;
use crossterm::style::Color;
use std::time::Instant;

impl App {
    /// The first unfinished exercise after the current one, wrapping around.
    pub(super) fn next_exercise(&self) -> Option<&Exercise> {
        let all = &self.kit.manifest.exercises;
        let at = self.kit.manifest.position(&self.exercise.name).unwrap_or(0);
        all.iter()
            .skip(at + 1)
            .chain(all.iter().take(at + 1))
            .find(|e| e.name != self.exercise.name && !self.progress.is_done(&e.name))
    }

    pub(super) fn key(&mut self, key: Key) {
        if key == Key::Quit {
            self.quit = true;
            return;
        }
        match self.mode {
            Mode::List => match key {
                // Three digits are more than any course has exercises.
                Key::Char(c) if c.is_ascii_digit() && self.typed.len() < 3 => self.typed.push(c),
                Key::Backspace => {
                    self.typed.pop();
                }
                Key::Char('\n') if !self.typed.is_empty() => self.pick(),
                _ => {
                    self.typed.clear();
                    self.mode = Mode::Normal;
                }
            },
            Mode::ConfirmReset => {
                self.mode = Mode::Normal;
                if key == Key::Char('y') {
                    self.reset();
                } else {
                    self.note(vec![" Nothing was reset.".to_string()], self.checks);
                }
            }
            Mode::Normal => match key {
                Key::Char('q') => self.quit = true,
                Key::Char('h') => {
                    let mut progress = self.reload();
                    let text = hint_text(&self.kit, &mut progress, &self.exercise);
                    self.keep(progress);
                    self.note(text.lines().map(|l| format!(" {l}")).collect(), self.checks);
                }
                Key::Char('l') => self.mode = Mode::List,
                Key::Char('n') => self.next(),
                Key::Char('r') => self.request_check(),
                Key::Char('x') => self.mode = Mode::ConfirmReset,
                _ => {}
            },
        }
    }

    /// Replaces the notes with one, kept through the verdict of check `keep_through`.
    pub(super) fn note(&mut self, lines: Vec<String>, keep_through: u64) {
        self.notes.retain(|n| n.keep_through == u64::MAX);
        self.notes.push(Note {
            lines,
            keep_through,
        });
    }

    /// `n`: on to the next unfinished exercise, once this one passed.
    pub(super) fn next(&mut self) {
        self.progress = self.reload();
        if !self.progress.is_done(&self.exercise.name) {
            let text = format!(
                " {} moves on once {} passes.",
                bold("n"),
                self.exercise.name
            );
            self.note(vec![text], self.checks);
            return;
        }
        let Some(next) = self.next_exercise().cloned() else {
            self.note(self.final_message(), self.checks);
            return;
        };
        let path = self.kit.display(&self.kit.exercise_path(&next));
        let note = format!(
            " Next: {}. Open {path}; the topic guide is beside it.",
            bold(&next.name)
        );
        self.switch_to(next, note);
        self.request_check();
    }

    /// `x` then `y`: back up the learner's file and restore the stub.
    pub(super) fn reset(&mut self) {
        let mut progress = self.reload();
        let result = reset_exercise(&self.kit, &mut progress, &self.exercise);
        self.progress = progress;
        match result {
            Ok(restored) => {
                let mut lines = vec![format!(
                    " Restored {} to its starting code.",
                    self.kit.display(&restored.target)
                )];
                if let Some(backup) = restored.backup {
                    lines.push(format!(
                        " Your version is saved as {}.",
                        self.kit.display(&backup)
                    ));
                }
                self.note(lines, self.checks + 1);
                // As a save: the watcher's event for the same write joins it.
                self.saved(Instant::now(), false);
            }
            Err(error) => self.note(
                vec![format!(" {} {error:#}", paint("error:", Color::Red))],
                self.checks,
            ),
        }
    }
}
