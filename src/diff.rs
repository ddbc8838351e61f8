//! Comparing two texts for people: the hunks of lines that differ, with a
//! few lines of context and both files' line numbers, and inside a changed
//! line the words that changed. `dscourse diff` shows the learner's file
//! against the reference with it.

use crate::colour::{ansi_dim, ansi_emphasis, ansi_paint};
use crossterm::style::Color;
use similar::{ChangeTag, TextDiff};

/// How many unchanged lines a hunk shows around its changes.
pub const CONTEXT: usize = 3;

/// What a line of a hunk is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tag {
    /// In both texts.
    Same,
    /// Only in the old text (the learner's).
    Removed,
    /// Only in the new text (the reference's).
    Added,
}

/// One line of a hunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub tag: Tag,
    /// Its 1-based number in the old text, if it is there.
    pub old: Option<usize>,
    /// Its 1-based number in the new text, if it is there.
    pub new: Option<usize>,
    /// Its text without the line break, in pieces: `(changed, text)`, where
    /// `changed` marks the words that differ from the line it replaces.
    pub parts: Vec<(bool, String)>,
    /// The text ends on this line without a line break.
    pub no_newline: bool,
}

impl Line {
    /// The line's whole text.
    pub fn text(&self) -> String {
        self.parts.iter().map(|(_, t)| t.as_str()).collect()
    }
}

/// A run of changes with their context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hunk {
    /// The first line of the hunk in the old text (1-based) and how many
    /// lines of it the hunk covers; likewise in the new text.
    pub old_start: usize,
    pub old_len: usize,
    pub new_start: usize,
    pub new_len: usize,
    pub lines: Vec<Line>,
}

/// The hunks that turn `old` into `new`, each with `context` unchanged lines
/// around its changes; none if the texts are the same.
pub fn hunks(old: &str, new: &str, context: usize) -> Vec<Hunk> {
    let diff = TextDiff::from_lines(old, new);
    diff.grouped_ops(context)
        .iter()
        .filter(|group| !group.is_empty())
        .map(|group| {
            let first = &group[0];
            let last = &group[group.len() - 1];
            let old_range = first.old_range().start..last.old_range().end;
            let new_range = first.new_range().start..last.new_range().end;
            let mut lines = Vec::new();
            for op in group {
                for change in diff.iter_inline_changes(op) {
                    let tag = match change.tag() {
                        ChangeTag::Equal => Tag::Same,
                        ChangeTag::Delete => Tag::Removed,
                        ChangeTag::Insert => Tag::Added,
                    };
                    let mut parts: Vec<(bool, String)> = Vec::new();
                    for (changed, text) in change.iter_strings_lossy() {
                        let text = text.trim_end_matches(['\n', '\r']);
                        if text.is_empty() {
                            continue;
                        }
                        match parts.last_mut() {
                            Some((c, t)) if *c == changed => t.push_str(text),
                            _ => parts.push((changed, text.to_string())),
                        }
                    }
                    lines.push(Line {
                        tag,
                        old: change.old_index().map(|i| i + 1),
                        new: change.new_index().map(|i| i + 1),
                        parts,
                        no_newline: change.missing_newline(),
                    });
                }
            }
            Hunk {
                old_start: old_range.start + 1,
                old_len: old_range.len(),
                new_start: new_range.start + 1,
                new_len: new_range.len(),
                lines,
            }
        })
        .collect()
}

/// The hunks as lines to print: a `@@ -a,b +c,d @@` header for each, then
/// each line with its numbers in the old and new text and a `-`, `+` or
/// space. With `color`, removed lines are red and added lines green, and
/// the words that changed are also bold and underlined.
pub fn render(hunks: &[Hunk], color: bool) -> Vec<String> {
    let width = hunks
        .iter()
        .flat_map(|h| h.lines.iter())
        .flat_map(|l| [l.old, l.new])
        .flatten()
        .max()
        .unwrap_or(1)
        .to_string()
        .len();
    let number = |n: Option<usize>| match n {
        Some(n) => format!("{n:>width$}"),
        None => " ".repeat(width),
    };
    let mut out = Vec::new();
    for (i, hunk) in hunks.iter().enumerate() {
        if i > 0 {
            out.push(String::new());
        }
        let header = format!(
            "@@ -{},{} +{},{} @@",
            hunk.old_start, hunk.old_len, hunk.new_start, hunk.new_len
        );
        out.push(if color {
            ansi_paint(&header, Color::Cyan)
        } else {
            header
        });
        for line in &hunk.lines {
            let (marker, tint) = match line.tag {
                Tag::Same => (' ', None),
                Tag::Removed => ('-', Some(Color::Red)),
                Tag::Added => ('+', Some(Color::Green)),
            };
            let numbers = format!("{} {}", number(line.old), number(line.new));
            let body = match (color, tint) {
                (true, Some(tint)) => {
                    let mut text = ansi_paint(&format!("{marker} "), tint);
                    for (changed, part) in &line.parts {
                        text += &if *changed {
                            ansi_emphasis(part, tint)
                        } else {
                            ansi_paint(part, tint)
                        };
                    }
                    text
                }
                _ => format!("{marker} {}", line.text()),
            };
            let numbers = if color { ansi_dim(&numbers) } else { numbers };
            out.push(format!("{numbers} {body}").trim_end().to_string());
            if line.no_newline {
                let note = format!(
                    "{} \\ no line break at the end of the file",
                    " ".repeat(width * 2 + 1)
                );
                out.push(if color { ansi_dim(&note) } else { note });
            }
        }
    }
    out
}

/// How many lines differ: removed, added.
pub fn counts(hunks: &[Hunk]) -> (usize, usize) {
    let lines = hunks.iter().flat_map(|h| h.lines.iter());
    let removed = lines.clone().filter(|l| l.tag == Tag::Removed).count();
    let added = lines.filter(|l| l.tag == Tag::Added).count();
    (removed, added)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const OLD: &str = "fn on_start() {\n    todo!(\"set the timer\")\n}\n\nfn a() {}\nfn b() {}\nfn c() {}\nfn d() {}\nfn e() {}\nfn f() {}\nfn g() {}\nlet x = ping(1);\n";
    const NEW: &str = "fn on_start() {\n    ctx.set_timer(Timer::Ping, PING_INTERVAL);\n}\n\nfn a() {}\nfn b() {}\nfn c() {}\nfn d() {}\nfn e() {}\nfn f() {}\nfn g() {}\nlet x = pong(1);\n";

    #[test]
    fn the_same_text_has_no_hunks() {
        assert!(hunks(OLD, OLD, CONTEXT).is_empty());
        assert!(hunks("", "", CONTEXT).is_empty());
    }

    #[test]
    fn changes_far_apart_are_separate_hunks_with_context_and_line_numbers() {
        let hunks = hunks(OLD, NEW, 2);
        assert_eq!(hunks.len(), 2, "{hunks:#?}");
        let first = &hunks[0];
        assert_eq!((first.old_start, first.old_len), (1, 4));
        assert_eq!((first.new_start, first.new_len), (1, 4));
        let removed: Vec<_> = first
            .lines
            .iter()
            .filter(|l| l.tag == Tag::Removed)
            .collect();
        let added: Vec<_> = first.lines.iter().filter(|l| l.tag == Tag::Added).collect();
        assert_eq!(removed.len(), 1);
        assert_eq!(removed[0].old, Some(2));
        assert_eq!(removed[0].new, None);
        assert_eq!(removed[0].text(), "    todo!(\"set the timer\")");
        assert_eq!(added[0].old, None);
        assert_eq!(added[0].new, Some(2));
        assert_eq!(
            added[0].text(),
            "    ctx.set_timer(Timer::Ping, PING_INTERVAL);"
        );
        let second = &hunks[1];
        assert_eq!((second.old_start, second.old_len), (10, 3));
        let removed = second.lines.iter().find(|l| l.tag == Tag::Removed);
        assert_eq!(removed.and_then(|l| l.old), Some(12));
        assert_eq!(second.lines.last().and_then(|l| l.new), Some(12));
        assert_eq!(counts(&hunks), (2, 2));
    }

    #[test]
    fn only_the_changed_words_are_emphasised() {
        let hunks = hunks(OLD, NEW, 0);
        let last = &hunks[1];
        let removed = &last.lines[0];
        assert_eq!(removed.tag, Tag::Removed);
        let emphasised: Vec<&str> = removed
            .parts
            .iter()
            .filter(|(changed, _)| *changed)
            .map(|(_, t)| t.as_str())
            .collect();
        assert_eq!(emphasised, vec!["ping(1);"]);
        assert_eq!(removed.text(), "let x = ping(1);");
    }

    #[test]
    fn renders_plain_markers_and_numbers_without_colour() {
        let lines = render(&hunks(OLD, NEW, 1), false);
        assert_eq!(
            lines,
            vec![
                "@@ -1,3 +1,3 @@",
                " 1  1   fn on_start() {",
                " 2    -     todo!(\"set the timer\")",
                "    2 +     ctx.set_timer(Timer::Ping, PING_INTERVAL);",
                " 3  3   }",
                "",
                "@@ -11,2 +11,2 @@",
                "11 11   fn g() {}",
                "12    - let x = ping(1);",
                "   12 + let x = pong(1);",
            ]
        );
        assert!(lines.iter().all(|l| !l.contains('\u{1b}')));
    }

    #[test]
    fn colour_marks_changed_words() {
        let lines = render(&hunks(OLD, NEW, 0), true);
        let removed = lines.iter().find(|l| l.contains("ping(1)")).unwrap();
        // Red, and the changed word also bold and underlined.
        assert!(
            removed.contains("\u{1b}[38;5;9m") || removed.contains("\u{1b}[31m"),
            "{removed:?}"
        );
        assert!(
            removed.contains("\u{1b}[1m") && removed.contains("\u{1b}[4m"),
            "{removed:?}"
        );
        let unchanged = crate::colour::strip_ansi(removed);
        assert!(unchanged.ends_with("- let x = ping(1);"), "{unchanged:?}");
    }

    #[test]
    fn a_missing_final_line_break_is_shown() {
        let hunks = hunks("a\nb\n", "a\nb", CONTEXT);
        let lines = render(&hunks, false);
        assert!(
            lines.iter().any(|l| l.contains("no line break")),
            "{lines:#?}"
        );
    }
}
