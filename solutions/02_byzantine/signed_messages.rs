//! # byzantine_signed_messages: SM(m)
//!
//! With oral messages a traitor can claim anything about what others said,
//! so OM(m) needs more than three generals per traitor. With **signed**
//! messages it cannot: every general signs what it passes on, signatures
//! cannot be forged, and anyone can check a chain of signatures. Then
//! Lamport, Shostak and Pease's algorithm SM(m) reaches IC1 and IC2 with
//! any number of traitors, given `m` of them and at least `m + 2` generals.
//!
//! 1. The commander signs its order and sends it to every lieutenant.
//! 2. A lieutenant that receives a valid order signed by the commander and
//!    then by each general who relayed it (a chain of distinct signers,
//!    last the sender, not this lieutenant) adds the order to the set of
//!    orders it has seen, `orders`. If the order is new to it and the
//!    chain has at most `m` signatures, it signs the message and sends it
//!    to every lieutenant who has not signed it yet. A lieutenant relays
//!    each order at most once.
//! 3. After round `m + 1` it decides: the one order it has seen, or
//!    [`DEFAULT`] if it saw none or both (the commander is then a proven
//!    traitor, having signed two orders).
//!
//! Signatures are simulated: a [`Signature`] can only be made by
//! [`Key::sign`] with the signer's key, and [`Keyring::verify`] checks a
//! whole chain. Both are given.
//!
// exercise: begin
// stub: //! Read `exercises/02_byzantine/README.md` first. Signing and checking are
// stub: //! given (`Key::sign`, `Keyring::verify`); the four `todo!()`s are SM(m).
//! The reference solution.
// exercise: end

use dsim::NodeId;
use std::collections::BTreeSet;

pub use super::oral_messages::{Order, COMMANDER, DEFAULT};

/// One general's signature on an order and the signatures before it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Signature {
    signer: NodeId,
    tag: u64,
}

impl Signature {
    /// Who signed.
    pub fn signer(&self) -> NodeId {
        self.signer
    }
}

/// An order and the chain of signatures on it, the commander's first.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SignedOrder {
    pub order: Order,
    pub signatures: Vec<Signature>,
}

impl SignedOrder {
    /// The generals who signed, in order.
    pub fn signers(&self) -> Vec<NodeId> {
        self.signatures.iter().map(Signature::signer).collect()
    }
}

/// Messages to send: each to its general.
pub type Outbox = Vec<(NodeId, SignedOrder)>;

/// A general's private signing key (given).
#[derive(Clone, Debug)]
pub struct Key {
    id: NodeId,
    secret: u64,
}

/// Every general's key, to check signatures with (given).
#[derive(Clone, Debug)]
pub struct Keyring {
    secrets: Vec<u64>,
}

/// The tag a key with `secret` puts on `order` after `before`.
fn tag(secret: u64, order: Order, before: &[Signature]) -> u64 {
    let mut h = secret ^ 0x9E37_79B9_7F4A_7C15;
    let mut mix = |x: u64| h = (h.rotate_left(23) ^ x).wrapping_mul(0x2545_F491_4F6C_DD1D);
    mix(order as u64);
    for s in before {
        mix(s.signer.0 as u64);
        mix(s.tag);
    }
    h
}

impl Keyring {
    /// Keys for `n` generals, derived from `seed`, and the ring to check
    /// them with.
    pub fn generate(n: usize, seed: u64) -> (Keyring, Vec<Key>) {
        let mut rng = dsim::SimRng::new(seed);
        let secrets: Vec<u64> = (0..n).map(|_| rng.next_u64()).collect();
        let keys = secrets
            .iter()
            .enumerate()
            .map(|(i, &secret)| Key {
                id: NodeId(i),
                secret,
            })
            .collect();
        (Keyring { secrets }, keys)
    }

    /// Whether every signature of `msg` was made by its signer's key on the
    /// order and the signatures before it.
    pub fn verify(&self, msg: &SignedOrder) -> bool {
        msg.signatures.iter().enumerate().all(|(i, s)| {
            self.secrets
                .get(s.signer.0)
                .is_some_and(|&secret| tag(secret, msg.order, &msg.signatures[..i]) == s.tag)
        })
    }
}

impl Key {
    /// Whose key this is.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// `msg` with this key's signature added at the end.
    pub fn sign(&self, msg: &SignedOrder) -> SignedOrder {
        let mut signed = msg.clone();
        signed.signatures.push(Signature {
            signer: self.id,
            tag: tag(self.secret, msg.order, &msg.signatures),
        });
        signed
    }
}

/// The loyal commander's round: `order`, signed with its `key`, to every
/// lieutenant of `n` generals.
pub fn command(key: &Key, n: usize, order: Order) -> Outbox {
    // exercise: begin "sign a SignedOrder with no signatures yet and send it to every lieutenant, n1 to the last"
    let signed = key.sign(&SignedOrder {
        order,
        signatures: Vec::new(),
    });
    (1..n).map(|i| (NodeId(i), signed.clone())).collect()
    // exercise: end
}

/// A loyal lieutenant running SM(m) among `n` generals.
#[derive(Clone, Debug)]
pub struct Lieutenant {
    pub key: Key,
    pub keyring: Keyring,
    pub n: usize,
    pub m: usize,
    /// The orders seen in valid messages.
    pub orders: BTreeSet<Order>,
}

impl Lieutenant {
    /// The lieutenant holding `key`, of `n` generals, tolerating `m`
    /// traitors.
    pub fn new(key: Key, keyring: Keyring, n: usize, m: usize) -> Self {
        Lieutenant {
            key,
            keyring,
            n,
            m,
            orders: BTreeSet::new(),
        }
    }

    /// Whether `msg` from `from` is a valid message of SM(m) to this
    /// lieutenant: signed first by the commander, last by the sender, by
    /// distinct generals not including this one, every signature genuine.
    pub fn is_valid(&self, from: NodeId, msg: &SignedOrder) -> bool {
        // exercise: begin "signed first by the commander and last by from, distinct signers, not you, and every signature verifies"
        let signers = msg.signers();
        let distinct = signers
            .iter()
            .enumerate()
            .all(|(i, g)| !signers[..i].contains(g));
        signers.first() == Some(&COMMANDER)
            && signers.last() == Some(&from)
            && distinct
            && !signers.contains(&self.key.id())
            && self.keyring.verify(msg)
        // exercise: end
    }

    /// On a message of the current round: a valid message with an order not
    /// seen before adds it, and (if it has at most `m` signatures) goes on,
    /// signed, to every lieutenant who has not signed it.
    pub fn receive(&mut self, from: NodeId, msg: SignedOrder) -> Outbox {
        // exercise: begin "a valid message with a new order: add it, and if it has at most m signatures sign it and send it to every lieutenant who has not signed it"
        if !self.is_valid(from, &msg) || !self.orders.insert(msg.order) {
            return Vec::new();
        }
        if msg.signatures.len() > self.m {
            return Vec::new();
        }
        let signers = msg.signers();
        let signed = self.key.sign(&msg);
        (1..self.n)
            .map(NodeId)
            .filter(|g| *g != self.key.id() && !signers.contains(g))
            .map(|g| (g, signed.clone()))
            .collect()
        // exercise: end
    }

    /// The decision after round `m + 1`: the one order seen, else the default.
    pub fn decide(&self) -> Order {
        // exercise: begin "the one order seen, else DEFAULT"
        match self.orders.iter().collect::<Vec<_>>()[..] {
            [only] => *only,
            _ => DEFAULT,
        }
        // exercise: end
    }
}
