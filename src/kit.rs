//! Finding the kit on disk, and the paths inside it.

use crate::manifest::{Exercise, Manifest};
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// The course kit: its root folder and its manifest.
pub struct Kit {
    pub root: PathBuf,
    pub manifest: Manifest,
}

impl Kit {
    /// Finds the kit from the current folder or any folder inside it, and
    /// loads its manifest.
    pub fn discover() -> Result<Kit> {
        let cwd = std::env::current_dir()?;
        let Some(root) = find_root(&cwd) else {
            bail!(
                "no course kit here: neither {} nor any folder above it has an info.toml beside an exercises/ folder.\n\
                 Run dscourse from inside your copy of the kit.",
                cwd.display()
            );
        };
        let manifest = Manifest::load(&root)?;
        Ok(Kit { root, manifest })
    }

    /// The learner's copy of an exercise's file.
    pub fn exercise_path(&self, exercise: &Exercise) -> PathBuf {
        self.root.join("exercises").join(&exercise.file)
    }

    /// The reference copy of an exercise's file.
    pub fn solution_path(&self, exercise: &Exercise) -> PathBuf {
        self.root.join("solutions").join(&exercise.file)
    }

    /// Whether this copy has the reference solutions (a student
    /// distribution made by `dev strip` has none).
    pub fn has_solutions(&self) -> bool {
        self.root.join("solutions").is_dir()
    }

    /// Whether this copy has the instructor's hidden tests
    /// (`checker/hidden/`, left out of a student distribution).
    pub fn has_hidden_tests(&self) -> bool {
        self.root.join("checker/hidden").is_dir()
    }

    /// The topic guide beside an exercise's file.
    pub fn guide_path(&self, exercise: &Exercise) -> PathBuf {
        self.exercise_path(exercise).with_file_name("README.md")
    }

    /// The runner's own folder (progress state, backups, result files).
    pub fn state_dir(&self) -> PathBuf {
        self.root.join(".dscourse")
    }

    /// A path shown relative to the kit root, as a learner would type it.
    pub fn display(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .display()
            .to_string()
    }
}

/// The nearest folder at or above `start` that holds `info.toml` and `exercises/`.
fn find_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join("info.toml").is_file() && dir.join("exercises").is_dir())
        .map(Path::to_path_buf)
}
