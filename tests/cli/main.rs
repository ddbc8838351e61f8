//! The `dscourse` runner, driven as a learner drives it: the real binary on
//! a private copy of the kit (see `common`): `list`, `run`, `hint`, `reset`,
//! `solution`, the progress file, and finding the kit from a subfolder.
//! Malformed manifests and misbehaving learner code are tested in
//! `bad_input.rs`, `dev check` in `dev_check.rs`.
//!
//! Tests that check code build the intro suite in `target/cli-tests`; the
//! first build there compiles the registry crates (about a minute), later
//! ones only the learner's crate and the suite.

#[path = "../common/mod.rs"]
mod common;

// The runner's other integration tests: one test binary, so that the kit's
// `cargo test` compiles and links the tests and their helpers once.
mod bad_input;
mod command_form;
mod dev_check;
mod dev_new;
mod diff;
mod distribute;
mod grade;
mod grade_intake;
mod grade_sandbox;
mod hostile;
mod nondeterminism;
mod replay;
mod serve;
mod watch;

use common::{dscourse, reference_with, stub, TestKit, EX, FILE, REFERENCE};

/// The status of exercise `name` in `list`'s table.
fn table_status(table: &str, name: &str) -> String {
    table
        .lines()
        .find_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            (words.get(1) == Some(&name)).then(|| words[2].to_string())
        })
        .unwrap_or_else(|| panic!("no row for {name} in:\n{table}"))
}

/// What `list` should say of each exercise, in order, when `done` passed and
/// `current` is the chosen exercise.
fn expected_statuses(
    names: &[String],
    done: &[&str],
    current: Option<&str>,
) -> Vec<(String, &'static str)> {
    let current = current
        .filter(|c| !done.contains(c))
        .map(str::to_string)
        .or_else(|| names.iter().find(|n| !done.contains(&n.as_str())).cloned());
    names
        .iter()
        .map(|n| {
            let status = if done.contains(&n.as_str()) {
                "done"
            } else if current.as_deref() == Some(n.as_str()) {
                "current"
            } else {
                "pending"
            };
            (n.clone(), status)
        })
        .collect()
}

fn check_list(kit: &TestKit, done: &[&str], current: Option<&str>) {
    let names = kit.exercise_names();
    let expected = expected_statuses(&names, done, current);
    let counted = done
        .iter()
        .filter(|d| names.iter().any(|n| n == *d))
        .count();

    let table = kit.run(&["list"]);
    table
        .code(0)
        .stdout_shows("exercise")
        .stdout_shows("status")
        .stdout_shows(FILE);
    table.stdout_shows(&format!("] {counted}/{}", names.len()));
    for (name, status) in &expected {
        assert_eq!(
            &table_status(&table.stdout, name),
            status,
            "status of {name}\n{table}"
        );
    }

    let json = kit.run(&["list", "--json"]);
    json.code(0);
    let rows: serde_json::Value = serde_json::from_str(&json.stdout)
        .unwrap_or_else(|e| panic!("list --json is not JSON ({e})\n{json}"));
    let rows = rows.as_array().expect("list --json prints an array");
    let got: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = expected
        .iter()
        .map(|(n, s)| (n.clone(), s.to_string()))
        .collect();
    assert_eq!(got, want, "list --json\n{json}");
    let first = &rows[0];
    assert_eq!(first["file"], FILE);
    assert_eq!(first["topic"], "intro");
    assert!(
        first["points"].as_u64().is_some_and(|p| p > 0),
        "points in {first}"
    );
}

#[test]
fn list_shows_done_current_and_pending_as_a_table_and_as_json() {
    let kit = TestKit::new();
    // A course of at least three exercises, whatever the kit holds today.
    let mut manifest = kit.read("info.toml");
    manifest += "\n[[exercises]]\nname = \"intro_pingpong_again\"\ntopic = \"intro\"\nfile = \"00_intro/pingpong.rs\"\nsuite = \"intro\"\ngroup = \"pingpong\"\npoints = 1\nhints = [\"one\", \"two\"]\n";
    kit.write("info.toml", manifest);
    let names = kit.exercise_names();
    assert!(names.len() >= 3 && names[0] == EX, "{names:?}");
    let last = names.last().unwrap().as_str();

    // A new learner: the first exercise is current, the others pending.
    check_list(&kit, &[], None);
    // Once it passes, it is done and the next one is current.
    kit.set_state(&[EX], None);
    check_list(&kit, &[EX], None);
    // An exercise the learner chose is current, ahead of the first unfinished.
    kit.set_state(&[EX], Some(last));
    check_list(&kit, &[EX], Some(last));
    // Exercises the course no longer has are not counted.
    kit.set_state(&[EX, "intro_gone"], None);
    check_list(&kit, &[EX], None);
    kit.run(&["list"]).code(0).hides("intro_gone");
}

#[test]
fn run_on_the_stub_fails_naming_the_property_and_the_file() {
    let kit = TestKit::new();
    let run = kit.run(&["run", EX]);
    run.code(1)
        .stdout_shows(&format!(" {EX} "))
        .stdout_shows("0 of ")
        .stdout_shows("✗ the exercise is implemented")
        .stdout_shows(&format!("\n {FILE}\n"))
        .stdout_shows("not yet implemented")
        .stdout_shows(&format!("(at {FILE}:"))
        .hides("Passed.");
    assert!(!kit.is_done(EX), "a failing run is not recorded as done");

    // The reference stays closed until the exercise passes.
    let reference = kit.read(REFERENCE);
    let solution = kit.run(&["solution", EX]);
    solution
        .code(1)
        .stderr_shows("opens once the exercise passes")
        .stderr_shows(&format!("cargo run -- solution {EX} --force"));
    assert!(
        !solution.stdout.contains(reference.trim()),
        "the reference was shown\n{solution}"
    );
    let forced = kit.run(&["solution", EX, "--force"]);
    forced
        .code(0)
        .stdout_shows(REFERENCE)
        .stdout_shows(reference.trim());
}

#[test]
fn run_with_the_reference_passes_records_it_and_opens_the_solution() {
    let kit = TestKit::new();
    // `--solution` checks solutions/ and leaves the learner's record alone.
    kit.run(&["run", EX, "--solution"])
        .code(0)
        .stdout_shows(" tests pass")
        .stdout_shows("Passed.")
        .hides("Compare with the reference");
    assert!(
        !kit.exists(".dscourse/state.json") || !kit.is_done(EX),
        "the reference's pass is not the learner's: {}",
        kit.state()
    );
    kit.write(FILE, kit.read(REFERENCE));
    let run = kit.run(&["run", EX]);
    run.code(0)
        .stdout_shows(" tests pass")
        .stdout_shows("Passed.")
        .hides("✗");
    assert!(
        kit.is_done(EX),
        "state.json records the pass: {}",
        kit.state()
    );
    let json = kit.run(&["list", "--json"]);
    assert!(
        json.stdout.contains(&format!("\"name\": \"{EX}\"")),
        "{json}"
    );
    let rows: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(rows[0]["status"], "done", "{json}");

    let solution = kit.run(&["solution", EX]);
    solution
        .code(0)
        .stdout_shows(REFERENCE)
        .stdout_shows(kit.read(REFERENCE).trim());

    // Breaking it again takes the pass back.
    kit.write(FILE, stub());
    kit.run(&["run", EX]).code(1);
    assert!(
        !kit.is_done(EX),
        "a failing run clears the pass: {}",
        kit.state()
    );
}

#[test]
fn an_unknown_name_is_a_usage_error_that_suggests_the_closest() {
    let kit = TestKit::new();
    let before = kit.read_bytes(FILE);
    for args in [
        &["run", "intro_pingpog"][..],
        &["run", "pingpong"],
        &["hint", "intro_pingpog"],
        &["reset", "intro_pingpog"],
        &["solution", "intro_pingpog", "--force"],
    ] {
        let run = kit.run(args);
        run.code(2)
            .stderr_shows(&format!("there is no exercise called \"{}\"", args[1]))
            .stderr_shows(&format!("did you mean {EX}"))
            .stderr_shows("cargo run -- list");
    }
    kit.run(&["run", "zzzzzzzzzzzzzzzzzz"])
        .code(2)
        .stderr_shows("there is no exercise called")
        .hides("did you mean");
    assert_eq!(
        kit.read_bytes(FILE),
        before,
        "a usage error leaves the learner's file alone"
    );
    assert!(
        !kit.exists(".dscourse/backups"),
        "a usage error backs nothing up"
    );
}

#[test]
fn run_with_a_seed_replays_it_with_the_whole_trace() {
    let kit = TestKit::new();
    // A node that remembers the wrong pongs: one property breaks, over seeds.
    reference_with(
        &kit,
        "fn on_message(",
        "match msg {\n            Msg::Ping { seq } => ctx.send(from, Msg::Pong { seq }),\n            Msg::Pong { seq } => {\n                self.pongs.insert((from, seq + 1));\n            }\n        }",
    );
    let property = "a node remembers exactly the pongs it received";
    let run = kit.run(&["run", EX]);
    run.code(1).stdout_shows(property).stdout_shows("<- here");
    let seed = run
        .stdout
        .lines()
        .find_map(|l| l.split_once(&format!("cargo run -- replay {EX} --seed ")))
        .map(|(_, s)| s.trim().to_string())
        .unwrap_or_else(|| panic!("no replay line\n{run}"));
    seed.parse::<u64>()
        .unwrap_or_else(|_| panic!("the replay seed {seed:?} is a number\n{run}"));
    assert!(run.stdout.contains(&format!("(seed {seed})")), "{run}");
    let excerpt = run.trace_lines();
    assert!(
        !excerpt.is_empty(),
        "the failure shows a trace excerpt\n{run}"
    );

    let replay = kit.run(&["run", EX, "--seed", &seed]);
    replay
        .code(1)
        .stdout_shows(property)
        .stdout_shows(&format!("(seed {seed})"));
    let whole = replay.trace_lines();
    assert!(
        whole.len() > excerpt.len(),
        "the replay shows more than the excerpt\n{run}\n{replay}"
    );
    for node in ["n0", "n1", "n2"] {
        assert!(
            whole.iter().any(|l| l.ends_with(&format!("{node} starts"))),
            "the whole trace has {node} start\n{replay}"
        );
    }
    for line in &excerpt {
        assert!(
            whole.contains(line),
            "the excerpt line {line:?} is in the whole trace\n{replay}"
        );
    }
    // The same seed gives the same trace.
    let again = kit.run(&["run", EX, "--seed", &seed]);
    assert_eq!(again.trace_lines(), whole, "a replay is deterministic");
}

#[test]
fn hints_come_one_at_a_time_then_all_and_the_count_persists() {
    let kit = TestKit::new();
    let hints = kit.hints(EX);
    let total = hints.len();
    assert!(total >= 2, "{EX} has hints");
    for (i, hint) in hints.iter().enumerate() {
        // The first without a name: the current exercise is the first one.
        let args: &[&str] = if i == 0 { &["hint"] } else { &["hint", EX] };
        let run = kit.run(args);
        run.code(0)
            .stdout_shows(&format!("Hint for {EX} ({} of {total})", i + 1))
            .stdout_shows(hint);
        for later in &hints[i + 1..] {
            run.hides(later);
        }
        assert_eq!(
            kit.state()["hints_shown"][EX],
            i + 1,
            "state.json counts the hints shown"
        );
    }
    for _ in 0..2 {
        let run = kit.run(&["hint", EX]);
        run.code(0)
            .stdout_shows(&format!("All {total} hints for {EX} are shown"));
        for (i, hint) in hints.iter().enumerate() {
            run.stdout_shows(&format!("{}. {hint}", i + 1));
        }
        run.stdout_shows("exercises/00_intro/README.md");
        assert_eq!(
            kit.state()["hints_shown"][EX],
            total,
            "the count stops at the number of hints"
        );
    }
}

#[test]
fn reset_backs_up_the_learners_file_and_restores_the_stub_byte_for_byte() {
    let kit = TestKit::new();
    let stub = stub().into_bytes();
    // Odd bytes on purpose: CRLF, non-ASCII, invalid UTF-8, no final newline.
    let mine: Vec<u8> = [
        &b"// my work \xc3\xa9\r\n"[..],
        kit.read(REFERENCE).as_bytes(),
        b"\n// \xff\xfe end",
    ]
    .concat();
    kit.write(FILE, &mine);
    kit.set_state(&[EX], None);

    let first = kit.run(&["reset", EX]);
    first
        .code(0)
        .stdout_shows(&format!("Restored {FILE} to its starting code."));
    let backup = backup_named(&first);
    assert!(backup.starts_with(".dscourse/backups/"), "{backup}");
    assert_eq!(
        kit.read_bytes(&backup),
        mine,
        "the backup holds the learner's file as it was"
    );
    assert_eq!(
        kit.read_bytes(FILE),
        stub,
        "the stub is restored byte for byte"
    );
    assert!(!kit.is_done(EX), "a reset exercise is no longer done");

    // A second reset, within the same second, keeps the first backup.
    let second = kit.run(&["reset", EX]);
    second.code(0);
    let other = backup_named(&second);
    assert_ne!(other, backup, "each reset has its own backup");
    assert_eq!(
        kit.read_bytes(&backup),
        mine,
        "the first backup is not overwritten"
    );
    assert_eq!(kit.read_bytes(&other), stub);

    // A deleted file does not break the course; `run` says what to do and
    // `reset` restores it.
    std::fs::remove_file(kit.path(FILE)).unwrap();
    kit.run(&["list"]).code(0);
    kit.run(&["run", EX])
        .code(1)
        .stderr_shows(&format!("{FILE} is missing"))
        .stderr_shows(&format!("cargo run -- reset {EX}"));
    let third = kit.run(&["reset", EX]);
    third
        .code(0)
        .stdout_shows("Restored")
        .hides("Your version is saved");
    assert_eq!(kit.read_bytes(FILE), stub);
}

/// The backup path named by `reset`'s output.
fn backup_named(run: &common::Run) -> String {
    run.stdout
        .lines()
        .find_map(|l| l.strip_prefix("Your version is saved as "))
        .map(|p| p.trim_end_matches('.').to_string())
        .unwrap_or_else(|| panic!("reset names no backup\n{run}"))
}

#[test]
fn a_corrupt_state_file_is_rebuilt_with_a_warning_and_the_code_is_untouched() {
    let kit = TestKit::new();
    let warning = ".dscourse/state.json was damaged and has been rebuilt";
    for garbage in [
        &b"this is not json {{{"[..],
        b"{\"version\": 1, \"done\": [\"intro_pi",
        b"",
        b"{\"version\": 99}",
        b"\xff\xfe\x00garbage",
    ] {
        kit.write(".dscourse/state.json", garbage);
        let before = kit.read_bytes(FILE);
        let list = kit.run(&["list"]);
        list.code(0)
            .stderr_shows("warning:")
            .stderr_shows(".dscourse/state.json");
        assert!(
            list.stderr.contains("rebuilt") || list.stderr.contains("starting with empty progress"),
            "{list}"
        );
        assert_eq!(
            table_status(&list.stdout, EX),
            "current",
            "progress starts afresh\n{list}"
        );
        // A command that saves progress writes a whole state again.
        kit.run(&["hint", EX])
            .code(0)
            .stdout_shows(&format!("Hint for {EX} (1 of"));
        assert_eq!(kit.state()["hints_shown"][EX], 1);
        kit.run(&["list"]).code(0).hides("warning:");
        assert_eq!(
            kit.read_bytes(FILE),
            before,
            "the learner's code is untouched"
        );
    }

    // The exit status of a check does not change: 1 for a failure …
    kit.write(".dscourse/state.json", "garbage");
    kit.run(&["run", EX])
        .code(1)
        .stderr_shows(warning)
        .stdout_shows("the exercise is implemented");
    // … and 0 for a pass, which the rebuilt progress records.
    kit.write(FILE, kit.read(REFERENCE));
    kit.write(".dscourse/state.json", "garbage");
    kit.run(&["run", EX])
        .code(0)
        .stderr_shows(warning)
        .stdout_shows("Passed.");
    assert!(kit.is_done(EX), "{}", kit.state());
    assert_eq!(
        kit.read(FILE),
        kit.read(REFERENCE),
        "the learner's code is untouched"
    );
}

#[test]
fn the_kit_is_found_from_a_subfolder() {
    let kit = TestKit::new();
    let inside = "exercises/00_intro";
    let list = kit.run_in(inside, &["list"]);
    list.code(0);
    assert_eq!(table_status(&list.stdout, EX), "current", "{list}");
    kit.run_in(inside, &["hint"])
        .code(0)
        .stdout_shows(&format!("Hint for {EX} (1 of"));
    assert_eq!(
        kit.state()["hints_shown"][EX],
        1,
        "the progress is the kit's, at its root"
    );
    assert!(
        !kit.exists(&format!("{inside}/.dscourse")),
        "no state next to the exercise"
    );
    let run = kit.run_in(inside, &["run", EX]);
    run.code(1)
        .stdout_shows(&format!("\n {FILE}\n"))
        .stdout_shows("the exercise is implemented");

    // Outside any kit: a usage error that says what to do.
    let outside = std::env::temp_dir().join(format!("dscourse-cli-nokit-{}", std::process::id()));
    std::fs::create_dir_all(&outside).unwrap();
    let run = dscourse(&outside, &["list"]);
    let _ = std::fs::remove_dir_all(&outside);
    run.code(2)
        .stderr_shows("no course kit here")
        .stderr_shows("info.toml");
}

/// Copies share one target folder and reuse each other's builds (see
/// `common::times`): a build made from other files than a copy's own is
/// never taken for its own, whether the earlier copy ended with other
/// contents, or put the first contents back after building other ones.
#[test]
fn a_copy_never_reuses_a_build_made_from_other_files() {
    let passes = |kit: &TestKit| {
        kit.run(&["run", EX]).code(0).stdout_shows("Passed.");
    };
    let fails = |kit: &TestKit| {
        kit.run(&["run", EX])
            .code(1)
            .stdout_shows("not yet implemented");
    };
    {
        let kit = TestKit::new();
        kit.write(FILE, kit.read(REFERENCE));
        passes(&kit);
    }
    {
        let kit = TestKit::new();
        let stub = kit.read(FILE);
        fails(&kit);
        kit.write(FILE, kit.read(REFERENCE));
        passes(&kit);
        // Back to the stub, without a build of it.
        kit.write(FILE, &stub);
    }
    fails(&TestKit::new());
}
