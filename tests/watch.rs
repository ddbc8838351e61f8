//! Watch mode, driven as a learner's editor and keyboard drive it: the real
//! `dscourse` binary, without a terminal (so in line mode: keys are typed as
//! lines), watching a copy of the kit while the test saves files in it.
//!
//! The copy lives at `target/watch-tests/kit` and builds in
//! `target/watch-tests/target`, both kept between runs: only files that
//! changed in the repository are copied again, so the first run builds the
//! suite (about a minute) and later runs only the learner's crate. Tests take
//! turns on the one copy.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

const FILE: &str = "exercises/00_intro/pingpong.rs";
/// The starting code, as the repository's exercises/ holds it.
const STUB: &str = "exercises/00_intro/pingpong.rs";
/// Long enough for a check on a slow machine, once the suite is built.
const CHECK_TIMEOUT: Duration = Duration::from_secs(120);

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn work_dir() -> PathBuf {
    repo().join("target").join("watch-tests")
}

fn target_dir() -> PathBuf {
    work_dir().join("target")
}

static TURN: Mutex<()> = Mutex::new(());
static KIT: OnceLock<PathBuf> = OnceLock::new();

/// The copy of the kit, up to date and built once per test binary, with the
/// learner's file at its stub and no progress; held for a whole test.
struct Kit {
    root: PathBuf,
    _turn: MutexGuard<'static, ()>,
}

impl Kit {
    fn new() -> Kit {
        let turn = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let root = KIT.get_or_init(prepare).clone();
        let kit = Kit { root, _turn: turn };
        kit.clean();
        kit
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn stub(&self) -> String {
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(STUB))
            .expect("the stub is readable")
    }

    /// The learner's file back at its stub, and no progress.
    fn clean(&self) {
        let stub = self.stub();
        if fs::read_to_string(self.path(FILE)).ok().as_deref() != Some(stub.as_str()) {
            fs::write(self.path(FILE), stub).expect("cannot restore the exercise");
        }
        let _ = fs::remove_dir_all(self.path(".dscourse"));
    }

    /// `dscourse` (watch mode) in the copy, its keys read from a pipe.
    fn watch(&self, args: &[&str]) -> Watch {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dscourse"))
            .args(args)
            .current_dir(&self.root)
            .env("CARGO_TARGET_DIR", target_dir())
            .env("NO_COLOR", "1")
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

impl Drop for Kit {
    fn drop(&mut self) {
        self.clean();
    }
}

/// Copies the repository's kit into `target/watch-tests/kit` (only what
/// changed, so that cargo's builds stay fresh) and builds the suite once.
fn prepare() -> PathBuf {
    let root = work_dir().join("kit");
    sync(repo(), &root)
        .unwrap_or_else(|e| panic!("cannot copy the kit to {}: {e}", root.display()));
    let _ = fs::remove_dir_all(root.join(".dscourse"));
    // The first build of the suite takes a while: do it before any test
    // starts timing checks. The stub fails its suite, so `run` exits 1.
    let output = Command::new(env!("CARGO_BIN_EXE_dscourse"))
        .args(["run", "intro_pingpong"])
        .current_dir(&root)
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
    root
}

/// Makes `to` a copy of `from` without `target/`, `.git/` and `.dscourse/`,
/// writing only files whose content differs and removing files `from` lacks.
fn sync(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    let mut wanted = std::collections::BTreeSet::new();
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if from == repo()
            && ["target", ".git", ".dscourse"]
                .iter()
                .any(|skip| name == *skip)
        {
            continue;
        }
        wanted.insert(name.clone());
        let (source, dest) = (entry.path(), to.join(&name));
        if entry.file_type()?.is_dir() {
            if dest.is_file() {
                fs::remove_file(&dest)?;
            }
            sync(&source, &dest)?;
        } else {
            let content = fs::read(&source)?;
            if fs::read(&dest).ok().as_ref() != Some(&content) {
                if dest.is_dir() {
                    fs::remove_dir_all(&dest)?;
                }
                fs::write(&dest, content)?;
            }
        }
    }
    for entry in fs::read_dir(to)? {
        let entry = entry?;
        let name = entry.file_name();
        if wanted.contains(&name) || (from == repo() && name == ".dscourse") {
            continue;
        }
        if entry.file_type()?.is_dir() {
            fs::remove_dir_all(entry.path())?;
        } else {
            fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// A running watch: its output so far, line by line, and its keyboard.
struct Watch {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Watch {
    fn output(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    fn text(&self) -> String {
        self.output().join("\n")
    }

    /// Types `key` and Enter.
    fn key(&mut self, key: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        writeln!(stdin, "{key}").expect("dscourse reads its keys");
        stdin.flush().unwrap();
    }

    /// Waits until a line after the first `from` lines satisfies `found`;
    /// returns its index.
    fn wait_for(&self, from: usize, what: &str, found: impl Fn(&str) -> bool) -> usize {
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
    fn verdict(&self, n: u64) -> usize {
        let marker = format!("── verdict of check #{n} ──");
        self.wait_for(0, &format!("the verdict of check #{n}"), |l| {
            l.contains(&marker)
        })
    }

    /// The lines of the verdict of check `n` (up to the key legend).
    fn verdict_lines(&self, n: u64) -> Vec<String> {
        let start = self.verdict(n);
        let end = self.wait_for(start, "the end of a verdict", |l| l.contains("q quit"));
        self.output()[start..end].to_vec()
    }

    /// The number of checks started so far.
    fn checks_started(&self) -> usize {
        self.output()
            .iter()
            .filter(|l| l.contains("checking intro_pingpong"))
            .count()
    }

    /// Waits for the process to end and returns whether it ended well.
    fn wait_exit(&mut self, limit: Duration) -> bool {
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
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A file that does not compile: a verdict for it proves which save was checked.
fn broken(kit: &Kit) -> String {
    format!("{}\nfn this_does_not_compile( {{\n", kit.stub())
}

fn does_not_compile(lines: &[String]) -> bool {
    lines.iter().any(|l| l.contains("does not compile"))
}

#[test]
fn a_save_in_place_triggers_a_check_of_the_new_content() {
    let kit = Kit::new();
    let mut watch = kit.watch(&[]);
    assert!(
        !does_not_compile(&watch.verdict_lines(1)),
        "{}",
        watch.text()
    );
    // Truncate and write, as most editors do.
    fs::write(kit.path(FILE), broken(&kit)).unwrap();
    assert!(
        does_not_compile(&watch.verdict_lines(2)),
        "{}",
        watch.text()
    );
    // Appending is a save too, and the fixed file is checked again.
    fs::write(kit.path(FILE), kit.stub()).unwrap();
    let mut file = fs::OpenOptions::new()
        .append(true)
        .open(kit.path(FILE))
        .unwrap();
    writeln!(file, "// a comment").unwrap();
    drop(file);
    let third = watch.verdict_lines(3);
    assert!(
        !does_not_compile(&third) && third.iter().any(|l| l.contains("tests pass")),
        "{}",
        watch.text()
    );
    watch.key("q");
    assert!(watch.wait_exit(Duration::from_secs(10)));
}

#[test]
fn a_save_by_rename_triggers_a_check() {
    let kit = Kit::new();
    let mut watch = kit.watch(&[]);
    watch.verdict(1);
    // VS Code's and JetBrains' safe write: a temporary file renamed over.
    let tmp = kit.path("exercises/00_intro/pingpong.rs___jb_tmp___");
    fs::write(&tmp, broken(&kit)).unwrap();
    fs::rename(&tmp, kit.path(FILE)).unwrap();
    assert!(
        does_not_compile(&watch.verdict_lines(2)),
        "{}",
        watch.text()
    );
    // vim: the original renamed to a backup, a new file written, the backup removed.
    let backup = kit.path("exercises/00_intro/pingpong.rs~");
    fs::rename(kit.path(FILE), &backup).unwrap();
    fs::write(kit.path(FILE), kit.stub()).unwrap();
    fs::remove_file(&backup).unwrap();
    assert!(
        !does_not_compile(&watch.verdict_lines(3)),
        "{}",
        watch.text()
    );
    watch.key("q");
    assert!(watch.wait_exit(Duration::from_secs(10)));
}

#[test]
fn other_files_and_editor_droppings_do_not_trigger_checks() {
    let kit = Kit::new();
    let mut watch = kit.watch(&[]);
    watch.verdict(1);
    let dir = kit.path("exercises/00_intro");
    let droppings = [
        "notes.txt",
        "README.md~",
        "4913",
        ".pingpong.rs.swp",
        "pingpong.rs~",
        "pingpong.rs___jb_old___",
        ".#pingpong.rs",
    ];
    for name in droppings {
        fs::write(dir.join(name), "x").unwrap();
    }
    for name in droppings {
        fs::remove_file(dir.join(name)).unwrap();
    }
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(watch.checks_started(), 1, "{}", watch.text());
    // The watcher is still alive: a real save is checked.
    fs::write(kit.path(FILE), broken(&kit)).unwrap();
    assert!(
        does_not_compile(&watch.verdict_lines(2)),
        "{}",
        watch.text()
    );
    watch.key("q");
    assert!(watch.wait_exit(Duration::from_secs(10)));
}

#[test]
fn a_save_during_a_check_is_not_lost() {
    let kit = Kit::new();
    let mut watch = kit.watch(&[]);
    watch.verdict(1);
    let mut file = fs::OpenOptions::new()
        .append(true)
        .open(kit.path(FILE))
        .unwrap();
    writeln!(file, "// first save").unwrap();
    drop(file);
    watch.wait_for(0, "the second check to start", |l| l.contains("(check #2)"));
    // While it runs, a second save that changes the verdict.
    fs::write(kit.path(FILE), broken(&kit)).unwrap();
    let started = Instant::now();
    loop {
        let text = watch.text();
        let last = text.rsplit("── verdict of check #").next().unwrap_or("");
        if text.contains("── verdict of check #3")
            && does_not_compile(&last.lines().map(str::to_string).collect::<Vec<_>>())
        {
            break;
        }
        assert!(
            started.elapsed() < CHECK_TIMEOUT,
            "the second save was not checked:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    watch.key("q");
    assert!(watch.wait_exit(Duration::from_secs(10)));
}

#[test]
fn keys_hint_reset_and_quit() {
    let kit = Kit::new();
    let mine = format!("{}\n// my own work\n", kit.stub());
    fs::write(kit.path(FILE), &mine).unwrap();
    let mut watch = kit.watch(&[]);
    watch.verdict(1);
    let welcome = watch
        .output()
        .iter()
        .position(|l| l.contains("Welcome to dscourse"));
    assert!(
        welcome.is_some(),
        "the first watch shows the welcome:\n{}",
        watch.text()
    );

    let from = watch.output().len();
    watch.key("h");
    watch.wait_for(from, "the first hint", |l| {
        l.contains("Hint for intro_pingpong (1 of")
    });

    let from = watch.output().len();
    watch.key("n");
    watch.wait_for(from, "a refusal to move on", |l| {
        l.contains("moves on once intro_pingpong passes")
    });

    let from = watch.output().len();
    watch.key("x");
    watch.wait_for(from, "the reset question", |l| l.contains("(y/n)"));
    watch.key("n");
    watch.wait_for(from, "the reset to be called off", |l| {
        l.contains("Nothing was reset")
    });
    assert_eq!(fs::read_to_string(kit.path(FILE)).unwrap(), mine);

    let from = watch.output().len();
    watch.key("x");
    watch.wait_for(from, "the reset question", |l| l.contains("(y/n)"));
    watch.key("y");
    let saved = watch.wait_for(from, "the backup", |l| {
        l.contains("Your version is saved as")
    });
    assert_eq!(
        fs::read_to_string(kit.path(FILE)).unwrap(),
        kit.stub(),
        "the stub is restored"
    );
    let line = &watch.output()[saved];
    let backup = line
        .split("saved as ")
        .nth(1)
        .unwrap()
        .trim_end_matches('.');
    assert_eq!(
        fs::read_to_string(kit.path(backup)).unwrap(),
        mine,
        "the learner's file is backed up"
    );
    // The restored file is checked like a save.
    watch.verdict(2);

    watch.key("q");
    assert!(
        watch.wait_exit(Duration::from_secs(10)),
        "q quits with success:\n{}",
        watch.text()
    );

    // The welcome is shown once.
    let mut again = kit.watch(&[]);
    again.verdict(1);
    assert!(
        !again.text().contains("Welcome to dscourse"),
        "{}",
        again.text()
    );
    again.key("q");
    assert!(again.wait_exit(Duration::from_secs(10)));
}

#[test]
fn polling_sees_saves_too() {
    let kit = Kit::new();
    let mut watch = kit.watch(&["watch", "--poll"]);
    watch.verdict(1);
    assert!(watch.text().contains("(polling)"), "{}", watch.text());
    fs::write(kit.path(FILE), broken(&kit)).unwrap();
    assert!(
        does_not_compile(&watch.verdict_lines(2)),
        "{}",
        watch.text()
    );
    watch.key("q");
    assert!(watch.wait_exit(Duration::from_secs(10)));
}
