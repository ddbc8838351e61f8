//! Building the next topic's suite ahead of time, while the learner works
//! on this one.
//!
//! The first check of a topic builds its suite against the learner's crate
//! from nothing: several seconds on a laptop, at the moment the learner
//! has just moved on and waits to see where they stand. So once a verdict
//! is on screen and nothing else runs, the suite of the next topic in
//! course order is built in the background, at the lowest priority. A
//! check always comes first: the build ahead is stopped (its whole process
//! group) before a check starts, because cargo would make the check wait
//! for it (one build at a time in a target folder) and it would take a
//! core from it. A stopped build is started again at the next quiet
//! moment; cargo keeps what it finished.

use super::app::App;
use crate::check::{self, BuildSpec, Subject};
use crate::kit::Kit;
use crate::manifest::Exercise;
use std::collections::BTreeSet;
use std::process::{Child, Stdio};

impl App {
    /// Once a verdict is on screen and nothing runs or waits, builds the
    /// next topic's suite (see `ahead`).
    pub(super) fn maybe_build_ahead(&mut self) {
        if self.running.is_some() || self.pending.is_some() || self.report.is_none() {
            return;
        }
        if let Some(suite) = Ahead::next_suite(&self.kit, &self.exercise) {
            self.ahead.start(&self.kit, suite);
        }
    }
}

#[derive(Default)]
pub struct Ahead {
    /// The build running now: its suite and its process.
    running: Option<(String, Child)>,
    /// Suites built ahead this session: not built again.
    finished: BTreeSet<String>,
}

impl Ahead {
    /// The suite to build ahead while `current` is the exercise: that of
    /// the next exercise in course order with another suite.
    pub fn next_suite<'a>(kit: &'a Kit, current: &Exercise) -> Option<&'a str> {
        let all = &kit.manifest.exercises;
        let at = kit.manifest.position(&current.name)?;
        all.iter()
            .skip(at + 1)
            .find(|e| e.suite != current.suite)
            .map(|e| e.suite.as_str())
    }

    /// Starts building `suite` for the learner, unless it is being built or
    /// was built ahead already (a suite cargo has built already takes it a
    /// moment). A build that cannot start is not tried again: it only ever
    /// saves time.
    pub fn start(&mut self, kit: &Kit, suite: &str) {
        self.reap();
        if self.finished.contains(suite) {
            return;
        }
        if let Some((building, _)) = &self.running {
            if building == suite {
                return;
            }
            self.stop();
        }
        let spec = BuildSpec {
            root: &kit.root,
            suite,
            subject: Subject::Learner,
            hidden: false,
            target_dir: None,
            compiler: None,
        };
        let Ok(mut cmd) = check::build_command(&spec) else {
            self.finished.insert(suite.to_string());
            return;
        };
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        lowest_priority_group(&mut cmd);
        match cmd.spawn() {
            Ok(child) => self.running = Some((suite.to_string(), child)),
            Err(_) => {
                self.finished.insert(suite.to_string());
            }
        }
    }

    /// Stops the build running now, if any, with everything it started.
    pub fn stop(&mut self) {
        let Some((_, mut child)) = self.running.take() else {
            return;
        };
        #[cfg(unix)]
        // SAFETY: kill(2) only sends a signal; the group is the child's own
        // (see `lowest_priority_group`), whose leader we have not reaped,
        // so its id cannot have been reused.
        unsafe {
            libc::kill(-(child.id() as i32), libc::SIGKILL);
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Notes a build that ended by itself.
    fn reap(&mut self) {
        if let Some((suite, child)) = &mut self.running {
            if let Ok(Some(_)) = child.try_wait() {
                self.finished.insert(suite.clone());
                self.running = None;
            }
        }
    }
}

impl Drop for Ahead {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs `cmd` in a process group of its own (so that stopping it stops the
/// compilers it started) at the lowest scheduling priority.
#[cfg(unix)]
fn lowest_priority_group(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0);
    // SAFETY: the closure runs in the child between fork and exec and only
    // calls setpriority(2) and prctl(2), which are async-signal-safe.
    // Failing at either is no reason not to build.
    unsafe {
        cmd.pre_exec(|| {
            libc::setpriority(libc::PRIO_PROCESS as _, 0, 19);
            // Should the runner be killed (and so not stop the build), cargo
            // goes with it.
            #[cfg(target_os = "linux")]
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

#[cfg(not(unix))]
fn lowest_priority_group(_cmd: &mut std::process::Command) {}
