//! # byzantine_three_is_not_enough: one traitor among three generals
//!
//! OM(m) needs `n > 3m` generals. With three generals and one traitor no
//! algorithm works; here you show it for OM(1), by playing the traitor.
//!
//! The commander (`n0`) is loyal and orders `Attack`. One lieutenant is the
//! traitor; the other is loyal and runs OM(1). The traitor must send every
//! message a loyal lieutenant would send (in a synchronous round, silence is
//! noticed), but may lie in it. Make the loyal lieutenant disobey its loyal
//! commander (IC2).
//!
//! Why it works: the loyal lieutenant hears "attack" from the commander and
//! "the commander told me to retreat" from the traitor. It cannot tell this
//! run from one in which the *commander* is the traitor and really said
//! "retreat" to the other lieutenant, and in that run it must agree with a
//! loyal lieutenant who heard "retreat". Each of its two witnesses accuses
//! the other; with one vote each, it has no majority.
//!
// exercise: begin
// stub: //! Read `exercises/02_byzantine/README.md` first, then write the traitor.
//! The reference solution.
// exercise: end

// exercise: begin
// stub: #[allow(unused_imports)] // Order: for the lie you will tell
// exercise: end
use super::oral_messages::{OralMessage, Order, Outbox};
use dsim::NodeId;

/// The traitorous lieutenant `me`, on the commander's message `msg`: the
/// relays it sends to the other lieutenant (`n1` or `n2`) in round two.
pub fn traitor_relays(me: NodeId, msg: &OralMessage) -> Outbox {
    // exercise: begin "send the other lieutenant one message along the path [n0, me]: what should it claim the commander said?"
    let other = if me == NodeId(1) {
        NodeId(2)
    } else {
        NodeId(1)
    };
    let mut path = msg.path.clone();
    path.push(me);
    let lie = match msg.order {
        Order::Attack => Order::Retreat,
        Order::Retreat => Order::Attack,
    };
    vec![(other, OralMessage { path, order: lie })]
    // exercise: end
}
