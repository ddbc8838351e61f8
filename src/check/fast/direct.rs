//! Running a recorded unit's compiler without cargo, under cargo's own
//! lock, and reading what it says: the same diagnostics cargo would have
//! passed on, and the artifact it wrote.

use super::record::{Unit, JOBSERVER_VARS};
use crate::check::build::Diagnostic;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Cargo's lock on a build folder, held while the compilers write to it.
pub struct BuildLock {
    _file: std::fs::File,
}

impl BuildLock {
    /// Takes the lock cargo takes on `profile_dir` (`target/debug`) for a
    /// build: an exclusive `flock` of its `.cargo-lock` file, opened for
    /// reading and writing and created if missing (what cargo 1.95 does,
    /// as `strace -e flock,openat` shows; its other lock, on the package
    /// cache, guards downloads, which a direct build never makes). `None`
    /// if it is held (a cargo in another terminal is building: cargo,
    /// which waits and says so, takes the save) or cannot be taken.
    #[cfg(unix)]
    pub fn try_take(profile_dir: &Path) -> Option<BuildLock> {
        use std::os::fd::AsRawFd;
        let file = std::fs::File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(profile_dir.join(".cargo-lock"))
            .ok()?;
        // SAFETY: flock on a descriptor this function owns.
        let taken = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
        taken.then_some(BuildLock { _file: file })
    }

    /// Elsewhere cargo locks differently: no fast path.
    #[cfg(not(unix))]
    pub fn try_take(_profile_dir: &Path) -> Option<BuildLock> {
        None
    }
}

/// How one compiler run ended.
pub enum Compiled {
    /// It wrote its output (`link` artifacts, as rustc announced them).
    Ok(Vec<PathBuf>),
    /// The learner's code does not compile: the errors as cargo would have
    /// passed them on, and the files they point at.
    Errors(Vec<String>, Vec<String>),
    /// Something else went wrong (the compiler could not start, crashed,
    /// or failed without pointing at code): cargo must build.
    Other(String),
}

/// A line rustc prints on stderr with `--error-format=json`: a diagnostic,
/// or (with `--json=artifacts`) the notice of a file written.
#[derive(Deserialize)]
struct Notice {
    #[serde(rename = "$message_type", default)]
    kind: String,
    #[serde(default)]
    artifact: Option<PathBuf>,
    #[serde(default)]
    emit: Option<String>,
}

/// Runs `unit`'s compiler as cargo did: its arguments, its working folder,
/// this process's environment with cargo's changes, and no jobserver.
pub fn compile(unit: &Unit) -> Compiled {
    let mut cmd = Command::new(&unit.rustc);
    cmd.args(&unit.args)
        .current_dir(&unit.cwd)
        .envs(&unit.set)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for name in unit
        .removed
        .iter()
        .map(String::as_str)
        .chain(JOBSERVER_VARS)
    {
        cmd.env_remove(name);
    }
    let output = match cmd.output() {
        Ok(output) => output,
        Err(error) => return Compiled::Other(format!("cannot run {}: {error}", unit.rustc)),
    };
    read(
        output.status.code(),
        &String::from_utf8_lossy(&output.stderr),
    )
}

/// What rustc's exit `code` and `stderr` mean (see [`Compiled`]).
fn read(code: Option<i32>, stderr: &str) -> Compiled {
    let mut artifacts = Vec::new();
    let mut errors = Vec::new();
    let mut files = Vec::new();
    let mut unplaced = false;
    for line in stderr.lines().filter(|l| l.starts_with('{')) {
        let Ok(notice) = serde_json::from_str::<Notice>(line) else {
            continue;
        };
        match notice.kind.as_str() {
            "artifact" => {
                if let (Some(path), Some("link")) = (notice.artifact, notice.emit.as_deref()) {
                    artifacts.push(path);
                }
            }
            "diagnostic" => {
                let Ok(diagnostic) = serde_json::from_str::<Diagnostic>(line) else {
                    continue;
                };
                if diagnostic.is_shown_error() {
                    // A linker's, or the file system's: not the code's.
                    unplaced |= !diagnostic.spans.iter().any(|s| s.is_primary);
                    diagnostic.keep(&mut errors, &mut files);
                }
            }
            _ => {}
        }
    }
    let first_line = || {
        stderr
            .lines()
            .find(|l| !l.starts_with('{'))
            .unwrap_or("")
            .to_string()
    };
    match code {
        Some(0) => Compiled::Ok(artifacts),
        // rustc's exit code for errors in the code; an internal error is 101.
        Some(1) if !errors.is_empty() && !unplaced => Compiled::Errors(errors, files),
        Some(1) if unplaced => Compiled::Other(format!(
            "an error not in the code: {}",
            errors.join(" ").trim()
        )),
        Some(code) => Compiled::Other(format!("rustc exited with {code}: {}", first_line())),
        None => Compiled::Other("rustc was killed by a signal".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_lock_is_not_taken_while_another_holds_it() {
        let dir = std::env::temp_dir().join(format!("dscourse-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let held = BuildLock::try_take(&dir).expect("a free lock is taken");
        assert!(dir.join(".cargo-lock").is_file());
        // Another holder (cargo, or another runner): flock locks belong to
        // each opening of the file, so this process's second try fails too.
        assert!(BuildLock::try_take(&dir).is_none());
        drop(held);
        assert!(BuildLock::try_take(&dir).is_some());
        let _ = std::fs::remove_dir_all(&dir);
    }

    const ERROR: &str = r#"{"$message_type":"diagnostic","message":"mismatched types","code":{"code":"E0308","explanation":null},"level":"error","spans":[{"file_name":"exercises/03_clocks/lamport.rs","byte_start":1,"byte_end":2,"line_start":3,"line_end":3,"column_start":1,"column_end":2,"is_primary":true,"text":[],"label":null,"suggested_replacement":null,"suggestion_applicability":null,"expansion":null}],"children":[],"rendered":"error[E0308]: mismatched types\n --> exercises/03_clocks/lamport.rs:3:1\n"}"#;
    const ABORTING: &str = r#"{"$message_type":"diagnostic","message":"aborting due to 1 previous error","code":null,"level":"error","spans":[],"children":[],"rendered":"error: aborting due to 1 previous error\n"}"#;
    const WARNING: &str = r#"{"$message_type":"diagnostic","message":"unused variable","code":null,"level":"warning","spans":[],"children":[],"rendered":"warning: unused\n"}"#;
    const LINKER: &str = r#"{"$message_type":"diagnostic","message":"linking with `cc` failed: exit status: 1","code":null,"level":"error","spans":[],"children":[],"rendered":"error: linking with `cc` failed\n"}"#;
    const ARTIFACT: &str =
        r#"{"$message_type":"artifact","artifact":"/t/debug/deps/clocks-0123","emit":"link"}"#;

    #[test]
    fn errors_in_the_code_are_shown_as_cargo_shows_them() {
        let stderr = [WARNING, ERROR, ABORTING].join("\n");
        let Compiled::Errors(errors, files) = read(Some(1), &stderr) else {
            panic!("a compile error");
        };
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("error[E0308]"), "{errors:?}");
        assert_eq!(files, ["exercises/03_clocks/lamport.rs"]);
    }

    #[test]
    fn a_success_names_its_artifact() {
        let stderr = [WARNING, ARTIFACT].join("\n");
        let Compiled::Ok(artifacts) = read(Some(0), &stderr) else {
            panic!("a success");
        };
        assert_eq!(artifacts, [PathBuf::from("/t/debug/deps/clocks-0123")]);
    }

    #[test]
    fn anything_else_goes_to_cargo() {
        let linker = [LINKER, ABORTING].join("\n");
        assert!(matches!(read(Some(1), &linker), Compiled::Other(_)));
        assert!(matches!(
            read(Some(101), &[ERROR, "thread 'rustc' panicked"].join("\n")),
            Compiled::Other(_)
        ));
        assert!(matches!(
            read(Some(1), "error: no JSON at all"),
            Compiled::Other(_)
        ));
        assert!(matches!(read(None, ""), Compiled::Other(_)));
    }
}
