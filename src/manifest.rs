//! The course manifest, `info.toml`: loading it and checking that it is whole.
//!
//! Every mistake is reported with the line it is on and what to do about it,
//! because course authors edit this file by hand.

use anyhow::{bail, Result};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::Path;
use toml::Spanned;

/// The only manifest format this runner reads.
pub const FORMAT_VERSION: u32 = 1;

/// How long a suite may run before the runner stops it, unless the
/// exercise says otherwise.
pub const DEFAULT_TIMEOUT_SECS: u64 = 20;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    format_version: Spanned<u32>,
    welcome_message: String,
    final_message: String,
    #[serde(default)]
    exercises: Vec<RawExercise>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExercise {
    name: Spanned<String>,
    topic: String,
    file: Spanned<String>,
    suite: Spanned<String>,
    group: String,
    points: u32,
    hints: Vec<String>,
    timeout_secs: Option<u64>,
    #[serde(default)]
    needs: Vec<Need>,
}

/// What an exercise's suite may do beyond computing when it is graded in
/// the sandbox.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Need {
    /// Start processes of its own binary (the event store's crash test).
    Processes,
    /// Open TCP sockets on loopback (the cache server's clients).
    Network,
}

/// The course: messages and exercises, in order.
#[derive(Clone, Debug)]
pub struct Manifest {
    pub welcome_message: String,
    pub final_message: String,
    pub exercises: Vec<Exercise>,
}

/// One graded exercise.
#[derive(Clone, Debug, PartialEq)]
pub struct Exercise {
    /// `<topic>_<exercise>`, e.g. `clocks_lamport`.
    pub name: String,
    pub topic: String,
    /// The learner's file, relative to `exercises/` (the reference has the
    /// same path under `solutions/`). Several exercises may share a file.
    pub file: String,
    /// The test target in `checker/suites/` that grades it.
    pub suite: String,
    /// The prefix of its tests' names in that suite (`group::…`).
    pub group: String,
    pub points: u32,
    pub hints: Vec<String>,
    /// How long its suite may run before it is stopped.
    pub timeout_secs: u64,
    /// What its suite may do in the grader's sandbox beyond computing.
    pub needs: crate::sandbox::Needs,
    /// The line of its entry in info.toml.
    pub line: usize,
}

impl Manifest {
    /// Reads and checks `info.toml` in the kit at `root`.
    pub fn load(root: &Path) -> Result<Manifest> {
        let path = root.join("info.toml");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        Manifest::parse(&text, root)
    }

    /// Parses manifest text and checks it against the kit at `root`.
    pub fn parse(text: &str, root: &Path) -> Result<Manifest> {
        let raw: RawManifest = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(e) => {
                let line = e.span().map_or(0, |s| line_of(text, s.start));
                bail!(
                    "info.toml:{line}: {}\n  fix: correct this line (the fields of an exercise are name, topic, file, suite, group, points, hints, and the optional timeout_secs and needs)",
                    e.message()
                );
            }
        };
        if *raw.format_version.get_ref() != FORMAT_VERSION {
            bail!(
                "info.toml:{}: format_version {} is not one this runner reads\n  fix: set format_version = {FORMAT_VERSION}, or update the runner",
                line_of(text, raw.format_version.span().start),
                raw.format_version.get_ref()
            );
        }
        let mut seen = BTreeSet::new();
        let mut exercises = Vec::new();
        for ex in raw.exercises {
            let line = line_of(text, ex.name.span().start);
            let name = ex.name.into_inner();
            if !seen.insert(name.clone()) {
                bail!("info.toml:{line}: a second exercise is named {name:?}\n  fix: give every exercise its own name");
            }
            if !name.starts_with(&format!("{}_", ex.topic)) {
                bail!(
                    "info.toml:{line}: exercise {name:?} is in topic {:?}, so its name must begin with \"{}_\"\n  fix: rename it, e.g. \"{}_{name}\"",
                    ex.topic,
                    ex.topic,
                    ex.topic
                );
            }
            let file_line = line_of(text, ex.file.span().start);
            let file = ex.file.into_inner();
            let inside = Path::new(&file)
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
            if !inside || !file.ends_with(".rs") {
                bail!(
                    "info.toml:{file_line}: exercise {name:?} names the file {file:?}, which is not a .rs file inside exercises/\n  fix: give the path relative to exercises/, such as \"03_clocks/lamport.rs\""
                );
            }
            // A student distribution has no solutions/ at all.
            let trees: &[&str] = if root.join("solutions").is_dir() {
                &["exercises", "solutions"]
            } else {
                &["exercises"]
            };
            for &tree in trees {
                // A learner's deleted file is not a mistake in the manifest:
                // `dscourse reset` restores its stub, made from the
                // reference (or kept in checker/stubs/ without references).
                let restorable = tree == "exercises"
                    && (root.join("solutions").join(&file).is_file()
                        || root.join("checker/stubs").join(&file).is_file());
                if !restorable && !root.join(tree).join(&file).is_file() {
                    bail!(
                        "info.toml:{file_line}: exercise {name:?} names the file {file:?}, but {tree}/{file} does not exist\n  fix: correct the path (it is relative to {tree}/), or create the file"
                    );
                }
            }
            let suite_line = line_of(text, ex.suite.span().start);
            let suite = ex.suite.into_inner();
            if !root
                .join("checker/suites")
                .join(format!("{suite}.rs"))
                .is_file()
            {
                bail!(
                    "info.toml:{suite_line}: exercise {name:?} is graded by the suite {suite:?}, but checker/suites/{suite}.rs does not exist\n  fix: correct the suite name, or add the suite to checker/"
                );
            }
            exercises.push(Exercise {
                name,
                topic: ex.topic,
                file,
                suite,
                group: ex.group,
                points: ex.points,
                hints: ex.hints,
                timeout_secs: ex.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS),
                needs: crate::sandbox::Needs {
                    processes: ex.needs.contains(&Need::Processes),
                    network: ex.needs.contains(&Need::Network),
                },
                line,
            });
        }
        if exercises.is_empty() {
            bail!("info.toml: the course has no exercises\n  fix: add [[exercises]] entries");
        }
        Ok(Manifest {
            welcome_message: raw.welcome_message,
            final_message: raw.final_message,
            exercises,
        })
    }

    /// The exercise called `name`, or an error that suggests the closest names.
    pub fn find(&self, name: &str) -> std::result::Result<&Exercise, UnknownExercise> {
        self.exercises
            .iter()
            .find(|e| e.name == name)
            .ok_or_else(|| UnknownExercise {
                name: name.to_string(),
                suggestions: closest(name, self.exercises.iter().map(|e| e.name.as_str())),
            })
    }

    /// The position of an exercise in the course.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.exercises.iter().position(|e| e.name == name)
    }
}

/// A name that is not in the course (a usage error: exit status 2).
#[derive(Debug)]
pub struct UnknownExercise {
    pub name: String,
    pub suggestions: Vec<String>,
}

impl std::fmt::Display for UnknownExercise {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "there is no exercise called {:?}", self.name)?;
        if !self.suggestions.is_empty() {
            write!(f, "; did you mean {}?", self.suggestions.join(" or "))?;
        }
        write!(
            f,
            "\n  see them all with: {}",
            crate::invocation::command("list")
        )
    }
}

impl std::error::Error for UnknownExercise {}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Up to three names close to `name`: those containing it, then those within
/// a small edit distance.
fn closest<'a>(name: &str, names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut scored: Vec<(usize, &str)> = names
        .map(|candidate| {
            let score = if candidate.contains(name) || name.contains(candidate) {
                0
            } else {
                edit_distance(name, candidate)
            };
            (score, candidate)
        })
        .filter(|(score, _)| *score <= 3.max(name.len() / 3))
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(3)
        .map(|(_, n)| n.to_string())
        .collect()
}

/// Levenshtein distance.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names() {
        let names = ["clocks_lamport", "clocks_vector", "intro_pingpong"];
        assert_eq!(
            closest("clocks_lamprt", names.into_iter()),
            vec!["clocks_lamport"]
        );
        assert_eq!(
            closest("lamport", names.into_iter()),
            vec!["clocks_lamport"]
        );
        assert!(closest("zzzzzzzzzzzz", names.into_iter()).is_empty());
    }

    #[test]
    fn counts_lines() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
    }
}
