//! Stage times of a check, for profiling the learner's loop: with
//! `DSCOURSE_TIMINGS=1` (or a file's path) each check appends one line to
//! `.dscourse/timings.log` (or that file) naming how long each stage took,
//! and watch mode adds one per verdict (the debounce, the check, the
//! redraw). Without the variable nothing is measured or written.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The variable that turns the log on.
pub const VAR: &str = "DSCOURSE_TIMINGS";

/// The log file, if timings are wanted; `state_dir` is the kit's `.dscourse/`.
pub fn log_file(state_dir: &Path) -> Option<PathBuf> {
    log_file_from(std::env::var_os(VAR).as_deref(), state_dir)
}

fn log_file_from(value: Option<&std::ffi::OsStr>, state_dir: &Path) -> Option<PathBuf> {
    let value = value?;
    if value.is_empty() || value == "0" {
        None
    } else if value == "1" {
        Some(state_dir.join("timings.log"))
    } else {
        Some(PathBuf::from(value))
    }
}

/// Consecutive stages, each timed from the end of the one before.
pub struct Stages {
    started: Instant,
    last: Instant,
    parts: Vec<(&'static str, Duration)>,
}

impl Stages {
    /// Stages timed from `started`.
    pub fn since(started: Instant) -> Stages {
        Stages {
            started,
            last: started,
            parts: Vec::new(),
        }
    }

    /// Ends the stage `name` now.
    pub fn mark(&mut self, name: &'static str) {
        self.mark_at(name, Instant::now());
    }

    /// Ends the stage `name` at `at`.
    pub fn mark_at(&mut self, name: &'static str, at: Instant) {
        self.parts
            .push((name, at.saturating_duration_since(self.last)));
        self.last = self.last.max(at);
    }

    /// `what: stage 12 ms · stage 3 ms · total 15 ms`.
    pub fn line(&self, what: &str) -> String {
        let mut line = format!("{what}:");
        for (name, took) in &self.parts {
            line.push_str(&format!(" {name} {} ms ·", took.as_millis()));
        }
        line.push_str(&format!(
            " total {} ms",
            (self.last - self.started).as_millis()
        ));
        line
    }

    /// Appends [`Stages::line`] to the log, if timings are wanted (a log
    /// that cannot be written is skipped: it is a profiling aid).
    pub fn log(&self, state_dir: &Path, what: &str) {
        let Some(file) = log_file(state_dir) else {
            return;
        };
        append(&file, &self.line(what));
    }
}

/// Appends `line` to the log, if timings are wanted: a note beside the
/// stage times (why a build took the path it took).
pub fn note(state_dir: &Path, line: &str) {
    let Some(file) = log_file(state_dir) else {
        return;
    };
    append(&file, line);
}

fn append(file: &Path, line: &str) {
    if let Some(dir) = file.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
    {
        let _ = writeln!(f, "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn the_variable_names_the_log() {
        let dir = Path::new("/kit/.dscourse");
        assert_eq!(log_file_from(None, dir), None);
        assert_eq!(log_file_from(Some(OsStr::new("0")), dir), None);
        assert_eq!(log_file_from(Some(OsStr::new("")), dir), None);
        assert_eq!(
            log_file_from(Some(OsStr::new("1")), dir),
            Some(dir.join("timings.log"))
        );
        assert_eq!(
            log_file_from(Some(OsStr::new("/tmp/t.log")), dir),
            Some(PathBuf::from("/tmp/t.log"))
        );
    }

    #[test]
    fn a_line_names_each_stage_and_the_total() {
        let start = Instant::now();
        let mut stages = Stages::since(start);
        stages.mark("build");
        stages.mark("run");
        let line = stages.line("check x");
        assert!(line.starts_with("check x: build "), "{line}");
        assert!(
            line.contains(" ms · run ") && line.contains("· total "),
            "{line}"
        );
    }
}
