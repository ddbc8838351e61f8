//! byzantine_signed_messages: SM(m) among 4 to 6 generals with any number
//! of traitors up to n - 2, which sign what they like with their own keys,
//! forge by copying signatures onto another order, tell two stories, or
//! plot to reveal a second order at the last moment.

use super::signed::{random_setup, run, Setup, SignedLoyal, Strategy, SM_IC2};
use crate::subject::byzantine::signed_messages::{
    command, Key, Keyring, Lieutenant, Order, Outbox, SignedOrder,
};
use dscheck::{expect_accepted, expect_caught, Failure, Suite};
use dsim::NodeId;
use std::collections::BTreeSet;

impl SignedLoyal for Lieutenant {
    fn command(key: &Key, n: usize, order: Order) -> Outbox {
        command(key, n, order)
    }
    fn new(key: Key, keyring: Keyring, n: usize, m: usize) -> Self {
        Lieutenant::new(key, keyring, n, m)
    }
    fn receive(&mut self, from: NodeId, msg: SignedOrder) -> Outbox {
        Lieutenant::receive(self, from, msg)
    }
    fn decide(&self) -> Order {
        Lieutenant::decide(self)
    }
}

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded("signed_messages::any_number_of_traitors", 80, |seed| {
            run::<Lieutenant>(&random_setup(seed))
        })
        .seeded(
            "signed_messages::a_plot_revealed_in_the_last_round",
            20,
            |seed| {
                let n = 4 + (seed % 3) as usize;
                let setup = Setup {
                    n,
                    m: n - 2,
                    traitors: (0..n - 2).map(NodeId).collect::<BTreeSet<_>>(),
                    order: Order::Attack,
                    strategy: Strategy::Colluding,
                    seed,
                };
                run::<Lieutenant>(&setup)
            },
        )
        .test("signed_messages::loyal_generals_obey", || {
            for order in [Order::Attack, Order::Retreat] {
                let setup = Setup {
                    n: 5,
                    m: 3,
                    traitors: BTreeSet::new(),
                    order,
                    strategy: Strategy::Silent,
                    seed: 1,
                };
                run::<Lieutenant>(&setup)?;
            }
            Ok::<(), Failure>(())
        })
        .test("meta::sm_correct_model_passes", || {
            expect_accepted("SM with any number of traitors", 40, |seed| {
                run::<Careless<true>>(&random_setup(seed))
            })
        })
        .test("meta::sm_accepting_unverified_signatures_is_caught", || {
            expect_caught(SM_IC2, 1, |_| {
                let setup = Setup {
                    n: 4,
                    m: 1,
                    traitors: BTreeSet::from([NodeId(1)]),
                    order: Order::Attack,
                    strategy: Strategy::Forger,
                    seed: 1,
                };
                run::<Careless<false>>(&setup)
            })
        })
}

/// SM(m) written independently of the subject; with `VERIFY` false it
/// never checks a signature, only who signed.
struct Careless<const VERIFY: bool> {
    key: Key,
    keyring: Keyring,
    n: usize,
    m: usize,
    orders: BTreeSet<Order>,
}

impl<const VERIFY: bool> SignedLoyal for Careless<VERIFY> {
    fn command(key: &Key, n: usize, order: Order) -> Outbox {
        let signed = key.sign(&SignedOrder {
            order,
            signatures: Vec::new(),
        });
        (1..n).map(|i| (NodeId(i), signed.clone())).collect()
    }
    fn new(key: Key, keyring: Keyring, n: usize, m: usize) -> Self {
        Careless {
            key,
            keyring,
            n,
            m,
            orders: BTreeSet::new(),
        }
    }
    fn receive(&mut self, from: NodeId, msg: SignedOrder) -> Outbox {
        let signers = msg.signers();
        let shape = signers.first() == Some(&NodeId(0))
            && signers.last() == Some(&from)
            && signers
                .iter()
                .enumerate()
                .all(|(i, g)| !signers[..i].contains(g))
            && !signers.contains(&self.key.id());
        if !shape || (VERIFY && !self.keyring.verify(&msg)) || !self.orders.insert(msg.order) {
            return Vec::new();
        }
        if signers.len() > self.m {
            return Vec::new();
        }
        let signed = self.key.sign(&msg);
        (1..self.n)
            .map(NodeId)
            .filter(|g| *g != self.key.id() && !signers.contains(g))
            .map(|g| (g, signed.clone()))
            .collect()
    }
    fn decide(&self) -> Order {
        match self.orders.iter().collect::<Vec<_>>()[..] {
            [only] => *only,
            _ => Order::Retreat,
        }
    }
}
