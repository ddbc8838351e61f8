//! Every mutant of a reference file in one build (a mutant schema): each
//! marked region that has a `todo!` message (a body the learner writes)
//! becomes a `match` on the mutant chosen at run time (`DSCOURSE_MUTANT`),
//! one arm per mutant of the region, and the region as written otherwise.
//! One build per file, then one run per mutant.

use super::operators::{mutations, Mutation};

/// The variable that chooses the mutant a run uses (0: none).
pub const MUTANT_VAR: &str = "DSCOURSE_MUTANT";

/// One mutant: a line of a region changed.
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

/// A region the learner writes: the lines between its markers.
struct Region {
    /// Line numbers (from 0) of its first and last inner line.
    first: usize,
    last: usize,
}

/// The regions of `text` that replace a body by a `todo!`.
fn regions(lines: &[&str]) -> Vec<Region> {
    let mut found = Vec::new();
    let mut open: Option<usize> = None;
    for (i, line) in lines.iter().enumerate() {
        let code = line.trim_start();
        if let Some(after) = code.strip_prefix("// exercise: begin") {
            open = (!after.trim().is_empty()).then_some(i);
        } else if code.starts_with("// exercise: end") {
            if let Some(begin) = open.take() {
                // The message may continue on comment lines.
                let mut first = begin + 1;
                while first < i && lines[first].trim_start().starts_with("//") {
                    first += 1;
                }
                if first < i {
                    found.push(Region { first, last: i - 1 });
                }
            }
        }
    }
    found
}

/// The mutants of `reference`, leaving out those `skip` rejects (a region
/// that cannot be wrapped, a mutant that does not compile).
pub fn mutants(reference: &str) -> Vec<Mutant> {
    let lines: Vec<&str> = reference.lines().collect();
    let mut all = Vec::new();
    for region in regions(&lines) {
        for (n, line) in lines
            .iter()
            .enumerate()
            .take(region.last + 1)
            .skip(region.first)
        {
            for mutation in mutations(line) {
                all.push(Mutant {
                    id: all.len() as u32 + 1,
                    line: n + 1,
                    original: line.to_string(),
                    mutation,
                });
            }
        }
    }
    all
}

/// The schema of `reference` with `chosen` mutants (the others are left
/// out): the file a mutation build compiles as the learner's.
pub fn schema(reference: &str, chosen: &[&Mutant]) -> String {
    let lines: Vec<&str> = reference.lines().collect();
    let mut out = String::new();
    let mut n = 0;
    for region in regions(&lines) {
        for line in &lines[n..region.first] {
            out += line;
            out += "\n";
        }
        let in_region: Vec<&&Mutant> = chosen
            .iter()
            .filter(|m| (region.first + 1..=region.last + 1).contains(&m.line))
            .collect();
        if in_region.is_empty() {
            for line in &lines[region.first..=region.last] {
                out += line;
                out += "\n";
            }
        } else {
            out += "match __dscourse_mutant() {\n";
            for mutant in in_region {
                out += &format!("{} => {{ {ARM}\n", mutant.id);
                for (i, line) in lines[region.first..=region.last].iter().enumerate() {
                    let replaced = region.first + i + 1 == mutant.line;
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
            for line in &lines[region.first..=region.last] {
                out += line;
                out += "\n";
            }
            out += "}\n}\n";
        }
        n = region.last + 1;
    }
    for line in &lines[n..] {
        out += line;
        out += "\n";
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
            text.contains("match __dscourse_mutant() {\n1 => { // mutant\n\n    self.time\n}\n_ => { // as written\n    self.time += 1;"),
            "{text}"
        );
        assert_eq!(mutant_at(&text, 5), Some(1));
        assert!(text.contains("fn __dscourse_mutant() -> u32"));
        // Without mutants the region stays as written.
        assert!(schema(REFERENCE, &[]).contains("    self.time += 1;\n    self.time\n"));
    }
}
