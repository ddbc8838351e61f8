//! A learner's submission: a copy of the kit, or only its `exercises/`
//! folder. Only the exercise files the manifest names are taken from it,
//! never its manifests, build scripts, lock files or anything else.

use crate::manifest::Manifest;
use anyhow::{bail, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The largest exercise file a submission may hold.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// What a submission holds that grading uses.
pub struct Submission {
    /// The student: the submission folder's name.
    pub student: String,
    pub root: PathBuf,
    /// The learner's version of each exercise file (keyed by its path
    /// relative to `exercises/`), read at the start so that what is graded
    /// cannot change while grading.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Files present but not graded, each with the reason.
    pub ignored: Vec<String>,
}

impl Submission {
    /// Reads the submission at `root` against the course `manifest`.
    pub fn read(root: &Path, kit_root: &Path, manifest: &Manifest) -> Result<Submission> {
        if !root.is_dir() {
            bail!(
                "{} is not a folder: give a learner's copy of the kit, or its exercises/ folder",
                root.display()
            );
        }
        let exercises = if root.join("exercises").is_dir() {
            root.join("exercises")
        } else {
            root.to_path_buf()
        };
        let mut files = BTreeMap::new();
        let mut taken = std::collections::BTreeSet::new();
        let mut ignored = Vec::new();
        let mut wanted: Vec<&str> = manifest.exercises.iter().map(|e| e.file.as_str()).collect();
        wanted.sort_unstable();
        wanted.dedup();
        for rel in wanted.iter().copied() {
            let mut path = exercises.join(rel);
            if !path.exists() {
                // Files uploaded by themselves (as Gradescope's upload
                // does), found by name when no other exercise has it.
                if let Some(name) = unique_name(rel, &wanted) {
                    path = root.join(name);
                }
            }
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.file_type().is_symlink() {
                ignored.push(format!(
                    "exercises/{rel}: a symbolic link, not a file (graded as not submitted)"
                ));
            } else if !meta.is_file() {
                ignored.push(format!("exercises/{rel}: not a file"));
            } else if meta.len() > MAX_FILE_BYTES {
                ignored.push(format!(
                    "exercises/{rel}: larger than {} KiB (graded as not submitted)",
                    MAX_FILE_BYTES >> 10
                ));
            } else {
                match std::fs::read(&path) {
                    Ok(bytes) => {
                        files.insert(rel.to_string(), bytes);
                        taken.insert(path);
                    }
                    Err(e) => ignored.push(format!("exercises/{rel}: cannot be read ({e})")),
                }
            }
        }
        if files.is_empty() {
            bail!(
                "{} holds none of the course's exercise files (such as exercises/{}): is it a learner's copy of the kit, or its exercises/ folder?",
                root.display(),
                manifest.exercises.first().map(|e| e.file.as_str()).unwrap_or("…")
            );
        }
        ignored.extend(other_files(&exercises, &kit_root.join("exercises"), &taken));
        if exercises != root {
            for name in ["Cargo.toml", "build.rs", "Cargo.lock"] {
                if differs(&root.join(name), &kit_root.join(name)) {
                    ignored.push(format!("{name}: changed or added; the kit's own is used"));
                }
            }
        }
        let student = root
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| root.display().to_string());
        Ok(Submission {
            student,
            root: root.to_path_buf(),
            files,
            ignored,
        })
    }
}

/// Files in the submission's `exercises/` that grading leaves out and a
/// grader would want to know about: build scripts, manifests, extra code.
fn other_files(
    exercises: &Path,
    kit_exercises: &Path,
    taken: &std::collections::BTreeSet<PathBuf>,
) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![exercises.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                if entry.file_name() != "target" {
                    stack.push(path);
                }
                continue;
            }
            let rel = path
                .strip_prefix(exercises)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let name = entry.file_name().to_string_lossy().into_owned();
            let interesting = name.ends_with(".rs") || name == "Cargo.toml" || name == "Cargo.lock";
            if interesting && !taken.contains(&path) && differs(&path, &kit_exercises.join(&rel)) {
                found.push(format!(
                    "exercises/{rel}: not an exercise file (only the files info.toml names are graded; the kit's own are used for the rest)"
                ));
            }
        }
    }
    found.sort();
    found
}

/// Whether `path` exists and is not byte-for-byte the kit's `original`.
fn differs(path: &Path, original: &Path) -> bool {
    match std::fs::read(path) {
        Ok(bytes) => std::fs::read(original).map_or(true, |kit| kit != bytes),
        Err(_) => false,
    }
}

/// The file name of `rel`, if no other exercise file has the same name.
fn unique_name<'a>(rel: &'a str, all: &[&str]) -> Option<&'a str> {
    let name = rel.rsplit('/').next()?;
    let same = all
        .iter()
        .filter(|f| f.rsplit('/').next() == Some(name))
        .count();
    (same == 1).then_some(name)
}
