//! quorum_abd: histories of concurrent clients under loss, delay,
//! partitions and a crash are linearizable (checked with the project's
//! checker, `dscheck::linearizability`); nothing completes in a minority.

use super::workload::{
    check_answered, drive, lossy, minority, Answer, ClientOp, Clients, Observed, Profile, ANSWERED,
    MINORITY,
};
use super::wrong::WrongAbd;
use crate::subject::quorums::quorum_abd::{Abd, Reply, Request};
use dscheck::linearizability::{check, from_sim, RegisterModel, RegisterOp, RegisterRet, Seen};
use dscheck::{expect_accepted, expect_caught, ms, Failure, Suite};
use dsim::{Network, NodeId, Sim};

pub fn tests(suite: Suite) -> Suite {
    suite
        .hint(
            LINEARIZABLE,
            "a read must write back the pair it returns to a majority before answering (else a \
             later read can miss it); a write's tag must be higher than every tag its query \
             phase saw; replicas keep only a higher tag",
        )
        .hint(
            ANSWERED,
            "resend the current phase to the replicas that have not answered it until a \
             majority has; ignore answers that belong to a phase already finished",
        )
        .hint(
            MINORITY,
            "both phases wait for a majority of distinct replicas (a BTreeSet of NodeId), \
             this node included",
        )
        .seeded("abd::histories_are_linearizable", 12, |seed| {
            linearizable(seed, LOSSY, |_| Abd::new())
        })
        .seeded(
            "abd::histories_are_linearizable_with_slow_links",
            8,
            |seed| linearizable(seed, SLOW, |_| Abd::new()),
        )
        .seeded("abd::nothing_completes_in_a_minority", 3, |seed| {
            minority(seed, |_| Abd::new())
        })
        .test("meta::abd_correct_model_passes", || {
            expect_accepted(
                "abd::histories_are_linearizable_with_slow_links",
                6,
                |seed| linearizable(seed, SLOW, |_| WrongAbd::new(false)),
            )
        })
        .test("meta::abd_without_write_back_is_not_linearizable", || {
            expect_caught(LINEARIZABLE, 30, |seed| {
                linearizable(seed, SLOW, |_| WrongAbd::new(true))
            })
        })
}

pub const LINEARIZABLE: &str = "the register's history is linearizable";

/// Four clients on a lossy network with minorities cut off and a crash.
const LOSSY: Profile = Profile {
    clients: 4,
    writes: 0.5,
    keys: 1,
    duration_ms: 1_500,
    faults: true,
    network: lossy,
};

/// Eight clients, mostly reading, over links whose delays vary widely, so
/// that an update often reaches one replica long before the others.
const SLOW: Profile = Profile {
    clients: 8,
    writes: 0.3,
    keys: 1,
    duration_ms: 1_500,
    faults: true,
    network: slow,
};

fn slow() -> Network {
    Network::reliable(ms(1), ms(60)).with_long_delays(0.1, ms(200))
}

impl Observed for Abd {
    fn request(op: ClientOp) -> Request {
        request(op)
    }
    fn op(request: &Request) -> ClientOp {
        op(request)
    }
    fn answer(reply: &Reply) -> Answer {
        answer(reply)
    }
}

impl Observed for WrongAbd {
    fn request(op: ClientOp) -> Request {
        request(op)
    }
    fn op(request: &Request) -> ClientOp {
        op(request)
    }
    fn answer(reply: &Reply) -> Answer {
        answer(reply)
    }
}

fn request(op: ClientOp) -> Request {
    match op.write {
        Some((value, _)) => Request::Write(value),
        None => Request::Read,
    }
}

fn op(request: &Request) -> ClientOp {
    match *request {
        Request::Read => ClientOp {
            key: 0,
            write: None,
        },
        Request::Write(v) => ClientOp {
            key: 0,
            write: Some((v, v)),
        },
    }
}

fn answer(reply: &Reply) -> Answer {
    match *reply {
        Reply::Value(v) => Answer::Value(v),
        Reply::Written => Answer::Written,
    }
}

/// The clients' workload on one register, then its history checked.
fn linearizable<N: Observed>(
    seed: u64,
    profile: Profile,
    factory: impl FnMut(NodeId) -> N + 'static,
) -> Result<(), Failure> {
    let (sim, clients) = drive(seed, profile, factory, |_| {})?;
    let done = sim.history().iter().filter(|op| op.is_complete()).count();
    dscheck::metric("operations completed", done);
    check_history(&sim, &clients)?;
    check_answered(&sim)
}

/// The history, checked with the project's linearizability checker; a
/// failure shows the smallest part that no order explains, as a timeline.
fn check_history<N: Observed>(sim: &Sim<N>, clients: &Clients) -> Result<(), Failure> {
    let history = from_sim(sim.history(), |op| {
        let input = match N::op(&op.request).write {
            Some((v, _)) => RegisterOp::Write(v),
            None => RegisterOp::Read,
        };
        let output = op.reply().map(|reply| match N::answer(reply) {
            Answer::Value(v) => RegisterRet::Value(v),
            Answer::Written => RegisterRet::Written,
        });
        Seen::Op {
            client: clients[&op.id],
            input,
            output,
        }
    });
    check(&RegisterModel::<u64>::new(), &history)
        .map_err(|report| Failure::after_run(sim, LINEARIZABLE, report.to_string()))
}
