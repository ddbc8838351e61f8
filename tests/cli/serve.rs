//! `dscourse serve`: the runner builds a topic's server and becomes it.
//! The reference cache server is started on a free port and spoken to in
//! RESP over loopback; a learner's file that does not compile is reported
//! as a check reports it; a topic without a server is a usage error.

use crate::common;

use common::{shared_target_dir, TestKit};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port no one listens on now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("an ephemeral port");
    listener.local_addr().expect("its address").port()
}

/// The server process, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Connects to `port`, retrying while the runner builds the server (the
/// first build in the shared target folder compiles the registry crates).
fn connect(server: &mut Server, port: u16) -> TcpStream {
    let started = Instant::now();
    loop {
        if let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) {
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            return stream;
        }
        if let Ok(Some(status)) = server.0.try_wait() {
            let mut err = String::new();
            if let Some(e) = server.0.stderr.as_mut() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("dscourse serve exited ({status}) before listening:\n{err}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the server did not listen on port {port} within 10 minutes"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Sends `request` and reads until `expected` bytes have come.
fn exchange(stream: &mut TcpStream, request: &[u8], expected: &[u8]) {
    stream.write_all(request).unwrap();
    let mut got = vec![0u8; expected.len()];
    stream
        .read_exact(&mut got)
        .unwrap_or_else(|e| panic!("no reply to {:?}: {e}", String::from_utf8_lossy(request)));
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(expected),
        "the reply to {:?}",
        String::from_utf8_lossy(request)
    );
}

#[test]
fn serves_the_reference_cache_over_resp() {
    let kit = TestKit::new();
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_dscourse"))
        .args(["serve", "cache", "--solution", "--port", &port.to_string()])
        .current_dir(kit.root())
        .env("CARGO_TARGET_DIR", shared_target_dir())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dscourse runs");
    let mut server = Server(child);
    let mut stream = connect(&mut server, port);
    exchange(&mut stream, b"*1\r\n$4\r\nPING\r\n", b"+PONG\r\n");
    exchange(
        &mut stream,
        b"*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n$2\r\nEX\r\n$2\r\n60\r\n",
        b"+OK\r\n",
    );
    exchange(
        &mut stream,
        b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
        b"$5\r\nhello\r\n",
    );
    exchange(&mut stream, b"*2\r\n$3\r\nTTL\r\n$1\r\nk\r\n", b":60\r\n");
    exchange(&mut stream, b"*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n", b":1\r\n");
    exchange(&mut stream, b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", b"$-1\r\n");
}

#[test]
fn a_learner_file_that_does_not_compile_is_shown_as_a_check_shows_it() {
    let kit = TestKit::new();
    let file = "exercises/10_cache/server.rs";
    kit.write(
        file,
        kit.read(file) + "\nfn broken() -> u32 { \"not a number\" }\n",
    );
    kit.run(&["serve", "cache", "--port", &free_port().to_string()])
        .code(1)
        .shows("your code does not compile yet")
        .shows("mismatched types");
}

#[test]
fn a_topic_without_a_server_is_a_usage_error() {
    let kit = TestKit::new();
    kit.run(&["serve", "clocks"])
        .code(2)
        .shows("has no server")
        .shows("cache");
}
