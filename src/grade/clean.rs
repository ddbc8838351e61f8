//! Learner-influenced text made safe to print and to store. A report
//! quotes what a learner's code printed or panicked with, and names files
//! and folders the learner named; a terminal obeys the escape sequences in
//! such text (clear the screen, move the cursor, draw a fake total), and
//! editors and browsers obey bidirectional overrides (show text in another
//! order than it is). Every report is cleaned once, when it is complete,
//! so that every format prints the same clean text.

use super::report::Report;
use crate::colour::{skip_control_sequence, strip_ansi};
use std::iter::Peekable;

const ESC: char = '\u{1b}';
/// The C1 controls that open a control sequence or a control string.
const C1_CSI: char = '\u{9b}';
const C1_STRINGS: [char; 5] = ['\u{90}', '\u{98}', '\u{9d}', '\u{9e}', '\u{9f}'];
/// The C1 "string terminator".
const C1_ST: char = '\u{9c}';

/// `text` without control characters (all of Unicode's category Cc but
/// newlines and tabs, C1 controls included), without escape sequences
/// (removed whole, not just their ESC, so that no `[2J` is left behind) and
/// without bidirectional embeddings, overrides and isolates.
pub fn clean(text: &str) -> String {
    let text = strip_ansi(text);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' | '\t' => out.push(c),
            ESC => skip_escape(&mut chars),
            C1_CSI => skip_control_sequence(&mut chars),
            c if C1_STRINGS.contains(&c) => skip_control_string(&mut chars),
            c if c.is_control() || is_bidi_control(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// Cleans every text of `report` that a learner can influence: the student
/// (a folder's name), the files listed, every reason and test output (what
/// the code printed, panicked with or wrote to the results channel).
pub fn report(report: &mut Report) {
    let mut texts: Vec<&mut String> = vec![&mut report.student, &mut report.submission];
    texts.extend(report.notes.iter_mut());
    texts.extend(report.ignored.iter_mut());
    for exercise in &mut report.exercises {
        texts.push(&mut exercise.reason);
        for test in &mut exercise.tests {
            texts.push(&mut test.name);
            texts.push(&mut test.output);
        }
    }
    for text in texts {
        *text = clean(text);
    }
}

/// The embeddings, overrides and isolates that reorder text as shown
/// ("Trojan Source").
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Skips the rest of an escape sequence after its ESC.
fn skip_escape(chars: &mut Peekable<impl Iterator<Item = char>>) {
    match chars.peek() {
        Some('[') => {
            chars.next();
            skip_control_sequence(chars);
        }
        // Operating system commands (window titles, links) and other strings.
        Some(']' | 'P' | 'X' | '^' | '_') => {
            chars.next();
            skip_control_string(chars);
        }
        // `ESC ( B` and the like: intermediates, then one final character.
        Some('\x20'..='\x2f') => {
            while chars.next_if(|c| ('\x20'..='\x2f').contains(c)).is_some() {}
            chars.next_if(|c| ('\x30'..='\x7e').contains(c));
        }
        // `ESC c` (reset), `ESC 7` (save the cursor), `ESC M`…
        Some('\x30'..='\x7e') => {
            chars.next();
        }
        _ => {}
    }
}

/// Skips a control string up to its terminator (BEL, `ESC \` or ST), or
/// up to the end of its line: a string never closed does not swallow the
/// rest of the text.
fn skip_control_string(chars: &mut Peekable<impl Iterator<Item = char>>) {
    while let Some(c) = chars.next_if(|c| *c != '\n') {
        match c {
            '\u{7}' | C1_ST => return,
            ESC if chars.next_if_eq(&'\\').is_some() => return,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_screen_control_whole() {
        assert_eq!(clean("before\x1b[2Jafter"), "beforeafter");
        // A fake total drawn over the report: the text stays, in its place.
        assert_eq!(
            clean("panicked: \x1b[2J\x1b[H\x1b[10;1H total 15 / 15\x1b[K"),
            "panicked:  total 15 / 15"
        );
        assert_eq!(clean("a\x1b7b\x1b8c\x1bcd\x1b(Be"), "abcde");
        assert_eq!(
            clean("\x1b]0;title\x07kept \x1b]8;;http://x\x1b\\link"),
            "kept link"
        );
        assert_eq!(clean("\u{9b}2Jc1\u{9d}title\u{9c}!"), "c1!");
        assert_eq!(clean("\x1b]unterminated\nnext line"), "\nnext line");
    }

    #[test]
    fn removes_control_characters_but_lines_and_tabs() {
        assert_eq!(
            clean("total 0\rtotal 15\x07\x00\x7f\u{85}"),
            "total 0total 15"
        );
        assert_eq!(clean("a\tb\nc"), "a\tb\nc");
        assert!(!clean("\x1b\x1b[mc").contains(ESC));
    }

    #[test]
    fn removes_bidi_overrides() {
        assert_eq!(clean("file\u{202e}sr.exe\u{202c}"), "filesr.exe");
        assert_eq!(clean("\u{2066}x\u{2069}\u{2067}\u{2068}"), "x");
    }

    #[test]
    fn keeps_plain_text() {
        let text = "é — ✓ 日本語 😀 [2J ~ \\";
        assert_eq!(clean(text), text);
    }
}
