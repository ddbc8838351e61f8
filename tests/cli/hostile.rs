//! The corpus of hostile submissions in `tests/hostile/` (its README says
//! how an attack is written): every attack graded in one batch, in one
//! grading slot, each followed by a classmate's clean submission, and then
//! every report, everything the grader printed, the instructor's kit and
//! the machine's processes checked.

#![cfg(target_os = "linux")]

use crate::common;

use common::{dscourse_with_env, grading_dir, TestKit};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One attack, as `attack.toml` describes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Attack {
    class: u32,
    what: String,
    #[serde(default)]
    only_these: bool,
    #[serde(default)]
    files: Vec<FileSpec>,
    #[serde(default)]
    links: Vec<LinkSpec>,
    #[serde(default)]
    expect: BTreeMap<String, Expect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    path: String,
    exercise: Option<String>,
    base: Option<String>,
    on_start: Option<String>,
    append: Option<String>,
    text: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkSpec {
    path: String,
    to: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    score: f64,
    status: Option<String>,
    reason: Option<String>,
}

/// The topic every attack is graded on, and its files.
const TOPIC: &str = "intro";
const FILES: [&str; 2] = ["00_intro/pingpong.rs", "00_intro/retry.rs"];
/// What each exercise of the topic is worth.
const POINTS: [(&str, f64); 2] = [("intro_pingpong", 5.0), ("intro_retry", 10.0)];

/// What an attack that succeeded puts in its panic message.
const LEAKED: &str = "LEAKED";
/// Planted where an attack may look: a classmate's code, the earlier
/// gradebook, the grader's environment and command line.
const CLASSMATE: &str = "CLASSMATE-MARKER";
const GRADEBOOK: &str = "PREVIOUS-GRADEBOOK-MARKER";
const GRADER_ENV: &str = "GRADER-ENV-MARKER";
const GRADES_DIR: &str = "gradebook-CMDLINE-MARKER";
/// Words of the hidden test of intro_retry, which no report may show.
const HIDDEN_SOURCE: &str = "Four hundred requests in half a second";

fn corpus() -> PathBuf {
    common::repo().join("tests").join("hostile")
}

fn attacks() -> Vec<(String, Attack)> {
    let mut found: Vec<(String, Attack)> = std::fs::read_dir(corpus())
        .expect("tests/hostile exists")
        .flatten()
        .filter(|entry| entry.path().join("attack.toml").is_file())
        .map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(entry.path().join("attack.toml")).unwrap();
            let attack: Attack = toml::from_str(&text)
                .unwrap_or_else(|e| panic!("tests/hostile/{name}/attack.toml: {e}"));
            (name, attack)
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

/// `text` with the corpus's placeholders filled in.
fn fill(text: &str, kit: &TestKit) -> String {
    text.replace("@KIT@", &kit.root().display().to_string())
        .replace("@CLASS@", &kit.path("class").display().to_string())
        .replace("@GRADES@", &kit.path(GRADES_DIR).display().to_string())
}

/// The text of a file of an attack.
fn file_text(kit: &TestKit, spec: &FileSpec) -> String {
    if let Some(text) = &spec.text {
        return fill(text, kit);
    }
    let exercise = spec
        .exercise
        .as_deref()
        .unwrap_or_else(|| panic!("{}: give `text`, or `exercise` and `base`", spec.path));
    let mut text = match spec.base.as_deref() {
        Some("stub") => {
            std::fs::read_to_string(common::repo().join("exercises").join(exercise)).unwrap()
        }
        Some("reference") | None => kit.read(&format!("solutions/{exercise}")),
        Some(other) => panic!("{}: no base {other:?}", spec.path),
    };
    if let Some(code) = &spec.on_start {
        let start = text
            .find("fn on_start(")
            .unwrap_or_else(|| panic!("{exercise} has no fn on_start"));
        let open = start + text[start..].find('{').unwrap() + 1;
        text.insert_str(open, &format!("\n{}\n", fill(code, kit)));
    }
    if let Some(code) = &spec.append {
        text += "\n";
        text += &fill(code, kit);
    }
    text
}

/// Writes a student's folder for `attack`.
fn write_attack(kit: &TestKit, dir: &Path, attack: &Attack) {
    std::fs::create_dir_all(dir).unwrap();
    if !attack.only_these {
        for file in FILES {
            let listed = attack
                .files
                .iter()
                .any(|f| f.path == format!("exercises/{file}"));
            let linked = attack.links.iter().any(|l| l.path == "exercises");
            if !listed && !linked {
                write(
                    &dir.join("exercises").join(file),
                    &kit.read(&format!("solutions/{file}")),
                );
            }
        }
    }
    for spec in &attack.files {
        write(&dir.join(&spec.path), &file_text(kit, spec));
    }
    for link in &attack.links {
        std::os::unix::fs::symlink(fill(&link.to, kit), dir.join(&link.path)).unwrap();
    }
}

/// A classmate's clean submission: the references, with a marker no other
/// student's report may show.
fn write_classmate(kit: &TestKit, dir: &Path) {
    for file in FILES {
        let text = kit.read(&format!("solutions/{file}")) + &format!("\n// {CLASSMATE}\n");
        write(&dir.join("exercises").join(file), &text);
    }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Every file of the kit (not the class, the reports or the runner's
/// state) with its contents.
fn snapshot(kit: &TestKit) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![kit.root().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if dir == kit.root()
                && ["class", GRADES_DIR, ".dscourse"].contains(&&*name.to_string_lossy())
            {
                continue;
            }
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                files.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

fn exercise<'r>(report: &'r Value, name: &str) -> &'r Value {
    report["exercises"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {report:#}"))
}

/// One attack on each stage of grading, none of them one that must run
/// into a compiler limit (those take their limit's seconds): the build
/// (reading a hidden file), the run (reading the instructor's files,
/// forging the result channel, outliving the suite) and the report (escape
/// sequences).
const QUICK: [&str; 5] = [
    "01-path-absolute",
    "04-read-at-run-time",
    "05-forge-results",
    "06-outlive-the-suite",
    "15-terminal-escapes",
];

#[test]
fn an_attack_on_each_stage_earns_only_what_its_honest_code_earns() {
    grade_corpus(Some(&QUICK));
}

/// The whole corpus (two minutes on two cores): CI runs it.
#[test]
#[ignore = "grades 30 submissions; CI runs it with --ignored"]
fn every_hostile_submission_earns_only_what_its_honest_code_earns() {
    grade_corpus(None);
}

/// Grades the attacks `picked` names (or all of the corpus), each followed
/// by a clean classmate in the same slot, and checks every report, what the
/// grader printed, the kit and the processes left behind.
fn grade_corpus(picked: Option<&[&str]>) {
    if !common::sandbox_expected() {
        return;
    }
    let kit = TestKit::new();
    let mut attacks = attacks();
    match picked {
        None => assert!(attacks.len() >= 9, "the corpus covers every class"),
        Some(names) => {
            attacks.retain(|(name, _)| names.contains(&name.as_str()));
            assert_eq!(
                attacks.len(),
                names.len(),
                "every picked attack is in the corpus"
            );
        }
    }
    assert!(
        kit.read("checker/hidden/intro/retry.rs")
            .contains(HIDDEN_SOURCE),
        "the hidden test's words this test looks for are still in it"
    );
    let class = kit.path("class");
    for (name, attack) in &attacks {
        assert!(
            (1..=9).contains(&attack.class),
            "{name}: class {}",
            attack.class
        );
        assert!(!attack.what.is_empty(), "{name}: say what it does");
        write_attack(&kit, &class.join(name), attack);
        write_classmate(&kit, &class.join(format!("{name}-zz-classmate")));
    }
    write(
        &kit.path(GRADES_DIR).join("summary.csv"),
        &format!("student,total\n{GRADEBOOK},15\n"),
    );
    let before = snapshot(&kit);

    let run = dscourse_with_env(
        kit.root(),
        &[
            "grade",
            "--batch",
            "class",
            "--topic",
            TOPIC,
            "--format",
            "json",
            "--output",
            GRADES_DIR,
            "--jobs",
            "1",
            "--require-sandbox",
            "--compile-time-limit",
            "10",
            "--compile-memory-limit",
            "1536",
        ],
        &[("DSCOURSE_TEST_SECRET", GRADER_ENV)],
    );
    run.code(0).no_crash();

    // What the grader printed and what it wrote hold no secret and no
    // escape sequence.
    let printed = run.text();
    for secret in [LEAKED, CLASSMATE, GRADEBOOK, GRADER_ENV, HIDDEN_SOURCE] {
        assert!(
            !printed.contains(secret),
            "the grader printed {secret:?}:\n{printed}"
        );
    }
    assert!(
        !printed.contains('\u{1b}'),
        "an escape sequence reached the terminal:\n{printed}"
    );
    let mut reports = BTreeMap::new();
    for (name, _) in &attacks {
        for student in [name.clone(), format!("{name}-zz-classmate")] {
            let path = kit.path(GRADES_DIR).join(format!("{student}.json"));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("no report for {student}: {e}\n{printed}"));
            for secret in [LEAKED, GRADEBOOK, GRADER_ENV, GRADES_DIR, HIDDEN_SOURCE] {
                assert!(
                    !text.contains(secret),
                    "{student}'s report shows {secret:?}:\n{text}"
                );
            }
            if !student.ends_with("classmate") {
                assert!(
                    !text.contains(CLASSMATE),
                    "{student}'s report shows a classmate's code:\n{text}"
                );
            }
            assert!(
                !text.contains("\\u001b"),
                "{student}'s report holds an escape:\n{text}"
            );
            reports.insert(student, serde_json::from_str::<Value>(&text).unwrap());
        }
    }

    for (name, attack) in &attacks {
        let report = &reports[name];
        assert!(
            report["sandbox"].as_str().unwrap().contains("landlock"),
            "{name}: {report:#}"
        );
        for (exercise_name, points) in POINTS {
            let grade = exercise(report, exercise_name);
            match attack.expect.get(exercise_name) {
                Some(expect) => {
                    assert_eq!(
                        grade["score"], expect.score,
                        "{name}, {exercise_name}: {grade:#}"
                    );
                    if let Some(status) = &expect.status {
                        assert_eq!(
                            &grade["status"], status,
                            "{name}, {exercise_name}: {grade:#}"
                        );
                    }
                    if let Some(reason) = &expect.reason {
                        assert!(
                            grade["reason"].as_str().unwrap().contains(reason.as_str()),
                            "{name}, {exercise_name}: the reason does not say {reason:?}: {grade:#}"
                        );
                    }
                }
                None => assert_eq!(
                    grade["score"], points,
                    "{name}: {exercise_name} lost points it earns: {grade:#}"
                ),
            }
        }
        // The next student, graded in the same slot after this attack,
        // keeps every point.
        let classmate = &reports[&format!("{name}-zz-classmate")];
        assert_eq!(classmate["score"], 15.0, "after {name}: {classmate:#}");
        assert!(
            report["seconds"].as_f64().unwrap() < 180.0,
            "{name} took the grader too long: {report:#}"
        );
    }

    // The instructor's kit is as it was, nothing planted a cargo
    // configuration, and nothing a run started is still running.
    let after = snapshot(&kit);
    let changed: Vec<&PathBuf> = before
        .iter()
        .filter(|(path, bytes)| after.get(*path) != Some(bytes))
        .map(|(path, _)| path)
        .chain(after.keys().filter(|path| !before.contains_key(*path)))
        .collect();
    assert!(changed.is_empty(), "the kit changed: {changed:?}");
    for config in ["/tmp/.cargo/config.toml", "/root/.cargo/config.toml"] {
        let text = std::fs::read_to_string(config).unwrap_or_default();
        assert!(!text.contains("hostile"), "{config} was written");
    }
    assert_eq!(common::processes_from(&grading_dir()), Vec::<String>::new());
}
