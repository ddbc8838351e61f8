//! The fast path of a save (`check::fast`): once cargo has built a suite,
//! a save of the learner's file is rebuilt by running rustc directly, and
//! anything else (here, a suite edited) goes to cargo, so that a verdict is
//! never stale. Which path ran is read from the stage times that
//! `DSCOURSE_TIMINGS` logs for each check (`rustc` or `cargo`).

use crate::watch::harness::{target_dir, Kit, FILE};
use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, SystemTime};

const SUITE_FILE: &str = "checker/once/src/intro/pingpong.rs";

/// The build stage of each check so far (`cargo` or `rustc`), in order.
fn build_stages(kit: &Kit) -> Vec<String> {
    log(kit)
        .lines()
        .filter(|l| l.starts_with("check intro_pingpong"))
        .filter_map(|l| l.split(": ").nth(1)?.split(' ').next().map(str::to_string))
        .collect()
}

fn log(kit: &Kit) -> String {
    fs::read_to_string(kit.path(".dscourse/timings.log")).unwrap_or_default()
}

fn has(lines: &[String], text: &str) -> bool {
    lines.iter().any(|l| l.contains(text))
}

/// Puts a file of the kit back as it was when dropped, even if the test fails.
struct Restore {
    path: PathBuf,
    text: String,
}

impl Restore {
    fn new(path: PathBuf) -> Restore {
        let text = fs::read_to_string(&path).expect("the file is readable");
        Restore { path, text }
    }
}

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = fs::write(&self.path, &self.text);
    }
}

#[test]
fn saves_are_rebuilt_without_cargo_and_a_suite_edit_with_it() {
    let kit = Kit::new();
    let reference = fs::read_to_string(kit.path("solutions/00_intro/pingpong.rs")).unwrap();
    let answer = "ctx.send(from, Msg::Pong { seq })";
    assert!(
        reference.contains(answer),
        "the reference changed: update the test"
    );
    let mut watch = kit.watch_with(&[], &[("DSCOURSE_TIMINGS", "1")]);

    // The stub, built by cargo. Cargo records how it compiles the two
    // units when it compiles them: at the first check if a test before
    // this one left another file there, else at the first save.
    let first = watch.verdict_lines(1);
    assert!(has(&first, "not yet implemented"), "{}", watch.text());
    assert_eq!(build_stages(&kit), ["cargo"], "{}", log(&kit));
    fs::write(kit.path(FILE), format!("{}\n// a first save\n", kit.stub())).unwrap();
    watch.verdict(2);

    // The reference passes, built by rustc alone.
    fs::write(kit.path(FILE), &reference).unwrap();
    let passing = watch.verdict_lines(3);
    assert!(has(&passing, "is done"), "{}", watch.text());
    assert_eq!(build_stages(&kit)[2], "rustc", "{}", log(&kit));

    // A bug fails on its property, built by rustc alone.
    let bug = reference.replace(answer, "ctx.send(from, Msg::Pong { seq: seq + 1 })");
    fs::write(kit.path(FILE), &bug).unwrap();
    let failing = watch.verdict_lines(4);
    assert!(
        has(
            &failing,
            "a ping is answered at once with the pong of the same number"
        ),
        "{}",
        watch.text()
    );
    assert_eq!(build_stages(&kit)[3], "rustc", "{}", log(&kit));

    // A panic in the learner's code is placed at its line (it comes from
    // the panic's location, not from debug information).
    let panicking = reference.replace(answer, "panic!(\"my own panic\")");
    let line = panicking
        .lines()
        .position(|l| l.contains("my own panic"))
        .unwrap()
        + 1;
    fs::write(kit.path(FILE), &panicking).unwrap();
    let panicked = watch.verdict_lines(5);
    let at = format!("my own panic (at exercises/00_intro/pingpong.rs:{line}:");
    assert!(has(&panicked, &at), "no `{at}` in:\n{}", watch.text());
    assert_eq!(build_stages(&kit)[4], "rustc", "{}", log(&kit));

    // The suite gains a test that fails: the next save goes to cargo, and
    // its verdict is the new suite's.
    let suite = Restore::new(kit.path(SUITE_FILE));
    let edited = suite.text.replace(
        "wrong::tests(suite)",
        "wrong::tests(suite).test(\"pingpong::sees_the_suite_edit\", || panic!(\"the suite was edited\"))",
    );
    assert_ne!(edited, suite.text, "the suite changed: update the test");
    fs::write(kit.path(SUITE_FILE), edited).unwrap();
    fs::write(kit.path(FILE), &reference).unwrap();
    let after_edit = watch.verdict_lines(6);
    assert!(has(&after_edit, "the suite was edited"), "{}", watch.text());
    assert!(!has(&after_edit, "is done"), "{}", watch.text());
    assert_eq!(build_stages(&kit)[5], "cargo", "{}", log(&kit));
    assert!(
        log(&kit).contains(&format!("{SUITE_FILE} changed")),
        "the log names why cargo built:\n{}",
        log(&kit)
    );

    // A compile error in the learner's file: the compiler's message, with
    // the file, from rustc alone (cargo recorded the new suite's build).
    let broken = format!("{reference}\nfn this_does_not_compile( {{\n");
    fs::write(kit.path(FILE), &broken).unwrap();
    let errors = watch.verdict_lines(7);
    assert!(has(&errors, "does not compile"), "{}", watch.text());
    assert!(
        has(&errors, "exercises/00_intro/pingpong.rs"),
        "{}",
        watch.text()
    );
    assert!(has(&errors, "error"), "{}", watch.text());
    assert_eq!(build_stages(&kit)[6], "rustc", "{}", log(&kit));

    // The suite as it was: cargo again, and the reference passes again.
    drop(suite);
    fs::write(kit.path(FILE), &reference).unwrap();
    let restored = watch.verdict_lines(8);
    assert!(has(&restored, "is done"), "{}", watch.text());
    assert_eq!(build_stages(&kit)[7], "cargo", "{}", log(&kit));

    // And once more by rustc, from a file whose modification time is older
    // than cargo's last build (as `cp -p` leaves it): cargo's own build
    // must not trust the outputs rustc wrote behind its back, and rebuilds
    // both units.
    let tmp = kit.path("exercises/00_intro/pingpong.rs.tmp");
    fs::write(&tmp, &bug).unwrap();
    let old = SystemTime::now() - Duration::from_secs(3600);
    fs::File::options()
        .write(true)
        .open(&tmp)
        .unwrap()
        .set_modified(old)
        .unwrap();
    fs::rename(&tmp, kit.path(FILE)).unwrap();
    watch.verdict(9);
    assert_eq!(build_stages(&kit)[8], "rustc", "{}", log(&kit));
    watch.key("q");
    assert!(watch.wait_exit(Duration::from_secs(10)));
    let cargo = Command::new(env!("CARGO"))
        .args(["test", "-p", "checker", "--test", "intro", "--no-run"])
        .args([
            "--no-default-features",
            "--features",
            "exercise-intro_pingpong",
        ])
        .current_dir(kit.path(""))
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&cargo.stderr);
    assert!(cargo.status.success(), "{said}");
    for unit in ["Compiling exercises", "Compiling checker"] {
        assert!(
            said.contains(unit),
            "cargo trusted a stale build ({unit}):\n{said}"
        );
    }
}
