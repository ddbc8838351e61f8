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

use crate::check::cargo;
use crate::kit::Kit;
use crate::render::{self, paint};
use anyhow::{Context, Result};
use crossterm::style::Color;
use serde::Deserialize;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};

/// One line of cargo's JSON output, the parts read here.
#[derive(Deserialize)]
struct Message {
    reason: String,
    #[serde(default)]
    target: Option<Target>,
    #[serde(default)]
    executable: Option<PathBuf>,
    #[serde(default)]
    message: Option<Diagnostic>,
}

#[derive(Deserialize)]
struct Target {
    name: String,
    kind: Vec<String>,
}

#[derive(Deserialize)]
struct Diagnostic {
    level: String,
    message: String,
    rendered: Option<String>,
}

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
        render::dim(&format!("building {whose} {topic} server …"))
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
    let mut executable = None;
    let mut errors = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<Message>(line) else {
            continue;
        };
        match (msg.reason.as_str(), msg.target, msg.executable, msg.message) {
            ("compiler-artifact", Some(target), Some(exe), _)
                if target.name == bin && target.kind.iter().any(|k| k == "bin") =>
            {
                executable = Some(exe);
            }
            ("compiler-message", _, _, Some(d)) if d.level == "error" => {
                if let (false, Some(text)) = (d.message.starts_with("aborting due to"), d.rendered)
                {
                    errors.push(text);
                }
            }
            _ => {}
        }
    }
    let Some(executable) = executable.filter(|_| output.status.success()) else {
        if errors.is_empty() {
            errors.push(format!(
                "cargo could not build the {topic} server:\n{}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        show_errors(&errors);
        return Ok(ExitCode::from(1));
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

/// Compiler errors, shown as a check shows them.
fn show_errors(errors: &[String]) {
    println!(
        " {} your code does not compile yet:",
        paint("✗", Color::Red)
    );
    println!();
    for error in errors.iter().take(3) {
        let text = if render::color_enabled() {
            error.clone()
        } else {
            render::strip_ansi(error)
        };
        for line in text.lines() {
            println!("   {line}");
        }
    }
    if errors.len() > 3 {
        println!("   … and {} more errors", errors.len() - 3);
    }
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
