//! The grading copy of the kit: a clean copy of the instructor's kit into
//! which only the learner's exercise files are placed. It lives outside the
//! instructor's tree (see [`grading_root`]) and holds only the public kit
//! and the hidden tests (which the learner's compiler cannot read): no
//! references, no grades, no other submissions. It is kept between runs
//! (one per parallel slot), and brought back in line with the kit before
//! every submission, so that cargo rebuilds only what changed.

use super::submission::Submission;
use super::trusted::TrustedBuilds;
use crate::kit::Kit;
use crate::sandbox::rustc::{Bounds, RustcJail};
use crate::sandbox::Layers;
use crate::tree::{files, files_under};
use anyhow::{bail, Context, Result};
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

/// The reference crate's folder: the copy keeps its manifest (the
/// workspace lists it) and an empty library in place of its sources.
const REFERENCES: &str = "solutions";

/// What the compiler of the learner's crate may use in a grading build,
/// by default: one topic of it compiles in seconds.
pub const LEARNER_COMPILER_BOUNDS: Bounds = Bounds {
    secs: 120,
    mib: 4 << 10,
};
/// What the compiler of any other crate may use: the largest suite
/// compiles in under a minute on two cores, in under 1 GiB.
pub const COMPILER_BOUNDS: Bounds = Bounds {
    secs: 900,
    mib: 8 << 10,
};

/// How every grading slot of one grading is set up.
pub struct SlotSettings {
    /// The sandbox's layers to use.
    pub layers: Layers,
    /// What the compiler of the learner's crate may use.
    pub learner_compiler: Bounds,
}

pub struct Workspace {
    /// The copy of the kit.
    pub root: PathBuf,
    /// Cargo's target folder for it.
    pub target: PathBuf,
    /// Where result channels and captured output go while a suite runs.
    pub runs: PathBuf,
    /// The working folder of the suites: empty, outside the copy, the one
    /// place a run may write.
    pub scratch: PathBuf,
    /// What protects the runs on this machine.
    pub layers: Layers,
    /// The user this slot's runs run as (root only).
    pub uid: Option<u32>,
    /// How this slot's builds compile.
    pub compiler: RustcJail,
    /// The suite binaries built here, verified before they run.
    pub trusted: TrustedBuilds,
    /// What every file of the copy held after the learner's files were
    /// placed: a suite run must leave them as they were.
    fingerprint: BTreeMap<String, u64>,
    /// The learner's version of each exercise file as placed (a stub where
    /// the submission has none), to put back after a file was traced.
    placed: BTreeMap<String, Vec<u8>>,
}

/// Where the grading copies of the kit at `kit_root` live: outside the
/// instructor's tree, in a folder only the grader writes to and whose
/// parents no one else can write to either (a `.cargo/` planted above a
/// copy would change how cargo builds it). `DSCOURSE_GRADE_DIR` chooses
/// another place.
pub fn grading_root(kit_root: &Path) -> PathBuf {
    let id = {
        let canonical = kit_root
            .canonicalize()
            .unwrap_or_else(|_| kit_root.to_path_buf());
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        canonical.hash(&mut hasher);
        format!("kit-{:016x}", hasher.finish())
    };
    if let Some(dir) = std::env::var_os("DSCOURSE_GRADE_DIR") {
        return PathBuf::from(dir).join(id);
    }
    #[cfg(unix)]
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return PathBuf::from("/var/lib/dscourse/grade").join(id);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")));
    match cache {
        Some(cache) => cache.join("dscourse").join("grade").join(id),
        None => std::env::temp_dir().join("dscourse-grade").join(id),
    }
}

impl Workspace {
    /// The grading copy number `slot` of `kit`, created if needed.
    pub fn open(kit: &Kit, slot: usize, settings: &SlotSettings) -> Result<Workspace> {
        let base = grading_root(&kit.root);
        let dir = base.join(format!("slot-{slot}"));
        let target = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(shared) => PathBuf::from(shared).join(format!("dscourse-grade-{slot}")),
            None => dir.join("target"),
        };
        let layers = settings.layers.clone();
        let uid = layers.slot_uid(slot);
        for folder in [&base, &dir] {
            create_private(folder)?;
        }
        refuse_cargo_config_above(&dir)?;
        if uid.is_some() {
            reachable_by_others(&dir)?;
        }
        let compiler = RustcJail {
            learner_crate: "exercises".to_string(),
            sources: dir.join("kit").join("exercises"),
            deps: target.join("debug").join("deps"),
            sysroot: crate::sandbox::rustc::sysroot(&kit.root)?,
            scratch: dir.join("compiler-tmp"),
            confine: layers.landlock.is_some(),
            learner_bounds: settings.learner_compiler,
            bounds: Bounds {
                secs: COMPILER_BOUNDS.secs.max(settings.learner_compiler.secs),
                mib: COMPILER_BOUNDS.mib.max(settings.learner_compiler.mib),
            },
            log: dir.join("compiler-limits.jsonl"),
        };
        let workspace = Workspace {
            root: dir.join("kit"),
            target,
            runs: dir.join("runs"),
            scratch: dir.join("scratch"),
            trusted: TrustedBuilds::new(dir.join("bin")),
            layers,
            uid,
            compiler,
            fingerprint: BTreeMap::new(),
            placed: BTreeMap::new(),
        };
        for folder in [&workspace.root, &workspace.runs, &workspace.compiler.deps] {
            std::fs::create_dir_all(folder)
                .with_context(|| format!("cannot create {}", folder.display()))?;
        }
        create_private(&workspace.trusted.dir)?;
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
            if !learner.contains(&rel) && !is_reference_source(&rel) {
                wanted.insert(rel.clone(), Source::Kit(kit.root.join(&rel)));
            }
        }
        if roots.contains(REFERENCES) {
            wanted.insert(
                format!("{REFERENCES}/lib.rs"),
                Source::Bytes(
                    b"//! Not in a grading copy: the references are not built here.\n".to_vec(),
                ),
            );
        }
        self.placed.clear();
        for exercise in &kit.manifest.exercises {
            let rel = format!("exercises/{}", exercise.file);
            let bytes = match submission.files.get(&exercise.file) {
                Some(bytes) => bytes.clone(),
                None => crate::stubs::stub_of(kit, &exercise.file)?,
            };
            self.placed.insert(exercise.file.clone(), bytes.clone());
            wanted.insert(rel, Source::Bytes(bytes));
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
        self.fresh_scratch()?;
        self.fingerprint = fingerprint(&self.root)?;
        Ok(())
    }

    /// Puts an exercise file's stub in place of the learner's.
    pub fn use_stub(&mut self, kit: &Kit, file: &str) -> Result<()> {
        let stub = crate::stubs::stub_of(kit, file)?;
        Source::Bytes(stub.clone()).place(&self.root.join("exercises").join(file))?;
        self.fingerprint
            .insert(format!("exercises/{file}"), hash(&stub));
        Ok(())
    }

    /// Empties the scratch folder, the one place a run may write: each
    /// exercise's runs start with nothing an earlier run left.
    pub fn fresh_scratch(&self) -> Result<()> {
        let _ = std::fs::remove_dir_all(&self.scratch);
        crate::sandbox::give_to(&self.scratch, self.uid)
    }

    /// Puts the learner's version of an exercise file back (after its stub
    /// stood in for it).
    pub fn use_learner_file(&mut self, file: &str) -> Result<()> {
        let bytes = self
            .placed
            .get(file)
            .cloned()
            .with_context(|| format!("no learner file exercises/{file} was placed"))?;
        Source::Bytes(bytes.clone()).place(&self.root.join("exercises").join(file))?;
        self.fingerprint
            .insert(format!("exercises/{file}"), hash(&bytes));
        Ok(())
    }

    /// Makes the copy ready for a grading build: no cargo configuration
    /// above it, nothing in the compiled dependencies that the learner's
    /// compiler must not read, no earlier compiler's limit on record.
    pub fn before_build(&self) -> Result<()> {
        refuse_cargo_config_above(&self.root)?;
        super::trusted::prune_for_learner(&self.compiler.deps, &self.compiler.learner_crate)?;
        self.compiler.clear_hits();
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

/// Whether a kit path is one of the references' sources, which a grading
/// copy does not hold (their manifest stays: the workspace lists it).
fn is_reference_source(rel: &str) -> bool {
    rel.strip_prefix(REFERENCES)
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|rest| rest != "Cargo.toml")
}

/// Creates `dir`, readable and writable by the grader only; others (a
/// slot's user) may pass through it to what they are given.
fn create_private(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711))
            .with_context(|| format!("cannot set the permissions of {}", dir.display()))?;
    }
    Ok(())
}

/// Checks that users other than the grader may pass through every folder
/// down to `dir`: a slot's user must reach its suite binary and its
/// scratch folder there.
fn reachable_by_others(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    for folder in dir.ancestors() {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(folder)
            .with_context(|| format!("cannot read {}", folder.display()))?
            .permissions()
            .mode();
        if mode & 0o001 == 0 {
            bail!(
                "{} (mode {:o}) keeps out the users the grader runs suites as: grade elsewhere (DSCOURSE_GRADE_DIR), or let others pass through it (chmod o+x)",
                folder.display(),
                mode & 0o777
            );
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Refuses to build under a folder that has a cargo configuration above
/// it (cargo reads every `.cargo/config.toml` from the build's folder up to
/// the root, and one could name a compiler wrapper); the grader's own
/// cargo home is the one exception.
fn refuse_cargo_config_above(dir: &Path) -> Result<()> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .and_then(|home| home.canonicalize().ok());
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    for ancestor in dir.ancestors() {
        let config = ancestor.join(".cargo");
        if config.canonicalize().ok() == cargo_home {
            continue;
        }
        for name in ["config.toml", "config"] {
            let file = config.join(name);
            if file.exists() {
                bail!(
                    "{} would change how the grader builds (cargo reads every .cargo/config.toml above the folder it builds in): remove it, or grade elsewhere with DSCOURSE_GRADE_DIR",
                    file.display()
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cargo_configuration_above_the_copy_stops_grading() {
        let top = std::env::temp_dir().join(format!("dscourse-above-{}", std::process::id()));
        let copy = top.join("grade").join("slot-0");
        std::fs::create_dir_all(&copy).unwrap();
        refuse_cargo_config_above(&copy).unwrap();
        std::fs::create_dir_all(top.join(".cargo")).unwrap();
        std::fs::write(
            top.join(".cargo/config.toml"),
            "[build]\nrustc-wrapper = \"/tmp/evil\"\n",
        )
        .unwrap();
        let refused = refuse_cargo_config_above(&copy).unwrap_err().to_string();
        assert!(
            refused.contains(".cargo/config.toml would change how the grader builds"),
            "{refused}"
        );
        std::fs::remove_dir_all(&top).unwrap();
    }

    #[test]
    fn a_grading_copy_holds_no_reference_source() {
        assert!(is_reference_source("solutions/00_intro/pingpong.rs"));
        assert!(is_reference_source("solutions/lib.rs"));
        assert!(!is_reference_source("solutions/Cargo.toml"));
        assert!(!is_reference_source("solutionsx/lib.rs"));
        assert!(!is_reference_source("exercises/00_intro/pingpong.rs"));
    }
}
