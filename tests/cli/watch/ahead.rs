//! While the learner works on one exercise, the next one's check is built
//! in the background with its compilers recorded, so that its first check
//! runs them directly instead of waiting for cargo.

use crate::watch::harness::{stub_of, Kit, OTHER_FILE};
use std::fs;
use std::time::{Duration, Instant};

#[test]
fn the_next_exercise_is_built_ahead_and_its_first_check_runs_rustc() {
    let kit = Kit::new();
    // A change no other test makes: the build ahead must compile the next
    // exercise's units, not find them built by an earlier test.
    let changed = format!("{}\n// built ahead\n", stub_of(OTHER_FILE));
    fs::write(kit.path(OTHER_FILE), &changed).unwrap();
    let mut watch = kit.watch_with(&[], &[("DSCOURSE_TIMINGS", "1")]);
    watch.verdict(1);
    let record = kit.path(".dscourse/fast-build/intro_retry.json");
    let started = Instant::now();
    // A build at the lowest priority, on a busy machine.
    let limit = Duration::from_secs(600);
    while !record.is_file() {
        assert!(
            started.elapsed() < limit,
            "intro_retry was not built ahead in {limit:?}:\n{}",
            watch.text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Saving the next exercise's file moves on to it.
    fs::write(kit.path(OTHER_FILE), format!("{changed}// a save\n")).unwrap();
    watch.verdict(2);
    let log = fs::read_to_string(kit.path(".dscourse/timings.log")).unwrap_or_default();
    assert!(
        log.lines()
            .any(|l| l.starts_with("check intro_retry: rustc")),
        "the first check of intro_retry did not run the recorded compilers:\n{log}\n{}",
        watch.text()
    );
    watch.key("q");
    assert!(watch.wait_exit(Duration::from_secs(10)), "{}", watch.text());
}
