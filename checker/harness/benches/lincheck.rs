//! How long the linearizability checker takes on realistic histories,
//! recorded from a simulated register server whose operations overlap:
//!
//! - 1,000 operations by 10 clients on 5 keys, linearizable, and the same
//!   with one read made stale (`check`: search, shrink, report);
//! - 2,000 operations by 50 clients on 10 keys, linearizable, and the same
//!   with one stale read on key 9, the last of the keys' turns: the verdict
//!   alone and the report;
//! - that broken history with key 0, the first of the keys' turns, made
//!   hard to search (a partition's lost writes, see `with_lost_writes`):
//!   key 0 alone is still undecided after 2 s, and the violation on key 9
//!   must be decided in under 1 s all the same.
//!
//! `cargo bench -p dscheck --bench lincheck`; prints the median of several
//! runs.

use dscheck::linearizability::{
    check, from_sim, Budget, Checker, KeyedRegisterModel, Op, Outcome, RegisterOp, RegisterRet,
    Report, Seen, Verdict,
};
use dsim::{Ctx, Node, NodeId, RequestId, Sim};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const RUNS: usize = 9;

type Input = (u8, RegisterOp<u64>);
type History = Vec<Op<Input, RegisterRet<u64>>>;

/// One server holding a register per key. Each request takes effect after
/// a random pause and is answered after another, so operations of
/// different clients overlap, yet each takes effect at one instant inside
/// its interval: the history is linearizable.
#[derive(Debug, Default)]
struct Server {
    values: BTreeMap<u8, u64>,
    waiting: BTreeMap<RequestId, Input>,
    answers: BTreeMap<RequestId, Option<u64>>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
enum Timer {
    Apply(RequestId),
    Answer(RequestId),
}

impl Node for Server {
    type Msg = ();
    type Timer = Timer;
    type Request = Input;
    type Reply = Option<u64>;

    fn on_message(&mut self, _: &mut Ctx<Self>, _: NodeId, _: ()) {}

    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, req: Input) {
        self.waiting.insert(id, req);
        let pause = ctx
            .rng()
            .duration(Duration::ZERO..=Duration::from_millis(20));
        ctx.set_timer(Timer::Apply(id), pause);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        match timer {
            Timer::Apply(id) => {
                let (key, op) = self.waiting.remove(&id).expect("a waiting request");
                let answer = match op {
                    RegisterOp::Read => self.values.get(&key).copied(),
                    RegisterOp::Write(v) => {
                        self.values.insert(key, v);
                        None
                    }
                };
                self.answers.insert(id, answer);
                let pause = ctx
                    .rng()
                    .duration(Duration::ZERO..=Duration::from_millis(20));
                ctx.set_timer(Timer::Answer(id), pause);
            }
            Timer::Answer(id) => {
                let answer = self.answers.remove(&id).expect("an answer");
                ctx.reply(id, answer);
            }
        }
    }
}

/// The recorded history of one seeded run: `clients` clients each send
/// `per_client` requests on `keys` keys, the next a few milliseconds after
/// the previous one was answered.
fn register_run(seed: u64, clients: usize, per_client: usize, keys: u8) -> History {
    let mut sim = Sim::new(seed, 1, |_| Server::default());
    let mut rng = sim.scenario_rng();
    let mut client_of: BTreeMap<RequestId, usize> = BTreeMap::new();
    let mut current: Vec<Option<RequestId>> = vec![None; clients];
    let mut sent = vec![0; clients];
    let mut next_value = 0;
    while sent.iter().any(|&n| n < per_client) || current.iter().any(Option::is_some) {
        for client in 0..clients {
            let done = current[client].is_none_or(|id| sim.operation(id).is_complete());
            if done {
                current[client] = None;
                if sent[client] < per_client && rng.chance(0.3) {
                    let key = rng.below(keys as u64) as u8;
                    let op = if rng.chance(0.5) {
                        next_value += 1;
                        RegisterOp::Write(next_value)
                    } else {
                        RegisterOp::Read
                    };
                    let id = sim.request(NodeId(0), (key, op));
                    client_of.insert(id, client);
                    current[client] = Some(id);
                    sent[client] += 1;
                }
            }
        }
        sim.run_for(Duration::from_millis(1))
            .expect("the server runs");
    }
    from_sim(sim.history(), |op| Seen::Op {
        client: client_of[&op.id],
        input: op.request.clone(),
        output: op.reply().map(|answer| match op.request.1 {
            RegisterOp::Read => RegisterRet::Value(*answer),
            RegisterOp::Write(_) => RegisterRet::Written,
        }),
    })
}

/// The same history with one late read (of `key`, or of any key)
/// returning its key's first value.
fn with_stale_read(history: &History, key: Option<u8>) -> History {
    let mut broken = history.clone();
    let first_write = |key: u8| {
        history.iter().find_map(|op| match op.input {
            (k, RegisterOp::Write(v)) if k == key => Some(v),
            _ => None,
        })
    };
    let late = (history.len() * 3 / 4..history.len())
        .find(|&i| {
            let (k, op) = &history[i].input;
            *op == RegisterOp::Read
                && key.is_none_or(|key| key == *k)
                && history[i].output() != Some(&RegisterRet::Value(first_write(*k)))
        })
        .expect("a late read");
    let stale = first_write(history[late].input.0);
    let returned = history[late].returned().expect("complete");
    broken[late].outcome = Outcome::Returned {
        output: RegisterRet::Value(stale),
        at: returned,
    };
    broken
}

/// The same history with the end of `key`'s as if a partition had cut
/// its writes off: after one of its reads, the next `n` of its operations
/// are writes of new values that timed out and were lost, and the rest
/// (at least ten) are reads that still see what that read saw. It is as
/// linearizable as before (the lost writes may never have happened), but
/// each of them may also have taken effect at any time after it was sent,
/// and no later write hides its value: before placing the next read, the
/// search goes through the subsets of them, about `n * 2^(n-1)`
/// configurations.
fn with_lost_writes(history: &History, key: u8, n: usize) -> History {
    let mut changed = history.clone();
    let ops: Vec<usize> = (0..history.len())
        .filter(|&i| history[i].input.0 == key)
        .collect();
    let last_read = (0..ops.len() - n - 10)
        .rev()
        .find(|&p| history[ops[p]].input.1 == RegisterOp::Read)
        .expect("a read of the key");
    let seen = history[ops[last_read]].output().expect("complete").clone();
    for (k, &i) in ops[last_read + 1..].iter().enumerate() {
        let op = &history[i];
        changed[i] = if k < n {
            let lost = RegisterOp::Write(1_000_000 + k as u64);
            Op::pending(op.client, (key, lost), op.invoked)
        } else {
            let returned = op.returned().expect("complete");
            let read = (key, RegisterOp::Read);
            Op::complete(op.client, read, op.invoked, seen.clone(), returned)
        };
    }
    changed
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// Runs `check` `RUNS` times and prints the median; returns it and the
/// last answer.
fn time<T>(label: &str, mut check: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::new();
    let mut answer = None;
    for _ in 0..RUNS {
        let start = Instant::now();
        answer = Some(check());
        times.push(start.elapsed());
    }
    let median = median(times);
    println!("{label}: median {median:?} over {RUNS} runs");
    (median, answer.expect("at least one run"))
}

/// Prints the size of `history` and how much its operations overlap.
fn describe(history: &History, clients: usize, keys: u8) {
    let overlapping = (1..history.len())
        .filter(|&i| history[i].invoked < history[i - 1].returned().unwrap_or(u64::MAX))
        .count();
    println!(
        "{} operations, {clients} clients, {keys} keys; {overlapping} invoked before the previous one returned",
        history.len()
    );
}

fn main() {
    let model = KeyedRegisterModel::<u8, u64>::new();

    let history = register_run(1, 10, 100, 5);
    assert_eq!(history.len(), 1_000);
    describe(&history, 10, 5);
    let (_, verdict) = time("linearizable", || check(&model, &history));
    assert!(verdict.is_ok());
    let broken = with_stale_read(&history, None);
    let (_, verdict) = time("one stale read", || check(&model, &broken));
    println!("{}", verdict.expect_err("a stale read is found"));

    // The only violation is on key 9, the last key of each round of turns.
    let history = register_run(1, 50, 40, 10);
    assert_eq!(history.len(), 2_000);
    println!();
    describe(&history, 50, 10);
    let verdict_of = |history: &History| {
        Checker::new(&model)
            .budget(Budget::time(Duration::from_secs(10)))
            .verdict(history)
    };
    let (_, verdict) = time("linearizable, verdict", || verdict_of(&history));
    assert_eq!(verdict, Verdict::Linearizable);
    let broken = with_stale_read(&history, Some(9));
    let (_, verdict) = time("stale read on key 9, verdict", || verdict_of(&broken));
    assert_eq!(verdict, Verdict::NotLinearizable { key: 9 });
    let (_, verdict) = time("stale read on key 9, report", || check(&model, &broken));
    assert_eq!(verdict.expect_err("a stale read is found").key, 9);

    // Key 0, checked first, made hard to search.
    let hard = with_lost_writes(&broken, 0, 30);
    assert_eq!(hard.len(), 2_000);
    let alone: History = hard.iter().filter(|op| op.input.0 == 0).cloned().collect();
    let limit = Duration::from_secs(2);
    let start = Instant::now();
    let verdict = Checker::new(&model)
        .budget(Budget::time(limit))
        .verdict(&alone);
    println!(
        "key 0 alone, with 30 lost writes: {verdict:?} after {:?}",
        start.elapsed()
    );
    assert!(matches!(verdict, Verdict::Unknown(_)), "key 0 is hard");
    let (took, verdict) = time("key 0 hard, stale read on key 9, verdict", || {
        verdict_of(&hard)
    });
    assert_eq!(verdict, Verdict::NotLinearizable { key: 9 });
    assert!(took < Duration::from_secs(1), "decided in {took:?}");
    let (_, report) = time("key 0 hard, stale read on key 9, report", || {
        Checker::new(&model)
            .budget(Budget::time(Duration::from_secs(10)))
            .report(&hard)
    });
    match report {
        Report::NotLinearizable(report) => println!("{report}"),
        other => panic!("{other:?}"),
    }
}
