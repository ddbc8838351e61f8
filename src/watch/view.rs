//! What watch mode shows: the report of the last check (or the exercise's
//! header before one), notes, the status line and the key legend.

use super::app::{App, Mode};
use super::screen::View;
use crate::colour::{bold, dim, paint};
use crate::commands::list_table;
use crate::render;
use crossterm::style::Color;

const LEGEND: &str = " h hint · l list and switch · n next · r rerun · x reset · q quit";

impl App {
    /// The exercise's name and file, before its first verdict.
    pub(super) fn header(&self) -> Vec<String> {
        let total = self.kit.manifest.exercises.len();
        vec![
            format!(
                " {}   {}",
                bold(&self.exercise.name),
                dim(&render::progress_bar(self.progress.state.done.len(), total))
            ),
            format!(
                " {}",
                dim(&self.kit.display(&self.kit.exercise_path(&self.exercise)))
            ),
        ]
    }

    /// What the screen shows now.
    pub(super) fn view(&self) -> View {
        let legend = if self.terminal {
            LEGEND.to_string()
        } else {
            format!("{LEGEND}  (type the letter, then Enter)")
        };
        let body = match self.mode {
            Mode::List => list_table(&self.kit, &self.progress),
            _ => match &self.report {
                Some(report) => report.lines.clone(),
                None => self.header(),
            },
        };
        let notes = if self.mode == Mode::List {
            Vec::new()
        } else {
            self.notes
                .iter()
                .flat_map(|n| n.lines.iter().cloned())
                .collect()
        };
        let status = match (self.mode, &self.running) {
            (Mode::List, _) if self.typed.is_empty() => {
                dim(" type an exercise's number and Enter to switch to it · any other key returns")
            }
            (Mode::List, _) => paint(
                &format!(
                    " switch to exercise {}: Enter to go · any other key returns",
                    self.typed
                ),
                Color::Yellow,
            ),
            (Mode::ConfirmReset, _) => paint(
                &format!(
                    " Reset {} to its starting code? Your version is backed up first. (y/n)",
                    self.kit.display(&self.kit.exercise_path(&self.exercise))
                ),
                Color::Yellow,
            ),
            (Mode::Normal, Some(running)) => match (&self.report, running.replaying) {
                (Some(report), Some(seed)) if report.id == running.id => dim(&format!(
                    " check #{} took {:.2} s · replaying seed {seed} to see whether your code is deterministic…",
                    report.id,
                    report.elapsed.as_secs_f64(),
                )),
                _ => {
                    let building = match &running.first_build {
                        Some(suite) => format!(
                            " · building the {suite} suite (its first build can take a minute)"
                        ),
                        None => String::new(),
                    };
                    paint(
                        &format!(
                            " checking {} … (check #{}){building}",
                            running.exercise, running.id
                        ),
                        Color::Yellow,
                    )
                }
            },
            (Mode::Normal, None) => match &self.report {
                Some(report) => dim(&format!(
                    " check #{} took {:.2} s · watching exercises/ for saves ({})",
                    report.id,
                    report.elapsed.as_secs_f64(),
                    self.how
                )),
                None => dim(&format!(" watching exercises/ for saves ({})", self.how)),
            },
        };
        let serial = self.report.as_ref().map_or(0, |r| r.id);
        View {
            serial,
            body,
            notes,
            status,
            legend,
        }
    }

    pub(super) fn final_message(&self) -> Vec<String> {
        let mut lines = vec![
            String::new(),
            format!(" {}", paint("Every exercise passes.", Color::Green)),
        ];
        lines.extend(
            self.kit
                .manifest
                .final_message
                .trim()
                .lines()
                .map(|l| format!(" {l}")),
        );
        lines
    }
}
