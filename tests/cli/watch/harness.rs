//! The harness of the watch tests: a copy of the kit (the other runner
//! tests' `common::TestKit`), and a running watch driven through its
//! standard input and read through its output.

use crate::common::{self, TestKit};
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The current exercise's file (`intro_pingpong`, the first).
pub const FILE: &str = "exercises/00_intro/pingpong.rs";
/// Another exercise's file (`intro_retry`), in the same suite.
pub const OTHER_FILE: &str = "exercises/00_intro/retry.rs";
/// Long enough for a check on a slow machine, once the suite is built.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(120);

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The starting code of an exercise file, as the repository's exercises/
/// holds it.
pub fn stub_of(file: &str) -> String {
    fs::read_to_string(repo().join(file)).expect("the stub is readable")
}

/// Cargo's target folder for every copy (the other runner tests' too).
pub fn target_dir() -> PathBuf {
    common::shared_target_dir()
}

static WARMED_UP: OnceLock<()> = OnceLock::new();

/// A copy of the kit (see `common::TestKit`: the one the other runner tests
/// use, in the same place and target folder, so builds are shared), with
/// the learner's files at their stubs and no progress; held for a whole
/// test.
pub struct Kit {
    copy: TestKit,
}

impl Kit {
    pub fn new() -> Kit {
        let copy = TestKit::new();
        let kit = Kit { copy };
        WARMED_UP.get_or_init(|| kit.warm_up());
        kit
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.copy.path(rel)
    }

    /// The starting code of [`FILE`].
    pub fn stub(&self) -> String {
        stub_of(FILE)
    }

    /// Builds the suite of the first exercise, so that no test times a
    /// first build. The stub fails its suite, so `run` exits 1.
    fn warm_up(&self) {
        let output = Command::new(env!("CARGO_BIN_EXE_dscourse"))
            .args(["run", "intro_pingpong"])
            .current_dir(self.copy.root())
            .env("CARGO_TARGET_DIR", target_dir())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .expect("cannot run dscourse");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(
            text.contains("intro_pingpong"),
            "the warm-up check failed:\n{text}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let _ = fs::remove_dir_all(self.path(".dscourse"));
    }

    /// `dscourse` (watch mode) in the copy, its keys read from a pipe.
    pub fn watch(&self, args: &[&str]) -> Watch {
        self.watch_with(args, &[])
    }

    /// [`Kit::watch`], with the variables `env` set.
    pub fn watch_with(&self, args: &[&str], env: &[(&str, &str)]) -> Watch {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dscourse"))
            .args(args)
            .current_dir(self.copy.root())
            .env("CARGO_TARGET_DIR", target_dir())
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot start dscourse");
        let lines = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            Box::new(child.stdout.take().expect("stdout is piped"))
                as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr is piped")),
        ] {
            let lines = Arc::clone(&lines);
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    lines.lock().unwrap().push(line);
                }
            });
        }
        let stdin = child.stdin.take();
        Watch {
            child,
            stdin,
            lines,
        }
    }
}

/// A running watch: its output so far, line by line, and its keyboard.
pub struct Watch {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Watch {
    pub fn output(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    pub fn text(&self) -> String {
        self.output().join("\n")
    }

    /// Types `key` and Enter.
    pub fn key(&mut self, key: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        writeln!(stdin, "{key}").expect("dscourse reads its keys");
        stdin.flush().unwrap();
    }

    /// Waits until a line after the first `from` lines satisfies `found`;
    /// returns its index.
    pub fn wait_for(&self, from: usize, what: &str, found: impl Fn(&str) -> bool) -> usize {
        let started = Instant::now();
        loop {
            let lines = self.output();
            if let Some(i) = lines.iter().skip(from).position(|l| found(l)) {
                return from + i;
            }
            if started.elapsed() > CHECK_TIMEOUT {
                panic!(
                    "waited {CHECK_TIMEOUT:?} for {what}; the output was:\n{}",
                    lines.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the verdict of check `n`; returns the index of its first line.
    pub fn verdict(&self, n: u64) -> usize {
        let marker = format!("── verdict of check #{n} ──");
        self.wait_for(0, &format!("the verdict of check #{n}"), |l| {
            l.contains(&marker)
        })
    }

    /// The lines of the verdict of check `n` (up to the key legend).
    pub fn verdict_lines(&self, n: u64) -> Vec<String> {
        let start = self.verdict(n);
        let end = self.wait_for(start, "the end of a verdict", |l| l.contains("q quit"));
        self.output()[start..end].to_vec()
    }

    /// The number of checks started so far.
    pub fn checks_started(&self) -> usize {
        self.output()
            .iter()
            .filter(|l| l.contains("checking intro_pingpong"))
            .count()
    }

    /// Waits for the process to end and returns whether it ended well.
    pub fn wait_exit(&mut self, limit: Duration) -> bool {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "dscourse did not quit within {limit:?}; the output was:\n{}",
            self.text()
        );
    }
}

impl Drop for Watch {
    /// Quits as a learner would (so that watch mode stops what it started,
    /// a build ahead among them), and kills it if it does not.
    fn drop(&mut self) {
        if let Some(stdin) = self.stdin.as_mut() {
            let _ = writeln!(stdin, "q").and_then(|()| stdin.flush());
        }
        let quitting = Instant::now();
        while quitting.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
