//! Meta tests: the checks of cache_server catch a known-wrong server. The
//! server here is the suite's own, small and separate from the subject (it
//! reads requests with the suite's client decoder), with one planted
//! mistake: on input it cannot read, it closes every connection.

use super::client::{decode, Value};
use super::{malformed, OTHERS};
use dscheck::{expect_caught, Failure, Property, Suite};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// What the connections share: the keys, and every connection so far.
#[derive(Default)]
struct Shared {
    keys: Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
    connections: Mutex<Vec<TcpStream>>,
}

/// The property of the flawed server's own start.
const STARTS: Property = Property {
    name: "the meta server starts",
    hint: "",
    when: &[],
};

/// Starts the flawed server on an ephemeral port.
fn closes_everyone() -> Result<SocketAddr, Failure> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| Failure::new(STARTS, e.to_string()))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Failure::new(STARTS, e.to_string()))?;
    let shared = Arc::new(Shared::default());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            if let Ok(copy) = stream.try_clone() {
                shared.connections.lock().unwrap().push(copy);
            }
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || serve(stream, &shared));
        }
    });
    Ok(addr)
}

fn answer(shared: &Shared, args: &[Vec<u8>]) -> Value {
    let mut keys = shared.keys.lock().unwrap();
    match args {
        [name] if name.eq_ignore_ascii_case(b"PING") => Value::Simple("PONG".into()),
        [name, key, value] if name.eq_ignore_ascii_case(b"SET") => {
            keys.insert(key.clone(), value.clone());
            Value::ok()
        }
        [name, key] if name.eq_ignore_ascii_case(b"GET") => Value::Bulk(keys.get(key).cloned()),
        _ => Value::Error("ERR unknown command".into()),
    }
}

fn encode(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Simple(s) => out.extend_from_slice(format!("+{s}\r\n").as_bytes()),
        Value::Error(s) => out.extend_from_slice(format!("-{s}\r\n").as_bytes()),
        Value::Bulk(None) => out.extend_from_slice(b"$-1\r\n"),
        Value::Bulk(Some(b)) => {
            out.extend_from_slice(format!("${}\r\n", b.len()).as_bytes());
            out.extend_from_slice(b);
            out.extend_from_slice(b"\r\n");
        }
        _ => out.extend_from_slice(b"-ERR unsupported\r\n"),
    }
}

fn serve(mut stream: TcpStream, shared: &Shared) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        let mut out = Vec::new();
        loop {
            match decode(&buf) {
                Ok(Some((Value::Array(Some(items)), used))) => {
                    buf.drain(..used);
                    let args: Vec<Vec<u8>> = items
                        .into_iter()
                        .map(|v| match v {
                            Value::Bulk(Some(b)) => b,
                            _ => Vec::new(),
                        })
                        .collect();
                    encode(&answer(shared, &args), &mut out);
                }
                Ok(None) => break,
                // The planted mistake: bad input from one client closes
                // every client's connection.
                Ok(Some(_)) | Err(_) => {
                    for connection in shared.connections.lock().unwrap().iter() {
                        let _ = connection.shutdown(Shutdown::Both);
                    }
                    return;
                }
            }
        }
        if stream.write_all(&out).is_err() {
            return;
        }
    }
}

pub(super) fn tests(suite: Suite) -> Suite {
    suite.test("meta::server_closing_every_connection_is_caught", || {
        expect_caught(OTHERS, 1, |_| malformed(closes_everyone))
    })
}
