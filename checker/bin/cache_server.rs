//! The cache server of topic 10 on a TCP port, for `redis-cli` and
//! `redis-benchmark`: the learner's (`learner` feature) or the reference.
//! `dscourse serve cache [--port N] [--solution]` builds and runs it.
//!
//! Usage: `cache_server [--port N]` (default 6380, beside Redis's 6379).

#[cfg(feature = "learner")]
use exercises as subject;
#[cfg(not(feature = "learner"))]
use solutions as subject;

use std::process::ExitCode;
use subject::cache::server::Server;

/// The port when none is given.
const DEFAULT_PORT: u16 = 6380;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut port = DEFAULT_PORT;
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next().map(|p| p.parse::<u16>())) {
            ("--port", Some(Ok(p))) => port = p,
            _ => {
                eprintln!("usage: cache_server [--port N]");
                return ExitCode::from(2);
            }
        }
    }
    let server = match Server::bind(("127.0.0.1", port)) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("cannot listen on 127.0.0.1:{port}: {error}");
            return ExitCode::from(1);
        }
    };
    let whose = if cfg!(feature = "learner") {
        "your cache server"
    } else {
        "the reference cache server"
    };
    match server.local_addr() {
        Ok(addr) => println!(
            "{whose} listens on {addr} (try: redis-cli -p {})",
            addr.port()
        ),
        Err(_) => println!("{whose} listens on port {port}"),
    }
    match server.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("the server stopped: {error}");
            ExitCode::from(1)
        }
    }
}
