//! The text of the files `dev new` creates: a reference whose handlers are
//! marked regions (so its stub is generated like every other), a suite group
//! with one test that the stub fails and the reference passes (so `dev check`
//! is green from the start), and, for a new topic, its suite and guide. Every
//! placeholder an author must replace says `TODO`.

use super::Scaffold;

/// Points a new exercise is worth until its author says otherwise.
const POINTS: u32 = 10;

/// The reference: a node that greets its peers on a timer and remembers
/// who greeted it, each handler's body a marked region.
pub fn reference(s: &Scaffold) -> String {
    let (exercise, folder, node) = (s.exercise(), &s.folder, &s.node);
    format!(
        r#"//! # {exercise}: TODO a title
//!
//! TODO: what the learner builds, and the protocol as a few plain rules.
//! Until then this is a placeholder: every node greets its peers every
//! [`GREET_INTERVAL`] and remembers which peers greeted it.
//!
// exercise: begin
// stub: //! Read `exercises/{folder}/README.md` first. Then fill in the handlers
// stub: //! below: each `todo!()` is one step of the protocol.
//! The reference solution.
// exercise: end

use dsim::{{Ctx, Node, NodeId}};
use serde::{{Deserialize, Serialize}};
use std::collections::BTreeSet;
use std::time::Duration;

/// How often a node greets its peers.
pub const GREET_INTERVAL: Duration = Duration::from_millis(100);

/// What nodes send each other.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {{
    /// "I am here."
    Hello,
}}

/// The one kind of timer: time to greet the peers again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Timer {{
    Greet,
}}

/// A node of {exercise}.
#[derive(Debug, Default)]
pub struct {node} {{
    /// Every peer whose greeting arrived.
    pub greeted_by: BTreeSet<NodeId>,
}}

impl {node} {{
    /// A node before it has started.
    pub fn new() -> Self {{
        {node}::default()
    }}
}}

impl Node for {node} {{
    type Msg = Msg;
    type Timer = Timer;
    type Request = ();
    type Reply = ();

    /// On initialisation: greet the peers after one [`GREET_INTERVAL`].
    fn on_start(&mut self, ctx: &mut Ctx<Self>) {{
        // exercise: begin "set the Timer::Greet timer to fire after GREET_INTERVAL"
        ctx.set_timer(Timer::Greet, GREET_INTERVAL);
        // exercise: end
    }}

    /// On the greeting timer: greet every peer, and set the timer again.
    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {{
        // exercise: begin "greet every peer, then set the timer again"
        match timer {{
            Timer::Greet => {{
                ctx.broadcast(Msg::Hello);
                ctx.set_timer(Timer::Greet, GREET_INTERVAL);
            }}
        }}
        // exercise: end
    }}

    /// On receiving a message from `from`: remember who greeted this node.
    fn on_message(&mut self, _ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {{
        // exercise: begin "remember who greeted this node"
        match msg {{
            Msg::Hello => {{
                self.greeted_by.insert(from);
            }}
        }}
        // exercise: end
    }}
}}
"#
    )
}

/// The exercise's tests: one placeholder test of the placeholder
/// reference, in the group named like the exercise's file.
pub fn group(s: &Scaffold) -> String {
    let (exercise, module, name, node) = (s.exercise(), &s.module, &s.name, &s.node);
    format!(
        r#"//! {exercise}: TODO what these tests check, in a line.
//!
//! The test below checks the placeholder reference. Replace it with the
//! exercise's properties, each declared once as a `Property` (its words,
//! plain, and its hint), checked after every event with `Sim::check` where
//! they must always hold; and add `meta::` tests that run a known-wrong
//! implementation (the reference with one bug: a patch in `bugs/`, see
//! `checker/build.rs`) through the same checks (`dscheck::expect_caught`).

use crate::subject::{module}::{name}::{{{node}, GREET_INTERVAL}};
use dscheck::{{ms, run, Failure, Property, Suite}};
use dsim::{{Network, Sim}};

const GREETED: Property = Property {{
    name: "every node is greeted by every peer",
    hint: "in on_timer, ctx.broadcast(Msg::Hello); in on_message, insert the sender into self.greeted_by",
    when: &[],
}};

pub fn tests(suite: Suite) -> Suite {{
    suite.seeded("{name}::every_node_is_greeted", 10, every_node_is_greeted)
}}

/// Three nodes on a network that delays messages: after three greeting
/// intervals, each has been greeted by both its peers.
fn every_node_is_greeted(seed: u64) -> Result<(), Failure> {{
    let mut sim = Sim::new(seed, 3, |_| {node}::new());
    sim.set_network(Network::reliable(ms(1), ms(10)));
    run(&mut sim, |s| s.run_for(GREET_INTERVAL * 3))?;
    let peers = sim.len() - 1;
    for id in sim.ids() {{
        let greeted = sim.node(id).map_or(0, |n| n.greeted_by.len());
        if greeted != peers {{
            return Err(Failure::after_run(
                &sim,
                GREETED,
                format!(
                    "after {{}} ms, {{id}} was greeted by {{greeted}} of its {{peers}} peers",
                    sim.now().as_millis()
                ),
            ));
        }}
    }}
    Ok(())
}}
"#
    )
}

/// A new topic's suite: one test binary, built against the learner's crate
/// or the reference, that adds each group's tests.
pub fn suite(s: &Scaffold) -> String {
    let (topic, module, name) = (&s.topic, &s.module, &s.name);
    let number = s.folder.split('_').next().unwrap_or_default();
    format!(
        r#"//! The suite of topic {number}, {topic}: `{exercise}`. TODO: what the topic's
//! tests have in common.

// A check of one exercise compiles only its part of the suite, and not
// every helper is used there.
#![cfg_attr(
    feature = "single-exercise",
    allow(dead_code, unused_imports, unused_macros)
)]

#[cfg(feature = "learner")]
use exercises as subject;
#[cfg(not(feature = "learner"))]
use solutions as subject;

mod {module} {{
    #[cfg(exercise = "{exercise}")]
    pub mod {name};
}}

fn main() {{
    let suite = dscheck::Suite::new("{suite}");
    #[cfg(exercise = "{exercise}")]
    let suite = {module}::{name}::tests(suite);
    suite.run()
}}
"#,
        exercise = s.exercise(),
        suite = s.suite,
    )
}

/// A new topic's guide, with its table of exercises.
pub fn guide(s: &Scaffold) -> String {
    let number = s.folder.split('_').next().unwrap_or_default();
    format!(
        "# {number} {topic} — TODO: what this topic is about\n\nTODO: the problem this topic teaches, and why it is hard once a network is\nbetween the computers.\n\n| exercise | you build | points |\n|---|---|---|\n{row}\n",
        topic = s.topic,
        row = guide_row(s)
    )
}

/// The exercise's row in its topic's guide.
pub fn guide_row(s: &Scaffold) -> String {
    format!(
        "| `{}` (`{}.rs`) | TODO: what the learner builds | {POINTS} |",
        s.exercise(),
        s.name
    )
}

/// The exercise's `[[exercises]]` entry in `info.toml`, with placeholder
/// hints (`dev check` wants two or three).
pub fn entry(s: &Scaffold) -> String {
    format!(
        r#"[[exercises]]
name = "{exercise}"
topic = "{topic}"
file = "{file}"
suite = "{suite}"
group = "{group}"
points = {POINTS}
hints = [
    "TODO: a nudge: where to start.",
    "TODO: the shape of the answer, handler by handler.",
    "TODO: nearly the answer.",
]
"#,
        exercise = s.exercise(),
        topic = s.topic,
        file = s.file(),
        suite = s.suite,
        group = s.name,
    )
}
