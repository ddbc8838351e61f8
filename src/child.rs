//! Running a child process with a wall-clock limit, killing its whole
//! process group when the limit passes (a learner's code may spawn threads
//! or processes that never end).

use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

/// Runs `cmd` to completion or until `limit`. Returns its exit status (none
/// if it had to be killed) and whether the limit was reached.
pub fn run_with_limit(cmd: &mut Command, limit: Duration) -> std::io::Result<(Option<ExitStatus>, bool)> {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let mut child = cmd.spawn()?;
    let started = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok((Some(status), false));
        }
        if started.elapsed() >= limit {
            kill_group(&mut child);
            let _ = child.wait();
            return Ok((None, true));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
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
