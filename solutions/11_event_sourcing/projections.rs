//! # events_projections: commands, events and read models (CQRS)
//!
//! An event-sourced service splits in two. The **write side** takes a
//! command, rebuilds the aggregate it concerns from that aggregate's events,
//! and *decides*: either new events (facts, in the past tense: `Deposited`)
//! or a rejection. Deciding is a pure function of the past and the command,
//! which is why it is tested as *given these events, when this command, then
//! these events (or this error)*.
//!
//! The **read side** answers queries from read models (projections): tables
//! shaped for one screen, kept up to date by folding the log's events into
//! them. A projection is fed by a **catch-up subscription**: it reads the
//! log from its checkpoint until it has seen everything, then follows the
//! events pushed live as they are appended. Delivery is at least once: a
//! push can be lost (the next push then reveals a gap, and the subscription
//! catches up from the log) or repeated (after a reconnect, a retry, a
//! restart from an older checkpoint). So a projection must be
//! **idempotent**: it keeps its checkpoint (the log position of the next
//! event it needs) *with* its data, and ignores what is below it.
//!
//! The domain is a bank account: open it, deposit, withdraw, close it.
//!
// exercise: begin
// stub: //! Read `exercises/11_event_sourcing/README.md` first. The types and the
// stub: //! in-memory `EventLog` are given; fill in each `todo!()`: the write side
// stub: //! (`evolve`, `decide`, `handle`), then the read model (`Balances::apply`),
// stub: //! then the subscription (`catch_up`, `on_live`).
//! The reference solution.
// exercise: end

use std::collections::BTreeMap;

/// What a user asks of an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Open {
        owner: String,
    },
    Deposit {
        amount: u64,
    },
    Withdraw {
        amount: u64,
    },
    /// Close the account, paying out what is left on it.
    Close,
}

/// What happened to an account: a fact, never refused once recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Opened { owner: String },
    Deposited { amount: u64 },
    Withdrawn { amount: u64 },
    Closed,
}

/// Why a command was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// `Open` on an account that was opened before (open or closed).
    AlreadyOpened,
    /// Anything but `Open` on an account never opened.
    NotOpened,
    /// Anything but `Open` on a closed account.
    AlreadyClosed,
    /// A deposit or withdrawal of 0.
    ZeroAmount,
    /// A withdrawal of more than the balance.
    InsufficientFunds { balance: u64, requested: u64 },
}

/// Where an account is in its life.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Status {
    #[default]
    New,
    Open,
    Closed,
}

/// The write side's state of one account: exactly what `decide` needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Account {
    pub status: Status,
    pub owner: String,
    pub balance: u64,
}

impl Account {
    /// The account after `events`, from the first: a fold of `evolve`.
    pub fn from_history(events: &[Event]) -> Account {
        let mut account = Account::default();
        for event in events {
            account.evolve(event);
        }
        account
    }

    /// Applies one event. An event is a fact: it is applied, never checked.
    pub fn evolve(&mut self, event: &Event) {
        // exercise: begin "match the event: Opened sets the status to Open and the owner; Deposited adds to the balance; Withdrawn subtracts; Closed sets the status to Closed"
        match event {
            Event::Opened { owner } => {
                self.status = Status::Open;
                self.owner = owner.clone();
            }
            Event::Deposited { amount } => self.balance += amount,
            Event::Withdrawn { amount } => self.balance -= amount,
            Event::Closed => self.status = Status::Closed,
        }
        // exercise: end
    }
}

/// Decides what `command` does to `account`: the events it causes, or why
/// it is refused. Checks in this order: the account's status (`Open` needs
/// a new account; every other command an open one), then a zero amount,
/// then the funds. `Close` pays out a positive balance first: `Withdrawn`
/// of the whole balance, then `Closed`.
pub fn decide(account: &Account, command: &Command) -> Result<Vec<Event>, Rejection> {
    // exercise: begin "match (account.status, command) in the order the doc comment gives: status first, then a zero amount, then the funds; Close pays out a positive balance as Withdrawn before Closed"
    match (account.status, command) {
        (Status::New, Command::Open { owner }) => Ok(vec![Event::Opened {
            owner: owner.clone(),
        }]),
        (_, Command::Open { .. }) => Err(Rejection::AlreadyOpened),
        (Status::New, _) => Err(Rejection::NotOpened),
        (Status::Closed, _) => Err(Rejection::AlreadyClosed),
        (Status::Open, Command::Deposit { amount: 0 } | Command::Withdraw { amount: 0 }) => {
            Err(Rejection::ZeroAmount)
        }
        (Status::Open, &Command::Deposit { amount }) => Ok(vec![Event::Deposited { amount }]),
        (Status::Open, &Command::Withdraw { amount }) if amount > account.balance => {
            Err(Rejection::InsufficientFunds {
                balance: account.balance,
                requested: amount,
            })
        }
        (Status::Open, &Command::Withdraw { amount }) => Ok(vec![Event::Withdrawn { amount }]),
        (Status::Open, Command::Close) if account.balance > 0 => Ok(vec![
            Event::Withdrawn {
                amount: account.balance,
            },
            Event::Closed,
        ]),
        (Status::Open, Command::Close) => Ok(vec![Event::Closed]),
    }
    // exercise: end
}

/// An event in the log, with its place in the log and in its stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// Its place in the whole log: 0 for the first event.
    pub position: u64,
    /// The account it belongs to.
    pub stream: String,
    /// Its place in its stream: 1 for the first event.
    pub version: u64,
    pub event: Event,
}

/// Someone else appended to the stream since it was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    pub expected: u64,
    pub actual: u64,
}

/// An in-memory event log with optimistic concurrency (the store of
/// `events_store`, without the file). Given.
#[derive(Clone, Debug, Default)]
pub struct EventLog {
    events: Vec<Recorded>,
    versions: BTreeMap<String, u64>,
}

impl EventLog {
    /// Appends `events` to `stream` if it is at version `expected`, and
    /// returns them as recorded (what is pushed to live subscribers).
    pub fn append(
        &mut self,
        stream: &str,
        expected: u64,
        events: Vec<Event>,
    ) -> Result<Vec<Recorded>, Conflict> {
        let actual = self.version(stream);
        if actual != expected {
            return Err(Conflict { expected, actual });
        }
        let first = self.events.len();
        for (i, event) in (1..).zip(events) {
            self.events.push(Recorded {
                position: self.events.len() as u64,
                stream: stream.to_string(),
                version: actual + i,
                event,
            });
        }
        self.versions.insert(
            stream.to_string(),
            self.events.len() as u64 - first as u64 + actual,
        );
        Ok(self.events[first..].to_vec())
    }

    /// At most `max` events from position `from` on (fewer at the end).
    pub fn read(&self, from: u64, max: usize) -> &[Recorded] {
        let from = (from as usize).min(self.events.len());
        let to = from.saturating_add(max).min(self.events.len());
        &self.events[from..to]
    }

    /// The events of one stream, in order.
    pub fn stream(&self, stream: &str) -> Vec<Event> {
        self.events
            .iter()
            .filter(|r| r.stream == stream)
            .map(|r| r.event.clone())
            .collect()
    }

    /// How many events `stream` holds.
    pub fn version(&self, stream: &str) -> u64 {
        self.versions.get(stream).copied().unwrap_or(0)
    }

    /// How many events the log holds: the position of the next one.
    pub fn len(&self) -> u64 {
        self.events.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

/// The write side, whole: rebuild the account from its stream, decide,
/// append what was decided at the version that was read. Returns the new
/// events as recorded (to push to subscribers).
pub fn handle(
    log: &mut EventLog,
    stream: &str,
    command: &Command,
) -> Result<Vec<Recorded>, Rejection> {
    // exercise: begin "rebuild the Account from log.stream(stream) with from_history, decide, then log.append the decided events expecting the history's length as the version"
    let history = log.stream(stream);
    let account = Account::from_history(&history);
    let events = decide(&account, command)?;
    let recorded = log
        .append(stream, history.len() as u64, events)
        .expect("nobody else appends between the read and the append here");
    Ok(recorded)
    // exercise: end
}

/// What a projection did with one delivered event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// It was the next event: applied, and the checkpoint moved past it.
    Applied,
    /// Already applied (below the checkpoint): ignored.
    Duplicate,
    /// Beyond the next event: some events were missed, so it is not
    /// applied; the subscription must catch up from the log first.
    Gap { checkpoint: u64 },
}

/// A read model fed by a subscription.
pub trait Projection {
    /// The log position of the next event it needs (0 at the start).
    fn checkpoint(&self) -> u64;
    /// Offers one event; applies it only if it is the next one.
    fn apply(&mut self, recorded: &Recorded) -> Delivery;
}

/// One row of the balances screen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Row {
    pub owner: String,
    pub balance: u64,
    pub open: bool,
}

/// The read model of the balances screen: a row per account ever opened,
/// the money held over all accounts, and how many accounts are open.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Balances {
    /// Kept with the data, so that a copy saved and restored later knows
    /// exactly which events it already contains.
    pub checkpoint: u64,
    pub rows: BTreeMap<String, Row>,
    pub total: u64,
    pub open_accounts: u64,
}

impl Projection for Balances {
    fn checkpoint(&self) -> u64 {
        self.checkpoint
    }

    fn apply(&mut self, recorded: &Recorded) -> Delivery {
        // exercise: begin "below the checkpoint: Duplicate; above it: Gap {{ checkpoint }}; equal: update the row, total and open_accounts, move the checkpoint one on, Applied"
        if recorded.position < self.checkpoint {
            return Delivery::Duplicate;
        }
        if recorded.position > self.checkpoint {
            return Delivery::Gap {
                checkpoint: self.checkpoint,
            };
        }
        let row = self.rows.entry(recorded.stream.clone()).or_default();
        match &recorded.event {
            Event::Opened { owner } => {
                row.owner = owner.clone();
                row.open = true;
                self.open_accounts += 1;
            }
            Event::Deposited { amount } => {
                row.balance += amount;
                self.total += amount;
            }
            Event::Withdrawn { amount } => {
                row.balance -= amount;
                self.total -= amount;
            }
            Event::Closed => {
                row.open = false;
                self.open_accounts -= 1;
            }
        }
        self.checkpoint += 1;
        Delivery::Applied
        // exercise: end
    }
}

/// A catch-up subscription: reads the log in pages from the projection's
/// checkpoint, then takes live pushes, falling back to the log on a gap.
#[derive(Clone, Copy, Debug)]
pub struct Subscription {
    /// How many events one read of the log returns at most.
    pub page_size: usize,
}

impl Subscription {
    /// Reads pages from the projection's checkpoint until the log has no
    /// more, offering each event to the projection.
    pub fn catch_up<P: Projection>(&self, log: &EventLog, projection: &mut P) {
        // exercise: begin "loop: read a page from projection.checkpoint(); stop when it is empty; offer each event of it to the projection"
        loop {
            let page = log.read(projection.checkpoint(), self.page_size);
            if page.is_empty() {
                return;
            }
            for recorded in page {
                projection.apply(recorded);
            }
        }
        // exercise: end
    }

    /// A live push: offer it; if it reveals a gap, catch up from the log
    /// (which holds the pushed event too).
    pub fn on_live<P: Projection>(&self, log: &EventLog, projection: &mut P, pushed: &Recorded) {
        // exercise: begin "offer the pushed event; if the projection answers Gap, catch up from the log"
        if let Delivery::Gap { .. } = projection.apply(pushed) {
            self.catch_up(log, projection);
        }
        // exercise: end
    }
}
