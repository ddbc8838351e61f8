//! `dscourse serve TOPIC [--port N] [--solution]`: run a topic's server for
//! real clients (for the cache: `redis-cli`, `redis-benchmark`).
//!
//! A topic with a server has a binary `<topic>_server` in the checker
//! package (`checker/bin/`), built behind the feature `<topic>-server`.
//! Like a check, it links the learner's crate (`--no-default-features
//! --features learner,<topic>-server`, which builds only that topic of
//! `exercises`) or, with `--solution`, the reference. The runner builds it,
//! shows compiler errors as a check does, and then becomes the server
//! (exec), so that Ctrl-C stops it.

use crate::check::{cargo, read_build, Build};
use crate::colour::{self, paint};
use crate::kit::Kit;
use crate::render;
use anyhow::{Context, Result};
use crossterm::style::Color;
use std::process::{Command, ExitCode, Stdio};

pub fn serve(topic: &str, port: u16, solution: bool) -> Result<ExitCode> {
    let kit = Kit::discover()?;
    let bin = format!("{topic}_server");
    if !kit
        .root
        .join("checker/bin")
        .join(format!("{bin}.rs"))
        .is_file()
    {
        let servers = servers(&kit);
        eprintln!(
            "{} the topic {topic:?} has no server; topics with one: {}",
            paint("error:", Color::Red),
            servers.join(", ")
        );
        return Ok(ExitCode::from(2));
    }
    let whose = if solution { "the reference" } else { "your" };
    eprintln!(
        "{}",
        colour::dim(&format!("building {whose} {topic} server …"))
    );
    let feature = format!("{topic}-server");
    let mut cmd = cargo();
    cmd.current_dir(&kit.root)
        .args(["build", "--quiet", "-p", "checker", "--bin", &bin])
        .arg("--message-format=json-diagnostic-rendered-ansi")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if solution {
        cmd.args(["--features", &feature]);
    } else {
        cmd.args(["--no-default-features", "--features"]);
        cmd.arg(format!("learner,{feature}"));
    }
    let output = cmd
        .output()
        .context("cannot run cargo: is Rust installed (https://rustup.rs)?")?;
    let executable = match read_build(&output, &bin, "bin", &format!("the {topic} server")) {
        Build::Ok(executable) => executable,
        Build::Failed { errors, .. } => {
            for line in render::compile_errors(&errors) {
                println!("{line}");
            }
            return Ok(ExitCode::from(1));
        }
    };
    let mut server = Command::new(executable);
    server
        .current_dir(&kit.root)
        .args(["--port", &port.to_string()]);
    run(server)
}

/// The topics that have a server.
fn servers(kit: &Kit) -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(kit.root.join("checker/bin"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            name.strip_suffix("_server.rs").map(str::to_string)
        })
        .collect();
    found.sort();
    found
}

/// Becomes the server (on Unix), so that a signal to this process reaches
/// it; elsewhere runs it and waits.
fn run(mut server: Command) -> Result<ExitCode> {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let error = server.exec();
        Err(error).context("cannot start the server")
    }
    #[cfg(not(unix))]
    {
        let status = server.status().context("cannot start the server")?;
        Ok(ExitCode::from(
            status.code().unwrap_or(1).clamp(0, 255) as u8
        ))
    }
}
