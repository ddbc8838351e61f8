//! Noticing nondeterministic learner code, for real: an `intro_pingpong`
//! whose pings go out in a `HashMap`'s iteration order, with a planted bug
//! so that a property fails, checked by the real binary on a private copy of
//! the kit (see `common`).
//!
//! How likely the runner is to miss it. Every round, each node collects its
//! two peers into a fresh `HashMap` and pings them in its iteration order.
//! Each new map gets new random keys (std's `RandomState` takes keys from
//! the OS once per thread and process and changes them for each map), so the
//! order of the two peers is a new draw in every round: measured over 200,000
//! maps, one order comes first 56% of the time, so two runs agree on a round
//! with probability 0.56² + 0.44² ≈ 0.51. The planted bug (the ninth ping is
//! never answered) breaks a property at about 900 ms, after 8 rounds of 3
//! nodes: two replays agree on all 24 draws with probability about
//! 0.51^24 ≈ 1e-7, and to go unnoticed they would also have to agree with
//! the first run. The test is as good as deterministic.

use crate::common;

use common::{with_body, TestKit, EX, FILE, REFERENCE};

/// The reference with the ninth ping left unanswered (a planted bug that
/// breaks "a ping is answered at once with the pong of the same number"),
/// and with `on_timer`'s body replaced by `on_timer` when given.
fn planted(kit: &TestKit, on_timer: Option<&str>) -> String {
    let mut text = with_body(
        &kit.read(REFERENCE),
        "fn on_message(",
        "match msg {
            // The planted bug: the ninth ping goes unanswered.
            Msg::Ping { seq } if seq == 9 => {}
            Msg::Ping { seq } => ctx.send(from, Msg::Pong { seq }),
            Msg::Pong { seq } => {
                self.pongs.insert((from, seq));
            }
        }",
    );
    if let Some(body) = on_timer {
        text = with_body(&text, "fn on_timer(", body);
    }
    text
}

/// `on_timer` pinging the peers in the order of a `HashMap` built each round.
const HASHMAP_PINGS: &str = "match timer {
            Timer::Ping => {
                self.seq += 1;
                let round: std::collections::HashMap<NodeId, u64> =
                    ctx.peers().iter().map(|&peer| (peer, self.seq)).collect();
                for (peer, seq) in round {
                    ctx.send(peer, Msg::Ping { seq });
                }
                ctx.set_timer(Timer::Ping, PING_INTERVAL);
            }
        }";

#[test]
fn a_hashmap_order_is_noticed_and_explained() {
    let kit = TestKit::new();
    kit.write(FILE, planted(&kit, Some(HASHMAP_PINGS)));
    let run = kit.run(&["run", EX]);
    run.code(1)
        .stdout_shows("does not run the same way twice")
        .stdout_shows("The same seed must give the same run")
        .stdout_shows("went two ways from event")
        .stdout_shows("HashMap")
        .stdout_shows("BTreeMap")
        .stdout_shows("ctx.now()")
        .stdout_shows("ctx.rng()")
        .stdout_shows("✗ a ping is answered at once");
    // The note comes above the failure it is about, and names two versions
    // of one event.
    let note = run.stdout.find("does not run the same way twice").unwrap();
    let failure = run.stdout.find("✗ a ping is answered at once").unwrap();
    assert!(note < failure, "{run}");
    let versions: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("one run") || l.trim_start().starts_with("another"))
        .collect();
    assert_eq!(versions.len(), 2, "{run}");
    assert_ne!(
        versions[0]
            .trim_start()
            .trim_start_matches("one run")
            .trim(),
        versions[1]
            .trim_start()
            .trim_start_matches("another")
            .trim(),
        "{run}"
    );

    // A replay of the seed notices it too.
    kit.run(&["run", EX, "--seed", "1"])
        .code(1)
        .stdout_shows("does not run the same way twice")
        .stdout_shows("BTreeMap");
}

#[test]
fn a_deterministic_failure_gets_no_such_note() {
    let kit = TestKit::new();
    kit.write(FILE, planted(&kit, None));
    for args in [&["run", EX][..], &["run", EX, "--seed", "1"][..]] {
        kit.run(args)
            .code(1)
            .stdout_shows("✗ a ping is answered at once")
            .hides("does not run the same way")
            .hides("HashMap");
    }
}
