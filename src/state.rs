//! The learner's progress: which exercises passed, how many hints were shown.
//!
//! It lives in `.dscourse/state.json`, written atomically (a temporary file,
//! then a rename), so a crash mid-write leaves the old state whole. A missing
//! or unreadable state is rebuilt empty with a warning; state handling never
//! touches the learner's code.

use crate::kit::Kit;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const STATE_VERSION: u32 = 1;

/// What the runner remembers between sessions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    /// Exercises that passed their suite.
    pub done: BTreeSet<String>,
    /// How many hints of each exercise have been shown.
    pub hints_shown: BTreeMap<String, usize>,
    /// The exercise the learner is on, if they moved away from the first
    /// unfinished one.
    pub current: Option<String>,
    /// Whether watch mode has shown the course's welcome message.
    #[serde(default)]
    pub welcome_shown: bool,
}

/// The state and where it is kept.
pub struct Progress {
    path: PathBuf,
    pub state: State,
    /// Set when the file was missing or unreadable and was rebuilt.
    pub warning: Option<String>,
}

impl Progress {
    /// Loads the kit's progress, rebuilding it if needed.
    pub fn load(kit: &Kit) -> Progress {
        let path = kit.state_dir().join("state.json");
        let (state, warning) = match std::fs::read_to_string(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (State { version: STATE_VERSION, ..State::default() }, None),
            Err(e) => (State::default(), Some(format!("could not read {} ({e}); starting with empty progress", kit.display(&path)))),
            Ok(text) => match serde_json::from_str::<State>(&text) {
                Ok(state) if state.version == STATE_VERSION => (state, None),
                _ => (
                    State { version: STATE_VERSION, ..State::default() },
                    Some(format!(
                        "{} was damaged and has been rebuilt: progress starts afresh (your code is untouched; `{}` marks what already passes)",
                        kit.display(&path),
                        crate::invocation::command("verify")
                    )),
                ),
            },
        };
        let mut progress = Progress {
            path,
            state,
            warning,
        };
        // Forget exercises the course no longer has.
        progress
            .state
            .done
            .retain(|name| kit.manifest.position(name).is_some());
        progress.state.version = STATE_VERSION;
        progress
    }

    /// Writes the state atomically.
    pub fn save(&self) -> Result<()> {
        let text = serde_json::to_string_pretty(&self.state)?;
        write_atomically(&self.path, text.as_bytes())
    }

    /// The first exercise not yet passed (or the one the learner chose), by name.
    pub fn current<'k>(&self, kit: &'k Kit) -> Option<&'k crate::manifest::Exercise> {
        if let Some(name) = &self.state.current {
            if let Ok(ex) = kit.manifest.find(name) {
                if !self.is_done(name) {
                    return Some(ex);
                }
            }
        }
        kit.manifest
            .exercises
            .iter()
            .find(|e| !self.is_done(&e.name))
    }

    pub fn is_done(&self, name: &str) -> bool {
        self.state.done.contains(name)
    }

    /// Records a verdict (and forgets a chosen exercise once passed).
    pub fn set_done(&mut self, name: &str, passed: bool) {
        if passed {
            self.state.done.insert(name.to_string());
            if self.state.current.as_deref() == Some(name) {
                self.state.current = None;
            }
        } else {
            self.state.done.remove(name);
        }
    }

    /// The index of the next hint to show for `name`, counting it as shown.
    pub fn take_hint(&mut self, name: &str, available: usize) -> Option<usize> {
        let shown = self.state.hints_shown.entry(name.to_string()).or_insert(0);
        if *shown >= available {
            return None;
        }
        *shown += 1;
        Some(*shown - 1)
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a
/// rename, so that readers see the old content or the new, never a mix.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().context("a file path has a folder")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("state"),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}
