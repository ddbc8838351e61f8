//! The fast path of a learner's save: rebuild the suite by running the two
//! compilers cargo would run (the learner's crate with the topic's
//! feature, then the suite), without cargo.
//!
//! A save that changed only the learner's files makes cargo rebuild exactly
//! two units, and the compilers' command lines do not depend on the
//! learner's code. Cargo itself adds 100-150 ms to each save (starting,
//! reading the workspace, fingerprinting every unit, waiting for the
//! package cache's lock when another cargo holds it). So the first build of
//! a suite for the learner records the two command lines (`record`), and
//! later saves run them directly (`direct`) while everything else is as it
//! was then (`snapshot`). Anything else (no record, a changed suite,
//! manifest, lock file, toolchain, configuration or variable, an exercise
//! file added or removed, cargo's lock held, a compiler that fails without
//! pointing at code) goes to cargo, which records again.
//!
//! Why a compiler wrapper rather than reading `cargo build -v`: the
//! verbose lines are shell-quoted for the platform's shell, leave out the
//! variables cargo sets for the compiler (`CARGO_PKG_*`, `OUT_DIR`, the
//! library path), and name only the units cargo rebuilt, with no way to
//! tell which is which but parsing the quoting back; the wrapper gets the
//! arguments and environment as cargo made them, and cargo keeps it out of
//! its fingerprints (setting it rebuilds nothing). Cargo's unstable
//! `--build-plan` is gone and `--unit-graph` has no command lines.
//!
//! Only for a learner's build in the kit's own target folder, with no
//! hidden tests and no compiler jail (watch mode and `run`): never
//! grading, `dev check` or mutants, whose builds must be cargo's own.
//! After a direct build cargo's fingerprints of the two units are removed,
//! so that cargo, the next time it runs, rebuilds them: nothing relies on
//! them being fresh.

mod background;
mod direct;
mod record;
mod snapshot;

pub use background::Background;
pub use record::wrap_if_recording;

use super::build::{cargo_build, failed};
use super::{Build, BuildSpec, Subject};
use crate::timings::{self, Stages};
use anyhow::Result;
use direct::{BuildLock, Compiled};
use record::{Record, Unit, BASE_VAR, RECORD_VAR, SUITE_VAR, VERSION};
use sha2::{Digest, Sha256};
use snapshot::Snapshot;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Whether `spec` is a build the fast path may serve (see the module comment).
pub fn eligible(spec: &BuildSpec) -> bool {
    spec.subject == Subject::Learner
        && !spec.hidden
        && spec.target_dir.is_none()
        && spec.compiler.is_none()
}

/// Builds `spec` (an [`eligible`] one) directly when its record allows,
/// else with cargo (recording). Marks the stage `rustc` or `cargo` (after
/// `rustc-fallback` when a direct build was tried and cargo took over), and
/// with `DSCOURSE_TIMINGS` logs why cargo ran.
pub fn build(spec: &BuildSpec, state_dir: &Path, stages: &mut Stages) -> Result<Build> {
    let why = match try_direct(spec, state_dir) {
        Tried::Built(built) => {
            stages.mark("rustc");
            return Ok(built);
        }
        Tried::Skipped(why) => why,
        Tried::FellBack(why) => {
            stages.mark("rustc-fallback");
            why
        }
    };
    timings::note(
        state_dir,
        &format!("build {} with cargo: {why}", spec.name()),
    );
    let built = cargo_recording(spec, state_dir)?;
    stages.mark("cargo");
    Ok(built)
}

enum Tried {
    Built(Build),
    /// Not tried, and why.
    Skipped(String),
    /// Tried, and why cargo must build after all.
    FellBack(String),
}

fn try_direct(spec: &BuildSpec, state_dir: &Path) -> Tried {
    let skipped = |why: &str| Tried::Skipped(why.to_string());
    let Some(record) = Record::load(state_dir, spec.name()) else {
        return skipped("no record of its compilers yet");
    };
    if record.suite != spec.suite || record.features != spec.features() {
        return skipped("the record is of other features");
    }
    let Some(profile) = profile_dir(&record) else {
        return skipped("the record's output folders are not cargo's");
    };
    let Some(_lock) = BuildLock::try_take(&profile) else {
        return skipped("cargo's lock on the target folder is held");
    };
    let Some(now) = Snapshot::take(
        spec.root,
        &skipped_dirs(spec.root),
        &record.snapshot.outside_paths(),
        env_digest(),
    ) else {
        return skipped("the kit cannot be compared");
    };
    if let Some(why) = record.snapshot.differs(&now) {
        return Tried::Skipped(why);
    }
    if !record.executable.is_file() || !exercises_rlib(&record).is_some_and(|p| p.is_file()) {
        return skipped("the recorded outputs are gone");
    }
    for unit in [&record.exercises, &record.suite_unit] {
        if let Err(why) = forget_fingerprint(&profile, unit) {
            return Tried::Skipped(why);
        }
    }
    match direct::compile(&record.exercises) {
        Compiled::Ok(_) => {}
        Compiled::Errors(errors, files) => return Tried::Built(failed(errors, files)),
        Compiled::Other(why) => return Tried::FellBack(why),
    }
    match direct::compile(&record.suite_unit) {
        Compiled::Ok(artifacts)
            if artifacts.contains(&record.executable) && record.executable.is_file() =>
        {
            Tried::Built(Build::Ok(record.executable))
        }
        Compiled::Ok(_) => Tried::FellBack("the suite's compiler wrote no executable".into()),
        Compiled::Errors(errors, files) => Tried::Built(failed(errors, files)),
        Compiled::Other(why) => Tried::FellBack(why),
    }
}

/// The profile folder (`target/debug`) both units write into (`deps/`).
fn profile_dir(record: &Record) -> Option<PathBuf> {
    let deps = record.exercises.out_dir()?;
    (deps.file_name()? == "deps" && record.suite_unit.out_dir().as_ref() == Some(&deps))
        .then(|| deps.parent().map(Path::to_path_buf))
        .flatten()
}

/// The learner's compiled crate, as the suite links it.
fn exercises_rlib(record: &Record) -> Option<PathBuf> {
    let (_, path) = record
        .suite_unit
        .externs()
        .into_iter()
        .find(|(name, _)| *name == "exercises")?;
    Some(PathBuf::from(path))
}

/// Removes cargo's fingerprint of `unit` (`.fingerprint/<package>-<hash>`),
/// so that cargo rebuilds it rather than trust an output it did not write.
fn forget_fingerprint(profile: &Path, unit: &Unit) -> Result<(), String> {
    let (Some(package), Some(hash)) = (
        unit.set.get("CARGO_PKG_NAME"),
        unit.codegen("extra-filename"),
    ) else {
        return Err("the record does not name cargo's fingerprint".into());
    };
    let dir = profile
        .join(".fingerprint")
        .join(format!("{package}{hash}"));
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot remove {}: {e}", dir.display())),
    }
}

/// The target folder inside the kit, left out of the snapshot: cargo's
/// `CARGO_TARGET_DIR` or `target/` (a target folder configured elsewhere
/// in the kit changes at every build, which only ever sends saves to cargo).
fn skipped_dirs(root: &Path) -> Vec<PathBuf> {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => vec![root.join(dir)],
        None => Vec::new(),
    }
}

/// A digest of this process's variables that steer cargo or rustc
/// (`CARGO…`, `RUST…`, `__CARGO…`: flags, wrappers, toolchain, target
/// folder, configuration), names and values; only the digest is kept.
/// `RUST_BACKTRACE` and `RUST_LIB_BACKTRACE`, often set in one shell and
/// not another, change only how a crashing compiler reports.
fn env_digest() -> String {
    let mut vars: Vec<(OsString, OsString)> = std::env::vars_os()
        .filter(|(k, _)| {
            let k = k.to_string_lossy();
            (k.starts_with("CARGO") || k.starts_with("RUST") || k.starts_with("__CARGO"))
                && k != "RUST_BACKTRACE"
                && k != "RUST_LIB_BACKTRACE"
        })
        .collect();
    vars.sort();
    let mut hash = Sha256::new();
    for (k, v) in vars {
        hash.update(k.as_encoded_bytes());
        hash.update([0]);
        hash.update(v.as_encoded_bytes());
        hash.update([0]);
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Files outside the kit that decide how cargo builds, whether or not they
/// exist: cargo's configuration in every folder above the kit and in its
/// home, rustup's settings and toolchain files above the kit.
fn config_paths(root: &Path) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for dir in root.ancestors().skip(1) {
        for file in [
            ".cargo/config",
            ".cargo/config.toml",
            "rust-toolchain",
            "rust-toolchain.toml",
        ] {
            paths.push(dir.join(file));
        }
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let in_home = |var: &str, dir: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(dir)))
    };
    if let Some(cargo_home) = in_home("CARGO_HOME", ".cargo") {
        paths.push(cargo_home.join("config"));
        paths.push(cargo_home.join("config.toml"));
    }
    if let Some(rustup_home) = in_home("RUSTUP_HOME", ".rustup") {
        paths.push(rustup_home.join("settings.toml"));
    }
    paths
}

/// Files outside the kit the recorded units depend on: the compiler and
/// its driver library, every compiled crate they link but the learner's,
/// and what the suite's build script wrote.
fn unit_paths(record_exercises: &Unit, suite: &Unit) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for unit in [record_exercises, suite] {
        let rustc = PathBuf::from(&unit.rustc);
        if let Some(lib) = rustc.parent().and_then(Path::parent).map(|p| p.join("lib")) {
            if let Ok(entries) = std::fs::read_dir(&lib) {
                paths.extend(
                    entries
                        .flatten()
                        .filter(|e| {
                            e.file_name()
                                .to_string_lossy()
                                .starts_with("librustc_driver")
                        })
                        .map(|e| e.path()),
                );
            }
        }
        paths.push(rustc);
        paths.extend(
            unit.externs()
                .into_iter()
                .filter(|(name, _)| *name != "exercises")
                .map(|(_, path)| PathBuf::from(path)),
        );
        if let Some(out) = unit.set.get("OUT_DIR").map(PathBuf::from) {
            if let Some(output) = out.parent().map(|p| p.join("output")) {
                paths.push(output);
            }
            if let Ok(entries) = std::fs::read_dir(&out) {
                paths.extend(entries.flatten().map(|e| e.path()));
            }
        }
    }
    paths.sort();
    paths.dedup();
    paths
}

/// A cargo build that records its two units, when it can.
fn cargo_recording(spec: &BuildSpec, state_dir: &Path) -> Result<Build> {
    let Some(recording) = Recording::start(spec, state_dir) else {
        return cargo_build(spec, &[]);
    };
    let built = cargo_build(spec, &recording.env)?;
    let built = match built {
        // Cargo failed without a compiler error: in case the wrapper is
        // at fault (its binary replaced meanwhile), once more without it.
        Build::Failed { ref files, .. } if files.is_empty() => {
            recording.discard();
            return cargo_build(spec, &[]);
        }
        built => built,
    };
    recording.finish(&built);
    Ok(built)
}

/// A recording in progress: the staging folder the wrapper writes into and
/// the snapshot taken before cargo started.
struct Recording {
    build: String,
    suite: String,
    features: String,
    state_dir: PathBuf,
    staging: PathBuf,
    env: Vec<(OsString, OsString)>,
    snapshot: Snapshot,
}

impl Recording {
    /// `None` when this build cannot be recorded: the user has a compiler
    /// wrapper of their own (cargo would run ours instead), this binary is
    /// gone, or the kit cannot be compared.
    fn start(spec: &BuildSpec, state_dir: &Path) -> Option<Recording> {
        for var in [
            "RUSTC_WRAPPER",
            "RUSTC_WORKSPACE_WRAPPER",
            "CARGO_BUILD_RUSTC_WRAPPER",
            "CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER",
        ] {
            if std::env::var_os(var).is_some_and(|v| !v.is_empty()) {
                return None;
            }
        }
        // Elsewhere than Unix the lock is not taken: no fast path to record for.
        if !cfg!(unix) {
            return None;
        }
        let me = std::env::current_exe().ok().filter(|p| p.is_file())?;
        let mut snapshot = Snapshot::take(spec.root, &skipped_dirs(spec.root), &[], env_digest())?;
        snapshot.add_outside(&config_paths(spec.root));
        let folder = state_dir.join("fast-build");
        remove_abandoned_staging(&folder);
        let staging = folder.join(format!("staging-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging).ok()?;
        let vars: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let base = record::base(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let env = vec![
            ("RUSTC_WRAPPER".into(), me.into_os_string()),
            (RECORD_VAR.into(), staging.clone().into_os_string()),
            (SUITE_VAR.into(), spec.suite.into()),
            (BASE_VAR.into(), base.into()),
        ];
        Some(Recording {
            build: spec.name().to_string(),
            suite: spec.suite.to_string(),
            features: spec.features(),
            state_dir: state_dir.to_path_buf(),
            staging,
            env,
            snapshot,
        })
    }

    fn discard(self) {
        let _ = std::fs::remove_dir_all(&self.staging);
    }

    /// Writes the record if cargo built the suite and compiled both units.
    fn finish(mut self, built: &Build) {
        let staged = |name: &str| -> Option<Unit> {
            let text = std::fs::read(self.staging.join(format!("{name}.json"))).ok()?;
            serde_json::from_slice(&text).ok()
        };
        let units = (staged("exercises"), staged("suite"));
        let _ = std::fs::remove_dir_all(&self.staging);
        let (Build::Ok(executable), (Some(exercises), Some(suite_unit))) = (built, units) else {
            return;
        };
        self.snapshot
            .add_outside(&unit_paths(&exercises, &suite_unit));
        let record = Record {
            version: VERSION,
            build: std::mem::take(&mut self.build),
            suite: std::mem::take(&mut self.suite),
            features: std::mem::take(&mut self.features),
            exercises,
            suite_unit,
            executable: executable.clone(),
            snapshot: self.snapshot,
        };
        if consistent(&record) {
            let _ = record.save(&self.state_dir);
        }
    }
}

/// Removes the staging folders of runners that are no longer running (one
/// stopped during a build leaves its folder).
fn remove_abandoned_staging(folder: &Path) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("staging-"))
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        #[cfg(unix)]
        {
            // SAFETY: signal 0 only asks whether the process exists.
            let alive = unsafe { libc::kill(pid, 0) } == 0
                || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
            if !alive {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        #[cfg(not(unix))]
        let _ = pid;
    }
}

/// Whether the record's units are what the fast path expects: both write
/// to cargo's `deps/`, the suite links the learner's crate the first unit
/// writes, and its output is the executable cargo reported.
fn consistent(record: &Record) -> bool {
    let Some(deps) = record.exercises.out_dir() else {
        return false;
    };
    let name = |unit: &Unit| {
        Some(format!(
            "{}{}",
            unit.flag("--crate-name")?,
            unit.codegen("extra-filename")?
        ))
    };
    let (Some(lib), Some(exe)) = (name(&record.exercises), name(&record.suite_unit)) else {
        return false;
    };
    profile_dir(record).is_some()
        && exercises_rlib(record) == Some(deps.join(format!("lib{lib}.rlib")))
        && record.executable.with_extension("") == deps.join(exe)
}
