//! Recording how cargo compiles a topic's two units (the learner's crate
//! and the suite), so that the next save can run the same compilers
//! without cargo.
//!
//! Cargo runs every compiler through this runner's own binary (as
//! `RUSTC_WRAPPER`, which cargo leaves out of its fingerprints: setting it
//! rebuilds nothing). The binary, started as `dscourse RUSTC ARGS…` with
//! [`RECORD_VAR`] set, writes the arguments, working folder and the
//! variables cargo set or removed of the two units into a staging folder,
//! then becomes `rustc` (`exec`), so cargo sees the compiler's own output
//! and exit status. It tells cargo's variables from the learner's own by
//! [`BASE_VAR`], a digest of each variable the runner started cargo with:
//! no value of the learner's (a token, say) is ever written. The runner
//! then writes the record with the [`Snapshot`] taken before cargo started.

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
/// The environment cargo was started with, one `NAME=DIGEST` a line (see
/// [`base`]).
pub const BASE_VAR: &str = "DSCOURSE_RECORD_BASE";

/// Variables that carry cargo's jobserver: a compiler run without cargo
/// must not look for its pipes.
pub const JOBSERVER_VARS: [&str; 3] = ["CARGO_MAKEFLAGS", "MAKEFLAGS", "MFLAGS"];

/// The version of the record's format: a record of another is not used.
pub const VERSION: u32 = 2;

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
    /// What was built (an exercise, or a whole suite: `BuildSpec::name`),
    /// the suite (test target) and the features it was built with.
    pub build: String,
    pub suite: String,
    pub features: String,
    /// The learner's crate (`exercises`), with that exercise or topic only.
    pub exercises: Unit,
    /// The suite, linking the learner's crate.
    pub suite_unit: Unit,
    /// The suite's executable, as cargo named it.
    pub executable: PathBuf,
    /// The state of everything else when cargo started.
    pub snapshot: Snapshot,
}

impl Record {
    /// Where the record of build `build` is kept in the kit's state folder.
    pub fn path(state_dir: &Path, build: &str) -> PathBuf {
        state_dir.join("fast-build").join(format!("{build}.json"))
    }

    pub fn load(state_dir: &Path, build: &str) -> Option<Record> {
        let text = std::fs::read(Record::path(state_dir, build)).ok()?;
        let record: Record = serde_json::from_slice(&text).ok()?;
        (record.version == VERSION && record.build == build).then_some(record)
    }

    pub fn save(&self, state_dir: &Path) -> anyhow::Result<()> {
        let text = serde_json::to_vec(self)?;
        crate::state::write_atomically(&Record::path(state_dir, &self.build), &text)
    }
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
    let base = parse_base(&std::env::var(BASE_VAR).ok()?);
    let (set, removed) = changes(&env, &base);
    let unit = Unit {
        rustc: rustc.to_str()?.to_string(),
        args,
        cwd: std::env::current_dir().ok()?.to_str()?.to_string(),
        set,
        removed,
    };
    let text = serde_json::to_vec(&unit).ok()?;
    let path = staging.join(format!("{name}.json"));
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, text).ok()?;
    std::fs::rename(&tmp, &path).ok()
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

/// A short digest of a variable's value: enough to tell it changed.
fn digest(value: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(value.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// [`BASE_VAR`]'s value for the environment `env`: each variable's name
/// and the digest of its value, one a line (a name holds no `=`).
pub fn base<'e>(env: impl Iterator<Item = (&'e str, &'e str)>) -> String {
    env.map(|(k, v)| format!("{k}={}\n", digest(v))).collect()
}

fn parse_base(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, d)| (k.to_string(), d.to_string()))
        .collect()
}

/// What differs in `env` from `base` (names and digests): the variables
/// cargo set or changed, with their values, and those it removed; less the
/// jobserver's and the recording's own.
fn changes(
    env: &BTreeMap<String, String>,
    base: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, Vec<String>) {
    let ours = |k: &str| {
        JOBSERVER_VARS.contains(&k)
            || [RECORD_VAR, SUITE_VAR, BASE_VAR, "RUSTC_WRAPPER"].contains(&k)
    };
    let set = env
        .iter()
        .filter(|(k, v)| !ours(k) && base.get(*k) != Some(&digest(v)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let removed = base
        .keys()
        .filter(|k| !ours(k) && !env.contains_key(*k))
        .cloned()
        .collect();
    (set, removed)
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
        let pairs = |list: &[(&str, &str)]| -> BTreeMap<String, String> {
            list.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let started = pairs(&[
            ("HOME", "/home/me"),
            ("TOKEN", "secret"),
            ("PATH", "/bin"),
            ("OLD", "1"),
            ("RUSTC_WRAPPER", "/bin/dscourse"),
        ]);
        let text = base(started.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert!(!text.contains("secret"), "{text}");
        let env = pairs(&[
            ("HOME", "/home/me"),
            ("TOKEN", "secret"),
            ("PATH", "/bin:/toolchain/bin"),
            ("CARGO_PKG_NAME", "exercises"),
            ("CARGO_MAKEFLAGS", "-j --jobserver-fds=8,9"),
            ("RUSTC_WRAPPER", "/bin/dscourse"),
        ]);
        let (set, removed) = changes(&env, &parse_base(&text));
        assert_eq!(
            set,
            pairs(&[
                ("CARGO_PKG_NAME", "exercises"),
                ("PATH", "/bin:/toolchain/bin")
            ])
        );
        assert_eq!(removed, ["OLD"]);
    }
}
