//! Landlock rulesets: the files, ports and signals a suite run (or the
//! learner's compiler) may use. A ruleset is built in the runner and
//! enforced in the child by one system call, so the child needs no
//! allocation to install it.

use super::RunPolicy;
use anyhow::{Context, Result};
use landlock::{
    Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, PathBeneath, PathFd, Ruleset,
    RulesetAttr, RulesetCreated, RulesetCreatedAttr, Scope, ABI,
};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

/// The newest Landlock ABI this code asks for; older kernels enforce what
/// they know of it (best effort), and `Layers` says which.
const ABI_WANTED: ABI = ABI::V6;

/// Where the system's shared libraries are (read by the dynamic loader).
const LIBRARIES: [&str; 5] = [
    "/lib",
    "/lib64",
    "/usr/lib",
    "/usr/lib64",
    "/etc/ld.so.cache",
];

/// The dynamic loaders a binary may name: executing a binary executes its
/// loader too.
const LOADERS: [&str; 4] = [
    "/lib64/ld-linux-x86-64.so.2",
    "/lib/ld-linux-x86-64.so.2",
    "/lib/ld-linux-aarch64.so.1",
    "/lib64/ld-linux-aarch64.so.1",
];

/// The Landlock ABI the kernel enforces, if any.
pub fn abi() -> Option<u32> {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: with a null attribute, size 0 and the VERSION flag, the call
    // only returns the ABI version (or an error); it touches no memory.
    let version = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    (version > 0).then_some(version as u32)
}

fn read() -> BitFlags<AccessFs> {
    AccessFs::ReadFile | AccessFs::ReadDir
}

/// Every file right Landlock knows.
fn everything() -> BitFlags<AccessFs> {
    AccessFs::from_all(ABI_WANTED)
}

/// A ruleset that handles every file right (so what is not granted is
/// denied), TCP unless `tcp` is allowed, and signals and abstract sockets
/// outside the sandbox.
fn new_ruleset(tcp: bool) -> Result<RulesetCreated> {
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(everything())?;
    if !tcp {
        ruleset = ruleset.handle_access(AccessNet::BindTcp | AccessNet::ConnectTcp)?;
    }
    let ruleset = ruleset
        .scope(Scope::Signal | Scope::AbstractUnixSocket)?
        .create()?;
    let ruleset = ruleset.add_rule(PathBeneath::new(
        PathFd::new("/dev/null")?,
        AccessFs::ReadFile | AccessFs::WriteFile,
    ))?;
    grant_system(ruleset)
}

/// The system's libraries, readable; the dynamic loader, executable.
fn grant_system(mut ruleset: RulesetCreated) -> Result<RulesetCreated> {
    for path in LIBRARIES {
        if let Ok(fd) = PathFd::new(path) {
            let access = if Path::new(path).is_dir() {
                read()
            } else {
                AccessFs::ReadFile.into()
            };
            ruleset = ruleset.add_rule(PathBeneath::new(fd, access))?;
        }
    }
    for path in LOADERS {
        if let Ok(fd) = PathFd::new(path) {
            ruleset =
                ruleset.add_rule(PathBeneath::new(fd, AccessFs::ReadFile | AccessFs::Execute))?;
        }
    }
    Ok(ruleset)
}

/// Grants `access` beneath `path`.
pub fn grant(
    ruleset: RulesetCreated,
    path: &Path,
    access: BitFlags<AccessFs>,
) -> Result<RulesetCreated> {
    let fd = PathFd::new(path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok(ruleset.add_rule(PathBeneath::new(fd, access))?)
}

/// A suite run's ruleset: the system's libraries, its own binary (to run
/// it, and to run it again as a writer process), its scratch folder, and
/// nothing else: not the kit, not the grades, not other slots, not `/proc`.
pub fn suite_ruleset(policy: &RunPolicy) -> Result<OwnedFd> {
    let ruleset = new_ruleset(policy.needs.network)?;
    // Executing a file needs the right to read it; the file's own mode
    // (execute-only, see the grader) keeps its bytes from the run.
    let ruleset = grant(
        ruleset,
        policy.binary,
        AccessFs::ReadFile | AccessFs::Execute,
    )?;
    let ruleset = grant(ruleset, policy.scratch, everything() & !AccessFs::Execute)?;
    into_fd(ruleset)
}

/// The learner's compiler's ruleset: the toolchain, the system's
/// libraries, the learner's sources, and the folder of compiled
/// dependencies (where it also writes its output); nothing else of the
/// grading copy (not the suites, not the hidden tests), nothing of the
/// instructor's kit.
pub fn compiler_ruleset(jail: &super::rustc::RustcJail) -> Result<OwnedFd> {
    let ruleset = new_ruleset(false)?;
    let ruleset = grant(ruleset, &jail.sysroot, read() | AccessFs::Execute)?;
    let ruleset = grant(ruleset, &jail.sources, read())?;
    let ruleset = grant(ruleset, &jail.deps, everything() & !AccessFs::Execute)?;
    let ruleset = grant(ruleset, &jail.scratch, everything() & !AccessFs::Execute)?;
    into_fd(ruleset)
}

/// The ruleset's descriptor, moved above the low numbers a child's own
/// set-up may reuse (its result channel, its standard streams).
fn into_fd(ruleset: RulesetCreated) -> Result<OwnedFd> {
    let fd: Option<OwnedFd> = ruleset.into();
    let fd = fd.context("Landlock gave no ruleset")?;
    // SAFETY: F_DUPFD_CLOEXEC duplicates a descriptor we own into a new one
    // at 100 or above, which we then own.
    let high = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 100) };
    if high < 0 {
        return Err(std::io::Error::last_os_error()).context("cannot duplicate the ruleset");
    }
    // SAFETY: `high` is a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(high) })
}

/// Enforces the ruleset `fd` on the calling process and whatever it
/// starts. Async-signal-safe: two system calls.
pub fn restrict_self(fd: libc::c_int) -> std::io::Result<()> {
    // SAFETY: prctl and landlock_restrict_self take integers only.
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if libc::syscall(libc::SYS_landlock_restrict_self, fd, 0) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
