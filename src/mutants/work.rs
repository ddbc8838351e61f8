//! The private copy of the kit where mutants are built and run: the kit's
//! files (kept in step: a file is written only when its contents differ, so
//! cargo rebuilds only what changed), with the references as the learner's
//! code and the mutated file's schema in its place.

use crate::kit::Kit;
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// What of the kit a mutation build needs no copy of.
const LEFT_OUT: [&str; 6] = ["target", ".git", ".dscourse", "tests", "benches", ".ci"];

pub struct MutationKit {
    /// The copy.
    pub root: PathBuf,
    /// Cargo's target folder for it.
    pub target: PathBuf,
    /// Where result channels and output go while a suite runs.
    pub runs: PathBuf,
}

impl MutationKit {
    pub fn open(kit: &Kit) -> Result<MutationKit> {
        let dir = kit.state_dir().join("mutants");
        let target = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(shared) => PathBuf::from(shared).join("dscourse-mutants"),
            None => dir.join("target"),
        };
        let work = MutationKit {
            root: dir.join("kit"),
            target,
            runs: dir.join("runs"),
        };
        let files: std::collections::BTreeSet<String> = crate::tree::files(&kit.root, &LEFT_OUT)?
            .into_iter()
            .collect();
        for rel in &files {
            copy_if_changed(&kit.root.join(rel), &work.root.join(rel))?;
        }
        // A file the kit no longer has (a suite file turned into a folder,
        // a renamed exercise) must not linger in the copy's build.
        for rel in crate::tree::files(&work.root, &LEFT_OUT)? {
            if !files.contains(&rel) {
                let stale = work.root.join(&rel);
                std::fs::remove_file(&stale)
                    .with_context(|| format!("cannot remove {}", stale.display()))?;
            }
        }
        Ok(work)
    }

    /// Makes the copy's learner code the references of `suite`'s topic,
    /// with `text` as `file`.
    pub fn place(&self, kit: &Kit, suite: &str, file: &str, text: &str) -> Result<()> {
        for exercise in kit.manifest.exercises.iter().filter(|e| e.suite == suite) {
            let reference = kit.root.join("solutions").join(&exercise.file);
            copy_if_changed(
                &reference,
                &self.root.join("exercises").join(&exercise.file),
            )?;
        }
        let path = self.root.join("exercises").join(file);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text) {
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok(())
    }

    /// What a mutant's verdict depends on besides the mutant: the
    /// reference, the references beside it that [`place`](Self::place)
    /// puts in the copy, the suite (and its hidden tests, and its part
    /// compiled once with the protocol's types, for a topic that has one),
    /// the harness and the simulator.
    pub fn fingerprint(&self, kit: &Kit, suite: &str, reference: &str) -> Result<String> {
        let mut hasher = Sha256::new();
        hasher.update(reference.as_bytes());
        let mut roots = vec![
            format!("checker/suites/{suite}.rs"),
            format!("checker/suites/{suite}"),
            format!("checker/hidden/{suite}"),
            format!("checker/once/src/{suite}"),
            format!("protocols/src/{suite}"),
            "checker/harness/src".to_string(),
            "sim/src".to_string(),
        ];
        roots.extend(
            kit.manifest
                .exercises
                .iter()
                .filter(|e| e.suite == suite)
                .map(|e| format!("solutions/{}", e.file)),
        );
        for rel in crate::tree::files_under(&kit.root, roots.iter().map(String::as_str))? {
            hasher.update(rel.as_bytes());
            hasher.update(std::fs::read(kit.root.join(&rel)).unwrap_or_default());
        }
        Ok(hasher
            .finalize()
            .iter()
            .take(12)
            .map(|b| format!("{b:02x}"))
            .collect())
    }
}

/// Copies `from` to `to` if their contents differ. The copy is stamped
/// now, never with `from`'s time: a file older than the copy's last build
/// (changed in the kit while that build ran, or a reference put back after
/// a mutant) would look unchanged to cargo, which would run a stale build.
fn copy_if_changed(from: &Path, to: &Path) -> Result<()> {
    let bytes = std::fs::read(from).with_context(|| format!("cannot read {}", from.display()))?;
    if std::fs::read(to).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(to, &bytes).with_context(|| format!("cannot write {}", to.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    #[test]
    fn a_changed_file_is_copied_with_a_fresh_time_and_an_unchanged_one_left_alone() {
        let dir = std::env::temp_dir().join(format!("dscourse-work-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (from, to) = (dir.join("from.rs"), dir.join("copy/to.rs"));
        std::fs::write(&from, "fn new() {}").unwrap();
        let long_ago = SystemTime::now() - Duration::from_secs(3600);
        let file = std::fs::File::options().write(true).open(&from).unwrap();
        file.set_modified(long_ago).unwrap();
        let before = SystemTime::now() - Duration::from_secs(60);
        copy_if_changed(&from, &to).unwrap();
        let stamped = std::fs::metadata(&to).unwrap().modified().unwrap();
        assert!(
            stamped > before,
            "the copy looks older than a build made since"
        );
        assert_eq!(std::fs::read_to_string(&to).unwrap(), "fn new() {}");
        // The same contents again: not written, its time kept.
        let file = std::fs::File::options().write(true).open(&to).unwrap();
        file.set_modified(long_ago).unwrap();
        copy_if_changed(&from, &to).unwrap();
        assert_eq!(
            std::fs::metadata(&to).unwrap().modified().unwrap(),
            long_ago
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
