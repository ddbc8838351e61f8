//! While the learner works on one topic, the next topic's suite is built in
//! the background, so that its first check does not wait for it.

use crate::harness::{target_dir, Kit};
use std::time::{Duration, Instant};

/// The suite after the first exercise's (intro): the generals topic's.
const NEXT_SUITE: &str = "generals";

/// The executables of `suite` in cargo's `deps/` folder.
fn executables_of(suite: &str) -> Vec<std::path::PathBuf> {
    let prefix = format!("{suite}-");
    std::fs::read_dir(target_dir().join("debug").join("deps"))
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|path| {
                    let name = path.file_name().unwrap().to_string_lossy();
                    name.strip_prefix(&prefix).is_some_and(|hash| {
                        hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit())
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_next_topics_suite_is_built_once_a_verdict_is_shown() {
    let kit = Kit::new();
    // Only the watch below can build it again.
    for old in executables_of(NEXT_SUITE) {
        std::fs::remove_file(&old).unwrap();
    }
    let mut watch = kit.watch(&[]);
    watch.verdict(1);
    let started = Instant::now();
    // A first build of a suite, at the lowest priority, on a busy machine.
    let limit = Duration::from_secs(600);
    while executables_of(NEXT_SUITE).is_empty() {
        assert!(
            started.elapsed() < limit,
            "the {NEXT_SUITE} suite was not built ahead in {limit:?}:\n{}",
            watch.text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    watch.key("q");
    assert!(watch.wait_exit(Duration::from_secs(10)), "{}", watch.text());
}
