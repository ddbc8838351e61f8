//! # cache_server: your cache on the network, speaking Redis's protocol
//!
//! A cache earns its keep only when other programs can reach it. This
//! server puts the LRU cache of `cache_lru_ttl` behind a TCP port and
//! speaks RESP2, the protocol of Redis, so that the real `redis-cli` and
//! `redis-benchmark` work against it:
//!
//! ```text
//! dscourse serve cache --port 6400      # in one terminal
//! redis-cli -p 6400 set greeting hello  # in another
//! redis-benchmark -p 6400 -t get,set -q
//! ```
//!
//! A client sends each command as an array of bulk strings, for
//! `SET k hello`:
//!
//! ```text
//! *3\r\n $3\r\nSET\r\n $1\r\nk\r\n $5\r\nhello\r\n      (without the spaces)
//! ```
//!
//! `*3` announces three elements, each `$n` a string of `n` bytes followed
//! by `\r\n`. The lengths make the framing exact: values may hold any bytes,
//! `\r\n` included. The server answers with a simple string (`+OK`), an
//! error (`-ERR …`), an integer (`:1`), a bulk string (`$5\r\nhello`, or
//! `$-1` for none) or an array ([`Reply::encode`]).
//!
//! TCP delivers a byte stream, not messages: one read may end in the middle
//! of a command, or hold several (clients pipeline). So the connection keeps
//! a buffer, and [`parse_command`] says either "here is a whole command, and
//! it took this many bytes", or "not enough bytes yet", or "this is not
//! RESP". A server on a network also meets clients that are broken or
//! hostile, so the parser trusts no length it reads: a bulk longer than
//! [`MAX_BULK_LEN`], an array longer than [`MAX_ARGS`], or a line longer
//! than [`MAX_LINE`] without its `\r\n` is an error, answered and followed by
//! closing that one connection, never a crash and never a huge allocation.
//!
//! One thread per connection shares the cache behind a mutex; the given
//! [`Server`] does that part.
//!
// exercise: begin
// stub: //! Read `exercises/10_cache/README.md` first; this exercise serves the
// stub: //! cache you wrote in `lru_ttl.rs`. The server, its threads and the reply
// stub: //! encoding are given; fill in each `todo!()`: the parser (`read_line`,
// stub: //! then `parse_command`), then the commands (`execute`).
// stub:
// stub: // Until you fill them in, the given helpers are not used yet.
// stub: #![allow(dead_code)]
//! The reference solution.
// exercise: end

use super::lru_ttl::LruCache;
use dsim::Time;
use std::any::Any;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::panic;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How many entries the server's cache holds.
pub const CAPACITY: usize = 1_000_000;
/// The longest bulk string accepted, in bytes.
pub const MAX_BULK_LEN: usize = 64 * 1024 * 1024;
/// The most elements a command may have.
pub const MAX_ARGS: usize = 1024 * 1024;
/// The longest `*n` or `$n` line accepted while its `\r\n` has not come.
pub const MAX_LINE: usize = 64 * 1024;

/// A command: its name and arguments, as bytes.
pub type Args = Vec<Vec<u8>>;

/// What the server caches: binary keys and values.
pub type Store = LruCache<Vec<u8>, Vec<u8>>;

/// Input that is not a RESP2 command: the connection answers with this
/// error and closes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    /// A command must begin with `*`; this byte came instead.
    ExpectedArray(u8),
    /// An element must begin with `$`; this byte came instead.
    ExpectedBulk(u8),
    /// The count after `*` is not a number from 0 to [`MAX_ARGS`].
    BadArrayLength,
    /// The length after `$` is not a number from 0 to [`MAX_BULK_LEN`].
    BadBulkLength,
    /// A bulk string's bytes are not followed by `\r\n`.
    MissingCrlf,
    /// More than [`MAX_LINE`] bytes without the `\r\n` that ends a line.
    LineTooLong,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ERR Protocol error: ")?;
        match self {
            ProtocolError::ExpectedArray(b) => write!(f, "expected '*', got '{}'", *b as char),
            ProtocolError::ExpectedBulk(b) => write!(f, "expected '$', got '{}'", *b as char),
            ProtocolError::BadArrayLength => write!(f, "invalid multibulk length"),
            ProtocolError::BadBulkLength => write!(f, "invalid bulk length"),
            ProtocolError::MissingCrlf => write!(f, "a bulk string must end with CRLF"),
            ProtocolError::LineTooLong => write!(f, "too big header line"),
        }
    }
}

/// The line that starts at `*pos` (without its `\r\n`), moving `*pos`
/// past it; `None` while the `\r\n` has not arrived.
fn read_line<'a>(buf: &'a [u8], pos: &mut usize) -> Result<Option<&'a [u8]>, ProtocolError> {
    // exercise: begin "find the \\r\\n at or after *pos: return the bytes before it and move *pos past it; without one, Ok(None), or Err(LineTooLong) once more than MAX_LINE bytes wait"
    let rest = &buf[*pos..];
    match rest.windows(2).position(|w| w == b"\r\n") {
        Some(end) => {
            *pos += end + 2;
            Ok(Some(&rest[..end]))
        }
        None if rest.len() > MAX_LINE => Err(ProtocolError::LineTooLong),
        None => Ok(None),
    }
    // exercise: end
}

/// The decimal number in `digits` (an optional `-` and ASCII digits, no
/// more than 18 of them so that it cannot overflow), or `None`.
pub fn parse_int(digits: &[u8]) -> Option<i64> {
    let (negative, digits) = match digits.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, digits),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits
        .iter()
        .fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
    Some(if negative { -n } else { n })
}

/// Reads one command from the start of `buf`: `Ok(Some((args, used)))`
/// when a whole command is there, `used` being how many bytes it took;
/// `Ok(None)` when more bytes are needed; an error when the bytes cannot be
/// the start of a command. Never trusts a length before checking it
/// against the limits, and never waits for a line longer than [`MAX_LINE`].
pub fn parse_command(buf: &[u8]) -> Result<Option<(Args, usize)>, ProtocolError> {
    // exercise: begin "read the *n line (parse_int, 0..=MAX_ARGS), then n times: a $len line (0..=MAX_BULK_LEN), then len bytes and \\r\\n; Ok(None) whenever the buffer ends first, and the position at the end is the length used"
    let mut pos = 0;
    let Some(header) = read_line(buf, &mut pos)? else {
        return Ok(None);
    };
    match header.first() {
        Some(b'*') => {}
        Some(&other) => return Err(ProtocolError::ExpectedArray(other)),
        None => return Err(ProtocolError::ExpectedArray(b'\r')),
    }
    let count = parse_int(&header[1..])
        .filter(|&n| (0..=MAX_ARGS as i64).contains(&n))
        .ok_or(ProtocolError::BadArrayLength)? as usize;
    // Room for what is likely there, not for what the client claims.
    let mut args = Vec::with_capacity(count.min(16));
    for _ in 0..count {
        let Some(line) = read_line(buf, &mut pos)? else {
            return Ok(None);
        };
        match line.first() {
            Some(b'$') => {}
            Some(&other) => return Err(ProtocolError::ExpectedBulk(other)),
            None => return Err(ProtocolError::ExpectedBulk(b'\r')),
        }
        let len = parse_int(&line[1..])
            .filter(|&n| (0..=MAX_BULK_LEN as i64).contains(&n))
            .ok_or(ProtocolError::BadBulkLength)? as usize;
        if buf.len() < pos + len + 2 {
            return Ok(None);
        }
        if &buf[pos + len..pos + len + 2] != b"\r\n" {
            return Err(ProtocolError::MissingCrlf);
        }
        args.push(buf[pos..pos + len].to_vec());
        pos += len + 2;
    }
    Ok(Some((args, pos)))
    // exercise: end
}

/// An answer, in RESP2's five kinds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `+OK`: a short status without `\r` or `\n`.
    Simple(String),
    /// `-ERR …`: the command failed; the connection stays open.
    Error(String),
    /// `:42`
    Integer(i64),
    /// `$5\r\nhello`, or `$-1` (`None`): no such value.
    Bulk(Option<Vec<u8>>),
    /// `*2` followed by the elements.
    Array(Vec<Reply>),
}

impl Reply {
    /// Appends the reply's bytes to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Reply::Simple(s) => {
                out.push(b'+');
                out.extend_from_slice(s.as_bytes());
            }
            Reply::Error(s) => {
                out.push(b'-');
                out.extend_from_slice(s.as_bytes());
            }
            Reply::Integer(n) => {
                out.push(b':');
                out.extend_from_slice(n.to_string().as_bytes());
            }
            Reply::Bulk(None) => out.extend_from_slice(b"$-1"),
            Reply::Bulk(Some(bytes)) => {
                out.push(b'$');
                out.extend_from_slice(bytes.len().to_string().as_bytes());
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(bytes);
            }
            Reply::Array(items) => {
                out.push(b'*');
                out.extend_from_slice(items.len().to_string().as_bytes());
                out.extend_from_slice(b"\r\n");
                for item in items {
                    item.encode(out);
                }
                return;
            }
        }
        out.extend_from_slice(b"\r\n");
    }

    /// `OK`.
    pub fn ok() -> Reply {
        Reply::Simple("OK".to_string())
    }

    /// The error Redis gives for a command with the wrong number of arguments.
    pub fn wrong_arity(command: &str) -> Reply {
        Reply::Error(format!(
            "ERR wrong number of arguments for '{}' command",
            command.to_ascii_lowercase()
        ))
    }

    /// The error Redis gives for an argument that should be an integer.
    pub fn not_an_integer() -> Reply {
        Reply::Error("ERR value is not an integer or out of range".to_string())
    }
}

/// The answer to `CONFIG GET parameter`, which redis-benchmark sends when
/// it starts: the two settings it asks about, and an empty array (no such
/// setting) for any other.
pub fn config_get(parameter: &[u8]) -> Reply {
    let value: &[u8] = match parameter.to_ascii_lowercase().as_slice() {
        b"save" => b"",
        b"appendonly" => b"no",
        _ => return Reply::Array(Vec::new()),
    };
    Reply::Array(vec![
        Reply::Bulk(Some(parameter.to_vec())),
        Reply::Bulk(Some(value.to_vec())),
    ])
}

/// A positive number of seconds or milliseconds for an expiry, or the error
/// Redis gives for `command`.
fn expiry(arg: &[u8], unit: Duration, command: &str) -> Result<Duration, Reply> {
    let invalid = || Reply::Error(format!("ERR invalid expire time in '{command}' command"));
    match parse_int(arg) {
        None => Err(Reply::not_an_integer()),
        Some(n) if n <= 0 => Err(invalid()),
        // At most u32::MAX units (136 years in seconds), so that the
        // deadline fits in a Time.
        Some(n) => u32::try_from(n).map(|n| unit * n).map_err(|_| invalid()),
    }
}

// exercise: begin
/// `SET key value [EX seconds | PX milliseconds]`
fn set(store: &mut Store, args: &[Vec<u8>], now: Time) -> Reply {
    let (key, value, options) = match args {
        [key, value, options @ ..] => (key, value, options),
        _ => return Reply::wrong_arity("set"),
    };
    let ttl = match options {
        [] => None,
        [option, amount] => {
            let unit = match option.to_ascii_uppercase().as_slice() {
                b"EX" => Duration::from_secs(1),
                b"PX" => Duration::from_millis(1),
                _ => return Reply::Error("ERR syntax error".to_string()),
            };
            match expiry(amount, unit, "set") {
                Ok(ttl) => Some(ttl),
                Err(error) => return error,
            }
        }
        _ => return Reply::Error("ERR syntax error".to_string()),
    };
    store.put(key.clone(), value.clone(), ttl, now);
    Reply::ok()
}

/// `EXPIRE key seconds`: 1 if the key exists (a time of zero or less
/// deletes it), 0 if not.
fn expire(store: &mut Store, key: &[u8], seconds: &[u8], now: Time) -> Reply {
    let key = key.to_vec();
    match parse_int(seconds) {
        None => Reply::not_an_integer(),
        Some(s) if s <= 0 => Reply::Integer(i64::from(store.remove(&key, now).is_some())),
        Some(_) => match expiry(seconds, Duration::from_secs(1), "expire") {
            Ok(ttl) => Reply::Integer(i64::from(store.expire(&key, Some(ttl), now))),
            Err(error) => error,
        },
    }
}

/// `TTL key`: the seconds left, rounded to the nearest; -1 if it never
/// expires, -2 if there is no such key.
fn ttl(store: &mut Store, key: &[u8], now: Time) -> Reply {
    match store.ttl(&key.to_vec(), now) {
        None => Reply::Integer(-2),
        Some(None) => Reply::Integer(-1),
        Some(Some(left)) => Reply::Integer(((left.as_millis() + 500) / 1000) as i64),
    }
}

// exercise: end
/// Runs one command on the store at time `now`: PING, GET, SET (with EX or
/// PX), DEL, EXPIRE, TTL, `CONFIG GET` ([`config_get`]) and `COMMAND`
/// (which redis-cli asks at startup; an empty array). Command names are
/// case-insensitive. An unknown command or a wrong number of arguments is an
/// error reply, and the connection goes on.
pub fn execute(store: &mut Store, args: &[Vec<u8>], now: Time) -> Reply {
    // exercise: begin "dispatch on the upper-cased name and the arguments: PING, GET, SET key value [EX s|PX ms] (expiry() checks the amount), DEL key..., EXPIRE key s, TTL key, CONFIG GET p (config_get), COMMAND; else wrong_arity or an unknown-command error"
    let Some((name, rest)) = args.split_first() else {
        return Reply::Error("ERR empty command".to_string());
    };
    let name = String::from_utf8_lossy(name).to_ascii_uppercase();
    match (name.as_str(), rest) {
        ("PING", []) => Reply::Simple("PONG".to_string()),
        ("PING", [message]) => Reply::Bulk(Some(message.clone())),
        ("GET", [key]) => Reply::Bulk(store.get(key, now).cloned()),
        ("SET", _) => set(store, rest, now),
        ("DEL", keys) if !keys.is_empty() => {
            let removed = keys
                .iter()
                .filter(|key| store.remove(key, now).is_some())
                .count();
            Reply::Integer(removed as i64)
        }
        ("EXPIRE", [key, seconds]) => expire(store, key, seconds, now),
        ("TTL", [key]) => ttl(store, key, now),
        ("CONFIG", [sub, parameter]) if sub.eq_ignore_ascii_case(b"GET") => config_get(parameter),
        ("COMMAND", _) => Reply::Array(Vec::new()),
        ("PING" | "GET" | "DEL" | "EXPIRE" | "TTL" | "CONFIG", _) => Reply::wrong_arity(&name),
        _ => Reply::Error(format!("ERR unknown command '{name}'")),
    }
    // exercise: end
}

// ----- the server (given) ---------------------------------------------------------

/// What the connections share: the cache, and the instant the server
/// started, from which `now` is measured.
struct Shared {
    store: Mutex<Store>,
    started: Instant,
}

/// A cache server listening on a TCP port.
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
}

impl Server {
    /// Listens on `addr` (port 0: any free port) with an empty cache of
    /// [`CAPACITY`] entries.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<Server> {
        Ok(Server {
            listener: TcpListener::bind(addr)?,
            shared: Arc::new(Shared {
                store: Mutex::new(Store::new(CAPACITY)),
                started: Instant::now(),
            }),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts connections for ever, each served by its own thread.
    pub fn run(self) -> io::Result<()> {
        for stream in self.listener.incoming() {
            let Ok(stream) = stream else { continue };
            let shared = Arc::clone(&self.shared);
            std::thread::spawn(move || {
                // A connection's error (the client vanished) ends only it.
                let _ = serve_connection(stream, &shared);
            });
        }
        Ok(())
    }
}

/// Reads commands from one client and answers them, in order, until the
/// client leaves or sends something that is not RESP.
fn serve_connection(mut stream: TcpStream, shared: &Shared) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf: Vec<u8> = Vec::with_capacity(16 * 1024);
    let mut out: Vec<u8> = Vec::with_capacity(16 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            // The client left; half a command in `buf` is dropped with it.
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut used = 0;
        let mut broken = None;
        {
            // One lock for every command this read completed (a pipeline).
            let mut store = shared
                .store
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let now = Time::from_nanos(shared.started.elapsed().as_nanos() as u64);
            // A panic in the parser or a command ends this connection with
            // an error that says so, and no other.
            let mut step = || -> Result<Option<Reply>, String> {
                match parse_command(&buf[used..]).map_err(|e| e.to_string())? {
                    Some((args, len)) => {
                        used += len;
                        Ok(Some(execute(&mut store, &args, now)))
                    }
                    None => Ok(None),
                }
            };
            loop {
                match panic::catch_unwind(panic::AssertUnwindSafe(&mut step)) {
                    Ok(Ok(Some(reply))) => reply.encode(&mut out),
                    Ok(Ok(None)) => break,
                    Ok(Err(error)) => {
                        broken = Some(error);
                        break;
                    }
                    Err(payload) => {
                        broken = Some(format!(
                            "ERR the server panicked: {}",
                            panic_text(&*payload)
                        ));
                        break;
                    }
                }
            }
        }
        buf.drain(..used);
        if let Some(error) = &broken {
            Reply::Error(error.clone()).encode(&mut out);
        }
        if !out.is_empty() {
            stream.write_all(&out)?;
            out.clear();
        }
        if broken.is_some() {
            return Ok(());
        }
    }
}

/// The message of a panic.
fn panic_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}
