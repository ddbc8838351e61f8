//! What a recorded build depends on besides the learner's code, and
//! whether it is still as it was: the rule that keeps the fast path from
//! ever giving a stale verdict.
//!
//! A snapshot holds the size and modification time of every file of the kit
//! outside `exercises/` (cargo reads the manifests, the lock file, the
//! simulator, the harness and the suites, and its configuration; the rest is
//! cheap to include and saves deciding what cargo reads), of the few files
//! under `exercises/` that cargo itself reads (`Cargo.toml`, a build
//! script), the names of the learner's `.rs` files (a file added or removed
//! sends the save to cargo, although rustc would find a new module on its
//! own: a simple rule, and rare), the files outside the kit named at record
//! time (the toolchain, cargo's and rustup's configuration, the compiled
//! dependencies the two units link), and a digest of the variables that
//! steer cargo and rustc. Contents are not read: comparing all this costs a
//! few hundred `stat` calls, about a millisecond.
//!
//! A modification time kept across a change of content (`cp -p`, `touch
//! -r`) is not seen, as cargo does not see it either.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// A file's size and modification time (seconds and nanoseconds since the
/// epoch; negative seconds for times before it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp(u64, i64, u32);

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Stamp {
        let (secs, nanos) = match meta.modified() {
            Ok(time) => match time.duration_since(UNIX_EPOCH) {
                Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
                Err(e) => (
                    -(e.duration().as_secs() as i64),
                    e.duration().subsec_nanos(),
                ),
            },
            Err(_) => (0, 0),
        };
        Stamp(meta.len(), secs, nanos)
    }

    /// The stamp of the file at `path` (following symbolic links), or
    /// `None` if there is none.
    pub fn at(path: &Path) -> Option<Stamp> {
        std::fs::metadata(path).ok().map(|m| Stamp::of(&m))
    }
}

/// The state a record was made in (see the module comment).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Every file of the kit outside `exercises/` (and `target/`, `.git/`,
    /// `.dscourse/`), plus `exercises/Cargo.toml` and `exercises/build.rs`,
    /// by their path inside the kit.
    kit: BTreeMap<String, Stamp>,
    /// The learner's `.rs` files, by their path inside `exercises/`.
    sources: BTreeSet<String>,
    /// Files outside the kit, by absolute path: absent ones too, so that
    /// creating one (a `.cargo/config.toml` above the kit) is seen.
    outside: BTreeMap<String, Option<Stamp>>,
    /// A digest of the variables that steer cargo and rustc.
    env: String,
}

/// More entries than this in the kit, and the snapshot is not worth taking:
/// no fast path (cargo decides, as always).
const MOST_ENTRIES: usize = 20_000;

/// Folders of the kit's root the snapshot leaves out: the learner's crate
/// (taken apart), build output, version control and the runner's state.
const SKIPPED: [&str; 4] = ["exercises", "target", ".git", ".dscourse"];

/// Files under `exercises/` that cargo reads to decide the build.
const CARGO_READS: [&str; 2] = ["Cargo.toml", "build.rs"];

impl Snapshot {
    /// Takes the snapshot of the kit at `root` now, leaving out `skip`
    /// (a target folder inside the kit), with the files `outside` it and
    /// the digest `env`. `None` when the kit is too big to be worth it or a
    /// folder cannot be read.
    pub fn take(
        root: &Path,
        skip: &[PathBuf],
        outside: &[PathBuf],
        env: String,
    ) -> Option<Snapshot> {
        let mut kit = BTreeMap::new();
        let mut entries = 0;
        walk(root, root, skip, &mut kit, &mut entries)?;
        let exercises = root.join("exercises");
        for name in CARGO_READS {
            if let Some(stamp) = Stamp::at(&exercises.join(name)) {
                kit.insert(format!("exercises/{name}"), stamp);
            }
        }
        let mut sources = BTreeSet::new();
        learner_sources(&exercises, &exercises, &mut sources, &mut entries)?;
        let outside = outside
            .iter()
            .map(|p| (p.to_string_lossy().into_owned(), Stamp::at(p)))
            .collect();
        Some(Snapshot {
            kit,
            sources,
            outside,
            env,
        })
    }

    /// Adds the stamps of `paths` (outside the kit), as they are now.
    pub fn add_outside(&mut self, paths: &[PathBuf]) {
        for path in paths {
            self.outside
                .insert(path.to_string_lossy().into_owned(), Stamp::at(path));
        }
    }

    /// The files outside the kit this snapshot covers.
    pub fn outside_paths(&self) -> Vec<PathBuf> {
        self.outside.keys().map(PathBuf::from).collect()
    }

    /// How `now` differs from this snapshot, in words (the first
    /// difference found), or `None` when nothing but the learner's code
    /// can have changed.
    pub fn differs(&self, now: &Snapshot) -> Option<String> {
        if self.env != now.env {
            return Some("the variables that steer cargo or rustc changed".into());
        }
        if let Some(path) = first_difference(&self.kit, &now.kit) {
            return Some(format!("{path} changed"));
        }
        if let Some(path) = self.sources.symmetric_difference(&now.sources).next() {
            return Some(format!("exercises/{path} was added or removed"));
        }
        if let Some(path) = first_difference(&self.outside, &now.outside) {
            return Some(format!("{path} changed"));
        }
        None
    }
}

/// The first key whose value differs between `a` and `b` (or that only one has).
fn first_difference<'m, V: PartialEq>(
    a: &'m BTreeMap<String, V>,
    b: &'m BTreeMap<String, V>,
) -> Option<&'m str> {
    let changed = a.iter().find(|(k, v)| b.get(*k) != Some(v)).map(|(k, _)| k);
    changed
        .or_else(|| b.keys().find(|k| !a.contains_key(*k)))
        .map(String::as_str)
}

/// Adds the stamp of every file under `dir` to `into`, by its path from
/// `root` with `/` between parts.
fn walk(
    root: &Path,
    dir: &Path,
    skip: &[PathBuf],
    into: &mut BTreeMap<String, Stamp>,
    entries: &mut usize,
) -> Option<()> {
    for entry in std::fs::read_dir(dir).ok()? {
        let entry = entry.ok()?;
        *entries += 1;
        if *entries > MOST_ENTRIES {
            return None;
        }
        let path = entry.path();
        let name = entry.file_name();
        if (dir == root && SKIPPED.iter().any(|s| name == *s)) || skip.contains(&path) {
            continue;
        }
        let mut kind = entry.file_type().ok()?;
        if kind.is_symlink() {
            // What it points at is what cargo reads; a folder is followed
            // nowhere (it could loop): no snapshot, no fast path.
            let meta = std::fs::metadata(&path).ok();
            match meta {
                Some(meta) if meta.is_dir() => return None,
                Some(meta) => kind = meta.file_type(),
                None => continue,
            }
        }
        if kind.is_dir() {
            walk(root, &path, skip, into, entries)?;
        } else {
            let meta = std::fs::metadata(&path).ok()?;
            let relative = path.strip_prefix(root).ok()?;
            into.insert(kit_path(relative), Stamp::of(&meta));
        }
    }
    Some(())
}

/// Adds the path (from `exercises`) of every learner `.rs` file under `dir`
/// to `into`: not hidden (`.x.rs.swp`, `.#x.rs`), not an editor's backup,
/// not in a build folder.
fn learner_sources(
    exercises: &Path,
    dir: &Path,
    into: &mut BTreeSet<String>,
    entries: &mut usize,
) -> Option<()> {
    for entry in std::fs::read_dir(dir).ok()? {
        let entry = entry.ok()?;
        *entries += 1;
        if *entries > MOST_ENTRIES {
            return None;
        }
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name.starts_with('#') || name == "target" {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            learner_sources(exercises, &path, into, entries)?;
        } else if name.ends_with(".rs") {
            into.insert(kit_path(path.strip_prefix(exercises).ok()?));
        }
    }
    Some(())
}

fn kit_path(relative: &Path) -> String {
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A small kit: a manifest, a lock file, a suite, the learner's crate.
    fn kit(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("dscourse-snapshot-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        for (file, text) in [
            ("Cargo.toml", "[workspace]"),
            ("Cargo.lock", "# lock"),
            ("checker/suites/clocks.rs", "mod lamport;"),
            ("checker/suites/clocks/lamport.rs", "// tests"),
            ("exercises/Cargo.toml", "[package]"),
            ("exercises/lib.rs", "pub mod clocks;"),
            ("exercises/03_clocks/lamport.rs", "// stub"),
            ("target/debug/deps/libx.rlib", "x"),
        ] {
            let path = dir.join(file);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        dir
    }

    fn snap(root: &Path) -> Snapshot {
        let outside = [root.join("outside.toml")];
        Snapshot::take(root, &[], &outside, "env".into()).unwrap()
    }

    /// Writes `text` to `file` in `root` with a modification time surely
    /// different from the snapshot's (some file systems keep whole seconds).
    fn edit(root: &Path, file: &str, text: &str) {
        let path = root.join(file);
        fs::write(&path, text).unwrap();
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
        fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(later)
            .unwrap();
    }

    #[test]
    fn only_an_edited_exercise_file_keeps_the_fast_path() {
        let root = kit("edit");
        let before = snap(&root);
        edit(
            &root,
            "exercises/03_clocks/lamport.rs",
            "// mine, longer than the stub",
        );
        edit(&root, "target/debug/deps/libx.rlib", "rebuilt");
        assert_eq!(before.differs(&snap(&root)), None);
        // Editor droppings beside it are not sources.
        fs::write(root.join("exercises/03_clocks/.lamport.rs.swp"), "swap").unwrap();
        fs::write(root.join("exercises/03_clocks/lamport.rs~"), "backup").unwrap();
        assert_eq!(before.differs(&snap(&root)), None);
        let _ = fs::remove_dir_all(root);
    }

    #[test]
    fn a_changed_suite_file_sends_the_save_to_cargo() {
        let root = kit("suite");
        let before = snap(&root);
        edit(&root, "checker/suites/clocks/lamport.rs", "// a new test");
        let why = before
            .differs(&snap(&root))
            .expect("a suite change is seen");
        assert!(why.contains("checker/suites/clocks/lamport.rs"), "{why}");
        let _ = fs::remove_dir_all(root);
    }

    #[test]
    fn a_changed_lock_file_or_manifest_sends_the_save_to_cargo() {
        for file in ["Cargo.lock", "Cargo.toml", "exercises/Cargo.toml"] {
            let root = kit("lock");
            let before = snap(&root);
            edit(&root, file, "# changed");
            let why = before.differs(&snap(&root)).expect("seen");
            assert!(why.contains(file), "{file}: {why}");
            let _ = fs::remove_dir_all(root);
        }
    }

    #[test]
    fn an_added_or_removed_file_sends_the_save_to_cargo() {
        let root = kit("added");
        let before = snap(&root);
        fs::write(root.join("exercises/03_clocks/helper.rs"), "// new").unwrap();
        let why = before.differs(&snap(&root)).expect("an added file is seen");
        assert!(why.contains("exercises/03_clocks/helper.rs"), "{why}");
        fs::remove_file(root.join("exercises/03_clocks/helper.rs")).unwrap();
        assert_eq!(before.differs(&snap(&root)), None);
        fs::remove_file(root.join("exercises/03_clocks/lamport.rs")).unwrap();
        assert!(before.differs(&snap(&root)).is_some(), "a removed file");
        let _ = fs::remove_dir_all(root);
        // A new file elsewhere in the kit (a cargo configuration) too.
        let root = kit("config");
        let before = snap(&root);
        fs::create_dir_all(root.join(".cargo")).unwrap();
        fs::write(root.join(".cargo/config.toml"), "[build]").unwrap();
        assert!(before.differs(&snap(&root)).is_some());
        let _ = fs::remove_dir_all(root);
    }

    #[test]
    fn the_toolchain_configuration_and_variables_count() {
        let root = kit("outside");
        let before = snap(&root);
        // A file outside the kit that did not exist, created.
        fs::write(root.join("outside.toml"), "[build]").unwrap();
        let why = before.differs(&snap(&root)).expect("seen");
        assert!(why.contains("outside.toml"), "{why}");
        let now = Snapshot::take(&root, &[], &[], "other env".into()).unwrap();
        assert!(before.differs(&now).is_some());
        let _ = fs::remove_dir_all(root);
    }
}
