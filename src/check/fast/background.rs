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
    suite: String,
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
        let recording = eligible(spec)
            .then(|| Recording::start(spec, state_dir))
            .flatten();
        let mut messages = None;
        if let Some(recording) = &recording {
            let path = recording.staging.join("cargo-messages.json");
            cmd.envs(recording.env.iter().map(|(k, v)| (k, v)));
            cmd.stdout(Stdio::from(std::fs::File::create(&path)?));
            messages = Some(path);
        } else {
            cmd.stdout(Stdio::null());
        }
        cmd.stderr(Stdio::null());
        prepare(&mut cmd);
        let child = match cmd.spawn() {
            Ok(child) => child,
            Err(error) => {
                if let Some(recording) = recording {
                    recording.discard();
                }
                return Err(error);
            }
        };
        Ok(Background {
            child,
            recording: recording.zip(messages),
            suite: spec.suite.to_string(),
        })
    }

    /// After the build ended by itself with `status`: saves its record if
    /// it built the suite and compiled both units.
    pub fn finish(mut self, status: ExitStatus) {
        let Some((recording, messages)) = self.recording.take() else {
            return;
        };
        let output = std::process::Output {
            status,
            stdout: std::fs::read(&messages).unwrap_or_default(),
            stderr: Vec::new(),
        };
        let built = read_build(&output, &self.suite, "test", "the suite");
        recording.finish(&built);
    }

    /// After the build was stopped: forgets what it recorded.
    pub fn abandon(mut self) {
        if let Some((recording, _)) = self.recording.take() {
            recording.discard();
        }
    }
}
