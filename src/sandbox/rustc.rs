//! The compiler in a grading build. Cargo runs every compiler of the
//! workspace's crates through this runner's own binary (as
//! `RUSTC_WORKSPACE_WRAPPER`), which runs `rustc` with a wall-clock and a
//! memory limit, and compiles the learner's crate with a view of its own
//! sources and the public libraries only: `#[path]`, `include!` and
//! `include_str!` cannot read the references, the hidden tests, the
//! instructor's kit or another student's work. A compiler that hits a
//! limit is recorded in a log only the grader reads, so that the grader
//! can trace the file that caused it.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The variable that carries a grading build's [`RustcJail`] to the
/// wrapper; only the grader's cargo has it.
const JAIL_VAR: &str = "DSCOURSE_RUSTC_JAIL";

/// The variables a grading build keeps from the grader's environment:
/// what cargo and rustup need to find the toolchain and the crates, and
/// nothing the learner's code could read at compile time (`env!`) and
/// carry into a report, such as a token.
const KEPT_ENV: [&str; 16] = [
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LC_ALL",
    "CARGO_HOME",
    "RUSTUP_HOME",
    "RUSTUP_TOOLCHAIN",
    "CARGO_NET_OFFLINE",
    "http_proxy",
    "https_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "no_proxy",
    "SSL_CERT_FILE",
];

/// How a grading build compiles.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RustcJail {
    /// The crate compiled with the narrow view: `exercises`.
    pub learner_crate: String,
    /// The learner's sources (the grading copy's `exercises/`).
    pub sources: PathBuf,
    /// The compiled dependencies, where the learner's crate is written too.
    pub deps: PathBuf,
    /// The toolchain.
    pub sysroot: PathBuf,
    /// The learner's compiler's temporary folder.
    pub scratch: PathBuf,
    /// Whether the view is enforced (Landlock is available).
    pub confine: bool,
    /// What the learner's crate's compiler may use.
    pub learner_bounds: Bounds,
    /// What the compiler of any other crate of the workspace may use (the
    /// suites, which instantiate the learner's generic code).
    pub bounds: Bounds,
    /// Where a compiler that hit a limit is recorded.
    pub log: PathBuf,
}

/// What one compiler may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bounds {
    /// Wall-clock time, in seconds.
    pub secs: u64,
    /// Address space, in MiB.
    pub mib: u64,
}

/// A compiler that hit a limit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitHit {
    /// The crate it was compiling.
    pub krate: String,
    /// What ran out: "time" or "memory".
    pub limit: String,
    /// How much of it a compiler may use, in words ("300 s").
    pub allowed: String,
}

impl RustcJail {
    /// Makes `cargo` (a grading build) run its workspace's compilers
    /// through this runner, in an environment that holds nothing of the
    /// grader's but what builds need.
    pub fn configure(&self, cargo: &mut Command) -> Result<()> {
        let kept: Vec<(OsString, OsString)> = KEPT_ENV
            .iter()
            .filter_map(|name| std::env::var_os(name).map(|v| (OsString::from(name), v)))
            .collect();
        let me = std::env::current_exe().context("cannot find the runner's own binary")?;
        cargo
            .env_clear()
            .envs(kept)
            .env("RUSTC_WORKSPACE_WRAPPER", me)
            .env(JAIL_VAR, serde_json::to_string(self)?)
            .env("RUSTC", self.sysroot.join("bin").join("rustc"))
            // A user's wrapper (a compiler cache) would serve compiled
            // learner code without running it through this one.
            .env("RUSTC_WRAPPER", "")
            // No incremental cache: it would keep one student's compiled
            // code where the next student's compiler must read.
            .env("CARGO_INCREMENTAL", "0");
        Ok(())
    }

    /// The compilers that hit a limit since the log was last cleared.
    pub fn hits(&self) -> Vec<LimitHit> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// Forgets earlier hits (before a build).
    pub fn clear_hits(&self) {
        let _ = std::fs::remove_file(&self.log);
    }

    fn record(&self, hit: &LimitHit) {
        use std::io::Write;
        if let Ok(mut log) = std::fs::File::options()
            .create(true)
            .append(true)
            .open(&self.log)
        {
            if let Ok(line) = serde_json::to_string(hit) {
                let _ = writeln!(log, "{line}");
            }
        }
    }
}

/// The toolchain's root folder, as the kit at `root` selects it.
pub fn sysroot(root: &Path) -> Result<PathBuf> {
    let output = Command::new("rustc")
        .args(["--print", "sysroot"])
        .current_dir(root)
        .output()
        .context("cannot run rustc: is Rust installed (https://rustup.rs)?")?;
    anyhow::ensure!(
        output.status.success(),
        "rustc --print sysroot failed: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(PathBuf::from(
        String::from_utf8_lossy(&output.stdout).trim().to_string(),
    ))
}

/// If cargo started this process as the compiler wrapper of a grading
/// build, compiles and returns the exit code; otherwise `None`.
pub fn wrap_if_asked() -> Option<u8> {
    let config = std::env::var(JAIL_VAR).ok()?;
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let jail: RustcJail = match serde_json::from_str(&config) {
        Ok(jail) => jail,
        Err(e) => {
            eprintln!("error: dscourse: a grading build's settings do not parse: {e}");
            return Some(2);
        }
    };
    Some(match compile(&jail, &args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: dscourse: cannot run the compiler: {e:#}");
            2
        }
    })
}

/// Runs `rustc ARGS` (`args`) within the jail's limits.
fn compile(jail: &RustcJail, args: &[OsString]) -> Result<u8> {
    let (rustc, rest) = args.split_first().context("no compiler given")?;
    let krate = crate_name(rest).unwrap_or_default();
    let mut cmd = Command::new(rustc);
    cmd.args(rest);
    #[cfg(target_os = "linux")]
    let _ruleset = if krate == jail.learner_crate && jail.confine {
        std::fs::create_dir_all(&jail.scratch)?;
        cmd.env("TMPDIR", &jail.scratch);
        let ruleset = super::landlock::compiler_ruleset(jail)?;
        use std::os::fd::AsRawFd;
        use std::os::unix::process::CommandExt;
        let fd = ruleset.as_raw_fd();
        // SAFETY: the closure runs between fork and exec and makes two
        // system calls only.
        unsafe {
            cmd.pre_exec(move || super::landlock::restrict_self(fd));
        }
        Some(ruleset)
    } else {
        None
    };
    let bounds = if krate == jail.learner_crate {
        jail.learner_bounds
    } else {
        jail.bounds
    };
    let limits = crate::child::Limits {
        wall: Duration::from_secs(bounds.secs),
        memory: bounds.mib << 20,
        file_size: crate::child::FILE_SIZE_LIMIT_BYTES,
    };
    let (status, timed_out) = crate::child::run_with_limits(&mut cmd, &limits)
        .with_context(|| format!("cannot run {}", Path::new(rustc).display()))?;
    let limit = if timed_out {
        Some("time")
    } else if killed_by_signal(status) {
        // Out of address space, the allocator aborts; out of the
        // machine's memory, the kernel kills it.
        Some("memory")
    } else {
        None
    };
    if let Some(limit) = limit {
        let allowed = match limit {
            "time" => format!("{} s", bounds.secs),
            _ => format!("{} MiB", bounds.mib),
        };
        eprintln!("error: the compiler ran out of {limit} ({allowed}) compiling the crate {krate}");
        jail.record(&LimitHit {
            krate,
            limit: limit.to_string(),
            allowed,
        });
        return Ok(1);
    }
    Ok(status
        .and_then(|s| s.code())
        .map_or(1, |code| code.clamp(0, 255) as u8))
}

fn killed_by_signal(status: Option<std::process::ExitStatus>) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        status.is_some_and(|s| s.signal().is_some())
    }
    #[cfg(not(unix))]
    {
        let _ = status;
        false
    }
}

/// The value of `--crate-name` among rustc's arguments.
fn crate_name(args: &[OsString]) -> Option<String> {
    let position = args.iter().position(|a| a == "--crate-name")?;
    args.get(position + 1)
        .map(|name| name.to_string_lossy().into_owned())
}
