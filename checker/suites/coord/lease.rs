//! coord_lease: TODO what these tests check, in a line.
//!
//! The test below checks the placeholder reference. Replace it with the
//! exercise's properties, each declared once as a `Property` (its words,
//! plain, and its hint), checked after every event with `Sim::check` where
//! they must always hold; and add `meta::` tests that run a known-wrong
//! implementation (the reference with one bug: a patch in `bugs/`, see
//! `checker/build.rs`) through the same checks (`dscheck::expect_caught`).

use crate::subject::coord::lease::{Lease, GREET_INTERVAL};
use dscheck::{ms, run, Failure, Property, Suite};
use dsim::{Network, Sim};

const GREETED: Property = Property {
    name: "every node is greeted by every peer",
    hint: "in on_timer, ctx.broadcast(Msg::Hello); in on_message, insert the sender into self.greeted_by",
    when: &[],
};

pub fn tests(suite: Suite) -> Suite {
    suite.seeded("lease::every_node_is_greeted", 10, every_node_is_greeted)
}

/// Three nodes on a network that delays messages: after three greeting
/// intervals, each has been greeted by both its peers.
fn every_node_is_greeted(seed: u64) -> Result<(), Failure> {
    let mut sim = Sim::new(seed, 3, |_| Lease::new());
    sim.set_network(Network::reliable(ms(1), ms(10)));
    run(&mut sim, |s| s.run_for(GREET_INTERVAL * 3))?;
    let peers = sim.len() - 1;
    for id in sim.ids() {
        let greeted = sim.node(id).map_or(0, |n| n.greeted_by.len());
        if greeted != peers {
            return Err(Failure::after_run(
                &sim,
                GREETED,
                format!(
                    "after {} ms, {id} was greeted by {greeted} of its {peers} peers",
                    sim.now().as_millis()
                ),
            ));
        }
    }
    Ok(())
}
