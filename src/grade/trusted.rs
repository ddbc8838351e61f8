//! The suite binaries a grading slot runs, kept apart from cargo's target
//! folder and verified before every run.
//!
//! After each build the suite's executable is hashed and copied into the
//! slot's `bin/` folder, execute-only (a run as the slot's user, or one
//! that cannot change modes, cannot read the hidden tests' strings out of
//! it), and its identity recorded: a file whose contents change gets a new
//! change time, which no unprivileged process can set back. Before each run
//! the copy must still be the file that was hashed.
//!
//! Before each build, what the learner's compiler must not read is removed
//! from the folder of compiled dependencies, the only part of the target
//! folder it sees: the previous submission's compiled exercises and every
//! suite executable (each holds its hidden tests' strings).

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A file's identity: where it is on disk, its size, and when it last
/// changed.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Identity {
    device: u64,
    inode: u64,
    size: u64,
    changed: (i64, i64),
}

fn identity(path: &Path) -> Result<Identity> {
    let meta = std::fs::symlink_metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Ok(Identity {
            device: meta.dev(),
            inode: meta.ino(),
            size: meta.size(),
            changed: (meta.ctime(), meta.ctime_nsec()),
        })
    }
    #[cfg(not(unix))]
    {
        let changed = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .unwrap_or_default();
        Ok(Identity {
            device: 0,
            inode: 0,
            size: meta.len(),
            changed: (changed.as_secs() as i64, i64::from(changed.subsec_nanos())),
        })
    }
}

/// One verified suite binary.
struct Trusted {
    path: PathBuf,
    sha256: String,
    identity: Identity,
}

/// The verified suite binaries of one slot.
pub struct TrustedBuilds {
    /// Where the verified copies are kept.
    pub dir: PathBuf,
    suites: BTreeMap<String, Trusted>,
}

impl TrustedBuilds {
    pub fn new(dir: PathBuf) -> TrustedBuilds {
        TrustedBuilds {
            dir,
            suites: BTreeMap::new(),
        }
    }

    /// Takes `built`, just made by cargo, as the binary of `suite`: hashes
    /// it into an execute-only copy and returns the copy's path.
    pub fn take(&mut self, suite: &str, built: &Path) -> Result<PathBuf> {
        let bytes =
            std::fs::read(built).with_context(|| format!("cannot read {}", built.display()))?;
        let sha256 = hex(&Sha256::digest(&bytes));
        let path = self.dir.join(suite);
        let unchanged = self.suites.get(suite).is_some_and(|t| {
            t.sha256 == sha256 && identity(&t.path).ok().as_ref() == Some(&t.identity)
        });
        if !unchanged {
            // A new file (never rewritten in place: a run may still hold
            // the old one open).
            let _ = std::fs::remove_file(&path);
            write_execute_only(&path, &bytes)?;
            let identity = identity(&path)?;
            self.suites.insert(
                suite.to_string(),
                Trusted {
                    path: path.clone(),
                    sha256,
                    identity,
                },
            );
        }
        Ok(path)
    }

    /// The verified binary of `suite`, after checking that it is still the
    /// file that was hashed.
    pub fn verified(&self, suite: &str) -> Result<&Path> {
        let Some(trusted) = self.suites.get(suite) else {
            bail!("the suite {suite} was not built in this grading copy");
        };
        if identity(&trusted.path)? != trusted.identity {
            bail!(
                "the suite binary {} changed after it was built and checked (sha256 {}): grading stops here; delete {} and grade again",
                trusted.path.display(),
                trusted.sha256,
                self.dir.display()
            );
        }
        Ok(&trusted.path)
    }
}

/// Removes from `deps` (cargo's folder of compiled dependencies) what the
/// learner's compiler must not read: every compiled learner crate (the
/// previous submission's code) and every executable (suites and servers,
/// which hold the hidden tests' strings). Libraries and dependency lists
/// stay, so the kit's own crates are not rebuilt.
pub fn prune_for_learner(deps: &Path, learner_crate: &str) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(deps) else {
        return Ok(());
    };
    let learner = format!("lib{learner_crate}-");
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let library = name.starts_with("lib") && !name.starts_with(&learner);
        let keep = library || name.ends_with(".d");
        if keep {
            continue;
        }
        let path = entry.path();
        let removed = if entry.file_type().is_ok_and(|t| t.is_dir()) {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.with_context(|| format!("cannot remove {}", path.display()))?;
    }
    Ok(())
}

fn write_execute_only(path: &Path, bytes: &[u8]) -> Result<()> {
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::File::options()
            .write(true)
            .create_new(true)
            .mode(0o700)
            .open(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        file.write_all(bytes)
            .with_context(|| format!("cannot write {}", path.display()))?;
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o111))
            .with_context(|| format!("cannot set the permissions of {}", path.display()))?;
    }
    #[cfg(not(unix))]
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("dscourse-trusted-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_binary_changed_after_it_was_taken_is_refused() {
        let dir = scratch("changed");
        let built = dir.join("built");
        std::fs::write(&built, b"suite v1").unwrap();
        let mut trusted = TrustedBuilds::new(dir.join("bin"));
        std::fs::create_dir_all(&trusted.dir).unwrap();
        let copy = trusted.take("intro", &built).unwrap();
        assert_eq!(trusted.verified("intro").unwrap(), copy);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&copy).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o111, "the copy is execute-only");
            std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::write(&copy, b"suite v2").unwrap();
        let refused = trusted.verified("intro").unwrap_err().to_string();
        assert!(refused.contains("changed after it was built"), "{refused}");
        assert!(trusted.verified("raft").is_err(), "never built here");
        // Taken again from a new build, it is trusted again.
        std::fs::write(&built, b"suite v3").unwrap();
        trusted.take("intro", &built).unwrap();
        assert!(trusted.verified("intro").is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn pruning_leaves_the_learners_compiler_only_public_libraries() {
        let deps = scratch("prune");
        for name in [
            "libdsim-1234.rlib",
            "libserde_derive-99.so",
            "dsim-1234.d",
            "libexercises-5678.rlib",
            "libexercises-5678.rmeta",
            "intro-abcd",
            "cache_server-ef01",
        ] {
            std::fs::write(deps.join(name), b"").unwrap();
        }
        std::fs::create_dir_all(deps.join("rmeta1x2y")).unwrap();
        prune_for_learner(&deps, "exercises").unwrap();
        let mut left: Vec<String> = std::fs::read_dir(&deps)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            ["dsim-1234.d", "libdsim-1234.rlib", "libserde_derive-99.so"]
        );
        std::fs::remove_dir_all(&deps).unwrap();
    }
}
