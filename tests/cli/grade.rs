//! `dscourse grade` on submissions that are broken or hostile: each loses
//! the points of the exercise it breaks, with a clear reason, and nothing
//! else; the grader itself always finishes and exits 0.

use crate::common;

use common::{with_body, TestKit, REFERENCE};
use serde_json::Value;
use std::path::{Path, PathBuf};

const RETRY: &str = "solutions/00_intro/retry.rs";

/// A student's folder holding a copy of the kit's exercises/ folder with
/// `pingpong` as the pingpong exercise and the reference of intro_retry.
fn submission(kit: &TestKit, student: &str, pingpong: &str) -> PathBuf {
    let dir = kit.path(&format!("class/{student}"));
    let exercises = dir.join("exercises/00_intro");
    std::fs::create_dir_all(&exercises).unwrap();
    std::fs::write(exercises.join("pingpong.rs"), pingpong).unwrap();
    std::fs::write(exercises.join("retry.rs"), kit.read(RETRY)).unwrap();
    dir
}

/// The reference pingpong with the body of `on_start` replaced by `body`.
fn pingpong_starting_with(kit: &TestKit, body: &str) -> String {
    with_body(&kit.read(REFERENCE), "fn on_start(", body)
}

fn report(dir: &Path, student: &str) -> Value {
    let path = dir.join(format!("{student}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("no report {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn exercise<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["exercises"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {report:#}"))
}

/// The tests of an exercise's report whose `field` is `value`.
fn tests_where<'a>(exercise: &'a Value, field: &str, value: bool) -> Vec<&'a Value> {
    exercise["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t[field] == value)
        .collect()
}

/// Asserts that `student` lost exactly the pingpong exercise, with
/// `status`, for a reason that says `why`, and kept intro_retry's points.
fn lost_pingpong_only(reports: &Path, student: &str, status: &str, why: &str) {
    let report = report(reports, student);
    let pingpong = exercise(&report, "intro_pingpong");
    let retry = exercise(&report, "intro_retry");
    assert_eq!(pingpong["score"], 0.0, "{student}: {pingpong:#}");
    assert_eq!(pingpong["status"], status, "{student}: {pingpong:#}");
    let reason = pingpong["reason"].as_str().unwrap().to_string()
        + &pingpong["tests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["output"].as_str().unwrap().to_string())
            .collect::<String>();
    assert!(
        reason.contains(why),
        "{student}: the reason does not say {why:?}: {pingpong:#}"
    );
    assert_eq!(
        retry["score"], 10.0,
        "{student}: intro_retry lost points: {retry:#}"
    );
    assert_eq!(retry["status"], "passed", "{student}: {retry:#}");
}

/// The class: each student's pingpong (intro_retry is the reference for
/// all), a reference, or broken or hostile in its own way.
fn class(kit: &TestKit) -> Vec<(&'static str, String)> {
    let fake = r#"println!("test pingpong::answers_every_ping ... ok\ntest result: ok. 4 passed; 0 failed");"#;
    let bomb = "struct Bomb;\n        impl Drop for Bomb {\n            fn drop(&mut self) {\n                panic!(\"a panic in drop\");\n            }\n        }\n        let _bomb = Bomb;\n        panic!(\"first panic\");";
    vec![
        ("good", kit.read(REFERENCE)),
        ("exits", pingpong_starting_with(kit, "std::process::exit(0)")),
        ("fakes", pingpong_starting_with(kit, &format!("{fake}\n        std::process::exit(0)"))),
        ("loops", pingpong_starting_with(kit, "loop {}")),
        (
            "recurses",
            pingpong_starting_with(
                kit,
                "fn deeper(n: u64) -> u64 {\n            1 + deeper(std::hint::black_box(n + 1))\n        }\n        self.seq = deeper(0);",
            ),
        ),
        (
            "hogs",
            pingpong_starting_with(
                kit,
                "let mut hog: Vec<Vec<u8>> = Vec::new();\n        loop {\n            hog.push(Vec::with_capacity(1 << 30));\n        }",
            ),
        ),
        (
            "threads",
            pingpong_starting_with(
                kit,
                "let _ = std::thread::spawn(|| loop {\n            std::thread::sleep(std::time::Duration::from_millis(1));\n        })\n        .join();",
            ),
        ),
        ("drops", pingpong_starting_with(kit, bomb)),
        (
            "writes",
            pingpong_starting_with(
                kit,
                "let _ = std::fs::write(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/../info.toml\"), \"format_version = 99\");\n        ctx.set_timer(Timer::Ping, PING_INTERVAL);",
            ),
        ),
        ("builds", kit.read(REFERENCE)),
        (
            // Ends the process only when restarted after a crash: one test
            // of four, which may take its neighbours down with it.
            "exits_once",
            pingpong_starting_with(
                kit,
                "if ctx.storage().get::<bool>(\"started\").is_some() {\n            std::process::exit(3);\n        }\n        ctx.storage().put(\"started\", &true);\n        ctx.set_timer(Timer::Ping, PING_INTERVAL);",
            ),
        ),
        ("broken", pingpong_starting_with(kit, "let count: u32 = \"not a number\";")),
    ]
}

/// Grades the students of the class named in `only` (all by default) and
/// checks what each one's grade must show.
fn grade_class(only: Option<&[&str]>, jobs: &str) {
    let kit = TestKit::new();
    kit.add_to_entry("intro_pingpong", "timeout_secs = 5");
    let students: Vec<(&str, String)> = class(&kit)
        .into_iter()
        .filter(|(student, _)| only.is_none_or(|names| names.contains(student)))
        .collect();
    for (student, pingpong) in &students {
        submission(&kit, student, pingpong);
    }
    if kit.exists("class/builds") {
        // A build script that would fail the build, and a manifest that
        // would pull in a crate that does not exist: neither is used.
        let builds = kit.path("class/builds/exercises");
        std::fs::write(
            builds.join("build.rs"),
            "fn main() { panic!(\"build scripts do not run\") }",
        )
        .unwrap();
        std::fs::write(
            builds.join("Cargo.toml"),
            kit.read("exercises/Cargo.toml")
                + "\n[dependencies.no-such-crate-anywhere]\nversion = \"99\"\n",
        )
        .unwrap();
    }
    let info_before = kit.read("info.toml");

    let run = kit.run(&[
        "grade",
        "--batch",
        "class",
        "--exercises",
        "intro_pingpong,intro_retry",
        "--format",
        "json",
        "--output",
        "grades",
        "--jobs",
        jobs,
    ]);
    run.code(0).no_crash();
    let reports = kit.path("grades");
    for (student, _) in &students {
        expect_grade(&reports, student);
    }

    // The instructor's kit is untouched; the gradebook has a row per student.
    assert_eq!(kit.read("info.toml"), info_before);
    let summary = kit.read("grades/summary.csv");
    assert!(
        summary.starts_with("student,intro_pingpong,intro_retry,total,max\n"),
        "{summary}"
    );
    assert_eq!(summary.lines().count(), students.len() + 1, "{summary}");
    for (student, row) in [("good", "good,5,10,15,15"), ("broken", "broken,0,10,10,15")] {
        if students.iter().any(|(name, _)| *name == student) {
            assert!(summary.contains(&format!("\n{row}\n")), "{summary}");
        }
    }
}

/// What the grade of each student of the class must show.
fn expect_grade(reports: &Path, student: &str) {
    match student {
        "good" => {
            let good = report(reports, "good");
            assert_eq!(good["score"], 15.0, "{good:#}");
            assert_eq!(good["max_score"], 15.0);
            // The hidden test of intro_retry ran, and is marked hidden.
            let hidden = tests_where(exercise(&good, "intro_retry"), "hidden", true);
            assert_eq!(hidden.len(), 1, "{good:#}");
        }
        "exits" | "fakes" => {
            lost_pingpong_only(reports, student, "unfinished", "std::process::exit")
        }
        "loops" => lost_pingpong_only(reports, student, "unfinished", "did not finish within 5 s"),
        "recurses" => lost_pingpong_only(reports, student, "unfinished", "stack overflowed"),
        "hogs" => lost_pingpong_only(reports, student, "unfinished", "out of memory"),
        "threads" => {
            lost_pingpong_only(reports, student, "unfinished", "did not finish within 5 s")
        }
        "drops" => lost_pingpong_only(reports, student, "unfinished", "aborted"),
        "writes" => {
            // The sandbox refuses the write: the kit and the grading copy
            // are as they were, and the code earns what it earns without it.
            let writes = report(reports, "writes");
            assert_eq!(writes["score"], 15.0, "{writes:#}");
        }
        "broken" => lost_pingpong_only(reports, student, "compile_error", "mismatched types"),
        "exits_once" => {
            // The one test that ends the process costs its share; the
            // others ran again, one at a time, and keep theirs.
            let exits_once = report(reports, "exits_once");
            let pingpong = exercise(&exits_once, "intro_pingpong");
            assert_eq!(pingpong["score"], 3.75, "{pingpong:#}");
            assert_eq!(pingpong["status"], "unfinished", "{pingpong:#}");
            let stuck = tests_where(pingpong, "passed", false);
            assert_eq!(stuck.len(), 1, "{pingpong:#}");
            assert_eq!(stuck[0]["name"], "pingpong::starts_afresh_after_a_crash");
            assert!(
                stuck[0]["output"].as_str().unwrap().contains("exit code 3"),
                "{pingpong:#}"
            );
        }
        "builds" => {
            let builds = report(reports, "builds");
            assert_eq!(builds["score"], 15.0, "{builds:#}");
            let ignored = builds["ignored"].to_string();
            assert!(
                ignored.contains("build.rs") && ignored.contains("Cargo.toml"),
                "{builds:#}"
            );
        }
        other => panic!("no expectation for student {other}"),
    }
}

/// One student for each way a grade can end (passed, a compile error, a
/// time limit, a process that ends mid-suite, files the build must not
/// use) beside a reference; the other attacks on a run are the whole
/// class's, and `hostile`'s.
const QUICK: [&str; 5] = ["good", "broken", "loops", "exits_once", "builds"];

#[test]
fn broken_submissions_lose_only_the_exercise_they_break() {
    // One grading slot: a second one is a second cold build of the
    // suites, which the whole class below (two slots) pays for in CI.
    grade_class(Some(&QUICK), "1");
}

/// The whole class (twelve students, half a minute on two cores): CI runs it.
#[test]
#[ignore = "grades 12 students; CI runs it with --ignored"]
fn hostile_and_broken_submissions_lose_only_the_exercise_they_break() {
    grade_class(None, "2");
}

#[test]
fn every_report_format_says_the_same_grade() {
    let kit = TestKit::new();
    // intro_pingpong solved, intro_retry left as its stub.
    let dir = kit.path("alice/exercises/00_intro");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("pingpong.rs"), kit.read(REFERENCE)).unwrap();
    std::fs::write(
        dir.join("retry.rs"),
        std::fs::read_to_string(common::repo().join("exercises/00_intro/retry.rs")).unwrap(),
    )
    .unwrap();
    // Graded once, into a report in each format.
    let formats = "table,json,gradescope,junit,classroom,csv";
    let run = kit.run(&[
        "grade", "alice", "--topic", "intro", "--format", formats, "-o", "reports",
    ]);
    run.code(0).no_crash().stderr_shows(
        "alice: 5 of 15 points; reports written to reports: report.txt, report.json, \
         results.json, report.xml, report.classroom.json, report.csv",
    );
    let grade = |format: &str| {
        let name = match format {
            "gradescope" => "results.json".to_string(),
            "classroom" => "report.classroom.json".to_string(),
            "junit" => "report.xml".to_string(),
            "table" => "report.txt".to_string(),
            other => format!("report.{other}"),
        };
        kit.read(&format!("reports/{name}"))
    };

    let table = grade("table");
    assert!(
        table.contains("intro_pingpong") && table.contains("5 / 5"),
        "{table}"
    );
    assert!(
        table.contains("total") && table.contains("5 / 15"),
        "{table}"
    );
    assert!(table.contains("the exercise is implemented"), "{table}");

    let json: Value = serde_json::from_str(&grade("json")).unwrap();
    assert_eq!(
        (json["score"].as_f64(), json["max_score"].as_f64()),
        (Some(5.0), Some(15.0))
    );

    let gradescope: Value = serde_json::from_str(&grade("gradescope")).unwrap();
    assert_eq!(gradescope["score"], 5.0);
    let tests = gradescope["tests"].as_array().unwrap();
    let total: f64 = tests.iter().map(|t| t["max_score"].as_f64().unwrap()).sum();
    assert!((total - 15.0).abs() < 0.05, "{gradescope:#}");
    assert!(tests
        .iter()
        .all(|t| ["passed", "failed"].contains(&t["status"].as_str().unwrap())));
    let hidden: Vec<_> = tests
        .iter()
        .filter(|t| t["visibility"] == "hidden")
        .collect();
    assert_eq!(
        hidden.len(),
        1,
        "one hidden test of intro_retry: {gradescope:#}"
    );
    assert!(hidden[0]["name"]
        .as_str()
        .unwrap()
        .starts_with("intro_retry: retry::"));

    let junit = grade("junit");
    assert!(junit.starts_with("<?xml"), "{junit}");
    assert!(
        junit.contains("<testsuite name=\"intro_pingpong\" tests=\"4\""),
        "{junit}"
    );
    // JUnit counts the same tests as results.json: all of intro_retry's fail.
    let retry = tests
        .iter()
        .filter(|t| t["name"].as_str().unwrap().starts_with("intro_retry: "))
        .count();
    assert!(retry > 1, "{gradescope:#}");
    assert!(
        junit.contains(&format!(
            "<testsuite name=\"intro_retry\" tests=\"{retry}\" skipped=\"0\" errors=\"0\" failures=\"{retry}\""
        )),
        "{junit}"
    );
    assert!(
        junit.contains("<failure message=\"property: the exercise is implemented\""),
        "{junit}"
    );

    let classroom: Value = serde_json::from_str(&grade("classroom")).unwrap();
    assert_eq!(classroom["version"], 1);
    assert_eq!(classroom["status"], "fail");
    assert_eq!(classroom["max_score"], 15.0);
    let scored: f64 = classroom["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["score"].as_f64().unwrap())
        .sum();
    assert!((scored - 5.0).abs() < 0.05, "{classroom:#}");

    let csv = grade("csv");
    assert_eq!(
        csv,
        "student,intro_pingpong,intro_retry,total,max\nalice,5,0,5,15\n"
    );
}

#[test]
fn the_grader_says_why_it_cannot_grade() {
    let kit = TestKit::new();
    kit.run(&["grade", "nowhere"])
        .code(2)
        .stderr_shows("nowhere is not a folder");
    std::fs::create_dir_all(kit.path("empty")).unwrap();
    kit.run(&["grade", "empty"])
        .code(2)
        .stderr_shows("holds none of the course's exercise files");
    kit.run(&["grade", "exercises", "--exercises", "intro_pingpon"])
        .code(2)
        .stderr_shows("intro_pingpong");
    kit.run(&["grade", "exercises", "--topic", "astrology"])
        .code(2)
        .stderr_shows("the topics are: intro");
    kit.run(&["grade"])
        .code(2)
        .stderr_shows("give the submission to grade");
    kit.run(&["grade", "exercises", "--format", "junit,csv"])
        .code(2)
        .stderr_shows("several formats need --output DIR");
    // With several formats, Gradescope's results.json in the folder says why.
    kit.run(&[
        "grade",
        "nowhere",
        "--format",
        "csv,gradescope",
        "-o",
        "reports",
    ])
    .code(2);
    assert!(
        kit.read("reports/results.json")
            .contains("could not be graded"),
        "{}",
        kit.read("reports/results.json")
    );
}
