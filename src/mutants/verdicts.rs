//! What is known of mutants: the verdicts of earlier runs (kept in the
//! runner's state folder, keyed by what they depend on) and the mutants a
//! course author marked equivalent, with why.

use crate::kit::Kit;
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// How one mutant fared against one exercise's group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A test failed.
    Killed,
    /// The group did not finish in time.
    TimedOut,
    /// Every test passed.
    Survived,
    /// It does not compile.
    Unviable,
}

/// Verdicts of earlier runs, by mutant key (`EXERCISE|MUTANT|FINGERPRINT`).
/// Kept in the kit (`checker/mutant-verdicts.json`, sorted, so that it
/// diffs well): committed with a change, it lets the next run (CI's
/// included) retest only the mutants whose reference, suite, harness or
/// simulator changed.
pub struct Cache {
    path: PathBuf,
    verdicts: BTreeMap<String, Verdict>,
    /// The keys this run asked for or set.
    used: BTreeSet<String>,
}

impl Cache {
    pub fn load(kit: &Kit) -> Result<Cache> {
        let path = kit.root.join("checker").join("mutant-verdicts.json");
        let verdicts = match std::fs::read_to_string(&path) {
            // A cache that does not parse is only a cache: start afresh.
            Ok(text) => serde_json::from_str(&text).unwrap_or_default(),
            Err(_) => BTreeMap::new(),
        };
        Ok(Cache {
            path,
            verdicts,
            used: BTreeSet::new(),
        })
    }

    pub fn get(&mut self, key: &str) -> Option<Verdict> {
        self.used.insert(key.to_string());
        self.verdicts.get(key).copied()
    }

    pub fn set(&mut self, key: String, verdict: Verdict) {
        self.used.insert(key.clone());
        self.verdicts.insert(key, verdict);
    }

    /// Writes the verdicts, forgetting those of `exercises` this run did
    /// not use (of mutants that no longer exist, or of an older
    /// fingerprint).
    pub fn save(&mut self, exercises: &[&str]) -> Result<()> {
        let used = &self.used;
        self.verdicts.retain(|key, _| {
            let exercise = key.split('|').next().unwrap_or_default();
            !exercises.contains(&exercise) || used.contains(key)
        });
        let mut text = serde_json::to_string_pretty(&self.verdicts)?;
        text.push('\n');
        crate::state::write_atomically(&self.path, text.as_bytes())
    }
}

/// The mutants that change nothing a learner could be graded on, as
/// `checker/equivalent-mutants.txt` lists them, one a line:
/// `FILE | LINE AS WRITTEN | LINE AS MUTATED | OPERATOR | WHY` (the line
/// as mutated is `(deleted)` for a deleted statement).
pub struct Equivalents {
    keys: Vec<String>,
}

impl Equivalents {
    pub fn load(kit: &Kit) -> Result<Equivalents> {
        let path = kit.root.join("checker").join("equivalent-mutants.txt");
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let mut keys = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split(" | ").map(str::trim).collect();
            let [file, written, mutated, operator, why] = fields[..] else {
                bail!(
                    "{}:{}: a line is FILE | LINE AS WRITTEN | LINE AS MUTATED | OPERATOR | WHY",
                    path.display(),
                    n + 1
                );
            };
            if why.is_empty() {
                bail!(
                    "{}:{}: say why the mutant changes nothing",
                    path.display(),
                    n + 1
                );
            }
            let mutated = if mutated == "(deleted)" { "" } else { mutated };
            keys.push(format!("{file}|{written}|{mutated}|{operator}"));
        }
        Ok(Equivalents { keys })
    }

    pub fn contains(&self, key: &str) -> bool {
        self.keys.iter().any(|k| k == key)
    }
}
