//! cache_server: the learner's cache over TCP, speaking RESP2.
//!
//! The parser is first checked on its own (every prefix of a command is
//! "not yet", the whole command is one command); then a real server is
//! started on an ephemeral loopback port for each test and driven by the
//! suite's own client ([`client`]), every read and write under a time
//! limit, so a server that hangs fails a check with a clear message.

mod client;
mod limits;
mod malformed;
mod wrong;

pub(super) use malformed::malformed;

use crate::subject::cache::server::{parse_command, Server};
use client::{encode, show, Client, Value};
use dscheck::{ensure, Failure, Property, Suite};
use std::net::SocketAddr;
use std::time::Duration;

/// Starts a server and returns the address it listens on.
pub type Start = fn() -> Result<SocketAddr, Failure>;

/// The learner's server on an ephemeral port, run by its own thread for the
/// rest of the suite.
fn subject() -> Result<SocketAddr, Failure> {
    let server = Server::bind("127.0.0.1:0")
        .map_err(|e| Failure::new(STARTS, format!("Server::bind(\"127.0.0.1:0\") failed: {e}")))?;
    let addr = server
        .local_addr()
        .map_err(|e| Failure::new(STARTS, format!("local_addr() failed: {e}")))?;
    std::thread::spawn(move || server.run());
    Ok(addr)
}

// ----- properties and their hints ---------------------------------------------

pub(super) const STARTS: Property = Property {
    name: "the server accepts connections",
    hint: "Server::bind and Server::run are given: did you change them?",
    when: &[],
};
pub(super) const PARSER: Property = Property {
    name: "the parser returns a command only once all of its bytes have arrived",
    hint: "return Ok(None) whenever the buffer ends before the command does (a line without its \
           \\r\\n, a bulk string without all its bytes and the \\r\\n after them); the length used \
           is the position just after the last \\r\\n of the command",
    when: &[],
};
pub(super) const COMMANDS: Property = Property {
    name: "each command answers as Redis does",
    hint:
        "compare with redis-cli against a real Redis: GET of a missing key is Reply::Bulk(None), \
           SET answers Reply::ok(), DEL counts the keys it removed, PING with an argument echoes \
           it as a bulk string; a wrong number of arguments is Reply::wrong_arity",
    when: &[],
};
pub(super) const EXPIRY: Property = Property {
    name: "keys expire as SET EX/PX and EXPIRE say, and TTL counts down",
    hint: "SET ... EX s gives the entry a time to live of s seconds, PX of ms milliseconds, and a \
           SET without them none; EXPIRE with a time of zero or less deletes the key (1 if it \
           existed); TTL is -2 for a missing key, -1 without expiry, else the seconds left rounded \
           to the nearest",
    when: &[],
};
pub(super) const FRAMING: Property = Property {
    name: "commands split over many reads, or many in one read, are each answered once, in order",
    hint:
        "parse_command reads one command from the start of the buffer and says how many bytes it \
           used; the given loop calls it again on the rest, so a pipeline of commands in one read \
           is answered in order",
    when: &[],
};
pub(super) const MALFORMED: Property = Property {
    name: "malformed input gets an error reply or a closed connection",
    hint:
        "check every length before using it: a count after * from 0 to MAX_ARGS, a length after $ \
           from 0 to MAX_BULK_LEN, \\r\\n after the bulk bytes, and no line longer than MAX_LINE \
           while its \\r\\n has not come; each failure is a ProtocolError, never a panic",
    when: &[],
};
pub(super) const OTHERS: Property = Property {
    name: "a malformed or vanished client does not affect the other clients",
    hint: "a bad client must cost only its own connection: return the ProtocolError and let the \
           given loop answer and close that one stream",
    when: &[],
};
pub(super) const CONCURRENT: Property = Property {
    name: "many clients at once each get their own answers",
    hint: "every connection has its own buffer; the cache is shared behind the given mutex",
    when: &[],
};

pub fn tests(suite: Suite) -> Suite {
    let suite = suite
        .test("server::parser_waits_for_whole_commands", parser)
        .test(
            "server::parser_keeps_its_limits_on_lines_and_claimed_counts",
            limits::parser_limits,
        )
        .test("server::answers_ping_set_get_del", || commands(subject))
        .test("server::set_ex_px_expire_and_ttl", || expiry(subject))
        .test("server::pipelined_and_split_commands", || framing(subject))
        .test("server::malformed_input_hurts_no_other_client", || {
            malformed(subject)
        })
        .test("server::many_clients_at_once", || concurrent(subject));
    wrong::tests(suite)
}

// ----- helpers --------------------------------------------------------------------

/// A reply as a learner reads it in redis-cli's terms.
fn shown(value: &Value) -> String {
    match value {
        Value::Simple(s) => format!("+{s}"),
        Value::Error(s) => format!("-{s}"),
        Value::Integer(n) => format!(":{n}"),
        Value::Bulk(None) => "(nil)".to_string(),
        Value::Bulk(Some(b)) => format!("{:?}", String::from_utf8_lossy(b)),
        Value::Array(None) => "(nil array)".to_string(),
        Value::Array(Some(items)) => {
            format!(
                "[{}]",
                items.iter().map(shown).collect::<Vec<_>>().join(", ")
            )
        }
    }
}

fn connect(addr: SocketAddr) -> Result<Client, Failure> {
    Client::connect(addr).map_err(|t| Failure::new(STARTS, format!("connecting to {addr}: {t}")))
}

/// What a check wants back.
enum Want {
    Exactly(Value),
    AnError,
    OneOf(Vec<Value>),
}

/// Sends `args` and checks the reply against `want`, as `property`.
fn expect(
    client: &mut Client,
    args: &[&[u8]],
    want: Want,
    property: Property,
) -> Result<(), Failure> {
    let got = client
        .call(args)
        .map_err(|t| Failure::new(property, format!("`{}` got no reply: {t}", show(args))))?;
    if let Some(failure) = panicked(&got, &show(args)) {
        return Err(failure);
    }
    let (fine, wanted) = match &want {
        Want::Exactly(v) => (got == *v, shown(v)),
        Want::AnError => (got.is_error(), "an error (-ERR …)".to_string()),
        Want::OneOf(vs) => (
            vs.contains(&got),
            vs.iter().map(shown).collect::<Vec<_>>().join(" or "),
        ),
    };
    ensure(fine, property, || {
        format!("`{}` answered {}, not {wanted}", show(args), shown(&got))
    })
}

/// How the given server reports a panic in the learner's code.
const PANICKED: &str = "the server panicked: ";

/// A failure naming the panic, if `reply` reports one: a `todo!()` left,
/// or a bug that panics.
fn panicked(reply: &Value, what: &str) -> Option<Failure> {
    let Value::Error(text) = reply else {
        return None;
    };
    let (_, message) = text.split_once(PANICKED)?;
    let property = if message.starts_with("not yet implemented") {
        dscheck::TODO
    } else {
        dscheck::PANIC
    };
    Some(Failure::new(
        property,
        format!("`{what}`: the server's code panicked: {message}"),
    ))
}

fn int(n: i64) -> Want {
    Want::Exactly(Value::Integer(n))
}

fn bulk(b: &[u8]) -> Want {
    Want::Exactly(Value::bulk(b))
}

fn nil() -> Want {
    Want::Exactly(Value::Bulk(None))
}

fn ok() -> Want {
    Want::Exactly(Value::ok())
}

// ----- the checks ------------------------------------------------------------------

/// `parse_command` on every prefix of a pipeline of three commands (one
/// holding `\r\n` in a value, one empty value): each proper prefix of the
/// first command is "not yet", the whole is the first command with its
/// exact length, and the rest parses as the next two.
fn parser() -> Result<(), Failure> {
    let commands: [&[&[u8]]; 3] = [&[b"SET", b"k\r\n$1", b"a\r\nb"], &[b"GET", b""], &[b"PING"]];
    let bytes: Vec<Vec<u8>> = commands.iter().map(|c| encode(c)).collect();
    let all = bytes.concat();
    let mut at = 0;
    for (command, own) in commands.iter().zip(&bytes) {
        for cut in 0..own.len() {
            let prefix = &all[at..at + cut];
            let got = parse_command(prefix);
            ensure(got == Ok(None), PARSER, || {
                format!(
                    "parse_command({:?}), the first {cut} of the {} bytes of `{}`, answered {got:?}, not Ok(None)",
                    String::from_utf8_lossy(prefix),
                    own.len(),
                    show(command)
                )
            })?;
        }
        let got = parse_command(&all[at..]);
        let expected: Vec<Vec<u8>> = command.iter().map(|a| a.to_vec()).collect();
        ensure(
            got == Ok(Some((expected.clone(), own.len()))),
            PARSER,
            || {
                format!(
                "parse_command({:?}) answered {got:?}, not Ok(Some(({expected:?}, {}))): the first command, and how many bytes it took",
                String::from_utf8_lossy(&all[at..]),
                own.len()
            )
            },
        )?;
        at += own.len();
    }
    Ok(())
}

/// PING, SET, GET, DEL, binary values, lower-case names, unknown
/// commands and wrong arities.
pub(super) fn commands(start: Start) -> Result<(), Failure> {
    let addr = start()?;
    let mut c = connect(addr)?;
    let p = COMMANDS;
    expect(
        &mut c,
        &[b"PING"],
        Want::Exactly(Value::Simple("PONG".into())),
        p,
    )?;
    expect(&mut c, &[b"PING", b"hello"], bulk(b"hello"), p)?;
    expect(&mut c, &[b"GET", b"greeting"], nil(), p)?;
    expect(&mut c, &[b"SET", b"greeting", b"hello"], ok(), p)?;
    expect(&mut c, &[b"GET", b"greeting"], bulk(b"hello"), p)?;
    expect(&mut c, &[b"set", b"greeting", b"hi"], ok(), p)?;
    expect(&mut c, &[b"get", b"greeting"], bulk(b"hi"), p)?;
    let binary: &[u8] = b"line one\r\n$5\r\n*2\r\n\x00\xff";
    expect(&mut c, &[b"SET", b"bin\r\nkey", binary], ok(), p)?;
    expect(&mut c, &[b"GET", b"bin\r\nkey"], bulk(binary), p)?;
    expect(&mut c, &[b"SET", b"empty", b""], ok(), p)?;
    expect(&mut c, &[b"GET", b"empty"], bulk(b""), p)?;
    expect(
        &mut c,
        &[b"DEL", b"greeting", b"missing", b"empty"],
        int(2),
        p,
    )?;
    expect(&mut c, &[b"GET", b"greeting"], nil(), p)?;
    expect(&mut c, &[b"DEL", b"greeting"], int(0), p)?;
    expect(&mut c, &[b"FLY", b"me"], Want::AnError, p)?;
    expect(&mut c, &[b"GET"], Want::AnError, p)?;
    expect(&mut c, &[b"GET", b"a", b"b"], Want::AnError, p)?;
    expect(&mut c, &[b"SET", b"a"], Want::AnError, p)?;
    expect(&mut c, &[b"DEL"], Want::AnError, p)?;
    // After errors the connection still works.
    expect(
        &mut c,
        &[b"PING"],
        Want::Exactly(Value::Simple("PONG".into())),
        p,
    )?;
    // A second connection sees the same cache.
    let mut other = connect(addr)?;
    expect(&mut other, &[b"GET", b"bin\r\nkey"], bulk(binary), p)
}

/// SET with EX and PX, EXPIRE and TTL, and keys gone after their time.
pub(super) fn expiry(start: Start) -> Result<(), Failure> {
    let addr = start()?;
    let mut c = connect(addr)?;
    let p = EXPIRY;
    expect(&mut c, &[b"SET", b"short", b"1", b"PX", b"400"], ok(), p)?;
    expect(&mut c, &[b"SET", b"long", b"2", b"EX", b"100"], ok(), p)?;
    expect(&mut c, &[b"SET", b"forever", b"3"], ok(), p)?;
    expect(&mut c, &[b"SET", b"cleared", b"4", b"px", b"400"], ok(), p)?;
    expect(&mut c, &[b"SET", b"cleared", b"5"], ok(), p)?;
    expect(
        &mut c,
        &[b"TTL", b"long"],
        Want::OneOf(vec![Value::Integer(100), Value::Integer(99)]),
        p,
    )?;
    expect(
        &mut c,
        &[b"TTL", b"short"],
        Want::OneOf(vec![Value::Integer(0)]),
        p,
    )?;
    expect(&mut c, &[b"TTL", b"forever"], int(-1), p)?;
    expect(&mut c, &[b"TTL", b"missing"], int(-2), p)?;
    expect(&mut c, &[b"GET", b"short"], bulk(b"1"), p)?;
    expect(&mut c, &[b"EXPIRE", b"forever", b"50"], int(1), p)?;
    expect(
        &mut c,
        &[b"TTL", b"forever"],
        Want::OneOf(vec![Value::Integer(50), Value::Integer(49)]),
        p,
    )?;
    expect(&mut c, &[b"EXPIRE", b"missing", b"50"], int(0), p)?;
    // A time of zero or less deletes the key at once.
    expect(&mut c, &[b"SET", b"zero", b"6"], ok(), p)?;
    expect(&mut c, &[b"EXPIRE", b"zero", b"0"], int(1), p)?;
    expect(&mut c, &[b"GET", b"zero"], nil(), p)?;
    expect(&mut c, &[b"SET", b"negative", b"7"], ok(), p)?;
    expect(&mut c, &[b"EXPIRE", b"negative", b"-5"], int(1), p)?;
    expect(&mut c, &[b"TTL", b"negative"], int(-2), p)?;
    expect(&mut c, &[b"EXPIRE", b"missing", b"0"], int(0), p)?;
    expect(&mut c, &[b"SET", b"x", b"1", b"EX", b"0"], Want::AnError, p)?;
    expect(
        &mut c,
        &[b"SET", b"x", b"1", b"EX", b"soon"],
        Want::AnError,
        p,
    )?;
    expect(
        &mut c,
        &[b"SET", b"x", b"1", b"KEEP", b"10"],
        Want::AnError,
        p,
    )?;
    std::thread::sleep(Duration::from_millis(600));
    expect(&mut c, &[b"GET", b"short"], nil(), p)?;
    expect(&mut c, &[b"TTL", b"short"], int(-2), p)?;
    expect(&mut c, &[b"GET", b"cleared"], bulk(b"5"), p)?;
    expect(&mut c, &[b"GET", b"long"], bulk(b"2"), p)?;
    expect(&mut c, &[b"GET", b"forever"], bulk(b"3"), p)
}

/// A hundred commands in one write, answered in order; then commands sent
/// a byte at a time.
pub(super) fn framing(start: Start) -> Result<(), Failure> {
    let addr = start()?;
    let mut c = connect(addr)?;
    let mut pipeline = Vec::new();
    let mut wanted = Vec::new();
    for i in 0..50 {
        let key = format!("key{i}");
        let value = format!("value{i}");
        pipeline.extend(encode(&[b"SET", key.as_bytes(), value.as_bytes()]));
        pipeline.extend(encode(&[b"GET", key.as_bytes()]));
        wanted.push((format!("SET {key} {value}"), Value::ok()));
        wanted.push((format!("GET {key}"), Value::bulk(value.as_bytes())));
    }
    c.send(&pipeline)
        .map_err(|t| Failure::new(FRAMING, format!("sending 100 commands in one write: {t}")))?;
    for (i, (command, want)) in wanted.iter().enumerate() {
        let got = c.reply().map_err(|t| {
            Failure::new(FRAMING, format!("100 commands were sent in one write; reply {} (to `{command}`) did not come: {t}", i + 1))
        })?;
        ensure(got == *want, FRAMING, || {
            format!(
                "100 commands were sent in one write; reply {} (to `{command}`) is {}, not {}",
                i + 1,
                shown(&got),
                shown(want)
            )
        })?;
    }
    let slow: Vec<u8> = [
        encode(&[b"SET", b"slow", b"drip"]),
        encode(&[b"GET", b"slow"]),
    ]
    .concat();
    for byte in &slow {
        c.send(std::slice::from_ref(byte)).map_err(|t| {
            Failure::new(FRAMING, format!("sending a command a byte at a time: {t}"))
        })?;
        std::thread::sleep(Duration::from_micros(200));
    }
    for (command, want) in [
        ("SET slow drip", Value::ok()),
        ("GET slow", Value::bulk(b"drip")),
    ] {
        let got = c.reply().map_err(|t| {
            Failure::new(
                FRAMING,
                format!("`{command}` was sent one byte at a time and got no reply: {t}"),
            )
        })?;
        ensure(got == want, FRAMING, || {
            format!(
                "`{command}`, sent one byte at a time, answered {}, not {}",
                shown(&got),
                shown(&want)
            )
        })?;
    }
    Ok(())
}

/// Sixteen clients at once, each writing and reading its own 100 keys.
pub(super) fn concurrent(start: Start) -> Result<(), Failure> {
    let addr = start()?;
    let results: Vec<Result<(), Failure>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..16)
            .map(|t| {
                scope.spawn(move || {
                    let mut c = connect(addr)?;
                    for i in 0..100 {
                        let key = format!("client{t}:key{i}");
                        let value = format!("{t}-{i}-{}", "x".repeat(i));
                        expect(
                            &mut c,
                            &[b"SET", key.as_bytes(), value.as_bytes()],
                            ok(),
                            CONCURRENT,
                        )?;
                        expect(
                            &mut c,
                            &[b"GET", key.as_bytes()],
                            bulk(value.as_bytes()),
                            CONCURRENT,
                        )?;
                    }
                    Ok(())
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join().unwrap_or_else(|_| {
                    Err(Failure::new(
                        CONCURRENT,
                        "a client thread of the suite panicked",
                    ))
                })
            })
            .collect()
    });
    results.into_iter().collect()
}
