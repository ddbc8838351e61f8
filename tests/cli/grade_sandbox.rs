//! The sandbox takes nothing a correct submission needs: the references,
//! submitted as a learner's code, earn every point of every topic, the
//! event store's real files and writer processes and the cache server's
//! sockets included. And a suite that may start processes still cannot
//! leave one behind.

#![cfg(target_os = "linux")]

use crate::common;

use common::{grading_dir, TestKit};
use serde_json::Value;

/// The event store's reference, with an `open` that also starts a copy of
/// the suite binary meant to outlive its run (once per process), once in a
/// process group of its own (which the sandbox refuses) and once in the
/// run's group (which the runner kills and waits for).
fn store_that_leaves_a_process(reference: &str) -> String {
    let lingering = r#"
        if std::env::var_os("LINGER").is_some() {
            let _ = std::fs::write(std::env::temp_dir().join("lingering"), std::process::id().to_string());
            loop {
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
        }
        static STARTED: std::sync::Once = std::sync::Once::new();
        STARTED.call_once(|| {
            use std::os::unix::process::CommandExt;
            let me = std::env::current_exe().expect("the suite binary");
            let scratch = std::env::temp_dir().join("linger.log");
            let lingerer = || {
                let mut cmd = std::process::Command::new(&me);
                cmd.env("DSCOURSE_EVENTS_WRITER_FILE", &scratch)
                    .env("LINGER", "1")
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null());
                cmd
            };
            let escaped = lingerer().process_group(0).spawn();
            assert!(escaped.is_err(), "a process left the run's process group");
            let _ = lingerer().spawn();
        });
"#;
    let open = reference
        .find("pub fn open(path: &Path)")
        .expect("the store has open");
    let body = open + reference[open..].find('{').unwrap() + 1;
    let mut text = reference.to_string();
    text.insert_str(body, lingering);
    text
}

/// The exercises whose references use what the sandbox must leave them:
/// the event store's files and writer processes, the cache server's
/// sockets.
const NEEDS_THE_MOST: &str = "events_store,events_snapshots,cache_server";

#[test]
fn the_references_that_use_files_processes_and_sockets_earn_every_point() {
    references_earn_every_point(Some(NEEDS_THE_MOST));
}

/// Every topic (a grading build of each suite, about a minute on two
/// cores): CI runs it.
#[test]
#[ignore = "grades all 62 references; CI runs it with --ignored"]
fn the_references_earn_every_point_in_the_sandbox() {
    references_earn_every_point(None);
}

/// Grades the references (of the exercises `only` names, comma-separated,
/// or all) in the sandbox: every point, no process left behind.
fn references_earn_every_point(only: Option<&str>) {
    if !common::sandbox_expected() {
        return;
    }
    let kit = TestKit::new();
    let exercises = kit.path("class/reference/exercises");
    for exercise in kit.exercise_names() {
        let file = kit.manifest()["exercises"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"].as_str() == Some(&exercise))
            .unwrap()["file"]
            .as_str()
            .unwrap()
            .to_string();
        let mut text = kit.read(&format!("solutions/{file}"));
        if exercise == "events_store" {
            text = store_that_leaves_a_process(&text);
        }
        let path = exercises.join(&file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    let mut args = vec![
        "grade",
        "class/reference",
        "--format",
        "json",
        "--require-sandbox",
        "--output",
        "reference.json",
    ];
    if let Some(names) = only {
        args.extend(["--exercises", names]);
    }
    let run = kit.run(&args);
    run.code(0).no_crash();
    let report: Value = serde_json::from_str(&kit.read("reference.json")).unwrap();
    let graded = report["exercises"].as_array().unwrap();
    let expected = only.map_or(kit.exercise_names().len(), |names| names.split(',').count());
    assert_eq!(graded.len(), expected, "{report:#}");
    for exercise in graded {
        let (score, points) = (exercise["score"].as_f64(), exercise["points"].as_f64());
        assert!(
            (score.unwrap() - points.unwrap()).abs() < 1e-6 && exercise["status"] == "passed",
            "the reference loses points in the sandbox: {exercise:#}"
        );
    }
    let sandbox = report["sandbox"].as_str().unwrap();
    assert!(
        sandbox.contains("landlock") && sandbox.contains("seccomp"),
        "{sandbox}"
    );
    assert!(
        common::processes_from(&grading_dir()).is_empty(),
        "a process the event store started outlived its run: {:?}",
        common::processes_from(&grading_dir())
    );

    // Graded alone, so that its scratch folder is the last one: a lingering
    // process did start there, and is gone too.
    kit.run(&[
        "grade",
        "class/reference",
        "--exercises",
        "events_store",
        "--require-sandbox",
    ])
    .code(0)
    .no_crash();
    let started = std::fs::read_dir(grading_dir())
        .unwrap()
        .flatten()
        .any(|kit| kit.path().join("slot-0/scratch/lingering").is_file());
    assert!(
        started,
        "no lingering process started: the test shows nothing"
    );
    assert!(
        common::processes_from(&grading_dir()).is_empty(),
        "{:?}",
        common::processes_from(&grading_dir())
    );
}
