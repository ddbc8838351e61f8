//! A learner's submission as it arrived: a copy of the kit, its
//! `exercises/` folder, an upload nested in folders, or loose files (see
//! `matching.rs` for how each exercise file is found). Only the exercise
//! files the manifest names are taken from it, never its manifests, build
//! scripts, lock files or anything else; every other file it holds is
//! listed with the reason it was not graded, except the kit's own files
//! left unchanged (a learner's clone of the kit holds thousands).

use super::intake::{self, Found, Limits};
use super::matching::{self, KitRoot};
use crate::manifest::Manifest;
use anyhow::{bail, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The largest exercise file a submission may hold.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// How many lines the list of files not graded keeps.
const MAX_LISTED: usize = 200;

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
    /// Files graded though their names matched only without regard to
    /// case, each with the exercise file it was graded as.
    pub notes: Vec<String>,
}

impl Submission {
    /// Reads the submission at `root` against the course `manifest` and
    /// the kit at `kit_root`.
    pub fn read(root: &Path, kit_root: &Path, manifest: &Manifest) -> Result<Submission> {
        if !root.is_dir() {
            bail!(
                "{} is not a folder: give a learner's copy of the kit, or its exercises/ folder",
                root.display()
            );
        }
        let mut wanted: Vec<&str> = manifest.exercises.iter().map(|e| e.file.as_str()).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let intake = take(root, kit_root, &wanted, Limits::DEFAULT)?;
        // A submission that held only refused files (a link to someone
        // else's exercises/) is graded, at zero, so that the report says why.
        if intake.files.is_empty() && !intake.refused_any {
            bail!(
                "{} holds none of the course's exercise files (such as exercises/{}): is it a learner's copy of the kit, or its exercises/ folder?",
                root.display(),
                manifest.exercises.first().map(|e| e.file.as_str()).unwrap_or("…")
            );
        }
        Ok(Submission {
            student: student_name(root),
            root: root.to_path_buf(),
            files: intake.files,
            ignored: intake.ignored,
            notes: intake.notes,
        })
    }
}

/// The submission folder's own name, even when given as `.`.
fn student_name(root: &Path) -> String {
    root.canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| root.display().to_string())
}

/// What reading a submission found.
struct Intake {
    files: BTreeMap<String, Vec<u8>>,
    ignored: Vec<String>,
    notes: Vec<String>,
    /// Whether it held anything grading refused: a symbolic link, a file
    /// too large, what lay beyond the walk's bounds.
    refused_any: bool,
}

/// Finds and reads the exercise files `wanted` (relative to `exercises/`)
/// in the submission at `root`, and lists what else it holds.
fn take(root: &Path, kit_root: &Path, wanted: &[&str], limits: Limits) -> Result<Intake> {
    let tree = intake::walk(root, limits)?;
    let kit = KitView {
        root: kit_root,
        place: matching::kit_root_in(&tree.files, wanted),
    };
    let mut listing = Listing::default();
    for line in &tree.refused {
        listing.add(Rank::Refused, line.clone());
    }
    for line in &tree.passed_over {
        listing.add(Rank::NotGraded, line.clone());
    }
    let mut files = BTreeMap::new();
    let mut notes = Vec::new();
    let mut accounted: BTreeSet<&str> = BTreeSet::new();
    for rel in wanted.iter().copied() {
        let Some(found) = matching::choose(rel, wanted, &tree.files, |f| kit.holds_same(f)) else {
            continue;
        };
        accounted.insert(&found.file.rel);
        for other in &found.others {
            if accounted.insert(&other.rel) {
                listing.add(
                    Rank::OtherCopy,
                    format!(
                        "{}: another copy of exercises/{rel}, not graded ({} was)",
                        other.rel, found.file.rel
                    ),
                );
            }
        }
        match read_bounded(&found.file.path) {
            Ok(bytes) => {
                files.insert(rel.to_string(), bytes);
                if found.how.ignores_case() {
                    notes.push(format!(
                        "{}: graded as exercises/{rel}, its name matching only without regard to case",
                        found.file.rel
                    ));
                }
            }
            Err(why) => listing.add(
                Rank::Refused,
                format!("{}: {why} (graded as not submitted)", found.file.rel),
            ),
        }
    }
    for file in tree
        .files
        .iter()
        .filter(|f| !accounted.contains(f.rel.as_str()))
    {
        match kit.compare(file) {
            KitFile::Same => {}
            KitFile::Changed => listing.add(
                Rank::Changed,
                format!("{}: changed; the kit's own is used", file.rel),
            ),
            KitFile::Absent => listing.add(
                Rank::NotGraded,
                format!(
                    "{}: not an exercise file, not graded (only the files info.toml names are)",
                    file.rel
                ),
            ),
        }
    }
    Ok(Intake {
        refused_any: listing.has(Rank::Refused),
        files,
        ignored: listing.lines(),
        notes,
    })
}

/// The bytes of an exercise file, or why it is refused. The file is opened
/// without following a link, and no more than the limit is read.
fn read_bounded(path: &Path) -> std::result::Result<Vec<u8>, String> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // O_NONBLOCK: a file swapped for a pipe does not hang the grader.
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = options
        .open(path)
        .map_err(|e| format!("cannot be read ({e})"))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot be read ({e})"))?;
    let too_large = || format!("larger than {} KiB", MAX_FILE_BYTES >> 10);
    if !meta.is_file() {
        return Err("not a file".to_string());
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot be read ({e})"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large());
    }
    Ok(bytes)
}

/// The kit as a submission's files are compared with it.
struct KitView<'k> {
    root: &'k Path,
    place: KitRoot,
}

/// A submission's file next to the kit's own at the same place.
#[derive(Debug, PartialEq, Eq)]
enum KitFile {
    /// Byte for byte the kit's file.
    Same,
    /// The kit has a file there, with other contents.
    Changed,
    /// The kit has no file there.
    Absent,
}

impl KitView<'_> {
    fn compare(&self, file: &Found) -> KitFile {
        let Some(kit_path) = self.place.kit_path(&file.rel) else {
            return KitFile::Absent;
        };
        let Ok(meta) = std::fs::metadata(self.root.join(&kit_path)) else {
            return KitFile::Absent;
        };
        if !meta.is_file() {
            return KitFile::Absent;
        }
        // Sizes first: most changed files are told apart without reading.
        if meta.len() != file.len {
            return KitFile::Changed;
        }
        let theirs = read_bounded(&file.path);
        let ours = std::fs::read(self.root.join(&kit_path));
        match (theirs, ours) {
            (Ok(theirs), Ok(ours)) if theirs == ours => KitFile::Same,
            _ => KitFile::Changed,
        }
    }

    fn holds_same(&self, file: &Found) -> bool {
        self.compare(file) == KitFile::Same
    }
}

/// How much a line of the files-not-graded list matters: the list is
/// sorted by it, so that the cap drops the least telling lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    /// Would have been read, and was refused.
    Refused,
    OtherCopy,
    Changed,
    NotGraded,
}

/// The files not graded, each with why.
#[derive(Default)]
struct Listing {
    lines: Vec<(Rank, String)>,
}

impl Listing {
    fn add(&mut self, rank: Rank, line: String) {
        self.lines.push((rank, line));
    }

    fn has(&self, rank: Rank) -> bool {
        self.lines.iter().any(|(r, _)| *r == rank)
    }

    /// The lines, most telling first, at most [`MAX_LISTED`] of them.
    fn lines(mut self) -> Vec<String> {
        self.lines.sort();
        let more = self.lines.len().saturating_sub(MAX_LISTED);
        let mut lines: Vec<String> = self
            .lines
            .into_iter()
            .take(MAX_LISTED)
            .map(|(_, line)| line)
            .collect();
        if more > 0 {
            lines.push(format!("… and {more} more"));
        }
        lines
    }
}

#[cfg(test)]
#[path = "submission/tests.rs"]
mod tests;
