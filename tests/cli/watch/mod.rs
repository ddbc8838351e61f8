//! Watch mode, driven as a learner's editor and keyboard drive it: the real
//! `dscourse` binary, without a terminal (so in line mode: keys are typed as
//! lines), watching a copy of the kit while the test saves files in it.
//!
//! The copy is the other runner tests' (`tests/common`): it builds in
//! `target/cli-tests`, reusing what earlier copies built from the same
//! files. Tests take turns on it.

mod ahead;
mod fast_path;
mod harness;
mod replays;
mod switching;

use harness::{Kit, CHECK_TIMEOUT, FILE};
use std::fs;
use std::io::Write;
use std::time::{Duration, Instant};

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
