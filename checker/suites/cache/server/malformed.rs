//! Malformed input, one case per connection, while a bystander keeps a
//! connection and a key: each case is refused or closed, and nobody else
//! notices.

use super::client::{encode, Client, Trouble, Value};
use super::{connect, expect, ok, panicked, shown, Start, Want, COMMANDS, MALFORMED, OTHERS};
use dscheck::{ensure, Failure};

/// What a malformed-input case expects of its own connection.
enum Then {
    /// An error reply or a closed connection.
    Refused,
    /// An error reply, and the connection still answers PING.
    ErrorAndOn,
    /// PONG first (a good command before the bad bytes), then refused.
    PongThenRefused,
    /// The client goes away; nothing to read.
    Vanishes,
}

/// Malformed inputs, each on its own connection, while a bystander holds
/// a connection and a key: each gets an error or a close, and after each
/// the bystander and a new client are served as before.
pub(in crate::cache) fn malformed(start: Start) -> Result<(), Failure> {
    let addr = start()?;
    let mut bystander = connect(addr)?;
    expect(
        &mut bystander,
        &[b"SET", b"bystander", b"still here"],
        ok(),
        COMMANDS,
    )?;
    let long_line = [b"*1\r\n$".as_slice(), &[b'1'; 100 * 1024]].concat();
    let cases: Vec<(&str, Vec<u8>, Then)> = vec![
        (
            "an unknown command",
            encode(&[b"FLUSHEVERYTHING"]),
            Then::ErrorAndOn,
        ),
        (
            "a line that is not an array",
            b"HELLO THERE\r\n".to_vec(),
            Then::Refused,
        ),
        ("an empty line", b"\r\n".to_vec(), Then::Refused),
        (
            "an element that is not a bulk string",
            b"*1\r\n+PING\r\n".to_vec(),
            Then::Refused,
        ),
        (
            "a count that is not a number",
            b"*abc\r\n".to_vec(),
            Then::Refused,
        ),
        (
            "a negative bulk length",
            b"*1\r\n$-5\r\n".to_vec(),
            Then::Refused,
        ),
        (
            "a bulk length of 99999999999",
            b"*1\r\n$99999999999\r\n".to_vec(),
            Then::Refused,
        ),
        (
            "an array of 99999999999 elements",
            b"*99999999999\r\n".to_vec(),
            Then::Refused,
        ),
        (
            "a bulk string without its CRLF",
            b"*1\r\n$4\r\nPINGXX\r\n".to_vec(),
            Then::Refused,
        ),
        ("a 100 KB line without CRLF", long_line, Then::Refused),
        (
            "a PING, then garbage in the same write",
            [encode(&[b"PING"]), b"%%%\r\n".to_vec()].concat(),
            Then::PongThenRefused,
        ),
        (
            "half a command, then the client vanishes",
            b"*2\r\n$3\r\nGET\r\n$10\r\nbyst".to_vec(),
            Then::Vanishes,
        ),
    ];
    for (what, bytes, then) in cases {
        let mut bad = connect(addr)?;
        // The server may close the connection before all the bytes are
        // written: that is one of the answers allowed.
        let _ = bad.send(&bytes);
        let shown_bytes = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]).to_string();
        let refused = |bad: &mut Client| match bad.reply() {
            Ok(reply) if panicked(&reply, what).is_some() => {
                Err(panicked(&reply, what).expect("it panicked"))
            }
            Ok(Value::Error(_)) | Err(Trouble::Closed) => Ok(()),
            Ok(other) => Err(Failure::new(
                MALFORMED,
                format!(
                    "{what} ({shown_bytes:?}) was answered with {}, not an error",
                    shown(&other)
                ),
            )),
            Err(trouble) => Err(Failure::new(
                MALFORMED,
                format!(
                    "{what} ({shown_bytes:?}) got neither an error reply nor a closed \
                     connection: {trouble}"
                ),
            )),
        };
        match then {
            Then::Refused => refused(&mut bad)?,
            Then::ErrorAndOn => {
                expect_reply_error(&mut bad, what)?;
                expect(
                    &mut bad,
                    &[b"PING"],
                    Want::Exactly(Value::Simple("PONG".into())),
                    MALFORMED,
                )?;
            }
            Then::PongThenRefused => {
                let got = bad.reply();
                ensure(got == Ok(Value::Simple("PONG".into())), MALFORMED, || {
                    format!("{what}: the PING before the garbage was answered {got:?}, not +PONG")
                })?;
                refused(&mut bad)?;
            }
            Then::Vanishes => {}
        }
        bad.close();
        let still = bystander.call(&[b"GET", b"bystander"]);
        ensure(still == Ok(Value::bulk(b"still here")), OTHERS, || {
            format!("after another client sent {what} ({shown_bytes:?}), a client connected all along asked `GET bystander` and got {}", match &still { Ok(v) => shown(v), Err(t) => t.to_string() })
        })?;
        let fresh = Client::connect(addr).and_then(|mut c| c.call(&[b"PING"]));
        ensure(fresh == Ok(Value::Simple("PONG".into())), OTHERS, || {
            format!(
                "after a client sent {what} ({shown_bytes:?}), a new client's PING got {}",
                match &fresh {
                    Ok(v) => shown(v),
                    Err(t) => t.to_string(),
                }
            )
        })?;
    }
    Ok(())
}

fn expect_reply_error(client: &mut Client, what: &str) -> Result<(), Failure> {
    match client.reply() {
        Ok(reply) if panicked(&reply, what).is_some() => {
            Err(panicked(&reply, what).expect("it panicked"))
        }
        Ok(Value::Error(_)) => Ok(()),
        Ok(other) => Err(Failure::new(
            COMMANDS,
            format!("{what} was answered with {}, not an error", shown(&other)),
        )),
        Err(t) => Err(Failure::new(
            COMMANDS,
            format!(
                "{what} should get an error reply and the connection should stay open, but: {t}"
            ),
        )),
    }
}
