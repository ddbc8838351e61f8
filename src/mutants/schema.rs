//! Every mutant of a reference file in one build (a mutant schema): each
//! function whose body holds a line the learner writes (a line inside a
//! marked region) becomes a `match` on the mutant chosen at run time
//! (`DSCOURSE_MUTANT`), one arm per mutant, each the whole body with one
//! line changed, and the body as written otherwise. Whole bodies, because
//! a region may cover statements, several functions, or part of one. One
//! build per file, then one run per mutant.

use super::operators::{mutations, Mutation};
use std::collections::HashMap;

/// The variable that chooses the mutant a run uses (0: none).
pub const MUTANT_VAR: &str = "DSCOURSE_MUTANT";

/// One mutant: a line the learner writes, changed.
#[derive(Clone, Debug)]
pub struct Mutant {
    /// Its number in the schema (from 1).
    pub id: u32,
    /// The line of the reference file it changes (from 1).
    pub line: usize,
    pub original: String,
    pub mutation: Mutation,
}

impl Mutant {
    /// How it reads in a report: `file:line  before  →  after  (operator)`.
    pub fn describe(&self, file: &str) -> String {
        let after = if self.mutation.line.is_empty() {
            "(deleted)".to_string()
        } else {
            self.mutation.line.trim().to_string()
        };
        format!(
            "{file}:{}  {}  →  {after}  ({})",
            self.line,
            self.original.trim(),
            self.mutation.operator
        )
    }

    /// What identifies it across runs: where it is, what it changes.
    pub fn key(&self, file: &str) -> String {
        format!(
            "{file}|{}|{}|{}",
            self.original.trim(),
            self.mutation.line.trim(),
            self.mutation.operator
        )
    }
}

/// Each mutant's name across runs (by id): [`Mutant::key`], and for the
/// second and later of mutants that read alike (the same statement written
/// twice in one file, changed the same way) `#2`, `#3`… in file order, so
/// that each copy keeps a verdict of its own.
pub fn occurrence_keys(mutants: &[Mutant], file: &str) -> HashMap<u32, String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    mutants
        .iter()
        .map(|m| {
            let key = m.key(file);
            let count = seen.entry(key.clone()).or_insert(0);
            *count += 1;
            let name = match *count {
                1 => key,
                n => format!("{key}#{n}"),
            };
            (m.id, name)
        })
        .collect()
}

/// The lines (from 0) a learner writes: those inside a marked region
/// (both kinds: a `todo!` body, or lines the stub says otherwise).
fn learner_lines(lines: &[&str]) -> Vec<bool> {
    let mut inside = vec![false; lines.len()];
    let mut open = false;
    for (i, line) in lines.iter().enumerate() {
        let code = line.trim_start();
        if code.starts_with("// exercise: begin") {
            open = true;
        } else if code.starts_with("// exercise: end") {
            open = false;
        } else {
            inside[i] = open;
        }
    }
    inside
}

/// A function's body: the lines (from 0) between the line that opens it
/// and the line that closes it.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Body {
    first: usize,
    last: usize,
}

/// The bodies of the functions of a rustfmt-formatted file: a `fn` whose
/// header ends with `{` on some line, closed by the `}` at the header's
/// indentation.
fn bodies(lines: &[&str]) -> Vec<Body> {
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let code = line.trim_start();
        let is_fn = code.starts_with("fn ")
            || code.starts_with("pub fn ")
            || code.starts_with("pub(crate) fn ")
            || code.starts_with("pub(super) fn ");
        if !is_fn {
            continue;
        }
        let indent = &line[..line.len() - code.len()];
        let Some(open) = (i..lines.len()).find(|&j| lines[j].trim_end().ends_with('{')) else {
            continue;
        };
        let close = format!("{indent}}}");
        if let Some(end) = (open + 1..lines.len()).find(|&j| lines[j].trim_end() == close) {
            if end > open + 1 {
                found.push(Body {
                    first: open + 1,
                    last: end - 1,
                });
            }
        }
    }
    found
}

/// The innermost body holding line `n`.
fn body_of(bodies: &[Body], n: usize) -> Option<Body> {
    bodies
        .iter()
        .filter(|b| (b.first..=b.last).contains(&n))
        .min_by_key(|b| b.last - b.first)
        .copied()
}

/// The mutants of `reference`: every mutation of every line a learner
/// writes that stands in a function's body.
pub fn mutants(reference: &str) -> Vec<Mutant> {
    let lines: Vec<&str> = reference.lines().collect();
    let learner = learner_lines(&lines);
    let bodies = bodies(&lines);
    let mut all = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        if !learner[n] || body_of(&bodies, n).is_none() {
            continue;
        }
        for mutation in mutations(line) {
            all.push(Mutant {
                id: all.len() as u32 + 1,
                line: n + 1,
                original: line.to_string(),
                mutation,
            });
        }
    }
    all
}

/// The schema of `reference` with `chosen` mutants (the others are left
/// out): the file a mutation build compiles as the learner's. Each body
/// with a chosen mutant becomes a `match` on the mutant, one arm per
/// mutant, and the body as written otherwise.
pub fn schema(reference: &str, chosen: &[&Mutant]) -> String {
    let lines: Vec<&str> = reference.lines().collect();
    let all_bodies = bodies(&lines);
    let mut wrapped: Vec<Body> = Vec::new();
    for mutant in chosen {
        if let Some(body) = body_of(&all_bodies, mutant.line - 1) {
            if !wrapped.contains(&body) {
                wrapped.push(body);
            }
        }
    }
    // Only the outermost of nested bodies is wrapped.
    let outer: Vec<Body> = wrapped
        .iter()
        .copied()
        .filter(|b| {
            !wrapped
                .iter()
                .any(|o| o != b && o.first <= b.first && b.last <= o.last)
        })
        .collect();
    let mut out = String::new();
    let mut n = 0;
    while n < lines.len() {
        let Some(body) = outer.iter().find(|b| b.first == n) else {
            out += lines[n];
            out += "\n";
            n += 1;
            continue;
        };
        out += "match __dscourse_mutant() {\n";
        for mutant in chosen
            .iter()
            .filter(|m| (body.first + 1..=body.last + 1).contains(&m.line))
        {
            out += &format!("{} => {{ {ARM}\n", mutant.id);
            for (i, line) in lines[body.first..=body.last].iter().enumerate() {
                let replaced = body.first + i + 1 == mutant.line;
                out += if replaced {
                    &mutant.mutation.line
                } else {
                    line
                };
                out += "\n";
            }
            out += "}\n";
        }
        out += &format!("_ => {{ {UNMUTATED}\n");
        for line in &lines[body.first..=body.last] {
            out += line;
            out += "\n";
        }
        out += "}\n}\n";
        n = body.last + 1;
    }
    out += &format!(
        "\n/// The mutant this run uses (`{MUTANT_VAR}`; 0: none).\n\
         fn __dscourse_mutant() -> u32 {{\n    \
         static ACTIVE: std::sync::OnceLock<u32> = std::sync::OnceLock::new();\n    \
         *ACTIVE.get_or_init(|| {{\n        \
         std::env::var(\"{MUTANT_VAR}\").ok().and_then(|v| v.parse().ok()).unwrap_or(0)\n    \
         }})\n}}\n"
    );
    out
}

/// How a mutant's arm and the region as written are marked in a schema,
/// so that a compile error's line tells which mutant it belongs to.
const ARM: &str = "// mutant";
const UNMUTATED: &str = "// as written";

/// The mutant a compile error at `line` of a schema belongs to, if any:
/// the arm it falls in.
pub fn mutant_at(schema: &str, line: usize) -> Option<u32> {
    let mut current = None;
    for text in schema.lines().take(line) {
        if let Some(id) = text.strip_suffix(&format!(" => {{ {ARM}")) {
            current = id.parse().ok();
        } else if text.ends_with(UNMUTATED) {
            current = None;
        }
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    const REFERENCE: &str = "fn tick(&mut self) -> u64 {\n    // exercise: begin \"add one\"\n    self.time += 1;\n    self.time\n    // exercise: end\n}\n";

    #[test]
    fn a_region_becomes_a_match_on_the_mutant() {
        let all = mutants(REFERENCE);
        assert_eq!(all.len(), 1, "{all:?}");
        assert_eq!(all[0].mutation.operator, "deleted statement");
        let text = schema(REFERENCE, &all.iter().collect::<Vec<_>>());
        assert!(
            text.contains(
                "fn tick(&mut self) -> u64 {\nmatch __dscourse_mutant() {\n1 => { // mutant\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("\n\n    self.time\n    // exercise: end\n}\n_ => { // as written\n"),
            "{text}"
        );
        assert_eq!(mutant_at(&text, 5), Some(1));
        assert!(text.contains("fn __dscourse_mutant() -> u32"));
        // Without mutants the region stays as written.
        assert!(schema(REFERENCE, &[]).contains("    self.time += 1;\n    self.time\n"));
    }

    #[test]
    fn the_same_statement_twice_gets_two_names() {
        let twice = "fn tick(&mut self) {\n    // exercise: begin \"add\"\n    self.time += 1;\n    self.time += 1;\n    // exercise: end\n}\n";
        let all = mutants(twice);
        let names = occurrence_keys(&all, "f.rs");
        let deleted: Vec<&String> = all
            .iter()
            .filter(|m| m.mutation.line.is_empty())
            .map(|m| &names[&m.id])
            .collect();
        assert_eq!(deleted.len(), 2, "{names:?}");
        assert_ne!(deleted[0], deleted[1]);
        assert!(
            !deleted[0].contains('#'),
            "the first keeps its name: {}",
            deleted[0]
        );
        assert!(deleted[1].ends_with("#2"), "{}", deleted[1]);
    }
}
