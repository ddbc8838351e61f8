//! `dscourse dev check`, as a course author runs it: it passes on the kit,
//! and fails on a stub that passes its suite or on an exercise file that
//! belongs to no exercise. The real binary on a private copy of the kit (see
//! `common`).
//!
//! The suites run here are a few exercises' (`dev check NAME…`; the
//! manifest, the files, the hints and every stub are checked whole either
//! way): running all 62 takes minutes, and CI runs the whole `dev check` as
//! a step of its own.

use crate::common;

use common::{line_of, TestKit, EX, FILE, REFERENCE};

#[test]
fn dev_check_passes_on_the_kit() {
    let kit = TestKit::new();
    let chosen = [EX, "clocks_lamport"];
    let run = kit.run(&["dev", "check", chosen[0], chosen[1]]);
    let total = kit.exercise_names().len();
    run.code(0)
        .stdout_shows("ok: every stub compiles and fails, every solution passes")
        .stdout_shows(&format!("(2 of {total} exercises run)"))
        .hides("problem:");
    for name in chosen {
        run.stderr_shows(name);
    }
}

#[test]
fn dev_check_fails_when_a_stub_passes_its_suite() {
    let kit = TestKit::new();
    kit.write(FILE, kit.read(REFERENCE));
    let line = line_of(&kit.read("info.toml"), &format!("name = \"{EX}\""));
    let run = kit.run(&["dev", "check", EX]);
    run.code(1)
        .stdout_shows(&format!(
            "problem: info.toml:{line} ({EX}): the stub passes its suite"
        ))
        .stdout_shows(&format!(
            "problem: {FILE} differs from the stub made from {REFERENCE}"
        ))
        .hides("ok: every stub");
}

#[test]
fn dev_check_fails_on_an_exercise_file_that_belongs_to_no_exercise() {
    let kit = TestKit::new();
    kit.write("exercises/00_intro/stray.rs", "pub fn stray() {}\n");
    // Stray files are looked for whole, whichever suites run.
    let run = kit.run(&["dev", "check", "clocks_lamport"]);
    run.code(1)
        .stdout_shows("problem: exercises/00_intro/stray.rs belongs to no exercise in info.toml")
        .hides("ok: every stub");
}
