//! Building the next exercise's check ahead of time, while the learner
//! works on this one.
//!
//! A check builds only its exercise's part of the suite and of the
//! learner's crate, so the first check of an exercise compiles those from
//! nothing (and, for a new topic, the suite's helpers too): seconds on a
//! laptop, at the moment the learner has just moved on and waits to see
//! where they stand. So once a verdict is on screen and nothing else runs,
//! the next exercise in course order is built in the background, at the
//! lowest priority, recording its compilers as a save's build does
//! (`check::fast`), so that its first check runs them directly. A check
//! always comes first: the build ahead is stopped (its whole process group)
//! before a check starts, because cargo would make the check wait for it
//! (one build at a time in a target folder) and it would take a core from
//! it. A stopped build is started again at the next quiet moment; cargo
//! keeps what it finished.

use super::app::App;
use crate::check::fast::Background;
use crate::check::{BuildSpec, Subject};
use crate::kit::Kit;
use crate::manifest::Exercise;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

impl App {
    /// Once a verdict is on screen and nothing runs or waits, builds the
    /// next exercise's check (see `ahead`).
    pub(super) fn maybe_build_ahead(&mut self) {
        if self.running.is_some() || self.pending.is_some() || self.report.is_none() {
            return;
        }
        if let Some(next) = Ahead::next_exercise(&self.kit, &self.exercise) {
            self.ahead.start(&self.kit, next);
        }
    }
}

#[derive(Default)]
pub struct Ahead {
    /// The build running now: its exercise and its process.
    running: Option<(String, Background)>,
    /// Exercises built ahead this session: not built again.
    finished: BTreeSet<String>,
}

impl Ahead {
    /// The exercise to build ahead while `current` is the exercise: the
    /// next one in course order.
    pub fn next_exercise<'a>(kit: &'a Kit, current: &Exercise) -> Option<&'a Exercise> {
        let at = kit.manifest.position(&current.name)?;
        kit.manifest.exercises.get(at + 1)
    }

    /// Starts building `exercise`'s check for the learner, unless it is
    /// being built or was built ahead already (a build cargo has done
    /// already takes it a moment). A build that cannot start is not tried
    /// again: it only ever saves time.
    pub fn start(&mut self, kit: &Kit, exercise: &Exercise) {
        self.reap();
        let name = &exercise.name;
        if self.finished.contains(name) {
            return;
        }
        if let Some((building, _)) = &self.running {
            if building == name {
                return;
            }
            self.stop();
        }
        let spec = BuildSpec {
            root: &kit.root,
            suite: &exercise.suite,
            exercise: Some(name),
            subject: Subject::Learner,
            hidden: false,
            target_dir: None,
            compiler: None,
        };
        match Background::spawn(&spec, &kit.state_dir(), lowest_priority_group) {
            Ok(build) => self.running = Some((name.clone(), build)),
            Err(_) => {
                self.finished.insert(name.clone());
            }
        }
    }

    /// When the build running now (if any) is next looked at: once it has
    /// ended, its record is kept (see `reap`).
    pub fn next_look(&self) -> Option<Instant> {
        self.running
            .as_ref()
            .map(|_| Instant::now() + Duration::from_millis(250))
    }

    /// Stops the build running now, if any, with everything it started.
    pub fn stop(&mut self) {
        self.reap();
        let Some((_, mut build)) = self.running.take() else {
            return;
        };
        #[cfg(unix)]
        // SAFETY: kill(2) only sends a signal; the group is the child's own
        // (see `lowest_priority_group`), whose leader we have not reaped,
        // so its id cannot have been reused.
        unsafe {
            libc::kill(-(build.child.id() as i32), libc::SIGKILL);
        }
        let _ = build.child.kill();
        let _ = build.child.wait();
        build.abandon();
    }

    /// Notes a build that ended by itself, and keeps its record.
    fn reap(&mut self) {
        let ended = match &mut self.running {
            Some((_, build)) => build.child.try_wait().ok().flatten(),
            None => None,
        };
        if let Some(status) = ended {
            if let Some((name, build)) = self.running.take() {
                build.finish(status);
                self.finished.insert(name);
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
