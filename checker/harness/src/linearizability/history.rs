//! A concurrent history: who asked what, when, and what they were told.

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
    /// What the client was told and when, or `None` if it never learned: an
    /// operation that never completed may take effect at any time after its
    /// invocation, or never.
    pub completion: Option<(O, u64)>,
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
            completion: Some((output, returned)),
        }
    }

    /// An operation whose outcome the client never learned.
    pub fn pending(client: usize, input: I, invoked: u64) -> Self {
        Op {
            client,
            input,
            invoked,
            completion: None,
        }
    }

    /// When it returned, if it did.
    pub fn returned(&self) -> Option<u64> {
        self.completion.as_ref().map(|(_, t)| *t)
    }

    /// What it returned, if it did.
    pub fn output(&self) -> Option<&O> {
        self.completion.as_ref().map(|(o, _)| o)
    }
}

/// What to make of one simulated operation (see [`from_sim`]).
pub enum Seen<I, O> {
    /// Keep it: `client`, `input`, and `Some(output)` if its reply says what
    /// happened, `None` if the reply (or its absence) leaves that unknown.
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
            let completion = match (output, &op.completion) {
                (Some(out), Some((_, at))) => Some((out, at.as_nanos())),
                _ => None,
            };
            ops.push(Op {
                client,
                input,
                invoked,
                completion,
            });
        }
    }
    ops
}
