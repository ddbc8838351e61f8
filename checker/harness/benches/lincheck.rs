//! How long the linearizability checker takes on a realistic history: 1,000
//! operations by 10 clients on 5 keys, recorded from a simulated register
//! server whose operations overlap, and the same history with one read made
//! stale. `cargo bench -p dscheck --bench lincheck`; prints the median of
//! several runs.

use dscheck::linearizability::{
    check, from_sim, KeyedRegisterModel, Op, Outcome, RegisterOp, RegisterRet, Seen,
};
use dsim::{Ctx, Node, NodeId, RequestId, Sim};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const CLIENTS: usize = 10;
const OPS_PER_CLIENT: usize = 100;
const KEYS: u8 = 5;
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

/// The recorded history of one seeded run: each client sends its next
/// request a few milliseconds after the previous one was answered.
fn register_run(seed: u64) -> History {
    let mut sim = Sim::new(seed, 1, |_| Server::default());
    let mut rng = sim.scenario_rng();
    let mut client_of: BTreeMap<RequestId, usize> = BTreeMap::new();
    let mut current: [Option<RequestId>; CLIENTS] = [None; CLIENTS];
    let mut sent = [0; CLIENTS];
    let mut next_value = 0;
    while sent.iter().any(|&n| n < OPS_PER_CLIENT) || current.iter().any(Option::is_some) {
        for client in 0..CLIENTS {
            let done = current[client].is_none_or(|id| sim.operation(id).is_complete());
            if done {
                current[client] = None;
                if sent[client] < OPS_PER_CLIENT && rng.chance(0.3) {
                    let key = rng.below(KEYS as u64) as u8;
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

/// The same history with one late read returning its key's first value.
fn with_stale_read(history: &History) -> History {
    let mut broken = history.clone();
    let first_write = |key: u8| {
        history.iter().find_map(|op| match op.input {
            (k, RegisterOp::Write(v)) if k == key => Some(v),
            _ => None,
        })
    };
    let late = (history.len() * 3 / 4..history.len())
        .find(|&i| {
            let (key, op) = &history[i].input;
            *op == RegisterOp::Read
                && history[i].output() != Some(&RegisterRet::Value(first_write(*key)))
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

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn time(label: &str, history: &History, linearizable: bool) {
    let model = KeyedRegisterModel::<u8, u64>::new();
    let mut times = Vec::new();
    let mut report = None;
    for _ in 0..RUNS {
        let start = Instant::now();
        let verdict = check(&model, history);
        times.push(start.elapsed());
        assert_eq!(verdict.is_ok(), linearizable, "{label}");
        report = verdict.err();
    }
    println!("{label}: median {:?} over {RUNS} runs", median(times));
    if let Some(report) = report {
        println!("{report}");
    }
}

fn main() {
    let history = register_run(1);
    assert_eq!(history.len(), CLIENTS * OPS_PER_CLIENT);
    let overlapping = (1..history.len())
        .filter(|&i| history[i].invoked < history[i - 1].returned().unwrap_or(u64::MAX))
        .count();
    println!(
        "{} operations, {CLIENTS} clients, {KEYS} keys; {overlapping} invoked before the previous one returned",
        history.len()
    );
    time("linearizable", &history, true);
    time("one stale read", &with_stale_read(&history), false);
}
