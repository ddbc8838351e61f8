//! A concurrent history: who asked what, when, and what came of it.

/// One client operation of a history.
///
/// Times are nanoseconds on one shared clock (the simulator's true time).
/// Operation `a` precedes `b` in real time when `a` returned strictly before
/// `b` was invoked; otherwise they overlap and may take effect in either
/// order.
#[derive(Clone, Debug, PartialEq)]
pub struct Op<I, O> {
    /// The client that issued it (a row of the timeline).
    pub client: usize,
    /// What was asked.
    pub input: I,
    /// When it was invoked.
    pub invoked: u64,
    /// What came of it.
    pub outcome: Outcome<O>,
}

/// What came of an operation, as far as its client knows.
///
/// A client that gave up waiting cannot tell whether its request took
/// effect: the request may be lost, or applied, or still on its way to be
/// applied later. Such an operation must neither be counted as done (that
/// would blame a correct system that lost it) nor left out (that would
/// miss a system whose reads see it), so the checker tries both: it may
/// take effect at any point after its invocation, or never. A definite
/// refusal ("not the leader, nothing done") is different: the operation
/// surely had no effect, and treating it as unknown would only let the
/// search place it where it never was.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome<O> {
    /// It took effect and the client was told `output` at `at`.
    Returned { output: O, at: u64 },
    /// The client does not know (it timed out, its reply was lost, it
    /// crashed). The operation took effect once at some point after its
    /// invocation, or never; its output is unknown. `by`, when known, is the
    /// latest time it can have taken effect (the system is known to have
    /// stopped applying it: an indefinite error returned at `by` by a
    /// server that never retries, say); `None` leaves it open forever.
    Unknown { by: Option<u64> },
    /// It surely had no effect (a definite refusal), reported at `at`. The
    /// checker leaves it out.
    Failed { at: u64 },
}

impl<I, O> Op<I, O> {
    /// An operation that completed with `output` at `returned`.
    pub fn complete(client: usize, input: I, invoked: u64, output: O, returned: u64) -> Self {
        assert!(
            invoked <= returned,
            "an operation returns after it is invoked"
        );
        Op {
            client,
            input,
            invoked,
            outcome: Outcome::Returned {
                output,
                at: returned,
            },
        }
    }

    /// An operation whose outcome the client never learned, with no bound
    /// on when it may take effect: `Op::unknown(client, input, invoked,
    /// None)`.
    pub fn pending(client: usize, input: I, invoked: u64) -> Self {
        Op::unknown(client, input, invoked, None)
    }

    /// An operation whose outcome is unknown: it took effect after
    /// `invoked` and, if `by` is given, no later than `by`; or never. See
    /// [`Outcome::Unknown`].
    pub fn unknown(client: usize, input: I, invoked: u64, by: Option<u64>) -> Self {
        assert!(
            by.is_none_or(|by| invoked <= by),
            "an operation takes effect after it is invoked"
        );
        Op {
            client,
            input,
            invoked,
            outcome: Outcome::Unknown { by },
        }
    }

    /// An operation that surely had no effect, reported to its client at
    /// `at`.
    pub fn failed(client: usize, input: I, invoked: u64, at: u64) -> Self {
        assert!(invoked <= at, "an operation returns after it is invoked");
        Op {
            client,
            input,
            invoked,
            outcome: Outcome::Failed { at },
        }
    }

    /// When its client learned the outcome (returned or failed), if it did.
    pub fn returned(&self) -> Option<u64> {
        match self.outcome {
            Outcome::Returned { at, .. } | Outcome::Failed { at } => Some(at),
            Outcome::Unknown { .. } => None,
        }
    }

    /// What it returned, if it took effect and its client was told.
    pub fn output(&self) -> Option<&O> {
        match &self.outcome {
            Outcome::Returned { output, .. } => Some(output),
            _ => None,
        }
    }
}

/// What to make of one simulated operation (see [`from_sim`]).
pub enum Seen<I, O> {
    /// Keep it: `client`, `input`, and `Some(output)` if its reply says what
    /// happened, `None` if the reply (or its absence) leaves that unknown
    /// (an [`Outcome::Unknown`] with no bound).
    Op {
        client: usize,
        input: I,
        output: Option<O>,
    },
    /// Leave it out: it surely had no effect (a reply such as "not the
    /// leader, nothing done").
    Skip,
}

/// Builds a history from a simulator's client history (`Sim::history()`):
/// `convert` turns each operation's request and reply (`None` if it never
/// got one) into a [`Seen`]. Times are the simulator's true times.
pub fn from_sim<N: dsim::Node, I, O>(
    history: &[dsim::Operation<N>],
    mut convert: impl FnMut(&dsim::Operation<N>) -> Seen<I, O>,
) -> Vec<Op<I, O>> {
    let mut ops = Vec::new();
    for op in history {
        if let Seen::Op {
            client,
            input,
            output,
        } = convert(op)
        {
            let invoked = op.invoked_at.as_nanos();
            ops.push(match (output, &op.completion) {
                (Some(out), Some((_, at))) => {
                    Op::complete(client, input, invoked, out, at.as_nanos())
                }
                _ => Op::pending(client, input, invoked),
            });
        }
    }
    ops
}
