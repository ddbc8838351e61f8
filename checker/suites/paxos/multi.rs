//! paxos_multi: a replicated key-value store on a Multi-Paxos log. Clients
//! retry their commands through loss, duplication, long delays, partitions,
//! crashes and restarts (the leader's too, or every node at once) on
//! skewed, drifting clocks. After every event (`observe.rs`): each slot has
//! chosen at most one value (judged from the acceptors' votes over the whole
//! run), only a no-op or a client's command is accepted, each node has
//! applied only chosen values in slot order, acceptors refuse lower ballots
//! with a Nack and keep their promises and votes on disk, campaigns go above
//! every round seen, and a node leads only with a majority's promises. Once
//! the network is calm, no slot below a chosen one may stay empty, every
//! command must complete, and the clients' history must be linearizable.
//! Written-out runs leave a hole, a value chosen that no live node knows
//! of, and a stale vote of a lower ballot before a recovery; a stable
//! leader must pay phase 2 only.

mod clients;
#[cfg(bugs)]
pub mod meta;
pub mod observe;
mod recovery;
mod run;
mod scenarios;

use crate::subject::paxos::multi::{Command, Kv, Multi, Op, Output};
use dscheck::{Failure, Suite};
use observe::LINEARIZABLE;
use recovery::{hole, power_failure, stale_vote, unseen};
use scenarios::{chaos, leader_crash, split_brain, steady, twice};

pub fn tests(suite: Suite) -> Suite {
    suite
        .test(
            "multi::the_store_applies_a_retried_command_once",
            applies_once,
        )
        .seeded(
            "multi::safe_and_live_under_loss_duplication_and_delay",
            4,
            |seed| chaos::<Multi>(seed, false),
        )
        .seeded(
            "multi::safe_and_live_across_crashes_restarts_and_partitions",
            4,
            |seed| chaos::<Multi>(seed, true),
        )
        .seeded(
            "multi::live_when_every_message_arrives_twice",
            2,
            twice::<Multi>,
        )
        .seeded(
            "multi::a_crashed_leader_is_replaced_and_comes_back",
            3,
            leader_crash::<Multi>,
        )
        .seeded(
            "multi::competing_leaders_the_higher_ballot_wins",
            3,
            split_brain::<Multi>,
        )
        .seeded(
            "multi::a_new_leader_fills_holes_with_noops",
            3,
            hole::<Multi>,
        )
        .seeded(
            "multi::every_node_restarts_at_once",
            3,
            power_failure::<Multi>,
        )
        .seeded(
            "multi::the_highest_ballot_decides_each_slot",
            2,
            stale_vote::<Multi>,
        )
        .seeded(
            "multi::a_new_leader_keeps_a_value_chosen_unseen",
            3,
            unseen::<Multi>,
        )
        .seeded(
            "multi::a_stable_leader_runs_phase_two_only",
            2,
            steady::<Multi>,
        )
}

/// The store's duplicate check, on its own: a command applied a second
/// time (chosen again in another slot after its client retried) changes
/// nothing and returns the first output; an older one too.
fn applies_once() -> Result<(), Failure> {
    let command = |seq, op| Command { client: 7, seq, op };
    let append = |v: &str| Op::Append {
        key: "x".into(),
        value: v.into(),
    };
    let get = Op::Get { key: "x".into() };
    let mut kv = Kv::default();
    let steps = [
        (command(1, append("a")), Some(Output::Done), "a"),
        (command(1, append("a")), Some(Output::Done), "a"),
        (
            command(2, get.clone()),
            Some(Output::Value(Some("a".into()))),
            "a",
        ),
        (command(3, append("b")), Some(Output::Done), "ab"),
        (command(1, append("a")), None, "ab"),
        (command(3, append("b")), Some(Output::Done), "ab"),
    ];
    for (i, (c, output, data)) in steps.into_iter().enumerate() {
        let got = kv.apply(&c);
        let held = kv.data.get("x").map_or("", String::as_str);
        if output.as_ref().is_some_and(|o| *o != got) || held != data {
            let detail = format!(
                "applying (client 7) seq {}, {:?} as step {} of appends a, a again, a get, \
                 append b, the first append again and append b again: it returned {got:?} and x holds \
                 {held:?}; expected {output:?} and {data:?}",
                c.seq,
                c.op,
                i + 1
            );
            return Err(Failure::new(LINEARIZABLE, detail));
        }
    }
    Ok(())
}
