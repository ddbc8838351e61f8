//! Running a child process with a wall-clock limit, killing its whole
//! process group when the limit passes (a learner's code may spawn threads
//! or processes that never end).

use std::process::{Command, ExitStatus};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The address space a suite may use: far more than any exercise needs, and
/// a bound on a learner's code that allocates without end.
pub const MEMORY_LIMIT_BYTES: u64 = 4 << 30;

/// The largest file a suite may write (its output is captured in a file):
/// a learner's code that prints without end is stopped, not the disk filled.
pub const FILE_SIZE_LIMIT_BYTES: u64 = 1 << 30;

/// Sets a resource limit of the calling process (soft and hard).
#[cfg(unix)]
fn set_rlimit(resource: libc::__rlimit_resource_t, bytes: u64) -> std::io::Result<()> {
    let value = libc::rlimit {
        rlim_cur: bytes,
        rlim_max: bytes,
    };
    // SAFETY: setrlimit reads the struct we pass and changes only this process.
    if unsafe { libc::setrlimit(resource, &value) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// What a child process may use.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Wall-clock time.
    pub wall: Duration,
    /// Address space, in bytes.
    pub memory: u64,
    /// The largest file it may write, in bytes.
    pub file_size: u64,
}

/// Runs `cmd` to completion or until `limit`, with at most
/// [`MEMORY_LIMIT_BYTES`] of memory and no core dump. Returns its exit
/// status (none if it had to be killed) and whether the limit was reached.
pub fn run_with_limit(
    cmd: &mut Command,
    limit: Duration,
) -> std::io::Result<(Option<ExitStatus>, bool)> {
    run_with_limits(
        cmd,
        &Limits {
            wall: limit,
            memory: MEMORY_LIMIT_BYTES,
            file_size: FILE_SIZE_LIMIT_BYTES,
        },
    )
}

/// Runs `cmd` in a process group of its own, to completion or until
/// `limits.wall`, with `limits`' memory and file size and no core dump.
/// When it ends, everything else in its group is killed and waited for
/// (a process the code under test started, unless it left the group,
/// which the grader's sandbox forbids). Returns its exit status (none if
/// it had to be killed) and whether the time limit was reached.
pub fn run_with_limits(
    cmd: &mut Command,
    limits: &Limits,
) -> std::io::Result<(Option<ExitStatus>, bool)> {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
        let (memory, file_size) = (limits.memory, limits.file_size);
        // SAFETY: the closure runs in the child between fork and exec and
        // only calls setrlimit(2), which is async-signal-safe.
        unsafe {
            cmd.pre_exec(move || {
                set_rlimit(libc::RLIMIT_AS, memory)?;
                set_rlimit(libc::RLIMIT_FSIZE, file_size)?;
                set_rlimit(libc::RLIMIT_CORE, 0)
            });
        }
    }
    let mut child = spawn(cmd)?;
    running().push(child.id());
    let started = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        // Reaped and forgotten under the lock, so `kill_running` never
        // signals a process id that was already reused.
        let mut live = running();
        if has_exited(&child) {
            // Whatever it started (a process the learner's code spawned)
            // ends with it.
            kill_group(&mut child);
        }
        let exited = child.try_wait();
        if !matches!(exited, Ok(None)) {
            live.retain(|&id| id != child.id());
        }
        drop(live);
        if let Some(status) = exited? {
            await_group(child.id());
            return Ok((Some(status), false));
        }
        if started.elapsed() >= limits.wall {
            kill_group(&mut child);
            let mut live = running();
            let _ = child.wait();
            live.retain(|&id| id != child.id());
            drop(live);
            await_group(child.id());
            return Ok((None, true));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// Starts `cmd`, again while its executable is busy: a binary written a
/// moment ago stays open for writing in any child another thread forked
/// meanwhile, until that child execs (the grader's slots build and run at
/// the same time).
fn spawn(cmd: &mut Command) -> std::io::Result<std::process::Child> {
    let mut tries = 0;
    loop {
        match cmd.spawn() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 200 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
            started => return started,
        }
    }
}

/// How long the runner waits for the rest of a killed process group.
const GROUP_PATIENCE: Duration = Duration::from_secs(5);

/// Kills process group `pgid` until none of its processes is alive (a
/// zombie runs no code), so that nothing a run started can act after its
/// results are read. Processes stopped or forking while the first signal
/// lands are caught by the next.
fn await_group(pgid: u32) {
    #[cfg(target_os = "linux")]
    {
        let started = Instant::now();
        while group_alive(pgid) && started.elapsed() < GROUP_PATIENCE {
            // SAFETY: kill(2) with a negative pid signals a process group.
            unsafe {
                libc::kill(-(pgid as i32), libc::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = pgid;
}

/// Whether a process of group `pgid` is alive (not a zombie), from
/// `/proc/PID/stat`: "pid (name) state ppid pgrp …".
#[cfg(target_os = "linux")]
fn group_alive(pgid: u32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|entry| {
        let name = entry.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            return false;
        };
        // The name may hold spaces and parentheses: read after the last ')'.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            return false;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        matches!(
            (fields.first(), fields.get(2)),
            (Some(state), Some(group)) if *state != "Z" && *state != "X" && group.parse() == Ok(pgid)
        )
    })
}

/// The children started by `run_with_limit` that are still running.
static RUNNING: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn running() -> MutexGuard<'static, Vec<u32>> {
    RUNNING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Kills every child still running (with its process group), for a runner
/// that quits in the middle of a check: no suite is left running unwatched.
pub fn kill_running() {
    let live = running();
    for &id in live.iter() {
        #[cfg(unix)]
        // SAFETY: kill(2) with a negative pid signals a process group; it has no memory effects.
        unsafe {
            libc::kill(-(id as i32), libc::SIGKILL);
        }
        #[cfg(not(unix))]
        let _ = id;
    }
}

/// Whether the child has ended, without reaping it: while it is a zombie,
/// its process id (and so its process group's) cannot be reused.
fn has_exited(child: &std::process::Child) -> bool {
    #[cfg(unix)]
    {
        // SAFETY: waitid only writes into the zeroed siginfo we own.
        unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
            libc::waitid(libc::P_PID, child.id(), &mut info, flags) == 0 && info.si_pid() != 0
        }
    }
    #[cfg(not(unix))]
    {
        let _ = child;
        false
    }
}

fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        // The child leads its own process group: signal the whole group.
        let pgid = child.id() as i32;
        // SAFETY: kill(2) with a negative pid signals a process group; it has no memory effects.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
}
