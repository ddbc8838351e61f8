//! Recording how cargo compiles a topic's two units (the learner's crate
//! and the suite), so that the next save can run the same compilers
//! without cargo.
//!
//! Cargo runs every compiler through this runner's own binary (as
//! `RUSTC_WRAPPER`, which cargo leaves out of its fingerprints: setting it
//! rebuilds nothing). The binary, started as `dscourse RUSTC ARGS…` with
//! [`RECORD_VAR`] set, writes the arguments, working folder and environment
//! of the two units into a staging folder, then becomes `rustc` (`exec`),
//! so cargo sees the compiler's own output and exit status. After the
//! build the runner keeps, of each environment, only what cargo set or
//! removed (never the learner's own variables), and writes the record with
//! the [`Snapshot`] taken before cargo started.

use super::snapshot::Snapshot;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Set (to a staging folder) when cargo runs this binary as its compiler
/// wrapper to record the units.
pub const RECORD_VAR: &str = "DSCOURSE_RECORD_UNITS";
/// The suite whose units are recorded.
pub const SUITE_VAR: &str = "DSCOURSE_RECORD_SUITE";

/// Variables that carry cargo's jobserver: a compiler run without cargo
/// must not look for its pipes.
pub const JOBSERVER_VARS: [&str; 3] = ["CARGO_MAKEFLAGS", "MAKEFLAGS", "MFLAGS"];

/// The version of the record's format: a record of another is not used.
pub const VERSION: u32 = 1;

/// One compiler run, as cargo made it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    /// The compiler (an absolute path into the toolchain).
    pub rustc: String,
    /// Its arguments, an `@file` replaced by the arguments it holds.
    pub args: Vec<String>,
    /// Its working folder (the workspace's root).
    pub cwd: String,
    /// Variables cargo set or changed for it.
    pub set: BTreeMap<String, String>,
    /// Variables cargo removed.
    pub removed: Vec<String>,
}

impl Unit {
    /// The value of option `-C name=…` or of `--name …`.
    pub fn codegen(&self, name: &str) -> Option<&str> {
        let prefix = format!("{name}=");
        self.args
            .windows(2)
            .find(|w| w[0] == "-C" && w[1].starts_with(&prefix))
            .map(|w| &w[1][prefix.len()..])
    }

    /// The value of `--flag VALUE`.
    pub fn flag(&self, flag: &str) -> Option<&str> {
        self.args
            .windows(2)
            .find(|w| w[0] == flag)
            .map(|w| w[1].as_str())
    }

    /// Every `--extern name=path`, as (name, path).
    pub fn externs(&self) -> Vec<(&str, &str)> {
        self.args
            .windows(2)
            .filter(|w| w[0] == "--extern")
            .filter_map(|w| w[1].split_once('='))
            .collect()
    }

    /// The folder cargo has it write to.
    pub fn out_dir(&self) -> Option<PathBuf> {
        self.flag("--out-dir").map(PathBuf::from)
    }
}

/// A topic's units, recorded in one cargo build, and what they depend on.
#[derive(Debug, Serialize, Deserialize)]
pub struct Record {
    pub version: u32,
    /// The suite (test target) and the features it was built with.
    pub suite: String,
    pub features: String,
    /// The learner's crate (`exercises`), with the suite's topic only.
    pub exercises: Unit,
    /// The suite, linking the learner's crate.
    pub suite_unit: Unit,
    /// The suite's executable, as cargo named it.
    pub executable: PathBuf,
    /// The state of everything else when cargo started.
    pub snapshot: Snapshot,
}

impl Record {
    /// Where the record of suite `suite` is kept in the kit's state folder.
    pub fn path(state_dir: &Path, suite: &str) -> PathBuf {
        state_dir.join("fast-build").join(format!("{suite}.json"))
    }

    pub fn load(state_dir: &Path, suite: &str) -> Option<Record> {
        let text = std::fs::read(Record::path(state_dir, suite)).ok()?;
        let record: Record = serde_json::from_slice(&text).ok()?;
        (record.version == VERSION && record.suite == suite).then_some(record)
    }

    pub fn save(&self, state_dir: &Path) -> anyhow::Result<()> {
        let text = serde_json::to_vec(self)?;
        crate::state::write_atomically(&Record::path(state_dir, &self.suite), &text)
    }
}

/// What the wrapper writes for one unit: the whole environment, which the
/// runner reduces to cargo's part at once (see [`reduce`]).
#[derive(Serialize, Deserialize)]
pub struct Staged {
    pub rustc: String,
    pub args: Vec<String>,
    pub cwd: String,
    pub env: BTreeMap<String, String>,
}

/// If cargo started this process as the recording compiler wrapper, runs
/// the compiler (recording the unit first, if it is one of the two) and
/// returns its exit code; otherwise `None`. On Unix the process becomes
/// the compiler, so this returns only if it cannot be started.
pub fn wrap_if_recording() -> Option<u8> {
    let staging = std::env::var_os(RECORD_VAR)?;
    let mut args = std::env::args_os().skip(1);
    let rustc = args.next()?;
    let rest: Vec<OsString> = args.collect();
    // A unit that cannot be recorded is simply not: cargo's build goes on.
    let _ = stage(Path::new(&staging), &rustc, &rest);
    let mut cmd = std::process::Command::new(&rustc);
    cmd.args(&rest).env_remove(RECORD_VAR).env_remove(SUITE_VAR);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let error = cmd.exec();
        eprintln!(
            "error: dscourse: cannot run {}: {error}",
            rustc.to_string_lossy()
        );
        Some(1)
    }
    #[cfg(not(unix))]
    {
        Some(match cmd.status() {
            Ok(status) => status.code().map_or(1, |c| c.clamp(0, 255) as u8),
            Err(error) => {
                eprintln!(
                    "error: dscourse: cannot run {}: {error}",
                    rustc.to_string_lossy()
                );
                1
            }
        })
    }
}

/// Writes the unit to the staging folder if it is the learner's crate or
/// the suite being recorded.
fn stage(staging: &Path, rustc: &OsString, args: &[OsString]) -> Option<()> {
    let suite = std::env::var(SUITE_VAR).ok()?;
    let args = expand_argfiles(args)?;
    let position = args.iter().position(|a| a == "--crate-name")?;
    let krate = args.get(position + 1)?;
    let package = std::env::var("CARGO_PKG_NAME").ok()?;
    let name = match (package.as_str(), krate.as_str()) {
        ("exercises", "exercises") => "exercises",
        ("checker", k) if *k == suite => "suite",
        _ => return None,
    };
    let mut env = BTreeMap::new();
    for (key, value) in std::env::vars_os() {
        // A variable that is not text cannot be recorded: nor can the unit.
        env.insert(key.into_string().ok()?, value.into_string().ok()?);
    }
    let staged = Staged {
        rustc: rustc.to_str()?.to_string(),
        args,
        cwd: std::env::current_dir().ok()?.to_str()?.to_string(),
        env,
    };
    let text = serde_json::to_vec(&staged).ok()?;
    // Only the user can read it (it holds the environment), and it is
    // removed right after the build.
    write_private(&staging.join(format!("{name}.json")), &text).ok()
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut options = std::fs::File::options();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(&tmp)?.write_all(bytes)?;
    std::fs::rename(&tmp, path)
}

/// The arguments with each `@file` (cargo's way round a command line too
/// long for the system) replaced by the lines of that file, as rustc reads
/// them: cargo removes the file after the build. `None` if one cannot be
/// read or is not plain text.
pub fn expand_argfiles(args: &[OsString]) -> Option<Vec<String>> {
    let mut out = Vec::with_capacity(args.len());
    for arg in args {
        let arg = arg.to_str()?;
        match arg.strip_prefix('@') {
            // `@shell:` files are quoted differently: not recorded.
            Some(file) if file.starts_with("shell:") => return None,
            Some(file) => {
                let text = std::fs::read_to_string(file).ok()?;
                out.extend(text.lines().map(str::to_string));
            }
            None => out.push(arg.to_string()),
        }
    }
    Some(out)
}

/// The unit from what the wrapper staged: of its environment, only what
/// differs from `base` (the environment cargo was started with), less the
/// jobserver's and the recording's own variables.
pub fn reduce(staged: Staged, base: &BTreeMap<String, String>) -> Unit {
    let ours = |k: &str| {
        JOBSERVER_VARS.contains(&k) || k == RECORD_VAR || k == SUITE_VAR || k == "RUSTC_WRAPPER"
    };
    let set = staged
        .env
        .iter()
        .filter(|(k, v)| !ours(k) && base.get(*k) != Some(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let removed = base
        .keys()
        .filter(|k| !ours(k) && !staged.env.contains_key(*k))
        .cloned()
        .collect();
    Unit {
        rustc: staged.rustc,
        args: staged.args,
        cwd: staged.cwd,
        set,
        removed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_argfile_is_replaced_by_its_lines() {
        let file = std::env::temp_dir().join(format!("dscourse-argfile-{}", std::process::id()));
        std::fs::write(&file, "--crate-name\nclocks\n--cfg\nfeature=\"learner\"\n").unwrap();
        let args: Vec<OsString> = vec![
            "--edition=2021".into(),
            format!("@{}", file.display()).into(),
            "-L".into(),
        ];
        assert_eq!(
            expand_argfiles(&args).unwrap(),
            [
                "--edition=2021",
                "--crate-name",
                "clocks",
                "--cfg",
                "feature=\"learner\"",
                "-L"
            ]
        );
        std::fs::remove_file(&file).unwrap();
        assert_eq!(expand_argfiles(&args), None, "a missing argfile");
        assert_eq!(expand_argfiles(&["@shell:x".into()]), None);
    }

    #[test]
    fn only_what_cargo_changed_is_kept() {
        let base: BTreeMap<String, String> = [
            ("HOME", "/home/me"),
            ("SECRET", "x"),
            ("PATH", "/bin"),
            ("OLD", "1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let env = [
            ("HOME", "/home/me"),
            ("SECRET", "x"),
            ("PATH", "/bin"),
            ("CARGO_PKG_NAME", "exercises"),
            ("LD_LIBRARY_PATH", "/t/deps"),
            ("CARGO_MAKEFLAGS", "-j --jobserver-fds=8,9"),
            ("RUSTC_WRAPPER", "/bin/dscourse"),
        ];
        let staged = Staged {
            rustc: "/tc/bin/rustc".into(),
            args: vec!["--crate-name".into(), "exercises".into()],
            cwd: "/kit".into(),
            env: env
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        let unit = reduce(staged, &base);
        assert_eq!(
            unit.set.keys().map(String::as_str).collect::<Vec<_>>(),
            ["CARGO_PKG_NAME", "LD_LIBRARY_PATH"]
        );
        assert_eq!(unit.removed, ["OLD"]);
        assert_eq!(unit.flag("--crate-name"), Some("exercises"));
    }
}
