//! The mutations: small, plausible mistakes in one line of the code a
//! learner writes (a marked region of a reference, see `crate::stubs`).
//!
//! Text-level, on rustfmt-formatted code (binary operators stand between
//! spaces), never inside a string literal or a comment:
//! - a comparison turned into its neighbour (`<` ↔ `<=`, `>` ↔ `>=`) or
//!   its opposite (`==` ↔ `!=`): quorum arithmetic and off-by-one bounds;
//! - `&&` ↔ `||`, and a negated `if` condition: a rule's logic;
//! - `+ 1` / `- 1` dropped, `+` ↔ `-`: off-by-one indices and counts;
//! - `.max(` ↔ `.min(`, `true` ↔ `false`;
//! - a statement deleted: a dropped state update, a skipped persist, a
//!   message never sent.

/// One mutation of one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mutation {
    /// Which operator made it (a short name).
    pub operator: &'static str,
    /// The line as mutated (empty for a deleted statement).
    pub line: String,
}

/// Every mutation of `line`.
pub fn mutations(line: &str) -> Vec<Mutation> {
    let code = line.trim_start();
    if code.is_empty() || code.starts_with("//") {
        return Vec::new();
    }
    let mut found = Vec::new();
    const SWAPS: [(&str, &str, &str); 12] = [
        (" < ", " <= ", "comparison"),
        (" <= ", " < ", "comparison"),
        (" > ", " >= ", "comparison"),
        (" >= ", " > ", "comparison"),
        (" == ", " != ", "comparison"),
        (" != ", " == ", "comparison"),
        (" && ", " || ", "logic"),
        (" || ", " && ", "logic"),
        (" + 1", "", "off by one"),
        (" - 1", "", "off by one"),
        (".max(", ".min(", "min/max"),
        (".min(", ".max(", "min/max"),
    ];
    for (from, to, operator) in SWAPS {
        for at in code_positions(line, from) {
            // `a - 1` only where it ends an operand, not `a - 10`.
            let after = &line[at + from.len()..];
            if from.ends_with('1') && after.starts_with(|c: char| c.is_ascii_digit()) {
                continue;
            }
            found.push(Mutation {
                operator,
                line: format!("{}{to}{after}", &line[..at]),
            });
        }
    }
    for (from, to) in [(" + ", " - "), (" - ", " + ")] {
        for at in code_positions(line, from) {
            found.push(Mutation {
                operator: "arithmetic",
                line: format!("{}{to}{}", &line[..at], &line[at + from.len()..]),
            });
        }
    }
    for (from, to) in [("true", "false"), ("false", "true")] {
        for at in code_positions(line, from) {
            if whole_word(line, at, from.len()) {
                found.push(Mutation {
                    operator: "boolean",
                    line: format!("{}{to}{}", &line[..at], &line[at + from.len()..]),
                });
            }
        }
    }
    if let Some(negated) = negate_if(line) {
        found.push(Mutation {
            operator: "negated condition",
            line: negated,
        });
    }
    if deletable(code) {
        found.push(Mutation {
            operator: "deleted statement",
            line: String::new(),
        });
    }
    found.dedup();
    found
}

/// Where `needle` starts in `line`, outside string literals and comments.
fn code_positions(line: &str, needle: &str) -> Vec<usize> {
    let code_end = comment_start(line).unwrap_or(line.len());
    let strings = string_spans(line);
    line[..code_end]
        .match_indices(needle)
        .map(|(at, _)| at)
        .filter(|at| !strings.iter().any(|(a, b)| at >= a && at < b))
        .collect()
}

/// The byte ranges of string and char literals in `line`.
fn string_spans(line: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match (start, c) {
            (Some(_), '\\') if !escaped => {
                escaped = true;
                continue;
            }
            (Some(s), '"') if !escaped => {
                spans.push((s, i + 1));
                start = None;
            }
            (None, '"') => start = Some(i),
            _ => {}
        }
        escaped = false;
    }
    if let Some(s) = start {
        spans.push((s, line.len()));
    }
    spans
}

/// Where a `//` comment starts, outside a string.
fn comment_start(line: &str) -> Option<usize> {
    let strings = string_spans(line);
    line.match_indices("//")
        .map(|(at, _)| at)
        .find(|at| !strings.iter().any(|(a, b)| at >= a && at < b))
}

fn whole_word(line: &str, at: usize, len: usize) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let before = line[..at].chars().next_back().is_none_or(|c| !ident(c));
    let after = line[at + len..].chars().next().is_none_or(|c| !ident(c));
    before && after
}

/// `if COND {` → `if !(COND) {` (not `if let`).
fn negate_if(line: &str) -> Option<String> {
    let indent = &line[..line.len() - line.trim_start().len()];
    let rest = line.trim_start();
    let (keyword, condition) = if let Some(c) = rest.strip_prefix("} else if ") {
        ("} else if ", c)
    } else {
        ("if ", rest.strip_prefix("if ")?)
    };
    let condition = condition.strip_suffix(" {")?;
    if condition.starts_with("let ") || comment_start(line).is_some() {
        return None;
    }
    Some(format!("{indent}{keyword}!({condition}) {{"))
}

/// A whole statement on one line, whose removal still compiles more often
/// than not: it ends with `;`, binds nothing, and opens and closes its own
/// brackets.
fn deletable(code: &str) -> bool {
    if !code.ends_with(';') || code.starts_with("let ") || code.starts_with("return") {
        return false;
    }
    let balance = |open: char, close: char| {
        code.chars().filter(|&c| c == open).count() == code.chars().filter(|&c| c == close).count()
    };
    balance('(', ')') && balance('{', '}') && balance('[', ']')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(line: &str) -> Vec<String> {
        mutations(line).into_iter().map(|m| m.line).collect()
    }

    #[test]
    fn comparisons_turn_into_their_neighbours() {
        let found = lines("        if count >= majority && term == self.current_term {");
        assert!(found
            .contains(&"        if count > majority && term == self.current_term {".to_string()));
        assert!(found
            .contains(&"        if count >= majority || term == self.current_term {".to_string()));
        assert!(found
            .contains(&"        if count >= majority && term != self.current_term {".to_string()));
        assert!(found.contains(
            &"        if !(count >= majority && term == self.current_term) {".to_string()
        ));
    }

    #[test]
    fn off_by_one_and_deleted_statements() {
        let found = lines("        self.next_index = self.log.last_index() + 1;");
        assert!(found.contains(&"        self.next_index = self.log.last_index();".to_string()));
        assert!(found.contains(&String::new()), "the statement deleted");
        assert!(lines("        x = y - 10;")
            .iter()
            .all(|l| !l.contains("y0")));
    }

    #[test]
    fn strings_comments_generics_and_bindings_are_left_alone() {
        assert!(lines("        // a < b").is_empty());
        assert!(lines("        todo!(\"a < b && c\")")
            .iter()
            .all(|l| l.contains("a < b && c")));
        assert!(lines("        let v: Vec<Option<u64>> = Vec::new();").is_empty());
        assert!(lines("        if let Some(x) = y {").is_empty());
    }
}
