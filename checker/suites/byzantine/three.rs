//! byzantine_three_is_not_enough: the learner's traitor, a lieutenant
//! among three generals, against a loyal commander ordering Attack and a
//! loyal lieutenant running a correct OM(1) (the suite's own).

use super::model::{Model, CORRECT};
use super::rounds::{run, well_formed, Setup, Traitor};
use crate::subject::byzantine::oral_messages::{OralMessage, Order, Outbox};
use crate::subject::byzantine::three_is_not_enough::traitor_relays;
use dscheck::{expect_caught, Failure, Property, Suite};
use dsim::{NodeId, SimRng};
use std::collections::BTreeSet;

pub const SPEAKS: Property = Property {
    name: "the traitor sends every message a loyal lieutenant would (silence is noticed)",
    hint: "in round two the traitor must send one message to the other lieutenant, along the path [n0, traitor]: a missing message would give it away",
    when: &[],
};
pub const BREAKS: Property = Property {
    name: "the traitor makes the loyal lieutenant disobey its loyal commander",
    hint: "the loyal lieutenant hears Attack from the commander; what could the traitor claim the commander told it, so that the loyal lieutenant has no majority for Attack?",
    when: &[],
};

pub fn tests(suite: Suite) -> Suite {
    suite
        .test("three::traitor_breaks_om1_among_three", || {
            for traitor in [NodeId(1), NodeId(2)] {
                breaks(traitor, &mut |me, msg| traitor_relays(me, msg))?;
            }
            Ok(())
        })
        .test("meta::three_honest_traitor_is_caught", || {
            expect_caught(BREAKS, 1, |_| {
                breaks(NodeId(2), &mut |me, msg| honest(me, msg))
            })
        })
        .test("meta::three_silent_traitor_is_caught", || {
            expect_caught(SPEAKS, 1, |_| breaks(NodeId(1), &mut |_, _| Vec::new()))
        })
}

/// A traitor that relays what it heard, as a loyal lieutenant would.
fn honest(me: NodeId, msg: &OralMessage) -> Outbox {
    let other = NodeId(3 - me.0);
    let mut path = msg.path.clone();
    path.push(me);
    vec![(
        other,
        OralMessage {
            path,
            order: msg.order,
        },
    )]
}

type Strategy<'a> = &'a mut dyn FnMut(NodeId, &OralMessage) -> Outbox;

struct Learner<'a> {
    strategy: Strategy<'a>,
    sent: Vec<(NodeId, OralMessage)>,
}

impl Traitor for Learner<'_> {
    fn commands(&mut self, _n: usize, _rng: &mut SimRng) -> Outbox {
        Vec::new()
    }
    fn relays(
        &mut self,
        me: NodeId,
        _from: NodeId,
        msg: &OralMessage,
        _n: usize,
        _m: usize,
        _rng: &mut SimRng,
    ) -> Outbox {
        if msg.path.len() > 1 {
            return Vec::new();
        }
        let out = (self.strategy)(me, msg);
        self.sent.extend(out.iter().cloned());
        out
    }
}

/// Runs OM(1) among three generals with `traitor` as the traitorous
/// lieutenant and checks that it spoke and that the loyal one disobeyed.
fn breaks(traitor: NodeId, strategy: Strategy) -> Result<(), Failure> {
    let loyal = NodeId(3 - traitor.0);
    let setup = Setup {
        n: 3,
        m: 1,
        traitors: BTreeSet::from([traitor]),
        order: Order::Attack,
        seed: traitor.0 as u64,
    };
    let mut learner = Learner {
        strategy,
        sent: Vec::new(),
    };
    let outcome = run::<Model<CORRECT>>(&setup, &mut learner);
    let spoke = learner
        .sent
        .iter()
        .filter(|(to, msg)| *to == loyal && well_formed(loyal, traitor, msg, 3, 1))
        .count();
    if spoke != 1 {
        return Err(Failure::new(
            SPEAKS,
            format!(
                "traitor {traitor} sent {} well-formed messages to {loyal} (of {:?}); it must send exactly one, along [n0, {traitor}]",
                spoke, learner.sent
            ),
        )
        .with_trace(outcome.trace));
    }
    let decided = outcome.decisions[&loyal];
    if decided == Order::Attack {
        return Err(Failure::new(
            BREAKS,
            format!("with traitor {traitor}, the loyal {loyal} decided Attack, as its loyal commander ordered"),
        )
        .with_trace(outcome.trace));
    }
    Ok(())
}
