//! The suite's own Redis client: RESP2 encoding and decoding over a std
//! `TcpStream`, with a time limit on every read and write so that a server
//! that hangs fails a check instead of stopping the suite.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How long the client waits for the server at any one step.
pub const PATIENCE: Duration = Duration::from_secs(2);

/// A RESP2 value, as a reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Simple(String),
    Error(String),
    Integer(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Value>>),
}

impl Value {
    /// A bulk string.
    pub fn bulk(bytes: &[u8]) -> Value {
        Value::Bulk(Some(bytes.to_vec()))
    }

    /// `+OK`.
    pub fn ok() -> Value {
        Value::Simple("OK".to_string())
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Value::Error(_))
    }
}

/// Why no reply came.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trouble {
    /// Nothing within [`PATIENCE`].
    Timeout,
    /// The server closed the connection (or reset it).
    Closed,
    /// The server's bytes are not RESP.
    Garbled(String),
    /// Another error of the socket.
    Io(String),
}

impl std::fmt::Display for Trouble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Trouble::Timeout => write!(f, "no answer within {} s", PATIENCE.as_secs()),
            Trouble::Closed => write!(f, "the server closed the connection"),
            Trouble::Garbled(what) => write!(f, "the server's reply is not RESP: {what}"),
            Trouble::Io(what) => write!(f, "{what}"),
        }
    }
}

fn trouble(error: io::Error) -> Trouble {
    match error.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Trouble::Timeout,
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => Trouble::Closed,
        _ => Trouble::Io(error.to_string()),
    }
}

/// Encodes a command as RESP: an array of bulk strings.
pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Decodes one value from the start of `buf`: the value and the bytes it
/// took, `Ok(None)` if more bytes are needed.
pub fn decode(buf: &[u8]) -> Result<Option<(Value, usize)>, String> {
    let Some(end) = buf.windows(2).position(|w| w == b"\r\n") else {
        return Ok(None);
    };
    let line = &buf[1..end];
    let text = String::from_utf8_lossy(line).to_string();
    let after = end + 2;
    let number = || {
        text.parse::<i64>()
            .map_err(|_| format!("{:?} is not a number", text))
    };
    match buf[0] {
        b'+' => Ok(Some((Value::Simple(text), after))),
        b'-' => Ok(Some((Value::Error(text), after))),
        b':' => Ok(Some((Value::Integer(number()?), after))),
        b'$' => {
            let len = number()?;
            if len < 0 {
                return Ok(Some((Value::Bulk(None), after)));
            }
            let len = len as usize;
            if buf.len() < after + len + 2 {
                return Ok(None);
            }
            if &buf[after + len..after + len + 2] != b"\r\n" {
                return Err(format!(
                    "the bulk string of {len} bytes does not end with CRLF"
                ));
            }
            let bytes = buf[after..after + len].to_vec();
            Ok(Some((Value::Bulk(Some(bytes)), after + len + 2)))
        }
        b'*' => {
            let count = number()?;
            if count < 0 {
                return Ok(Some((Value::Array(None), after)));
            }
            let mut items = Vec::new();
            let mut used = after;
            for _ in 0..count {
                let Some((item, len)) = decode(&buf[used..])? else {
                    return Ok(None);
                };
                items.push(item);
                used += len;
            }
            Ok(Some((Value::Array(Some(items)), used)))
        }
        other => Err(format!("a reply cannot begin with {:?}", other as char)),
    }
}

/// One connection to the server.
pub struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    /// Connects, with [`PATIENCE`] on every step.
    pub fn connect(addr: SocketAddr) -> Result<Client, Trouble> {
        let stream = TcpStream::connect_timeout(&addr, PATIENCE).map_err(trouble)?;
        stream.set_read_timeout(Some(PATIENCE)).map_err(trouble)?;
        stream.set_write_timeout(Some(PATIENCE)).map_err(trouble)?;
        stream.set_nodelay(true).map_err(trouble)?;
        Ok(Client {
            stream,
            buf: Vec::new(),
        })
    }

    /// Sends raw bytes.
    pub fn send(&mut self, bytes: &[u8]) -> Result<(), Trouble> {
        self.stream.write_all(bytes).map_err(trouble)
    }

    /// Reads the next reply.
    pub fn reply(&mut self) -> Result<Value, Trouble> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if !self.buf.is_empty() {
                if let Some((value, used)) = decode(&self.buf).map_err(Trouble::Garbled)? {
                    self.buf.drain(..used);
                    return Ok(value);
                }
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(Trouble::Closed),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(trouble(e)),
            }
        }
    }

    /// Sends a command and reads its reply.
    pub fn call(&mut self, args: &[&[u8]]) -> Result<Value, Trouble> {
        self.send(&encode(args))?;
        self.reply()
    }

    /// Closes the connection.
    pub fn close(self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }
}

/// A command as text for a failure: `SET k v EX 10`.
pub fn show(args: &[&[u8]]) -> String {
    args.iter()
        .map(|a| String::from_utf8_lossy(a).to_string())
        .collect::<Vec<_>>()
        .join(" ")
}
