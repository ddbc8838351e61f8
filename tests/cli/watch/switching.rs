//! Moving to another exercise: by saving its file, and by its number in the
//! list.

use crate::watch::harness::{stub_of, Kit, FILE, OTHER_FILE};
use std::fs;
use std::time::Duration;

/// The exercise the progress file records as chosen.
fn chosen(kit: &Kit) -> Option<String> {
    let text = fs::read_to_string(kit.path(".dscourse/state.json")).ok()?;
    let state: serde_json::Value = serde_json::from_str(&text).ok()?;
    state["current"].as_str().map(str::to_string)
}

/// Whether the verdict's first line names `exercise`.
fn is_about(lines: &[String], exercise: &str) -> bool {
    lines
        .iter()
        .find(|l| l.contains(" tests pass") || l.contains("does not compile"))
        .is_some_and(|l| l.trim_start().starts_with(&format!("{exercise} ")))
}

#[test]
fn saving_another_exercises_file_switches_to_it() {
    let kit = Kit::new();
    let mut watch = kit.watch(&[]);
    assert!(is_about(&watch.verdict_lines(1), "intro_pingpong"));

    let from = watch.output().len();
    fs::write(
        kit.path(OTHER_FILE),
        format!("{}\n// my work\n", stub_of(OTHER_FILE)),
    )
    .unwrap();
    watch.wait_for(from, "the switch to intro_retry", |l| {
        l.contains("Switched to intro_retry: you saved exercises/00_intro/retry.rs")
    });
    let second = watch.verdict_lines(2);
    assert!(is_about(&second, "intro_retry"), "{}", watch.text());
    assert_eq!(chosen(&kit).as_deref(), Some("intro_retry"));

    // Saving the first exercise's file goes back to it.
    let from = watch.output().len();
    fs::write(kit.path(FILE), format!("{}\n// mine\n", kit.stub())).unwrap();
    watch.wait_for(from, "the switch back", |l| {
        l.contains("Switched to intro_pingpong")
    });
    assert!(
        is_about(&watch.verdict_lines(3), "intro_pingpong"),
        "{}",
        watch.text()
    );
    assert_eq!(chosen(&kit).as_deref(), Some("intro_pingpong"));
    watch.key("q");
    assert!(watch.wait_exit(Duration::from_secs(10)));
}

#[test]
fn a_number_in_the_list_switches_to_that_exercise() {
    let kit = Kit::new();
    let mut watch = kit.watch(&[]);
    watch.verdict(1);

    let from = watch.output().len();
    watch.key("l");
    watch.wait_for(from, "the list", |l| l.contains("intro_retry"));
    watch.wait_for(from, "the list's prompt", |l| {
        l.contains("type an exercise's number and Enter")
    });
    watch.key("2");
    watch.wait_for(from, "the switch", |l| {
        l.contains("Switched to intro_retry. Open exercises/00_intro/retry.rs")
    });
    assert!(
        is_about(&watch.verdict_lines(2), "intro_retry"),
        "{}",
        watch.text()
    );
    assert_eq!(chosen(&kit).as_deref(), Some("intro_retry"));

    // A number the list does not have changes nothing.
    let from = watch.output().len();
    watch.key("l");
    watch.key("999");
    watch.wait_for(from, "the refusal", |l| {
        l.contains("There is no exercise 999")
    });
    assert_eq!(chosen(&kit).as_deref(), Some("intro_retry"));

    // Any other key leaves the list without acting on it.
    let from = watch.output().len();
    watch.key("l");
    watch.wait_for(from, "the list", |l| {
        l.contains("type an exercise's number and Enter")
    });
    watch.key("x");
    watch.key("1");
    watch.key("l");
    watch.key("1");
    watch.wait_for(from, "the switch back", |l| {
        l.contains("Switched to intro_pingpong.")
    });
    assert!(
        !watch.output()[from..].iter().any(|l| l.contains("(y/n)")),
        "x in the list is not reset:\n{}",
        watch.text()
    );
    assert!(
        is_about(&watch.verdict_lines(3), "intro_pingpong"),
        "{}",
        watch.text()
    );
    watch.key("q");
    assert!(watch.wait_exit(Duration::from_secs(10)));
}
