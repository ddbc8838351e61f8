//! `dscourse replay`, driven as a learner drives it (see `common`): a
//! planted protocol bug drawn as columns with the violation highlighted and
//! the node's state, `--full`, `--test`, `--shiviz`, a passing seed, a test
//! without a simulation, and usage errors; a property checked at the end of
//! a long run, in the report, the columns and the page. Three kit copies in
//! all.

use crate::common;

use common::{reference_with, Run, TestKit, EX};

/// A pong numbered 5 or more is remembered under the wrong number: the bug
/// shows up only after four quiet rounds, so the run is long.
const LATE_BUG: &str = "match msg {\n            Msg::Ping { seq } => ctx.send(from, Msg::Pong { seq }),\n            Msg::Pong { seq } => {\n                self.pongs.insert((from, if seq >= 5 { seq + 1 } else { seq }));\n            }\n        }";

const PROPERTY: &str = "a node remembers exactly the pongs it received";

/// Asserts the diagram's header: one column per node of a three-node run.
fn shows_columns(run: &Run) {
    assert!(
        run.stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["n0", "n1", "n2"]),
        "no column header n0 n1 n2\n{run}"
    );
    assert!(
        run.stdout.contains('│'),
        "no lifelines between events\n{run}"
    );
}

/// The seed named by the `replay` line of a failure report.
fn replay_seed(run: &Run) -> String {
    run.stdout
        .lines()
        .find_map(|l| l.split_once(&format!("cargo run -- replay {EX} --seed ")))
        .map(|(_, s)| s.trim().to_string())
        .unwrap_or_else(|| panic!("no replay line\n{run}"))
}

#[test]
fn replay_draws_a_planted_bug_as_columns_with_the_violation_and_the_state() {
    let kit = TestKit::new();
    reference_with(&kit, "fn on_message(", LATE_BUG);
    let failure = kit.run(&["run", EX]);
    failure.code(1).stdout_shows(PROPERTY);
    let seed = replay_seed(&failure);

    let replay = kit.run(&["replay", EX, "--seed", &seed]);
    replay
        .code(1)
        .stdout_shows("remembers exactly the pongs received")
        .stdout_shows(&format!("seed {seed}"))
        .stdout_shows("property broke here")
        .stdout_shows(PROPERTY)
        .stdout_shows("but does not remember it")
        .stdout_shows("after event")
        .stdout_shows("PingPong {")
        .stdout_shows("pongs:")
        .stdout_shows("─▶ n")
        .stdout_shows("◀─ n")
        .stdout_shows("● timer Ping")
        .stdout_shows("Pong{seq:5}")
        .stdout_shows("earlier events hidden (--full shows all)");
    shows_columns(&replay);
    // The highlighted line is the delivery of the pong remembered wrongly.
    let marked = replay
        .stdout
        .lines()
        .position(|l| l.contains("property broke here"))
        .unwrap();
    let lines: Vec<&str> = replay.stdout.lines().collect();
    assert!(
        lines[marked].contains("◀─ n") || lines[marked - 1].contains("◀─ n"),
        "the violation is at a delivery\n{replay}"
    );
    for line in &lines {
        assert!(line.chars().count() <= 100, "wider than 100: {line:?}");
    }

    // --full: every event from the start, so more lines.
    let full = kit.run(&["replay", EX, "--seed", &seed, "--full"]);
    full.code(1)
        .stdout_shows("property broke here")
        .hides("earlier events hidden");
    shows_columns(&full);
    assert_eq!(
        full.stdout.matches("● start").count(),
        3,
        "each node starts\n{full}"
    );
    assert!(
        full.stdout.lines().count() > replay.stdout.lines().count() + 20,
        "--full shows more than the default\n{replay}\n{full}"
    );

    // --test picks another test: it passes for this seed, and is drawn.
    let other = kit.run(&[
        "replay",
        EX,
        "--seed",
        &seed,
        "--test",
        "answers_every_ping",
    ]);
    other
        .code(0)
        .stdout_shows("✓ answers every ping")
        .stdout_shows(&format!("passes with seed {seed}"))
        .hides("property broke here");
    shows_columns(&other);

    // An unknown test is a usage error that lists the exercise's tests.
    kit.run(&[
        "replay",
        EX,
        "--seed",
        &seed,
        "--test",
        "answers_every_pong",
    ])
    .code(2)
    .stderr_shows("has no test called \"answers_every_pong\"")
    .stderr_shows("answers_every_ping")
    .stderr_shows("remembers_exactly_the_pongs_received");

    // --html and --shiviz write the run as a page and as a ShiViz log too.
    let files = kit.run(&[
        "replay",
        EX,
        "--seed",
        &seed,
        "--html",
        "run.html",
        "--shiviz",
        "run.shiviz",
    ]);
    files
        .code(1)
        .stdout_shows("property broke here")
        .stdout_shows("Space-time diagram written to run.html")
        .stdout_shows("ShiViz log written to run.shiviz");
    let page = std::fs::read_to_string(kit.path("run.html")).unwrap_or_default();
    assert!(page.contains("<html"), "an HTML page\n{files}");
    let log = std::fs::read_to_string(kit.path("run.shiviz")).unwrap_or_default();
    assert!(log.contains("n0"), "a ShiViz log\n{log}\n{files}");
}

#[test]
fn replay_of_a_passing_seed_a_pure_test_and_usage_errors() {
    let kit = TestKit::new();
    // Usage errors: an unknown exercise, suggesting the closest.
    kit.run(&["replay", "intro_pingpog", "--seed", "1"])
        .code(2)
        .stderr_shows("there is no exercise called \"intro_pingpog\"")
        .stderr_shows(&format!("did you mean {EX}"));
    kit.run(&["replay", EX]).code(2).stderr_shows("--seed");

    // The stub of a pure exercise: its first test has no run to draw.
    let pure = kit.run(&["replay", "clocks_vector", "--seed", "1"]);
    pure.code(1)
        .stdout_shows("There is no run to draw")
        .stdout_shows("the exercise is implemented")
        .stdout_shows("not yet implemented")
        .stdout_shows("--test happens_before_means_an_earlier_clock")
        .hides("property broke here");

    // The reference passes: the run is drawn, and the status is 0.
    kit.write(common::FILE, kit.read(common::REFERENCE));
    let pass = kit.run(&["replay", EX, "--seed", "1"]);
    pass.code(0)
        .stdout_shows("passes with seed 1")
        .stdout_shows("─▶ n")
        .hides("property broke here")
        .hides("\n ✗ ");
    shows_columns(&pass);
}

/// Rounds every 5 ms instead of every 100 ms: a long run (some 5,000
/// events), which the suite finds wrong only when it is over.
const FAST_ROUNDS: &str = "match timer {\n            Timer::Ping => {\n                self.seq += 1;\n                ctx.broadcast(Msg::Ping { seq: self.seq });\n                ctx.set_timer(Timer::Ping, PING_INTERVAL / 20);\n            }\n        }";

#[test]
fn a_property_checked_at_the_end_is_shown_from_what_it_names_to_the_end() {
    let kit = TestKit::new();
    reference_with(&kit, "fn on_timer(", FAST_ROUNDS);
    let failure = kit.run(&["run", EX]);
    failure
        .code(1)
        .stdout_shows("a round of pings goes out every interval")
        .stdout_shows("round 2 went out at 105 ms, not 200 ms")
        .stdout_shows("<- the failure names this")
        .stdout_shows("end of the run  <- checked here")
        .hides("is the timer set again");
    let seed = replay_seed(&failure);

    let replay = kit.run(&[
        "replay",
        EX,
        "--seed",
        &seed,
        "--test",
        "pings_every_interval",
        "--html",
        "run.html",
    ]);
    replay
        .code(1)
        .stdout_shows("◀ the failure names this")
        .stdout_shows("later events hidden (--full shows all)")
        .stdout_shows("✗ end of the run: the property was checked here")
        .stdout_shows("checked at the end of the run, at 1005.000 ms")
        .hides("property broke here");
    shows_columns(&replay);
    // The columns start near the round named, not at the end of the run.
    let first_time: f64 = (replay.stdout.lines())
        .find_map(|l| {
            l.trim_start()
                .split_once(" ms  ")
                .map(|(t, _)| t.to_string())
        })
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no time column\n{replay}"));
    assert!(first_time < 110.0, "starts at {first_time} ms\n{replay}");

    // The page marks the failure, and draws the whole run to its end.
    let page = std::fs::read_to_string(kit.path("run.html")).unwrap_or_default();
    assert!(page.contains("class=\"verdict bad\""), "{replay}");
    assert!(!page.contains("No property broke"), "{replay}");
    assert!(page.contains("checked at the end of the run, at 1005 ms"));
    assert!(page.contains("<g id=\"violation\""));
    assert!(page.contains(" named\" data-index="));
    assert!(!page.contains(" drawn ("), "only part of the run is drawn");
}
