//! Helpers for the integration tests: a private copy of the kit, the real
//! `dscourse` binary run inside it, and what a learner would see.
//!
//! Every copy builds its suites in one shared target folder,
//! `target/cli-tests`, so registry crates are compiled once. Because cargo
//! names a workspace's artifacts by their path *inside* the workspace, two
//! copies build to the same suite executable: copies are therefore used one
//! at a time (a test holds [`TestKit`] for its whole length), and each
//! copy's files get modification times (`times`) by which cargo reuses an
//! earlier copy's build exactly when it was made from the same files, and
//! never mistakes one made from other files for this copy's.
//!
//! The tests of the runner are one test binary (`cli`, a module per
//! command or concern, watch mode's included), whose tests take turns on the
//! copy through a mutex. "One at a time" holds across processes too: on
//! Unix a [`TestKit`] also holds an exclusive lock on a file in the shared
//! target folder, so test processes run side by side (as `cargo nextest`
//! runs each test in a process of its own) still take turns. Elsewhere only
//! the tests of one process take turns, which is enough for `cargo test`: it
//! runs every test of the binary in one process.

#![allow(dead_code)]

mod copy;
mod times;

pub use copy::copy_kit;
use copy::CopiesLock;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The repository the tests are run from.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Where the runner's child cargo builds, for every copy.
pub fn shared_target_dir() -> PathBuf {
    repo().join("target").join("cli-tests")
}

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
static COPIES: AtomicUsize = AtomicUsize::new(0);

/// A private copy of the kit, always at `target/cli-tests/kit`, removed
/// when dropped (kept beside it, and its path printed, when the test failed).
pub struct TestKit {
    root: PathBuf,
    /// Taken from the last copy, given back when this one is dropped.
    times: Option<times::Times>,
    _copies_lock: CopiesLock,
    _turn: MutexGuard<'static, ()>,
}

impl TestKit {
    /// Copies the repository's kit (without `target/`, `.git/` and
    /// `.dscourse/`), waiting for any other test's copy to be dropped, in
    /// this test binary or another.
    pub fn new() -> TestKit {
        let turn = ONE_AT_A_TIME
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let copies_lock = CopiesLock::take(&shared_target_dir());
        // Always the same folder, so that the compiler's incremental caches
        // (which name source files by their full path) serve every copy.
        let root = shared_target_dir().join("kit");
        let _ = fs::remove_dir_all(&root);
        copy_kit(repo(), &root)
            .unwrap_or_else(|e| panic!("cannot copy the kit to {}: {e}", root.display()));
        let times = times::Times::take(&shared_target_dir())
            .and_then(|times| times.apply(&root).map(|()| times))
            .unwrap_or_else(|e| panic!("cannot set the times of {}: {e}", root.display()));
        TestKit {
            root,
            times: Some(times),
            _copies_lock: copies_lock,
            _turn: turn,
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A path inside the copy, from a kit-relative one.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
    }

    pub fn read_bytes(&self, rel: &str) -> Vec<u8> {
        fs::read(self.path(rel)).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
    }

    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) {
        let path = self.path(rel);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        }
        fs::write(&path, contents).unwrap_or_else(|e| panic!("cannot write {rel}: {e}"));
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.path(rel).exists()
    }

    /// Runs `dscourse ARGS` at the root of the copy.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_in("", args)
    }

    /// Runs `dscourse ARGS` in a folder of the copy.
    pub fn run_in(&self, dir: &str, args: &[&str]) -> Run {
        dscourse(&self.root.join(dir), args)
    }

    /// The progress file, parsed.
    pub fn state(&self) -> serde_json::Value {
        let text = self.read(".dscourse/state.json");
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!(".dscourse/state.json is not JSON ({e}):\n{text}"))
    }

    /// Writes a progress file with these exercises done.
    pub fn set_state(&self, done: &[&str], current: Option<&str>) {
        let state = serde_json::json!({ "version": 1, "done": done, "hints_shown": {}, "current": current });
        self.write(
            ".dscourse/state.json",
            serde_json::to_string_pretty(&state).unwrap(),
        );
    }

    /// Whether the progress file records `name` as passed.
    pub fn is_done(&self, name: &str) -> bool {
        self.state()["done"]
            .as_array()
            .is_some_and(|done| done.iter().any(|d| d == name))
    }

    /// The course manifest of the copy, parsed.
    pub fn manifest(&self) -> toml::Value {
        toml::from_str(&self.read("info.toml")).expect("info.toml parses")
    }

    /// The exercises' names, in course order.
    pub fn exercise_names(&self) -> Vec<String> {
        self.manifest()["exercises"]
            .as_array()
            .expect("info.toml has [[exercises]]")
            .iter()
            .map(|e| {
                e["name"]
                    .as_str()
                    .expect("an exercise has a name")
                    .to_string()
            })
            .collect()
    }

    /// The hints of exercise `name`, from info.toml.
    pub fn hints(&self, name: &str) -> Vec<String> {
        let manifest = self.manifest();
        let exercise = manifest["exercises"]
            .as_array()
            .and_then(|all| all.iter().find(|e| e["name"].as_str() == Some(name)))
            .unwrap_or_else(|| panic!("info.toml has no exercise {name}"));
        exercise["hints"]
            .as_array()
            .expect("hints")
            .iter()
            .map(|h| h.as_str().expect("a hint is text").to_string())
            .collect()
    }

    /// Adds `line` to the entry of exercise `name` in info.toml, right after
    /// its `name = ...` line.
    pub fn add_to_entry(&self, name: &str, line: &str) {
        let text = self.read("info.toml");
        let anchor = format!("name = \"{name}\"\n");
        assert!(text.contains(&anchor), "info.toml has no line {anchor:?}");
        self.write(
            "info.toml",
            text.replacen(&anchor, &format!("{anchor}{line}\n"), 1),
        );
    }
}

impl Drop for TestKit {
    fn drop(&mut self) {
        if let Some(times) = self.times.take() {
            if let Err(e) = times.save(&self.root) {
                eprintln!("cannot record the times of {}: {e}", self.root.display());
            }
        }
        if std::thread::panicking() {
            let n = COPIES.fetch_add(1, Ordering::SeqCst);
            let kept = self
                .root
                .with_file_name(format!("kit-failed-{}-{n}", std::process::id()));
            let _ = fs::remove_dir_all(&kept);
            let kept = match fs::rename(&self.root, &kept) {
                Ok(()) => kept,
                Err(_) => self.root.clone(),
            };
            eprintln!(
                "the kit copy of the failed test is kept in {}",
                kept.display()
            );
        } else {
            let _ = fs::remove_dir_all(&self.root);
        }
        // Copies are used one at a time: the grading copies are this one's.
        let _ = fs::remove_dir_all(grading_dir());
    }
}

/// Where `dscourse grade` keeps its grading copies in this test process
/// (outside the kit, as it would for an instructor).
pub fn grading_dir() -> PathBuf {
    shared_target_dir().join("grading")
}

/// Whether this machine is expected to give the grader's sandbox
/// (Landlock and seccomp): on CI always, so that a machine that lost it
/// fails; elsewhere only where the kernel has Landlock, saying so when a
/// test is skipped.
#[cfg(target_os = "linux")]
pub fn sandbox_expected() -> bool {
    // SAFETY: with a null attribute and the VERSION flag the call only
    // returns Landlock's ABI version, or an error.
    let abi = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            1u32,
        )
    };
    if abi > 0 || std::env::var_os("CI").is_some() {
        return true;
    }
    eprintln!("skipped: this kernel has no Landlock, which the grader's sandbox needs");
    false
}

/// Processes still running from `dir` (a suite of a grading copy, or
/// something a suite started), as "pid: command line".
#[cfg(target_os = "linux")]
pub fn processes_from(dir: &Path) -> Vec<String> {
    let dir = dir.display().to_string();
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| {
            let cmdline = fs::read(e.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            let exe = fs::read_link(e.path().join("exe")).ok();
            let from_there = cmdline.contains(&dir)
                || exe.is_some_and(|exe| exe.display().to_string().contains(&dir));
            from_there.then(|| format!("{}: {cmdline}", e.file_name().to_string_lossy()))
        })
        .collect()
}

/// Runs the `dscourse` binary in `dir`, with the suites built in the shared
/// target folder and no colour.
pub fn dscourse(dir: &Path, args: &[&str]) -> Run {
    dscourse_with_env(dir, args, &[])
}

/// Runs the `dscourse` binary as [`dscourse`] does, with the variables
/// `env` set too.
pub fn dscourse_with_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_dscourse"))
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", shared_target_dir())
        .env("NO_COLOR", "1")
        // A panic in the runner would print a backtrace: the tests look for one.
        .env("RUST_BACKTRACE", "1")
        .env("DSCOURSE_GRADE_DIR", grading_dir())
        .env_remove("DSCOURSE_RESULTS")
        .env_remove("DSCOURSE_RESULTS_FD")
        .env_remove("DSCOURSE_GROUP")
        .env_remove("DSCOURSE_SEED")
        .stdin(Stdio::null())
        .output()
        .expect("the dscourse binary runs");
    Run {
        command: format!("dscourse {}", args.join(" ")),
        dir: dir.to_path_buf(),
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}

/// One run of the runner: its exit status and what it printed.
pub struct Run {
    pub command: String,
    pub dir: PathBuf,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    /// Everything the learner saw, stdout then stderr.
    pub fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Asserts the exit status, and that the runner itself did not crash.
    pub fn code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code,
            Some(code),
            "`{}` exited with {:?}, not {code}\n{self}",
            self.command,
            self.code
        );
        self.no_crash()
    }

    /// Asserts that the runner did not panic (a learner's panic is reported
    /// by the runner in its own words, never as a Rust panic of the runner).
    pub fn no_crash(&self) -> &Run {
        assert_ne!(self.code, Some(101), "`{}` panicked\n{self}", self.command);
        for sign in [
            "thread 'main' panicked",
            "stack backtrace:",
            "RUST_BACKTRACE",
        ] {
            assert!(
                !self.stderr.contains(sign),
                "`{}` crashed ({sign:?} on stderr)\n{self}",
                self.command
            );
        }
        self
    }

    /// Asserts that stdout or stderr contains `needle`.
    pub fn shows(&self, needle: &str) -> &Run {
        assert!(
            self.text().contains(needle),
            "`{}` does not show {needle:?}\n{self}",
            self.command
        );
        self
    }

    /// Asserts that neither stdout nor stderr contains `needle`.
    pub fn hides(&self, needle: &str) -> &Run {
        assert!(
            !self.text().contains(needle),
            "`{}` shows {needle:?}, and should not\n{self}",
            self.command
        );
        self
    }

    pub fn stdout_shows(&self, needle: &str) -> &Run {
        assert!(
            self.stdout.contains(needle),
            "`{}` does not print {needle:?} on stdout\n{self}",
            self.command
        );
        self
    }

    pub fn stderr_shows(&self, needle: &str) -> &Run {
        assert!(
            self.stderr.contains(needle),
            "`{}` does not print {needle:?} on stderr\n{self}",
            self.command
        );
        self
    }

    /// The trace lines shown (`   105.96 ms  n2 receives …`), without the
    /// `<- here` marker.
    pub fn trace_lines(&self) -> Vec<String> {
        self.stdout
            .lines()
            .filter_map(|line| {
                let (time, _) = line.trim_start().split_once(" ms  ")?;
                time.parse::<f64>().ok()?;
                Some(line.trim_end_matches("<- here").trim().to_string())
            })
            .collect()
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "--- `{}` in {} (exit {:?}, {:.1} s)",
            self.command,
            self.dir.display(),
            self.code,
            self.elapsed.as_secs_f64()
        )?;
        writeln!(f, "--- stdout:\n{}", self.stdout)?;
        write!(f, "--- stderr:\n{}", self.stderr)
    }
}

/// `source` with the body of its function `signature` (e.g. `"fn on_start("`)
/// replaced by `body`: works on the stub and on the reference alike.
pub fn with_body(source: &str, signature: &str, body: &str) -> String {
    let start = source
        .find(signature)
        .unwrap_or_else(|| panic!("no {signature:?} in the source"));
    let open = start + source[start..].find('{').expect("a function body");
    let mut depth = 0;
    let mut close = None;
    for (i, c) in source[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(open + i);
                    break;
                }
            }
            _ => {}
        }
    }
    let close = close.expect("the body's braces balance");
    format!(
        "{}{{\n        {body}\n    }}{}",
        &source[..open],
        &source[close + 1..]
    )
}

/// The 1-based line of the first line of `text` that contains `needle`.
pub fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line contains {needle:?}"))
        + 1
}

// ----- the exercise the tests drive -------------------------------------------

/// The exercise the tests drive.
pub const EX: &str = "intro_pingpong";
/// The learner's file of [`EX`].
pub const FILE: &str = "exercises/00_intro/pingpong.rs";
/// The reference solution of [`EX`].
pub const REFERENCE: &str = "solutions/00_intro/pingpong.rs";
/// The starting code of [`EX`], as the repository's `exercises/` holds it
/// (made from the reference; `dev check` keeps the two the same).
pub fn stub() -> String {
    fs::read_to_string(repo().join(FILE)).expect("the stub is readable")
}

/// The learner's file with the body of `signature` replaced, starting from
/// the reference (so that everything else works).
pub fn reference_with(kit: &TestKit, signature: &str, body: &str) -> String {
    let text = with_body(&kit.read(REFERENCE), signature, body);
    kit.write(FILE, &text);
    text
}

/// The stub with the body of `signature` replaced.
pub fn stub_with(kit: &TestKit, signature: &str, body: &str) -> String {
    let text = with_body(&stub(), signature, body);
    kit.write(FILE, &text);
    text
}
