//! What a run records to choose a property's hint: restarts, by node and
//! by event, and messages the network did not deliver; and the hint each
//! run gets.

use dsim::{Ctx, Fact, Network, Node, NodeId, Property, RequestId, Sim};
use std::time::Duration;

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Sends one message to the node named in each request.
#[derive(Debug, Default)]
struct Sender;

impl Node for Sender {
    type Msg = ();
    type Timer = ();
    type Request = NodeId;
    type Reply = ();

    fn on_message(&mut self, _: &mut Ctx<Self>, _: NodeId, _: ()) {}

    fn on_request(&mut self, ctx: &mut Ctx<Self>, _: RequestId, to: NodeId) {
        ctx.send(to, ());
    }
}

const STAYS: Property = Property {
    name: "a node keeps what it was told",
    hint: "keep it in the node",
    when: &[
        (Fact::Restarted, "keep it on storage"),
        (Fact::MessageLost, "ask again"),
    ],
};

#[test]
fn a_restart_counts_for_the_nodes_named_and_after_the_events_named() {
    let mut sim = Sim::new(1, 3, |_| Sender);
    sim.run_for(ms(1)).unwrap();
    let before = sim.trace().total();
    assert!(!sim.fact(Fact::Restarted, &[], None));
    sim.crash(NodeId(1)).unwrap();
    sim.restart(NodeId(1)).unwrap();
    let after = sim.trace().total();
    assert!(sim.fact(Fact::Restarted, &[], None));
    assert!(sim.fact(Fact::Restarted, &[NodeId(1)], None));
    assert!(sim.fact(Fact::Restarted, &[NodeId(1)], Some(before)));
    assert!(!sim.fact(Fact::Restarted, &[NodeId(0), NodeId(2)], None));
    assert!(!sim.fact(Fact::Restarted, &[NodeId(1)], Some(after)));
}

#[test]
fn a_message_the_network_did_not_deliver_is_a_loss_whatever_the_reason() {
    let mut quiet = Sim::new(1, 2, |_| Sender);
    quiet.request(NodeId(0), NodeId(1));
    quiet.run_for(ms(50)).unwrap();
    assert!(!quiet.fact(Fact::MessageLost, &[], None));

    let mut lossy = Sim::new(1, 2, |_| Sender);
    lossy.set_network(Network::default().with_loss(1.0));
    lossy.request(NodeId(0), NodeId(1));
    lossy.run_for(ms(50)).unwrap();
    assert!(lossy.fact(Fact::MessageLost, &[], None));

    let mut down = Sim::new(1, 2, |_| Sender);
    down.crash(NodeId(1)).unwrap();
    down.request(NodeId(0), NodeId(1));
    down.run_for(ms(50)).unwrap();
    assert!(down.fact(Fact::MessageLost, &[], None));
}

#[test]
fn the_first_hint_whose_fact_holds_wins_else_the_propertys_own() {
    assert_eq!(STAYS.hint_where(|_| false), "keep it in the node");
    assert_eq!(STAYS.hint_where(|_| true), "keep it on storage");
    let lost = STAYS.hint_where(|f| f == Fact::MessageLost);
    assert_eq!(lost, "ask again");
}
