//! The pristine starting code of every exercise, kept in `checker/stubs/`
//! with the same tree as `exercises/`, so that `reset` can restore a stub
//! whatever the learner has done to their copy (or to their git history).

use crate::kit::Kit;
use crate::manifest::Exercise;
use std::path::PathBuf;

/// Where the pristine stub of an exercise is kept.
pub fn stub_path(kit: &Kit, exercise: &Exercise) -> PathBuf {
    stub_of(kit, &exercise.file)
}

/// Where the pristine stub of an exercise file (relative to `exercises/`)
/// is kept.
pub fn stub_of(kit: &Kit, file: &str) -> PathBuf {
    kit.root.join("checker/stubs").join(file)
}
