//! events_projections: the write side as given / when / then scenarios, the
//! balances read model under duplicated delivery, and a catch-up
//! subscription through lost and repeated pushes and restarts.

pub mod gwt;
pub mod workload;

use crate::expect_caught;
use crate::subject::events::projections::{
    decide, handle, Account, Balances, Command, Delivery, Event, EventLog, Projection, Recorded,
    Rejection, Row, Subscription,
};
use dscheck::{ensure, Failure, Property, Suite};
use dsim::SimRng;
use gwt::{given, Scenario};
use std::collections::BTreeMap;
use workload::{Guarded, Workload};

pub const DECIDE: Property = Property {
    name: "given an account's events, a command gives the expected events or rejection",
    hint: "evolve applies an event without checking it; decide checks in order: Open needs Status::New (else AlreadyOpened); any other command needs Status::Open (New: NotOpened, Closed: AlreadyClosed); then amount 0 is ZeroAmount; then a withdrawal above the balance is InsufficientFunds; Close pays out a positive balance as Withdrawn before Closed",
    when: &[],
};
pub const HANDLE: Property = Property {
    name: "handle appends to the account's stream exactly the events decide chose",
    hint: "rebuild the account from log.stream(stream), decide, and append the decided events with the stream's length as the expected version; a rejection appends nothing",
    when: &[],
};
pub const IDEMPOTENT: Property = Property {
    name: "the read model holds each event it has seen exactly once, however often it was delivered",
    hint: "in Balances::apply, compare the event's position with self.checkpoint before touching any row: below it, the event is already in the model; apply only position == checkpoint, then checkpoint += 1",
    when: &[],
};
pub const GAP: Property = Property {
    name: "a projection applies only the next event: earlier ones are duplicates, later ones a gap",
    hint: "position < checkpoint: Delivery::Duplicate; position > checkpoint: Delivery::Gap { checkpoint } and change nothing; equal: apply, move the checkpoint, Delivery::Applied",
    when: &[],
};
pub const CAUGHT_UP: Property = Property {
    name: "after catching up the read model covers the whole log, and after a live push it covers the pushed event",
    hint: "catch_up reads log.read(projection.checkpoint(), page_size) and offers each event, until a read returns nothing; on_live offers the pushed event and, on a Gap, catches up",
    when: &[],
};

pub fn tests(suite: Suite) -> Suite {
    suite
        .test(
            "projections::given_events_when_a_command_then_events_or_a_rejection",
            || {
                for scenario in scenarios() {
                    scenario.check(DECIDE, decide)?;
                }
                Ok(())
            },
        )
        .test(
            "projections::an_account_is_rebuilt_from_its_events",
            gwt::rebuilt_accounts,
        )
        .seeded(
            "projections::handle_appends_what_decide_chose",
            5,
            handle_appends,
        )
        .seeded(
            "projections::the_read_model_ignores_duplicates_and_gaps",
            10,
            duplicates::<Balances>,
        )
        .seeded(
            "projections::a_catch_up_subscription_follows_the_log",
            10,
            subscription::<Balances>,
        )
        .test(
            "meta::a_projection_that_applies_duplicates_is_caught",
            || expect_caught(IDEMPOTENT, duplicates::<Counting>),
        )
        .test(
            "meta::a_projection_that_applies_duplicates_is_caught_through_the_subscription",
            || expect_caught(IDEMPOTENT, subscription::<Counting>),
        )
        .test(
            "meta::a_decide_that_lets_an_account_overdraw_is_caught",
            || {
                expect_caught(DECIDE, |_| {
                    for scenario in scenarios() {
                        scenario.check(
                            DECIDE,
                            |account: &Account, command: &Command| match command {
                                &Command::Withdraw { amount }
                                    if account.status
                                        == crate::subject::events::projections::Status::Open
                                        && amount > 0 =>
                                {
                                    Ok(vec![Event::Withdrawn { amount }])
                                }
                                _ => decide(account, command),
                            },
                        )?;
                    }
                    Ok(())
                })
            },
        )
}

fn opened(owner: &str) -> Event {
    Event::Opened {
        owner: owner.to_string(),
    }
}
fn dep(amount: u64) -> Event {
    Event::Deposited { amount }
}
fn wd(amount: u64) -> Event {
    Event::Withdrawn { amount }
}

/// The write side's scenarios.
pub fn scenarios() -> Vec<Scenario> {
    use Command::*;
    use Rejection::*;
    let open = |owner: &str| Open {
        owner: owner.to_string(),
    };
    vec![
        given("open a new account", vec![])
            .when(open("ann"))
            .then(vec![opened("ann")]),
        given("open an open account", vec![opened("ann")])
            .when(open("bob"))
            .rejects(AlreadyOpened),
        given("open a closed account", vec![opened("ann"), Event::Closed])
            .when(open("ann"))
            .rejects(AlreadyOpened),
        given("deposit into an account never opened", vec![])
            .when(Deposit { amount: 5 })
            .rejects(NotOpened),
        given("withdraw from an account never opened", vec![])
            .when(Withdraw { amount: 5 })
            .rejects(NotOpened),
        given("close an account never opened", vec![])
            .when(Close)
            .rejects(NotOpened),
        given("deposit", vec![opened("ann")])
            .when(Deposit { amount: 30 })
            .then(vec![dep(30)]),
        given("deposit nothing", vec![opened("ann")])
            .when(Deposit { amount: 0 })
            .rejects(ZeroAmount),
        given("withdraw within the balance", vec![opened("ann"), dep(30)])
            .when(Withdraw { amount: 20 })
            .then(vec![wd(20)]),
        given(
            "withdraw the whole balance",
            vec![opened("ann"), dep(30), wd(10)],
        )
        .when(Withdraw { amount: 20 })
        .then(vec![wd(20)]),
        given(
            "withdraw one more than the balance",
            vec![opened("ann"), dep(30), wd(10)],
        )
        .when(Withdraw { amount: 21 })
        .rejects(InsufficientFunds {
            balance: 20,
            requested: 21,
        }),
        given("withdraw from an empty account", vec![opened("ann")])
            .when(Withdraw { amount: 1 })
            .rejects(InsufficientFunds {
                balance: 0,
                requested: 1,
            }),
        given("withdraw nothing", vec![opened("ann"), dep(3)])
            .when(Withdraw { amount: 0 })
            .rejects(ZeroAmount),
        given(
            "close an account with money on it",
            vec![opened("ann"), dep(30), dep(12)],
        )
        .when(Close)
        .then(vec![wd(42), Event::Closed]),
        given("close an empty account", vec![opened("ann"), dep(5), wd(5)])
            .when(Close)
            .then(vec![Event::Closed]),
        given(
            "deposit into a closed account",
            vec![opened("ann"), Event::Closed],
        )
        .when(Deposit { amount: 1 })
        .rejects(AlreadyClosed),
        given(
            "withdraw nothing from a closed account",
            vec![opened("ann"), Event::Closed],
        )
        .when(Withdraw { amount: 0 })
        .rejects(AlreadyClosed),
        given(
            "close a closed account",
            vec![opened("ann"), dep(4), wd(4), Event::Closed],
        )
        .when(Close)
        .rejects(AlreadyClosed),
    ]
}

/// The read model as the tests compare it.
pub type View = (BTreeMap<String, Row>, u64, u64);

/// A read model the tests can run: the learner's `Balances` or a known-wrong one.
pub trait ReadModel: Projection + Clone + Default {
    fn view(&self) -> View;
}

impl ReadModel for Balances {
    fn view(&self) -> View {
        (self.rows.clone(), self.total, self.open_accounts)
    }
}

/// The read model the tests expect after `events`: the suite's own fold.
pub fn expected_view(events: &[Recorded]) -> View {
    let (mut rows, mut total, mut open) = (BTreeMap::<String, Row>::new(), 0u64, 0u64);
    for r in events {
        let row = rows.entry(r.stream.clone()).or_default();
        match &r.event {
            Event::Opened { owner } => {
                row.owner = owner.clone();
                row.open = true;
                open += 1;
            }
            Event::Deposited { amount } => {
                row.balance += amount;
                total += amount;
            }
            Event::Withdrawn { amount } => {
                row.balance = row.balance.saturating_sub(*amount);
                total = total.saturating_sub(*amount);
            }
            Event::Closed => {
                row.open = false;
                open = open.saturating_sub(1);
            }
        }
    }
    (rows, total, open)
}

/// Checks that `model` holds exactly the events below its checkpoint.
fn check_view<P: ReadModel>(model: &P, log: &EventLog, after: &str) -> Result<(), Failure> {
    let checkpoint = model.checkpoint();
    let seen = log.read(0, checkpoint as usize);
    let expected = expected_view(seen);
    let actual = model.view();
    ensure(
        actual == expected && seen.len() as u64 == checkpoint,
        IDEMPOTENT,
        || {
            format!(
            "after {after}, the read model's checkpoint is {checkpoint} (of {} events in the log)\n  rows, total, open accounts:\n  actual   {actual:?}\n  expected {expected:?} (each of the first {checkpoint} events once)",
            log.len()
        )
        },
    )
}

fn handle_appends(seed: u64) -> Result<(), Failure> {
    let mut rng = SimRng::new(seed);
    let mut log = EventLog::default();
    let streams = ["acct-1", "acct-2", "acct-3"];
    for step in 0..60 {
        let stream = *rng.pick(&streams);
        let command = match rng.below(8) {
            0 => Command::Open {
                owner: format!("owner-{}", rng.below(9)),
            },
            1 => Command::Close,
            2..=4 => Command::Deposit {
                amount: rng.below(50),
            },
            _ => Command::Withdraw {
                amount: rng.below(60),
            },
        };
        let history = log.stream(stream);
        let expected = decide(&Account::from_history(&history), &command);
        let before = log.len();
        let got = handle(&mut log, stream, &command);
        let appended: Vec<Event> = log.stream(stream)[history.len()..].to_vec();
        let fine = match (&got, &expected) {
            (Ok(recorded), Ok(events)) => {
                &appended == events
                    && recorded.iter().map(|r| &r.event).eq(events.iter())
                    && recorded
                        .iter()
                        .zip(before..)
                        .all(|(r, p)| r.position == p && r.stream == stream)
            }
            (Err(a), Err(b)) => a == b && log.len() == before,
            _ => false,
        };
        ensure(fine, HANDLE, || {
            format!(
                "step {step}: handle({stream:?}, {command:?}) on {stream}'s history {history:?}\n  returned {got:?}\n  and appended {appended:?}\n  decide chose {expected:?}"
            )
        })?;
    }
    Ok(())
}

/// Deliveries straight to the projection, in order, each one to three
/// times, with old events delivered again now and then, and a few events
/// offered too early (a gap).
fn duplicates<P: ReadModel>(seed: u64) -> Result<(), Failure> {
    let mut rng = SimRng::new(seed);
    let mut work = Workload::new(seed);
    let mut log = EventLog::default();
    for _ in 0..40 {
        work.step(&mut log);
    }
    let all = log.read(0, usize::MAX).to_vec();
    let mut model = P::default();
    for (i, recorded) in all.iter().enumerate() {
        let got = model.apply(recorded);
        ensure(
            got == Delivery::Applied && model.checkpoint() == i as u64 + 1,
            GAP,
            || {
                format!("the next event {recorded:?} was offered at checkpoint {i}: apply returned {got:?} and left the checkpoint at {}, expected Applied and {}", model.checkpoint(), i + 1)
            },
        )?;
        check_view(&model, &log, &format!("event {i} was delivered"))?;
        // The first event always comes twice: a projection that applies a
        // duplicate is caught at once, whatever the seed.
        let again = if i == 0 { 1 } else { rng.below(3) };
        for _ in 0..again {
            let got = model.apply(recorded);
            check_view(&model, &log, &format!("event {i} was delivered again"))?;
            ensure(got == Delivery::Duplicate, GAP, || {
                format!(
                    "event {i} offered a second time: apply returned {got:?}, expected Duplicate"
                )
            })?;
        }
        if rng.chance(0.3) {
            let old = rng.below(i as u64 + 1) as usize;
            model.apply(&all[old]);
            check_view(
                &model,
                &log,
                &format!("event {i}, then the older event {old} again"),
            )?;
        }
        if i + 2 < all.len() && rng.chance(0.2) {
            let later = i + 2 + rng.below((all.len() - i - 2) as u64) as usize;
            let before = model.view();
            let got = model.apply(&all[later]);
            let expected = Delivery::Gap {
                checkpoint: i as u64 + 1,
            };
            ensure(
                got == expected && model.view() == before && model.checkpoint() == i as u64 + 1,
                GAP,
                || {
                    format!("at checkpoint {}, event {later} (a gap) was offered: apply returned {got:?}, expected {expected:?} and no change", i + 1)
                },
            )?;
        }
    }
    Ok(())
}

/// A subscriber catches up on a log that already has events, then follows
/// live pushes that are sometimes lost or repeated, and sometimes restarts
/// from a copy of its read model saved earlier.
fn subscription<P: ReadModel>(seed: u64) -> Result<(), Failure> {
    let mut rng = SimRng::new(seed ^ 0x5B);
    let mut work = Workload::new(seed);
    let mut log = EventLog::default();
    for _ in 0..rng.range(0..=30) {
        work.step(&mut log);
    }
    let sub = Subscription {
        page_size: rng.range(1..=7) as usize,
    };
    let mut model = P::default();
    let mut saved = P::default();
    let caught_up = |model: &P, log: &EventLog, after: &str| {
        ensure(model.checkpoint() == log.len(), CAUGHT_UP, || {
            format!("after {after}, the read model's checkpoint is {}, but the log holds {} events (page size {})", model.checkpoint(), log.len(), sub.page_size)
        })
    };
    sub.catch_up(&log, &mut Guarded::new(&mut model, &log));
    check_view(&model, &log, "the first catch-up")?;
    caught_up(&model, &log, "the first catch-up")?;
    for step in 0..60 {
        let pushed = work.step(&mut log);
        for recorded in &pushed {
            if rng.chance(0.2) {
                continue; // lost on the way
            }
            for copy in 0..=u64::from(rng.chance(0.2)) {
                sub.on_live(&log, &mut Guarded::new(&mut model, &log), recorded);
                let after = format!(
                    "step {step}: the live push of event {} (copy {})",
                    recorded.position,
                    copy + 1
                );
                check_view(&model, &log, &after)?;
                ensure(model.checkpoint() > recorded.position, CAUGHT_UP, || {
                    format!("after {after}, the read model's checkpoint is {}: the pushed event is not in it (page size {})", model.checkpoint(), sub.page_size)
                })?;
            }
        }
        if rng.chance(0.15) && !log.is_empty() {
            let old = log.read(rng.below(log.len()), 1)[0].clone();
            sub.on_live(&log, &mut Guarded::new(&mut model, &log), &old);
            check_view(
                &model,
                &log,
                &format!("step {step}: event {} pushed again", old.position),
            )?;
        }
        if step % 10 == 0 {
            saved = model.clone();
        }
        if rng.chance(0.1) {
            model = saved.clone();
            sub.catch_up(&log, &mut Guarded::new(&mut model, &log));
            let after = format!(
                "step {step}: a restart from the copy saved at checkpoint {} and a catch-up",
                saved.checkpoint()
            );
            check_view(&model, &log, &after)?;
            caught_up(&model, &log, &after)?;
        }
    }
    Ok(())
}

/// A projection without a checkpoint check: it applies whatever arrives.
#[derive(Clone, Default)]
struct Counting {
    checkpoint: u64,
    applied: Vec<Recorded>,
}

impl Projection for Counting {
    fn checkpoint(&self) -> u64 {
        self.checkpoint
    }
    fn apply(&mut self, r: &Recorded) -> Delivery {
        self.applied.push(r.clone());
        self.checkpoint = self.checkpoint.max(r.position + 1);
        Delivery::Applied
    }
}

impl ReadModel for Counting {
    fn view(&self) -> View {
        expected_view(&self.applied)
    }
}
