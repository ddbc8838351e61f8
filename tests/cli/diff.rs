//! `dscourse diff`: the learner's file against the reference, driven as a
//! learner drives it (the real binary on a private copy of the kit, see
//! `common`). Closed until the exercise passes unless forced; hunks name the
//! lines of both files; identical files are said to be.

use crate::common;

use common::{line_of, stub, TestKit, EX, FILE, REFERENCE};

/// The line numbers shown on the diff line that is `marker` (`-`, `+` or a
/// space) followed by `text`: one number for a removed or added line, two
/// for context.
fn numbers_of(stdout: &str, marker: char, text: &str) -> Vec<usize> {
    let suffix = format!(" {marker} {text}");
    let line = stdout
        .lines()
        .find(|l| l.ends_with(&suffix) && !l.starts_with("---") && !l.starts_with("+++"))
        .unwrap_or_else(|| panic!("no diff line {suffix:?} in:\n{stdout}"));
    line[..line.len() - suffix.len()]
        .split_whitespace()
        .map(|n| {
            n.parse()
                .unwrap_or_else(|_| panic!("{n:?} is not a line number in {line:?}"))
        })
        .collect()
}

/// The diff lines that start with `marker` after their numbers.
fn marked(stdout: &str, marker: char) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| {
            let rest = l.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ');
            rest.starts_with(marker) && !l.starts_with("---") && !l.starts_with("+++")
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn diff_is_refused_before_passing_and_forced_shows_the_right_lines() {
    let kit = TestKit::new();
    let refused = kit.run(&["diff", EX]);
    refused
        .code(1)
        .stderr_shows("opens once the exercise passes")
        .stderr_shows(&format!("cargo run -- run {EX}"))
        .stderr_shows(&format!("cargo run -- diff {EX} --force"))
        .hides("@@");

    let stub = stub();
    let reference = kit.read(REFERENCE);
    let forced = kit.run(&["diff", EX, "--force"]);
    forced
        .code(0)
        .stdout_shows(&format!("--- {FILE}"))
        .stdout_shows(&format!("+++ {REFERENCE}"))
        .stdout_shows("@@ -")
        .hides("identical");
    let todo = "todo!(\"set the Timer::Ping timer to fire after PING_INTERVAL\")";
    assert_eq!(
        numbers_of(&forced.stdout, '-', &format!("        {todo}")),
        vec![line_of(&stub, todo)],
        "{forced}"
    );
    let set_timer = "ctx.set_timer(Timer::Ping, PING_INTERVAL);";
    assert_eq!(
        numbers_of(&forced.stdout, '+', &format!("        {set_timer}")),
        vec![line_of(&reference, set_timer)],
        "{forced}"
    );
    // Context lines carry both numbers.
    let on_start = "    fn on_start(&mut self, ctx: &mut Ctx<Self>) {";
    assert_eq!(
        numbers_of(&forced.stdout, ' ', on_start),
        vec![line_of(&stub, on_start), line_of(&reference, on_start)],
        "{forced}"
    );

    kit.run(&["diff", "intro_pingpog", "--force"])
        .code(2)
        .stderr_shows("intro_pingpong");
}

#[test]
fn after_passing_diff_shows_one_changed_line_then_identical_files() {
    let kit = TestKit::new();
    let reference = kit.read(REFERENCE);
    let original = "ctx.send(from, Msg::Pong { seq })";
    let mine = reference.replacen(original, "ctx.send(from, Msg::Pong { seq: seq })", 1);
    assert_ne!(mine, reference);
    kit.write(FILE, &mine);
    kit.run(&["run", EX]).code(0);
    assert!(kit.is_done(EX), "{}", kit.state());

    let diff = kit.run(&["diff", EX]);
    diff.code(0)
        .stdout_shows("@@ -")
        .stdout_shows("1 place differ");
    let removed = marked(&diff.stdout, '-');
    let added = marked(&diff.stdout, '+');
    assert_eq!((removed.len(), added.len()), (1, 1), "{diff}");
    let line = line_of(&reference, original);
    assert_eq!(
        numbers_of(
            &diff.stdout,
            '-',
            "            Msg::Ping { seq } => ctx.send(from, Msg::Pong { seq: seq }),"
        ),
        vec![line],
        "{diff}"
    );
    assert_eq!(
        numbers_of(
            &diff.stdout,
            '+',
            "            Msg::Ping { seq } => ctx.send(from, Msg::Pong { seq }),"
        ),
        vec![line],
        "{diff}"
    );

    kit.write(FILE, &reference);
    kit.run(&["diff", EX])
        .code(0)
        .stdout_shows("identical")
        .hides("@@");
}
