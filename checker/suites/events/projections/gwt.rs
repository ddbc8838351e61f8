//! Given / when / then: a scenario of the write side, checked on `decide`,
//! with a failure that shows the whole scenario, the expected outcome and
//! the actual one.

use crate::subject::events::projections::{Account, Command, Event, Rejection};
use dscheck::{Failure, Property};

/// What a command should lead to.
#[derive(Clone, Debug)]
pub enum Then {
    Events(Vec<Event>),
    Rejected(Rejection),
}

/// One scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: &'static str,
    pub given: Vec<Event>,
    pub when: Command,
    pub then: Then,
}

/// `given(events).when(command).then(events)` or `.rejects(rejection)`.
pub fn given(name: &'static str, events: Vec<Event>) -> Given {
    Given { name, events }
}

pub struct Given {
    name: &'static str,
    events: Vec<Event>,
}

impl Given {
    pub fn when(self, command: Command) -> When {
        When {
            given: self,
            command,
        }
    }
}

pub struct When {
    given: Given,
    command: Command,
}

impl When {
    pub fn then(self, events: Vec<Event>) -> Scenario {
        self.finish(Then::Events(events))
    }
    pub fn rejects(self, rejection: Rejection) -> Scenario {
        self.finish(Then::Rejected(rejection))
    }
    fn finish(self, then: Then) -> Scenario {
        Scenario {
            name: self.given.name,
            given: self.given.events,
            when: self.command,
            then,
        }
    }
}

fn outcome(result: &Result<Vec<Event>, Rejection>) -> String {
    match result {
        Ok(events) if events.is_empty() => "no events".to_string(),
        Ok(events) => format!("events {}", list(events)),
        Err(rejection) => format!("rejected with {rejection:?}"),
    }
}

fn list(events: &[Event]) -> String {
    events
        .iter()
        .map(|e| format!("{e:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Scenario {
    /// Runs the scenario on `decide` (rebuilding the account from `given`
    /// with `from_history`); a failure of `property` shows it all.
    pub fn check(
        &self,
        property: Property,
        decide: impl Fn(&Account, &Command) -> Result<Vec<Event>, Rejection>,
    ) -> Result<(), Failure> {
        let account = Account::from_history(&self.given);
        let actual = decide(&account, &self.when);
        let expected = match &self.then {
            Then::Events(events) => Ok(events.clone()),
            Then::Rejected(rejection) => Err(rejection.clone()),
        };
        if actual == expected {
            return Ok(());
        }
        let given = if self.given.is_empty() {
            "no events (a new account)".to_string()
        } else {
            list(&self.given)
        };
        Err(Failure::new(
            property,
            format!(
                "scenario “{}”\n  given    {given}\n  when     {:?}\n  then     expected {}\n           actual   {}\n  (the account rebuilt from the given events: {account:?})",
                self.name,
                self.when,
                outcome(&expected),
                outcome(&actual),
            ),
        ))
    }
}

pub const EVOLVE: Property = Property {
    name: "an account rebuilt from its events has the status, owner and balance they say",
    hint: "evolve: Opened sets the status to Open and the owner to the event's owner; Deposited adds its amount to the balance, Withdrawn subtracts it; Closed sets the status to Closed",
    when: &[],
};

/// `Account::from_history` of a few histories, field by field (`decide`
/// reads only the status and the balance, so the owner is checked here).
pub fn rebuilt_accounts() -> Result<(), Failure> {
    use crate::subject::events::projections::Status;
    let opened = |owner: &str| Event::Opened {
        owner: owner.to_string(),
    };
    let account = |status, owner: &str, balance| Account {
        status,
        owner: owner.to_string(),
        balance,
    };
    let cases = [
        (vec![], account(Status::New, "", 0)),
        (vec![opened("ann")], account(Status::Open, "ann", 0)),
        (
            vec![
                opened("bob"),
                Event::Deposited { amount: 10 },
                Event::Withdrawn { amount: 3 },
                Event::Deposited { amount: 5 },
            ],
            account(Status::Open, "bob", 12),
        ),
        (
            vec![
                opened("cy"),
                Event::Deposited { amount: 4 },
                Event::Withdrawn { amount: 4 },
                Event::Closed,
            ],
            account(Status::Closed, "cy", 0),
        ),
    ];
    for (events, expected) in cases {
        let actual = Account::from_history(&events);
        if actual != expected {
            return Err(Failure::new(
                EVOLVE,
                format!(
                    "Account::from_history({})\n  gave     {actual:?}\n  expected {expected:?}",
                    list(&events)
                ),
            ));
        }
    }
    Ok(())
}
