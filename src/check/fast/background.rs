//! A build in the background that records its units like a save's cargo
//! build does (watch mode's build ahead): the next exercise's first check
//! then runs the compilers directly, as every later save does.

use super::{eligible, Recording};
use crate::check::build::{build_command, read_build};
use crate::check::BuildSpec;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};

/// A cargo build running in the background.
pub struct Background {
    pub child: Child,
    /// The recording, and the file cargo's messages go to (the build's
    /// outcome is read from them once it ends).
    recording: Option<(Recording, PathBuf)>,
}

impl Background {
    /// Starts cargo on `spec` (with `prepare` applied to the command),
    /// recording the build when the fast path may serve it.
    pub fn spawn(
        spec: &BuildSpec,
        state_dir: &Path,
        prepare: impl FnOnce(&mut Command),
    ) -> std::io::Result<Background> {
        let mut cmd = build_command(spec).map_err(std::io::Error::other)?;
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        prepare(&mut cmd);
        let recording = eligible(spec)
            .then(|| Recording::start(spec, state_dir))
            .flatten()
            .map(|recording| {
                let messages = recording.staging.join("cargo-messages.json");
                (recording, messages)
            });
        let spawned = match &recording {
            Some((recording, messages)) => std::fs::File::create(messages).and_then(|file| {
                cmd.envs(recording.env.iter().map(|(k, v)| (k, v)));
                cmd.stdout(file).spawn()
            }),
            None => cmd.spawn(),
        };
        match spawned {
            Ok(child) => Ok(Background { child, recording }),
            Err(error) => {
                if let Some((recording, _)) = recording {
                    recording.discard();
                }
                Err(error)
            }
        }
    }

    /// After the build ended by itself with `status`: saves its record if
    /// it built the suite and compiled both units.
    pub fn finish(self, status: ExitStatus) {
        let Some((recording, messages)) = self.recording else {
            return;
        };
        let output = std::process::Output {
            status,
            stdout: std::fs::read(&messages).unwrap_or_default(),
            stderr: Vec::new(),
        };
        let built = read_build(&output, &recording.suite, "test", "the suite");
        recording.finish(&built);
    }

    /// After the build was stopped: forgets what it recorded.
    pub fn abandon(self) {
        if let Some((recording, _)) = self.recording {
            recording.discard();
        }
    }
}
