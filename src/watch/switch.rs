//! Moving watch mode to another exercise: when the learner saves that
//! exercise's file (they are working on it, whatever the runner thought),
//! when they type its number in the list, and with `n` once one passes.

use super::app::{App, Mode, DEBOUNCE};
use super::files::Step;
use crate::colour::bold;
use crate::manifest::Exercise;
use std::path::Path;
use std::time::Instant;

impl App {
    /// A save of `file` (a path inside `exercises/`): the check it leads to
    /// is of the exercise whose file it is, or of the current one for any
    /// other file (`lib.rs`). A burst that also saved the current
    /// exercise's file stays on it: the saves not yet checked, or any
    /// within [`DEBOUNCE`] of the last (a complete save starts its check at
    /// once, and the rest of an editor's "save all" comes just after).
    /// Attributes set on a file just after a complete save of it are no
    /// new save.
    pub(super) fn saved_file(&mut self, file: &Path, step: Step, now: Instant) {
        let recent = |at: Instant| now.saturating_duration_since(at) < DEBOUNCE;
        if step == Step::Attributes
            && self
                .completed
                .as_ref()
                .is_some_and(|(done, at)| done == file && recent(*at))
        {
            return;
        }
        let current_saved =
            self.pending.is_some_and(|p| p.current) || self.last_save.is_some_and(recent);
        self.last_save = Some(now);
        if step == Step::Complete {
            self.completed = Some((file.to_path_buf(), now));
        }
        if let Some(other) = self.other_exercise_of(file).filter(|_| !current_saved) {
            let path = self.kit.display(&self.kit.exercise_path(&other));
            let note = format!(
                " Switched to {}: you saved {path}. Press {} to choose another exercise.",
                bold(&other.name),
                bold("l")
            );
            self.switch_to(other, note);
        }
        self.saved(now, step == Step::Complete);
    }

    /// The exercise that `file` belongs to, unless it is the current one's
    /// (of several exercises sharing the file, the first not yet passed).
    fn other_exercise_of(&self, file: &Path) -> Option<Exercise> {
        let owners: Vec<&Exercise> = self
            .kit
            .manifest
            .exercises
            .iter()
            .filter(|e| Path::new(&e.file) == file)
            .collect();
        if owners.iter().any(|e| e.name == self.exercise.name) {
            return None;
        }
        owners
            .iter()
            .find(|e| !self.progress.is_done(&e.name))
            .or(owners.first())
            .map(|e| (*e).clone())
    }

    /// Enter in the list: on to the exercise whose number was typed.
    pub(super) fn pick(&mut self) {
        self.mode = Mode::Normal;
        let typed = std::mem::take(&mut self.typed);
        let all = &self.kit.manifest.exercises;
        let chosen = typed
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| all.get(i))
            .cloned();
        let Some(exercise) = chosen else {
            let text = format!(
                " There is no exercise {typed}: the list numbers them from 1 to {}.",
                all.len()
            );
            self.note(vec![text], self.checks);
            return;
        };
        if exercise.name == self.exercise.name {
            return;
        }
        let path = self.kit.display(&self.kit.exercise_path(&exercise));
        let note = format!(
            " Switched to {}. Open {path}; the topic guide is beside it.",
            bold(&exercise.name)
        );
        self.switch_to(exercise, note);
        self.request_check();
    }

    /// Makes `exercise` the current one, on screen and in the progress
    /// file, with `note` shown until its first verdict. The caller asks for
    /// the check.
    pub(super) fn switch_to(&mut self, exercise: Exercise, note: String) {
        let mut progress = self.reload();
        progress.state.current = Some(exercise.name.clone());
        self.keep(progress);
        self.exercise = exercise;
        self.report = None;
        self.note(vec![note], self.checks + 1);
    }
}
