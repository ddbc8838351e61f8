//! `dscourse dev strip` and `dscourse dev gradescope`: what an instructor
//! hands out, and what grades on Gradescope's machines.

use crate::common;

use common::{copy_kit, dscourse, grading_dir, shared_target_dir, TestKit, REFERENCE};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// A new folder beside the kit copy, removed at the end.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(kit: &TestKit, name: &str) -> Scratch {
        let dir = kit.root().with_file_name(format!(
            "{}-{name}",
            kit.root().file_name().unwrap().to_string_lossy()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_file(dir.with_extension("zip"));
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        let _ = std::fs::remove_file(self.0.with_extension("zip"));
    }
}

#[test]
fn a_student_distribution_has_no_solutions_and_still_works() {
    let kit = TestKit::new();
    let out = Scratch::new(&kit, "students");
    let dist = out.0.to_str().unwrap();
    kit.run(&["dev", "strip", dist])
        .code(0)
        .stdout_shows("solutions/");
    let dist = Path::new(dist);
    for gone in ["solutions", "checker/hidden", "tests", ".ci"] {
        assert!(
            !dist.join(gone).exists(),
            "{gone} is in the student distribution"
        );
    }
    assert!(dist.join("checker/stubs/00_intro/pingpong.rs").is_file());
    let manifest = std::fs::read_to_string(dist.join("Cargo.toml")).unwrap();
    assert!(!manifest.contains("\"solutions\""), "{manifest}");
    // A second strip into the same folder is refused, not merged.
    kit.run(&["dev", "strip", out.0.to_str().unwrap()])
        .code(2)
        .stderr_shows("not empty");

    // The learner's commands work there; the reference is not to be had.
    dscourse(dist, &["list"])
        .code(0)
        .stdout_shows("intro_pingpong");
    dscourse(dist, &["run", "intro_pingpong"])
        .code(1)
        .stdout_shows("the exercise is implemented");
    dscourse(dist, &["solution", "intro_pingpong", "--force"])
        .code(1)
        .stderr_shows("no reference solutions");
    std::fs::write(
        dist.join("exercises/00_intro/pingpong.rs"),
        kit.read(REFERENCE),
    )
    .unwrap();
    dscourse(dist, &["run", "intro_pingpong"])
        .code(0)
        .stdout_shows("Passed.")
        .hides("diff");
}

/// The student distribution's own `cargo test` (a whole second build of the
/// workspace, a minute and more on two cores): CI runs it.
#[test]
#[ignore = "a whole build of the distribution; CI runs it with --ignored"]
fn cargo_test_passes_in_a_student_distribution() {
    let kit = TestKit::new();
    let out = Scratch::new(&kit, "students");
    kit.run(&["dev", "strip", out.0.to_str().unwrap()]).code(0);
    let test = Command::new(env!("CARGO"))
        .args(["test", "--quiet"])
        .current_dir(&out.0)
        .env("CARGO_TARGET_DIR", shared_target_dir().join("stripped"))
        .output()
        .unwrap();
    assert!(
        test.status.success(),
        "cargo test fails in the student distribution:\n{}",
        String::from_utf8_lossy(&test.stderr)
    );
}

#[test]
fn the_gradescope_bundle_grades_a_submission_into_results_json() {
    let kit = TestKit::new();
    let out = Scratch::new(&kit, "gradescope");
    kit.run(&["dev", "gradescope", out.0.to_str().unwrap(), "--no-vendor"])
        .code(0)
        .stdout_shows("Gradescope");
    let bundle = &out.0;
    for script in ["setup.sh", "run_autograder"] {
        let path = bundle.join(script);
        assert!(path.is_file(), "no {script}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert!(mode & 0o111 != 0, "{script} is not executable");
        }
    }
    assert!(
        bundle.join("kit/checker/hidden").is_dir(),
        "the bundle grades with the hidden tests"
    );
    let setup = std::fs::read_to_string(bundle.join("setup.sh")).unwrap();
    assert!(setup.contains("--default-toolchain 1."), "{setup}");
    let script = std::fs::read_to_string(bundle.join("run_autograder")).unwrap();
    assert!(script.contains("--require-sandbox"), "{script}");

    // Gradescope's layout: the bundle unpacked in source/, the student's
    // files (uploaded by themselves) in submission/. The bundle's kit takes
    // the place of this test's copy: grading copies are kept per kit folder
    // and share one target folder, so a kit graded from another folder would
    // rebuild the kit's crates there, and the next test's grading would
    // rebuild them again.
    for entry in std::fs::read_dir(kit.root()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            std::fs::remove_dir_all(&path).unwrap();
        } else {
            std::fs::remove_file(&path).unwrap();
        }
    }
    copy_kit(&bundle.join("kit"), kit.root()).unwrap();
    let root = bundle.join("autograder");
    std::fs::create_dir_all(root.join("source")).unwrap();
    std::os::unix::fs::symlink(kit.root(), root.join("source/kit")).unwrap();
    std::fs::create_dir_all(root.join("submission")).unwrap();
    std::fs::write(root.join("submission/pingpong.rs"), kit.read(REFERENCE)).unwrap();
    let run_autograder = |extra: &[&str]| {
        Command::new(bundle.join("run_autograder"))
            .args(extra)
            .env("AUTOGRADER", &root)
            .env("DSCOURSE", env!("CARGO_BIN_EXE_dscourse"))
            .env("CARGO_TARGET_DIR", shared_target_dir())
            .env("DSCOURSE_GRADE_DIR", grading_dir())
            .output()
            .unwrap()
    };
    let ran = run_autograder(&["--topic", "intro"]);
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("results/results.json")).unwrap())
            .unwrap();
    assert_eq!(results["score"], 5.0, "{results:#}");
    assert!(
        results["output"]
            .as_str()
            .unwrap()
            .contains("sandbox: landlock"),
        "{results:#}"
    );
    // One entry per test of the topic's two exercises (however many tests
    // their groups hold), some of them hidden from the student.
    let tests = results["tests"].as_array().unwrap();
    for exercise in ["intro_pingpong: ", "intro_retry: "] {
        assert!(
            tests
                .iter()
                .any(|t| t["name"].as_str().unwrap().starts_with(exercise)),
            "no test of {exercise}: {results:#}"
        );
    }
    assert!(
        tests.iter().all(|t| {
            let name = t["name"].as_str().unwrap();
            name.starts_with("intro_pingpong: ") || name.starts_with("intro_retry: ")
        }),
        "{results:#}"
    );
    assert!(tests.iter().any(|t| t["visibility"] == "hidden"));

    // A submission without any exercise file: results.json says why.
    std::fs::remove_file(root.join("submission/pingpong.rs")).unwrap();
    let ran = run_autograder(&[]);
    assert_eq!(ran.status.code(), Some(2));
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("results/results.json")).unwrap())
            .unwrap();
    assert_eq!(results["score"], 0.0);
    assert!(
        results["output"]
            .as_str()
            .unwrap()
            .contains("could not be graded"),
        "{results:#}"
    );
}
