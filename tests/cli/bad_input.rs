//! The `dscourse` runner on bad input: a malformed course manifest, and
//! learner code that panics, loops, overflows its stack, allocates without
//! end, does not compile, exits the process or prints fake verdicts. Each is
//! reported in the runner's own words, and none is taken for a pass. The real
//! binary on a private copy of the kit (see `common`).

use crate::common;

use common::{line_of, reference_with, stub_with, TestKit, EX, FILE};

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
fn code_that_allocates_without_end_is_stopped_by_the_memory_limit() {
    let kit = TestKit::new();
    // Reserving (not touching) a GiB at a time reaches the address-space
    // limit at once, without using the machine's memory.
    stub_with(
        &kit,
        "fn on_start(",
        "let mut hog: Vec<Vec<u8>> = Vec::new();\n        loop {\n            hog.push(Vec::with_capacity(1 << 30));\n        }",
    );
    let run = kit.run(&["run", EX]);
    run.code(1)
        .stdout_shows("the suite stopped")
        .stdout_shows("ran out of memory (the limit is 4 GiB)");
    assert!(!kit.is_done(EX));
}

#[test]
fn a_broken_file_in_another_topic_does_not_block_this_one() {
    let kit = TestKit::new();
    kit.write("exercises/03_clocks/vector.rs", "this is not Rust");
    // intro_pingpong is checked with its own topic only: its stub's verdict,
    // not the clocks file's compile error.
    kit.run(&["run", EX])
        .code(1)
        .stdout_shows("the exercise is implemented")
        .hides("does not compile");
    // The broken topic itself reports its compile error.
    kit.run(&["run", "clocks_vector"])
        .code(1)
        .stdout_shows("does not compile")
        .stdout_shows("exercises/03_clocks/vector.rs");
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
