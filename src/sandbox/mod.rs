//! The grader's sandbox: what protects a grading run from the code it
//! grades.
//!
//! Learner code runs inside the suite process, so nothing in that process
//! is a secret from it. The grader's guarantees therefore rest on layers
//! set up from outside, by the runner, before any learner code runs, each
//! tested on its own by the corpus of hostile submissions in
//! `tests/hostile/`:
//!
//! - **Files, network, signals** (Landlock, [`landlock`]): a suite run may
//!   read the system's libraries and execute its own binary, and read and
//!   write only its scratch folder; no TCP unless its exercise needs the
//!   network; no signals to processes outside its own sandbox. The
//!   learner's crate is compiled with a view of its own sources and the
//!   public libraries only ([`rustc`]), so neither the references nor the
//!   hidden tests can be read at compile time.
//! - **System calls** (seccomp, [`seccomp`]): no leaving the process
//!   group, no tracing, no namespaces, no sockets but those the exercise
//!   needs, no new processes unless it needs them.
//! - **Identity**: run as root (Gradescope, containers), each grading slot
//!   runs its suites as a user of its own, which owns nothing else.
//! - **Clean-up**: the whole process group is killed and waited for before
//!   a run's results are read (`crate::child`); with the system calls
//!   above, nothing a run started can leave the group.
//!
//! The result channel is a socket the runner opens before the process
//! starts (`crate::check`): it cannot be opened again by path, so learner
//! code without `unsafe` (forbidden in the learner's crate) cannot reach it.

#[cfg(target_os = "linux")]
mod landlock;
pub mod rustc;
#[cfg(target_os = "linux")]
mod seccomp;

use anyhow::Result;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The first user id of the grading slots when the grader runs as root:
/// slot N runs its suites as user `SLOT_UID_BASE + N`, a user that owns no
/// file on the machine.
pub const SLOT_UID_BASE: u32 = 61000;

/// What a suite run may do beyond computing, as its exercise declares in
/// info.toml (`needs = ["processes"]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    /// Start processes (of its own binary only): the event store's crash
    /// test kills real writer processes.
    pub processes: bool,
    /// Open TCP sockets: the cache server's tests talk to it over loopback.
    pub network: bool,
}

/// The layers this machine can give, found once per grading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layers {
    /// The Landlock ABI version, if the kernel enforces Landlock.
    pub landlock: Option<u32>,
    /// Whether the kernel filters system calls with seccomp.
    pub seccomp: bool,
    /// Whether each slot runs as its own user (the grader runs as root).
    pub own_users: bool,
}

impl Layers {
    /// Asks the kernel what it can enforce.
    pub fn probe() -> Layers {
        #[cfg(target_os = "linux")]
        {
            Layers {
                landlock: landlock::abi(),
                seccomp: seccomp::available(),
                // SAFETY: geteuid has no preconditions and cannot fail.
                own_users: unsafe { libc::geteuid() } == 0,
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            Layers {
                landlock: None,
                seccomp: false,
                own_users: false,
            }
        }
    }

    /// No layer: grading without the sandbox (`grade --no-sandbox`), to
    /// measure what it costs or see what it stops.
    pub fn none() -> Layers {
        Layers {
            landlock: None,
            seccomp: false,
            own_users: false,
        }
    }

    /// Whether the layers the grade's trust rests on are active: the file
    /// system (Landlock) and the process (seccomp) ones.
    pub fn complete(&self) -> bool {
        self.landlock.is_some() && self.seccomp
    }

    /// The active layers in a line, for the grader's output and reports:
    /// "landlock v7 (files, tcp, signals), seccomp, process group, uid 61000+".
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        match self.landlock {
            Some(abi) => parts.push(format!("landlock v{abi} ({})", landlock_covers(abi))),
            None => parts.push("no landlock (files are not confined)".to_string()),
        }
        parts.push(if self.seccomp {
            "seccomp".to_string()
        } else {
            "no seccomp (system calls are not filtered)".to_string()
        });
        parts.push("process group".to_string());
        if self.own_users {
            parts.push(format!("uid {SLOT_UID_BASE}+slot"));
        }
        parts.join(", ")
    }

    /// What is missing, in words, for a report (empty when complete).
    pub fn missing(&self) -> Vec<String> {
        let mut missing = Vec::new();
        if self.landlock.is_none() {
            missing.push("Landlock is not available (Linux 5.13 or later, with landlock among the LSMs): learner code could read files it should not, such as the hidden tests".to_string());
        } else if self.landlock < Some(6) {
            missing.push(format!("Landlock v{} does not confine signals (v6, Linux 6.12): a run could signal other processes of the same user", self.landlock.unwrap_or(0)));
        }
        if !self.seccomp {
            missing.push("seccomp is not available: learner code could leave its process group and outlive its run".to_string());
        }
        missing
    }

    /// The user slot `slot` runs its suites as, when the grader is root.
    pub fn slot_uid(&self, slot: usize) -> Option<u32> {
        self.own_users.then(|| SLOT_UID_BASE + slot as u32)
    }
}

/// What a Landlock ABI version confines, in words.
fn landlock_covers(abi: u32) -> &'static str {
    match abi {
        0..=3 => "files",
        4 | 5 => "files, tcp",
        _ => "files, tcp, signals",
    }
}

/// What one suite run may touch.
pub struct RunPolicy<'a> {
    /// The suite executable (read and executed; nothing else of the kit).
    pub binary: &'a Path,
    /// Its scratch folder: its working folder and `TMPDIR`, the one place
    /// it may write.
    pub scratch: &'a Path,
    pub needs: Needs,
    /// The user to run as (root only).
    pub uid: Option<u32>,
}

/// The confinement of one suite run: prepared in the runner before the
/// process starts (paths opened, filters compiled), installed in the child
/// between fork and exec, where only async-signal-safe calls are allowed.
pub struct Jail {
    /// Shared with the commands it is applied to, so it stays open until
    /// they have started.
    #[cfg(target_os = "linux")]
    ruleset: Option<std::sync::Arc<std::os::fd::OwnedFd>>,
    #[cfg(target_os = "linux")]
    filters: Vec<seccompiler::BpfProgram>,
    /// The most tasks (processes and threads) its user may have, so that a
    /// run that starts processes cannot fill the machine with them.
    #[cfg(target_os = "linux")]
    tasks: u64,
    uid: Option<u32>,
    scratch: PathBuf,
}

/// How many tasks (threads and processes) a run may add to those its user
/// already has: far more than any suite's threads and writer processes.
#[cfg(target_os = "linux")]
const TASKS_ALLOWED: u64 = 512;

impl Jail {
    /// Prepares the layers `layers` has for a run under `policy`.
    pub fn prepare(layers: &Layers, policy: &RunPolicy) -> Result<Jail> {
        #[cfg(target_os = "linux")]
        {
            let ruleset = match layers.landlock {
                Some(_) => Some(std::sync::Arc::new(landlock::suite_ruleset(policy)?)),
                None => None,
            };
            let filters = if layers.seccomp {
                seccomp::suite_filters(policy.needs)?
            } else {
                Vec::new()
            };
            // SAFETY: getuid has no preconditions and cannot fail.
            let user = policy.uid.unwrap_or_else(|| unsafe { libc::getuid() });
            Ok(Jail {
                ruleset,
                filters,
                tasks: tasks_of(user) + TASKS_ALLOWED,
                uid: policy.uid,
                scratch: policy.scratch.to_path_buf(),
            })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = layers;
            Ok(Jail {
                uid: policy.uid,
                scratch: policy.scratch.to_path_buf(),
            })
        }
    }

    /// Makes `cmd` start inside the jail: as the slot's user, in an
    /// environment that holds nothing of the grader's, with the layers
    /// installed just before exec. The caller sets what the suite needs on
    /// top (its group, its result channel).
    pub fn apply(&self, cmd: &mut Command) {
        cmd.env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", &self.scratch)
            .env("TMPDIR", &self.scratch)
            .env("RUST_BACKTRACE", "0")
            .current_dir(&self.scratch);
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            if let Some(uid) = self.uid {
                cmd.uid(uid).gid(uid);
            }
        }
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            use std::os::unix::process::CommandExt;
            let ruleset = self.ruleset.clone();
            let filters = self.filters.clone();
            let tasks = libc::rlimit {
                rlim_cur: self.tasks,
                rlim_max: self.tasks,
            };
            // SAFETY: the closure runs in the child between fork and exec;
            // it makes system calls only (setrlimit, prctl,
            // landlock_restrict_self, seccomp) on memory prepared before the
            // fork, and allocates nothing.
            unsafe {
                cmd.pre_exec(move || {
                    if libc::setrlimit(libc::RLIMIT_NPROC, &tasks) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    if let Some(fd) = &ruleset {
                        landlock::restrict_self(fd.as_raw_fd())?;
                    }
                    for filter in &filters {
                        seccomp::install(filter)?;
                    }
                    Ok(())
                });
            }
        }
    }
}

/// How many tasks (threads included) user `uid` has now, from
/// `/proc/PID/status`.
#[cfg(target_os = "linux")]
fn tasks_of(uid: u32) -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let field = |status: &str, name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line[name.len()..].split_whitespace().next()?.parse().ok()
    };
    entries
        .flatten()
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("status")).ok())
        .filter(|status| field(status, "Uid:") == Some(u64::from(uid)))
        .filter_map(|status| field(&status, "Threads:"))
        .sum()
}

/// Makes `dir` (created if needed) belong to the slot's user, so that a
/// run as that user can write in it; without a user of its own, nothing.
pub fn give_to(dir: &Path, uid: Option<u32>) -> Result<()> {
    use anyhow::Context;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    #[cfg(unix)]
    if let Some(uid) = uid {
        std::os::unix::fs::chown(dir, Some(uid), Some(uid))
            .with_context(|| format!("cannot give {} to user {uid}", dir.display()))?;
    }
    #[cfg(not(unix))]
    let _ = uid;
    Ok(())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// A shell in a jail, running builtins only: what it may read and write.
    #[test]
    fn a_jailed_run_writes_only_its_scratch_folder_and_reads_nothing_else() {
        let layers = Layers::probe();
        if layers.landlock.is_none() || !layers.seccomp {
            eprintln!("skipped: no Landlock or seccomp here");
            return;
        }
        let scratch = std::env::temp_dir().join(format!("dscourse-jail-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&scratch);
        give_to(&scratch, layers.slot_uid(3)).unwrap();
        let shell = std::fs::canonicalize("/bin/sh").unwrap();
        let jail = Jail::prepare(
            &layers,
            &RunPolicy {
                binary: &shell,
                scratch: &scratch,
                needs: Needs::default(),
                uid: layers.slot_uid(3),
            },
        )
        .unwrap();
        let mut cmd = Command::new(&shell);
        jail.apply(&mut cmd);
        cmd.args([
            "-c",
            "echo kept > \"$TMPDIR/note\"; \
             read line < /etc/hostname && echo read-etc; \
             echo x > /tmp/dscourse-jail-escape && echo wrote-tmp; \
             read line < /proc/self/status && echo read-proc; \
             echo done",
        ]);
        let output = cmd.output().unwrap();
        let printed = String::from_utf8_lossy(&output.stdout);
        let complaints = String::from_utf8_lossy(&output.stderr);
        assert!(complaints.contains("ermission denied"), "{complaints}");
        assert!(printed.ends_with("done\n"), "{printed}{complaints}");
        for escape in ["read-etc", "wrote-tmp", "read-proc"] {
            assert!(!printed.contains(escape), "{escape}: {printed}");
        }
        assert_eq!(
            std::fs::read_to_string(scratch.join("note")).unwrap(),
            "kept\n"
        );
        std::fs::remove_dir_all(&scratch).unwrap();
    }

    #[test]
    fn the_description_says_what_is_missing() {
        let none = Layers::none();
        assert!(!none.complete());
        assert!(none.describe().contains("no landlock"));
        assert_eq!(none.missing().len(), 2);
        let old = Layers {
            landlock: Some(3),
            seccomp: true,
            own_users: true,
        };
        assert!(old.complete());
        assert!(old.describe().contains("landlock v3 (files)"));
        assert!(old.missing()[0].contains("signals"));
        assert_eq!(old.slot_uid(2), Some(SLOT_UID_BASE + 2));
    }

    /// What each layer costs per run, measured on a program that does
    /// nothing (`/bin/true`), 300 runs each after as many unmeasured: run
    /// by hand, `cargo test -p dscourse --bin dscourse -- --ignored
    /// --nocapture layer_costs`.
    #[test]
    #[ignore]
    fn layer_costs() {
        let probed = Layers::probe();
        let binary = std::fs::canonicalize("/bin/true").unwrap();
        let scratch = std::env::temp_dir().join(format!("dscourse-cost-{}", std::process::id()));
        give_to(&scratch, probed.slot_uid(5)).unwrap();
        let only = |landlock, seccomp, own_users| Layers {
            landlock,
            seccomp,
            own_users,
        };
        let variants = [
            ("no jail", None),
            ("jail, no layer", Some(Layers::none())),
            ("landlock", Some(only(probed.landlock, false, false))),
            ("seccomp", Some(only(None, probed.seccomp, false))),
            ("own user", Some(only(None, false, probed.own_users))),
            ("every layer", Some(probed.clone())),
        ];
        for measured in [false, true] {
            for (name, layers) in &variants {
                let runs = 300;
                let started = std::time::Instant::now();
                for _ in 0..runs {
                    let mut cmd = Command::new(&binary);
                    let jail = layers.as_ref().map(|layers| {
                        let policy = RunPolicy {
                            binary: &binary,
                            scratch: &scratch,
                            needs: Needs::default(),
                            uid: layers.slot_uid(5),
                        };
                        Jail::prepare(layers, &policy).unwrap()
                    });
                    if let Some(jail) = &jail {
                        jail.apply(&mut cmd);
                    }
                    assert!(cmd.status().unwrap().success(), "{name}");
                }
                if measured {
                    let each = started.elapsed().as_secs_f64() * 1000.0 / f64::from(runs);
                    println!("{name:>16}: {each:.2} ms a run");
                }
            }
        }
        std::fs::remove_dir_all(&scratch).unwrap();
    }
}
