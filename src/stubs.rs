//! The starting code of every exercise, generated from its reference.
//!
//! The reference in `solutions/` is the one source: what the learner writes
//! is marked in it, and the stub is the reference with each marked region
//! replaced. A region is a run of lines between two marker comments:
//!
//! ```text
//! fn tick(&mut self) -> u64 {
//!     // exercise: begin "add one to the counter and return the new value"
//!     self.time += 1;
//!     self.time
//!     // exercise: end
//! }
//! ```
//!
//! becomes `todo!("add one to the counter and return the new value")`, at
//! the marker's indentation. A long message continues on the next comment
//! lines, one quoted piece each (`//   "…"`), and becomes a string continued
//! with `\`, as rustfmt lays it out. A region whose `begin` has no message
//! becomes the lines given after it as `// stub: …` (none: the region is
//! left out of the stub), for what the stub says or keeps differently: its
//! introduction, an early return that keeps a later step harmless, a helper
//! the learner does not get.
//!
//! `dscourse dev stubs` writes `exercises/` from the references, `dev check`
//! fails when `exercises/` differs, and `reset` and grading take the stub
//! from here; a student distribution, which has no references, keeps the
//! generated stubs in `checker/stubs/` (written by `dev strip`).

use crate::kit::Kit;
use anyhow::{bail, Context, Result};
use std::path::PathBuf;

const BEGIN: &str = "// exercise: begin";
const END: &str = "// exercise: end";
const STUB: &str = "// stub:";

/// rustfmt's line width: a `todo!("…")` that does not fit is laid out on
/// three lines.
const MAX_WIDTH: usize = 100;

/// The stub of the exercise file `file` (relative to `exercises/`): made
/// from its reference, or read from `checker/stubs/` in a kit without
/// references.
pub fn stub_of(kit: &Kit, file: &str) -> Result<Vec<u8>> {
    if kit.has_solutions() {
        let reference = kit.root.join("solutions").join(file);
        let text = std::fs::read_to_string(&reference)
            .with_context(|| format!("cannot read {}", reference.display()))?;
        let stub = generate(&text).with_context(|| format!("solutions/{file}"))?;
        Ok(stub.into_bytes())
    } else {
        let kept = kept_stub_path(kit, file);
        std::fs::read(&kept).with_context(|| format!("cannot read {}", kept.display()))
    }
}

/// Where a kit without references keeps the stub of `file`.
pub fn kept_stub_path(kit: &Kit, file: &str) -> PathBuf {
    kit.root.join("checker/stubs").join(file)
}

/// The stub made from a reference's text.
pub fn generate(reference: &str) -> Result<String> {
    let mut out = String::with_capacity(reference.len());
    let mut lines = reference.lines().enumerate().peekable();
    while let Some((number, line)) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with(END) || trimmed.starts_with(STUB) {
            bail!(
                "line {}: `{}` outside a region (after `{BEGIN}`)",
                number + 1,
                trimmed
            );
        }
        let Some(after) = trimmed.strip_prefix(BEGIN) else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let indent = &line[..line.len() - trimmed.len()];
        let begun = number + 1;
        // A todo!'s message: a quoted piece here, more on the next lines.
        let mut pieces = Vec::new();
        if !after.trim().is_empty() {
            pieces.push(quoted(after.trim(), begun)?);
            while let Some((n, next)) = lines.peek() {
                let piece = next.trim_start().strip_prefix("//").map(str::trim);
                match piece {
                    Some(p) if p.starts_with('"') => {
                        pieces.push(quoted(p, n + 1)?);
                        lines.next();
                    }
                    _ => break,
                }
            }
        }
        let mut stub_lines = Vec::new();
        let mut ended = false;
        for (n, inner) in lines.by_ref() {
            let inner_trimmed = inner.trim_start();
            if inner_trimmed.starts_with(BEGIN) {
                bail!(
                    "line {}: a region begins inside the region of line {begun}",
                    n + 1
                );
            }
            if inner_trimmed.starts_with(END) {
                ended = true;
                break;
            }
            if let Some(stub) = inner_trimmed.strip_prefix(STUB) {
                if !pieces.is_empty() {
                    bail!(
                        "line {}: a region with a todo! message has no `{STUB}` lines",
                        n + 1
                    );
                }
                stub_lines.push(stub.strip_prefix(' ').unwrap_or(stub));
            }
        }
        if !ended {
            bail!("line {begun}: the region is not closed with `{END}`");
        }
        if pieces.is_empty() {
            for stub in stub_lines {
                if stub.is_empty() {
                    out.push('\n');
                } else {
                    out.push_str(indent);
                    out.push_str(stub);
                    out.push('\n');
                }
            }
        } else {
            out.push_str(&todo(indent, &pieces));
        }
    }
    Ok(out)
}

/// The text between the quotes of `piece` (`"…"`, nothing after it).
fn quoted(piece: &str, line: usize) -> Result<&str> {
    match piece.strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
        Some(text) => Ok(text),
        None => bail!("line {line}: a todo! message is one quoted piece per line: {piece}"),
    }
}

/// `todo!` with the message `pieces`, laid out as rustfmt lays it out: on
/// one line if it fits, else the message on its own line, each piece after
/// the first continuing the string under its opening quote; a message too
/// long for its own line stays on the call's line (rustfmt leaves it so).
fn todo(indent: &str, pieces: &[&str]) -> String {
    let one_line = format!("{indent}todo!(\"{}\")", pieces.join(""));
    let inner = format!("{indent}    ");
    let own_line = inner.len() + pieces[0].chars().count() + 2;
    let fits = |width: usize| width <= MAX_WIDTH;
    if pieces.len() == 1 && (fits(one_line.chars().count()) || !fits(own_line)) {
        return one_line + "\n";
    }
    let mut text = format!("{indent}todo!(\n{inner}\"");
    for (i, piece) in pieces.iter().enumerate() {
        if i > 0 {
            text += &format!("\\\n{inner} ");
        }
        text += piece;
    }
    text += &format!("\"\n{indent})\n");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marked_body_becomes_a_todo() {
        let reference = "fn tick(&mut self) -> u64 {\n    // exercise: begin \"add one and return it\"\n    self.time += 1;\n    self.time\n    // exercise: end\n}\n";
        assert_eq!(
            generate(reference).unwrap(),
            "fn tick(&mut self) -> u64 {\n    todo!(\"add one and return it\")\n}\n"
        );
    }

    #[test]
    fn a_long_message_is_laid_out_as_rustfmt_does() {
        let region = |message: &str| {
            format!("    fn f() {{\n        // exercise: begin \"{message}\"\n        1\n        // exercise: end\n    }}\n")
        };
        // Too long for the call's line, short enough for its own.
        let long = "x".repeat(85);
        assert_eq!(
            generate(&region(&long)).unwrap(),
            format!("    fn f() {{\n        todo!(\n            \"{long}\"\n        )\n    }}\n")
        );
        // Too long for any line: rustfmt leaves it on the call's.
        let longer = "x".repeat(95);
        assert_eq!(
            generate(&region(&longer)).unwrap(),
            format!("    fn f() {{\n        todo!(\"{longer}\")\n    }}\n")
        );
        let reference = "    // exercise: begin \"first part, \"\n    //   \"second part\"\n    1\n    // exercise: end\n";
        assert_eq!(
            generate(reference).unwrap(),
            "    todo!(\n        \"first part, \\\n         second part\"\n    )\n"
        );
    }

    #[test]
    fn a_region_without_a_message_becomes_its_stub_lines() {
        let reference = "//! Docs.\n// exercise: begin\n// stub: //! Read the guide first.\n// stub:\n//! The reference solution.\n// exercise: end\nuse x;\n    // exercise: begin\n    fn helper() {}\n    // exercise: end\n";
        assert_eq!(
            generate(reference).unwrap(),
            "//! Docs.\n//! Read the guide first.\n\nuse x;\n"
        );
    }

    #[test]
    fn unbalanced_markers_are_named_by_their_line() {
        let open = generate("a\n// exercise: begin \"x\"\nb\n")
            .unwrap_err()
            .to_string();
        assert!(
            open.contains("line 2") && open.contains("not closed"),
            "{open}"
        );
        let stray = generate("a\n// exercise: end\n").unwrap_err().to_string();
        assert!(stray.contains("line 2"), "{stray}");
        let nested = generate("// exercise: begin\n// exercise: begin\n// exercise: end\n")
            .unwrap_err()
            .to_string();
        assert!(nested.contains("inside the region"), "{nested}");
    }
}
