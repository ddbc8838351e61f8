//! Building a topic's suite with cargo (the whole suite, or one exercise's
//! part of it): its executable, or the compiler's errors and the files they
//! point at.

use super::Subject;
use anyhow::{Context, Result};
use serde::Deserialize;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What to build: one topic's suite (or one exercise's part of it),
/// against the learner's crate or the reference.
pub struct BuildSpec<'a> {
    /// The kit (or grading copy of it) to build in.
    pub root: &'a Path,
    pub suite: &'a str,
    /// A learner's check of one exercise: only its tests of the suite and
    /// its files of the learner's crate are built (the checker's feature
    /// `exercise-<name>`). `None` builds the whole topic.
    pub exercise: Option<&'a str>,
    pub subject: Subject,
    /// With the instructor's hidden tests (the checker's `hidden` feature).
    pub hidden: bool,
    /// Cargo's target folder, if not the kit's own.
    pub target_dir: Option<&'a Path>,
    /// A grading build: every compiler bounded, the learner's confined.
    pub compiler: Option<&'a crate::sandbox::rustc::RustcJail>,
}

pub enum Build {
    Ok(PathBuf),
    Failed {
        /// The compiler's errors, rendered with colour.
        errors: Vec<String>,
        /// The files the errors point at, relative to the kit root.
        files: Vec<String>,
    },
}

/// One line of cargo's JSON output, the parts we read.
#[derive(Deserialize)]
struct CargoMessage {
    reason: String,
    #[serde(default)]
    target: Option<CargoTarget>,
    #[serde(default)]
    executable: Option<PathBuf>,
    #[serde(default)]
    message: Option<Diagnostic>,
}

#[derive(Deserialize)]
struct CargoTarget {
    name: String,
    kind: Vec<String>,
}

/// A compiler diagnostic, the parts we read: cargo wraps it in a
/// `compiler-message`, and rustc prints it alone on stderr (the fast path,
/// `fast::direct`), so both read it with this one shape.
#[derive(Deserialize)]
pub(super) struct Diagnostic {
    pub(super) level: String,
    pub(super) message: String,
    pub(super) rendered: Option<String>,
    #[serde(default)]
    pub(super) spans: Vec<Span>,
}

#[derive(Deserialize)]
pub(super) struct Span {
    pub(super) file_name: String,
    pub(super) is_primary: bool,
}

impl Diagnostic {
    /// Whether this is an error a learner is shown (not a warning, nor
    /// rustc's closing "aborting due to N errors").
    pub(super) fn is_shown_error(&self) -> bool {
        self.level == "error"
            && self.rendered.is_some()
            && !self.message.starts_with("aborting due to")
    }

    /// Adds a shown error to `errors` (rendered) and the files its primary
    /// spans point at to `files`; other diagnostics are ignored.
    pub(super) fn keep(self, errors: &mut Vec<String>, files: &mut Vec<String>) {
        if !self.is_shown_error() {
            return;
        }
        let Diagnostic {
            rendered, spans, ..
        } = self;
        errors.extend(rendered);
        files.extend(
            spans
                .into_iter()
                .filter(|s| s.is_primary)
                .map(|s| s.file_name.replace('\\', "/")),
        );
    }
}

/// A failed build: its errors, and the files they point at, each once, sorted.
pub(super) fn failed(errors: Vec<String>, mut files: Vec<String>) -> Build {
    files.sort();
    files.dedup();
    Build::Failed { errors, files }
}

/// The cargo to run: the one that ran us, or the one on the PATH.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Whether the kit at `root` has built the suite `suite` before (its
/// executable is in cargo's `deps/`): if not, the next build compiles the
/// checker and the simulator too and takes a while. `CARGO_TARGET_DIR` is
/// honoured, as cargo honours it.
pub fn suite_built(root: &Path, suite: &str) -> bool {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    };
    has_executable(&target.join("debug").join("deps"), suite)
}

/// Whether `deps` holds cargo's executable of test target `name`
/// (`<name>-<hash>`, with `.exe` on Windows).
fn has_executable(deps: &Path, name: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(deps) else {
        return false;
    };
    let prefix = format!("{name}-");
    entries.flatten().any(|entry| {
        let file = entry.file_name();
        let Some(file) = file.to_str() else {
            return false;
        };
        let stem = file.strip_suffix(".exe").unwrap_or(file);
        stem.strip_prefix(&prefix)
            .is_some_and(|hash| hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()))
    })
}

/// Builds a topic's suite and returns its executable, or the compiler's
/// errors and the files they point at.
pub fn build(spec: &BuildSpec) -> Result<Build> {
    cargo_build(spec, &[])
}

/// [`build`], with `env` set for cargo (the fast path's recording wrapper).
pub(super) fn cargo_build(spec: &BuildSpec, env: &[(OsString, OsString)]) -> Result<Build> {
    let mut cmd = build_command(spec)?;
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    let output = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .context("cannot run cargo: is Rust installed (https://rustup.rs)?")?;
    Ok(read_build(
        &output,
        spec.suite,
        "test",
        &format!("the suite {}", spec.suite),
    ))
}

/// The cargo command that builds a topic's suite (its JSON messages on
/// standard output).
pub fn build_command(spec: &BuildSpec) -> Result<Command> {
    let suite = spec.suite;
    let mut cmd = cargo();
    cmd.current_dir(spec.root)
        .args([
            "test", "--quiet", "-p", "checker", "--test", suite, "--no-run",
        ])
        .arg("--message-format=json-diagnostic-rendered-ansi")
        .stdin(Stdio::null());
    if let Some(jail) = spec.compiler {
        jail.configure(&mut cmd)?;
    }
    if let Some(dir) = spec.target_dir {
        cmd.env("CARGO_TARGET_DIR", dir);
    }
    if spec.subject == Subject::Learner {
        cmd.arg("--no-default-features");
    }
    let features = spec.features();
    if !features.is_empty() {
        cmd.args(["--features", &features]);
    }
    Ok(cmd)
}

impl BuildSpec<'_> {
    /// The features this build asks of the checker, comma-separated (none:
    /// its defaults, the references). A learner's build has only the
    /// suite's own topic of the learner's crate, or only one exercise.
    pub fn features(&self) -> String {
        let mut features = Vec::new();
        if self.subject == Subject::Learner {
            match self.exercise {
                Some(exercise) => features.push(format!("exercise-{exercise}")),
                None => {
                    features.push("learner".to_string());
                    features.push(format!("exercises/{}", self.suite));
                }
            }
        }
        if self.hidden {
            features.push("hidden".to_string());
        }
        features.join(",")
    }

    /// What this build is of: the exercise, or the whole suite.
    pub fn name(&self) -> &str {
        self.exercise.unwrap_or(self.suite)
    }
}

/// What a `cargo … --message-format=json-diagnostic-rendered-ansi` build
/// made: the executable of target `name` (of `kind`, `test` or `bin`), or
/// the compiler's errors and the files they point at. `what` names the
/// target in a message when cargo failed without a compiler error.
pub fn read_build(output: &std::process::Output, name: &str, kind: &str, what: &str) -> Build {
    let mut executable = None;
    let mut errors = Vec::new();
    let mut files = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<CargoMessage>(line) else {
            continue;
        };
        match msg.reason.as_str() {
            "compiler-artifact" => {
                if let (Some(target), Some(exe)) = (&msg.target, msg.executable) {
                    if target.name == name && target.kind.iter().any(|k| k == kind) {
                        executable = Some(exe);
                    }
                }
            }
            "compiler-message" => {
                if let Some(diagnostic) = msg.message {
                    diagnostic.keep(&mut errors, &mut files);
                }
            }
            _ => {}
        }
    }
    match (output.status.success(), executable) {
        (true, Some(exe)) => Build::Ok(exe),
        _ => {
            if errors.is_empty() {
                let stderr = String::from_utf8_lossy(&output.stderr);
                errors.push(format!("cargo could not build {what}:\n{}", stderr.trim()));
            }
            failed(errors, files)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{has_executable, BuildSpec, Subject};
    use std::path::Path;

    #[test]
    fn a_learners_check_builds_one_exercise_and_grading_the_topic() {
        let spec = |exercise, subject, hidden| BuildSpec {
            root: Path::new("."),
            suite: "clocks",
            exercise,
            subject,
            hidden,
            target_dir: None,
            compiler: None,
        };
        let one = spec(Some("clocks_lamport"), Subject::Learner, false);
        assert_eq!(one.features(), "exercise-clocks_lamport");
        assert_eq!(one.name(), "clocks_lamport");
        let topic = spec(None, Subject::Learner, true);
        assert_eq!(topic.features(), "learner,exercises/clocks,hidden");
        assert_eq!(topic.name(), "clocks");
        assert_eq!(spec(None, Subject::Reference, false).features(), "");
    }

    #[test]
    fn a_suite_is_built_when_its_executable_is_in_deps() {
        let dir = std::env::temp_dir().join(format!("dscourse-deps-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        assert!(!has_executable(&dir.join("missing"), "clocks"));
        for other in [
            "clocks-0123456789abcdef.d",
            "libclocks-0123456789abcdef.rlib",
            "clocks_extra-0123456789abcdef",
            "clocks-short",
        ] {
            std::fs::write(dir.join(other), "").unwrap();
        }
        assert!(!has_executable(&dir, "clocks"));
        std::fs::write(dir.join("clocks-0123456789abcdef"), "").unwrap();
        assert!(has_executable(&dir, "clocks"));
        assert!(!has_executable(&dir, "raft"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
