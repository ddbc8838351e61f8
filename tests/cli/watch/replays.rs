//! A failing seed's replays (the check that the learner's code is
//! deterministic) run after the verdict is on screen: the failure is shown
//! at once, and what the replays found joins it when they end.

use crate::watch::harness::{stub_of, Kit, FILE};
use std::fs;
use std::time::Duration;

const NOTE: &str = "your code does not run the same way twice";

/// The reference with a planted bug (the ninth ping goes unanswered) and
/// pings sent in a `HashMap`'s order, new each round: two replays of the
/// failing seed differ (see `tests/cli/nondeterminism.rs` for how surely).
fn nondeterministic_and_failing() -> String {
    let reference = stub_of("solutions/00_intro/pingpong.rs");
    let answer = "Msg::Ping { seq } => ctx.send(from, Msg::Pong { seq }),";
    let broadcast = "ctx.broadcast(Msg::Ping { seq: self.seq });";
    assert!(reference.contains(answer) && reference.contains(broadcast));
    reference
        .replace(
            answer,
            &format!("Msg::Ping {{ seq }} if seq == 9 => {{}}\n            {answer}"),
        )
        .replace(
            broadcast,
            "let round: std::collections::HashMap<NodeId, u64> =
                    ctx.peers().iter().map(|&peer| (peer, self.seq)).collect();
                for (peer, seq) in round {
                    ctx.send(peer, Msg::Ping { seq });
                }",
        )
}

#[test]
fn the_verdict_comes_first_and_the_replays_note_joins_it() {
    let kit = Kit::new();
    let mut watch = kit.watch(&[]);
    watch.verdict(1);
    fs::write(kit.path(FILE), nondeterministic_and_failing()).unwrap();
    let first = watch.verdict_lines(2);
    assert!(
        first.iter().any(|l| l.contains('✗')) && !first.iter().any(|l| l.contains(NOTE)),
        "the verdict was not shown before the replays ended:\n{}",
        watch.text()
    );
    let start = watch.verdict(2);
    let replaying = watch.wait_for(start, "the replays to start", |l| {
        l.contains("check #2 took") && l.contains("replaying seed")
    });
    let note = watch.wait_for(start, "the replays' note", |l| l.contains(NOTE));
    assert!(replaying < note, "{}", watch.text());
    // The check ended with its replays: the status says so, and a save is
    // checked again as usual.
    watch.wait_for(note, "the end of check #2", |l| {
        l.contains("check #2 took") && l.contains("watching exercises/")
    });
    fs::write(kit.path(FILE), kit.stub()).unwrap();
    let third = watch.verdict_lines(3);
    assert!(!third.iter().any(|l| l.contains(NOTE)), "{}", watch.text());
    watch.key("q");
    assert!(watch.wait_exit(Duration::from_secs(10)));
}
