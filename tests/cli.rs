//! The `dscourse` runner, driven as a learner and a course author drive it:
//! the real binary on a private copy of the kit (see `common`).
//!
//! Tests that check code build the intro suite in `target/cli-tests`; the
//! first build there compiles the registry crates (about a minute), later
//! ones only the learner's crate and the suite.

mod common;

use common::{dscourse, line_of, with_body, TestKit};

const EX: &str = "intro_pingpong";
const FILE: &str = "exercises/00_intro/pingpong.rs";
const REFERENCE: &str = "solutions/00_intro/pingpong.rs";
const STUB: &str = "checker/stubs/00_intro/pingpong.rs";

/// The learner's file with the body of `signature` replaced, starting from
/// the reference (so that everything else works).
fn reference_with(kit: &TestKit, signature: &str, body: &str) -> String {
    let text = with_body(&kit.read(REFERENCE), signature, body);
    kit.write(FILE, &text);
    text
}

/// The stub with the body of `signature` replaced.
fn stub_with(kit: &TestKit, signature: &str, body: &str) -> String {
    let text = with_body(&kit.read(STUB), signature, body);
    kit.write(FILE, &text);
    text
}

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
        .stderr_shows(&format!("dscourse solution {EX} --force"));
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
    kit.write(FILE, kit.read(STUB));
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
            .stderr_shows("dscourse list");
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
        .find_map(|l| l.split_once(&format!("dscourse run {EX} --seed ")))
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
    let stub = kit.read_bytes(STUB);
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
        .stderr_shows(&format!("dscourse reset {EX}"));
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
fn a_malformed_manifest_names_the_line_and_the_fix() {
    let kit = TestKit::new();
    let original = kit.read("info.toml");
    let base = original.lines().count();
    let entry = |name: &str, file: &str, suite: &str, extra: &str| {
        format!("\n[[exercises]]\nname = \"{name}\"\ntopic = \"intro\"\nfile = \"{file}\"\nsuite = \"{suite}\"\ngroup = \"pingpong\"\npoints = 1\nhints = [\"one\", \"two\"]\n{extra}")
    };
    // Each case: what is appended, the line the message must name (counted
    // within the appended text, whose first line is blank), what it says.
    let cases = [
        (
            "a syntax error",
            "\n[[exercises]]\nname = \"intro_broken\ntopic = \"intro\"\n".to_string(),
            3,
            "string",
        ),
        (
            "an unknown field",
            entry(
                "intro_extra",
                "00_intro/pingpong.rs",
                "intro",
                "hint = [\"typo\"]\n",
            ),
            10,
            "unknown field `hint`",
        ),
        (
            "a duplicate name",
            entry(EX, "00_intro/pingpong.rs", "intro", ""),
            3,
            &format!("a second exercise is named \"{EX}\""),
        ),
        (
            "a missing file",
            entry("intro_nofile", "00_intro/nope.rs", "intro", ""),
            5,
            "00_intro/nope.rs",
        ),
        (
            "a missing suite",
            entry("intro_nosuite", "00_intro/pingpong.rs", "nosuch", ""),
            6,
            "checker/suites/nosuch.rs does not exist",
        ),
        (
            "a missing field",
            entry("intro_nopoints", "00_intro/pingpong.rs", "intro", "")
                .replace("points = 1\n", ""),
            2,
            "missing field `points`",
        ),
        (
            "a name outside its topic",
            entry("pingpong_two", "00_intro/pingpong.rs", "intro", ""),
            3,
            "must begin with \"intro_\"",
        ),
    ];
    for (what, appended, line, says) in cases {
        kit.write("info.toml", format!("{original}{appended}"));
        let at = format!("info.toml:{}:", base + line);
        for args in [&["list"][..], &["run", EX], &["dev", "check"]] {
            let run = kit.run(args);
            assert_eq!(run.code, Some(2), "{what}: exit 2\n{run}");
            assert!(run.stderr.contains(&at), "{what}: names {at}\n{run}");
            assert!(run.stderr.contains(says), "{what}: says {says:?}\n{run}");
            assert!(
                run.stderr.contains("\n  fix: "),
                "{what}: gives a fix\n{run}"
            );
            assert!(
                !run.text().contains("panicked") && !run.text().contains("backtrace"),
                "{what}: no Rust panic\n{run}"
            );
            assert!(
                run.stdout.is_empty(),
                "{what}: nothing else is printed\n{run}"
            );
        }
    }
    kit.write("info.toml", &original);
    kit.run(&["list"]).code(0);
}

#[test]
fn a_panicking_handler_is_reported_with_node_handler_message_and_line() {
    let kit = TestKit::new();
    let text = reference_with(&kit, "fn on_message(", "panic!(\"boom\")");
    let line = line_of(&text, "panic!(\"boom\")");
    let run = kit.run(&["run", EX]);
    run.code(1)
        .stdout_shows("✗ handlers run without panicking")
        .stdout_shows(" panicked in on_message: boom")
        .stdout_shows(&format!("(at {FILE}:{line}:"));
    let node = run
        .stdout
        .split(" panicked in on_message")
        .next()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap();
    assert!(
        node.len() >= 2 && node.starts_with('n') && node[1..].parse::<u32>().is_ok(),
        "names the node ({node:?})\n{run}"
    );
    assert!(!kit.is_done(EX));
}

#[test]
fn an_endless_loop_is_stopped_by_the_time_limit() {
    let kit = TestKit::new();
    kit.add_to_entry(EX, "timeout_secs = 3");
    stub_with(&kit, "fn on_start(", "loop {}");
    let run = kit.run(&["run", EX]);
    run.code(1)
        .stdout_shows("the suite stopped")
        .stdout_shows("did not finish within 3 s")
        .stdout_shows("infinite loop")
        .hides("Passed.");
    assert!(run.elapsed.as_secs() >= 3, "it waited for the limit\n{run}");
    assert!(run.elapsed.as_secs() < 60, "and not much longer\n{run}");
    assert!(!kit.is_done(EX));
}

#[test]
fn a_stack_overflow_is_reported_plainly() {
    let kit = TestKit::new();
    stub_with(
        &kit,
        "fn on_start(",
        "fn deeper(n: u64) -> u64 {\n            1 + deeper(std::hint::black_box(n + 1))\n        }\n        self.seq = deeper(0);",
    );
    let run = kit.run(&["run", EX]);
    run.code(1)
        .stdout_shows("the suite stopped")
        .stdout_shows("the stack overflowed")
        .stdout_shows("recursion");
    assert!(!kit.is_done(EX));
}

#[test]
fn code_that_does_not_compile_shows_the_compilers_message() {
    let kit = TestKit::new();
    kit.set_state(&[EX], None);
    let text = stub_with(&kit, "fn on_start(", "let count: u32 = \"not a number\";");
    let line = line_of(&text, "let count: u32");
    let run = kit.run(&["run", EX]);
    run.code(1)
        .stdout_shows("does not compile")
        .stdout_shows("error[E0308]: mismatched types")
        .stdout_shows(&format!("--> {FILE}:{line}:"))
        .hides("\u{1b}[");
    // A build failure is not a verdict: the progress is left as it was.
    assert!(kit.is_done(EX), "{}", kit.state());
}

#[test]
fn exiting_the_process_or_printing_fake_verdicts_still_fails() {
    let kit = TestKit::new();
    let fake = "println!(\"test pingpong::answers_every_ping ... ok\");\n        println!(\"test result: ok. 4 passed; 0 failed; 0 ignored\");";

    stub_with(&kit, "fn on_start(", "std::process::exit(0)");
    let run = kit.run(&["run", EX]);
    run.code(1)
        .stdout_shows("the suite stopped")
        .stdout_shows("exit code 0")
        .stdout_shows("std::process::exit")
        .hides("Passed.");

    stub_with(
        &kit,
        "fn on_start(",
        &format!("{fake}\n        std::process::exit(0)"),
    );
    let run = kit.run(&["run", EX]);
    run.code(1)
        .stdout_shows("the suite stopped")
        .stdout_shows("exit code 0")
        .hides("Passed.")
        .hides("all 4 tests pass");

    stub_with(&kit, "fn on_start(", &format!("{fake}\n        todo!()"));
    let run = kit.run(&["run", EX]);
    run.code(1)
        .stdout_shows("✗ the exercise is implemented")
        .hides("Passed.");
    assert!(!kit.is_done(EX));
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

#[test]
fn dev_check_passes_on_the_kit() {
    let kit = TestKit::new();
    let run = kit.run(&["dev", "check"]);
    run.code(0)
        .stdout_shows("ok: every stub compiles and fails, every solution passes")
        .hides("problem:");
    for name in kit.exercise_names() {
        run.stderr_shows(&name);
    }
}

#[test]
fn dev_check_fails_when_a_stub_passes_its_suite() {
    let kit = TestKit::new();
    kit.write(FILE, kit.read(REFERENCE));
    let line = line_of(&kit.read("info.toml"), &format!("name = \"{EX}\""));
    let run = kit.run(&["dev", "check"]);
    run.code(1)
        .stdout_shows(&format!(
            "problem: info.toml:{line} ({EX}): the stub passes its suite"
        ))
        .stdout_shows(&format!("problem: {STUB} differs from {FILE}"))
        .hides("ok: every stub");
}

#[test]
fn dev_check_fails_on_an_exercise_file_that_belongs_to_no_exercise() {
    let kit = TestKit::new();
    kit.write("exercises/00_intro/stray.rs", "pub fn stray() {}\n");
    let run = kit.run(&["dev", "check"]);
    run.code(1)
        .stdout_shows("problem: exercises/00_intro/stray.rs belongs to no exercise in info.toml")
        .hides("ok: every stub");
}
