//! The grading copy of the kit: a clean copy of the instructor's kit into
//! which only the learner's exercise files are placed. It is kept between
//! runs (`.dscourse/grade/slot-N/`), and brought back in line with the kit
//! before every submission, so that cargo rebuilds only what changed.

use super::submission::Submission;
use crate::kit::Kit;
use crate::tree::{files, files_under};
use anyhow::{Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

/// What of a kit's root the copy takes, besides the folders of the
/// workspace's members: what cargo needs to build the suites, nothing of
/// the instructor's own (grades, submissions, `target/`).
const ROOT_ENTRIES: [&str; 7] = [
    "Cargo.toml",
    "Cargo.lock",
    "info.toml",
    "rust-toolchain",
    "rust-toolchain.toml",
    ".cargo",
    "src",
];

pub struct Workspace {
    /// The copy of the kit.
    pub root: PathBuf,
    /// Cargo's target folder for it.
    pub target: PathBuf,
    /// Where result channels and captured output go while a suite runs.
    pub runs: PathBuf,
    /// The working folder of the suites: empty, outside the copy.
    pub scratch: PathBuf,
    /// What every file of the copy held after the learner's files were
    /// placed: a suite run must leave them as they were.
    fingerprint: BTreeMap<String, u64>,
}

impl Workspace {
    /// The grading copy number `slot` of `kit`, created if needed.
    pub fn open(kit: &Kit, slot: usize) -> Result<Workspace> {
        let dir = kit.state_dir().join("grade").join(format!("slot-{slot}"));
        let target = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(shared) => PathBuf::from(shared).join(format!("dscourse-grade-{slot}")),
            None => dir.join("target"),
        };
        let workspace = Workspace {
            root: dir.join("kit"),
            target,
            runs: dir.join("runs"),
            scratch: dir.join("scratch"),
            fingerprint: BTreeMap::new(),
        };
        for folder in [&workspace.root, &workspace.runs, &workspace.scratch] {
            std::fs::create_dir_all(folder)
                .with_context(|| format!("cannot create {}", folder.display()))?;
        }
        Ok(workspace)
    }

    /// Makes the copy the kit plus the submission's exercise files (a stub
    /// for every exercise file the submission lacks).
    pub fn prepare(&mut self, kit: &Kit, submission: &Submission) -> Result<()> {
        let learner: BTreeSet<String> = kit
            .manifest
            .exercises
            .iter()
            .map(|e| format!("exercises/{}", e.file))
            .collect();
        let mut wanted: BTreeMap<String, Source> = BTreeMap::new();
        let roots = copied_roots(&kit.root)?;
        for rel in files_under(&kit.root, roots.iter().map(String::as_str))? {
            if !learner.contains(&rel) {
                wanted.insert(rel.clone(), Source::Kit(kit.root.join(&rel)));
            }
        }
        for exercise in &kit.manifest.exercises {
            let rel = format!("exercises/{}", exercise.file);
            let source = match submission.files.get(&exercise.file) {
                Some(bytes) => Source::Bytes(bytes.clone()),
                None => Source::Bytes(read(&crate::stubs::stub_path(kit, exercise))?),
            };
            wanted.insert(rel, source);
        }
        // Remove what the kit no longer has (or a previous run left).
        for rel in files(&self.root, &[])? {
            if !wanted.contains_key(&rel) {
                let path = self.root.join(&rel);
                std::fs::remove_file(&path)
                    .with_context(|| format!("cannot remove {}", path.display()))?;
            }
        }
        for (rel, source) in &wanted {
            source.place(&self.root.join(rel))?;
        }
        let _ = std::fs::remove_dir_all(&self.scratch);
        std::fs::create_dir_all(&self.scratch)
            .with_context(|| format!("cannot create {}", self.scratch.display()))?;
        self.fingerprint = fingerprint(&self.root)?;
        Ok(())
    }

    /// Puts an exercise file's stub in place of the learner's.
    pub fn use_stub(&mut self, kit: &Kit, file: &str) -> Result<()> {
        let stub = read(&crate::stubs::stub_of(kit, file))?;
        Source::Bytes(stub.clone()).place(&self.root.join("exercises").join(file))?;
        self.fingerprint
            .insert(format!("exercises/{file}"), hash(&stub));
        Ok(())
    }

    /// Files of the copy that changed since it was prepared: the learner's
    /// code wrote to the kit. (The copy is prepared afresh for the next
    /// submission either way.)
    pub fn changed_files(&self) -> Result<Vec<String>> {
        let now = fingerprint(&self.root)?;
        let mut changed: Vec<String> = now
            .iter()
            .filter(|(rel, hash)| self.fingerprint.get(*rel) != Some(hash))
            .map(|(rel, _)| rel.clone())
            .collect();
        changed.extend(
            self.fingerprint
                .keys()
                .filter(|rel| !now.contains_key(*rel))
                .cloned(),
        );
        changed.sort();
        Ok(changed)
    }
}

/// Where a file of the copy comes from.
enum Source {
    /// The kit's own file (its modification time is kept, so that cargo
    /// reuses what it built from it).
    Kit(PathBuf),
    /// Bytes from the submission or a stub (written only when they differ).
    Bytes(Vec<u8>),
}

impl Source {
    fn place(&self, dest: &Path) -> Result<()> {
        let bytes = match self {
            Source::Kit(path) => read(path)?,
            Source::Bytes(bytes) => bytes.clone(),
        };
        if std::fs::read(dest).is_ok_and(|old| old == bytes) {
            return Ok(());
        }
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(dest, &bytes).with_context(|| format!("cannot write {}", dest.display()))?;
        if let Source::Kit(path) = self {
            let modified = std::fs::metadata(path).and_then(|m| m.modified());
            if let Ok(modified) = modified {
                let file = std::fs::File::options().write(true).open(dest)?;
                file.set_modified(modified)?;
            }
            // Scripts keep their permissions.
            std::fs::set_permissions(dest, std::fs::metadata(path)?.permissions())?;
        }
        Ok(())
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// The entries of a kit's root that the copy takes: [`ROOT_ENTRIES`] and
/// the top folder of every workspace member.
fn copied_roots(root: &Path) -> Result<BTreeSet<String>> {
    let mut roots: BTreeSet<String> = ROOT_ENTRIES.iter().map(|s| s.to_string()).collect();
    let path = root.join("Cargo.toml");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let table: toml::Table = text
            .parse()
            .with_context(|| format!("{} is not valid TOML", path.display()))?;
        let members = table
            .get("workspace")
            .and_then(|w| w.get("members"))
            .and_then(|m| m.as_array())
            .cloned()
            .unwrap_or_default();
        for member in members.iter().filter_map(|m| m.as_str()) {
            if let Some(top) = Path::new(member).components().next() {
                let top = top.as_os_str().to_string_lossy().into_owned();
                if top != "." && top != ".." {
                    roots.insert(top);
                }
            }
        }
    }
    Ok(roots)
}

/// A hash of every file's contents.
fn fingerprint(root: &Path) -> Result<BTreeMap<String, u64>> {
    let mut hashes = BTreeMap::new();
    for rel in files(root, &[])? {
        let bytes = std::fs::read(root.join(&rel)).unwrap_or_default();
        hashes.insert(rel, hash(&bytes));
    }
    Ok(hashes)
}

fn hash(bytes: &[u8]) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}
