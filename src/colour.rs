//! Colour and terminal text: whether to colour at all, painting text, and
//! measuring and wrapping lines that carry colour codes. Everything that
//! prints uses it (outcomes, replays, grade tables, the watch screen), so it
//! depends on nothing else in the runner.

use crossterm::style::{Color, Stylize};
use std::sync::atomic::{AtomicBool, Ordering};

static COLOR: AtomicBool = AtomicBool::new(false);

/// Turns colour on when stdout is a terminal and `NO_COLOR` is not set.
pub fn init_color() {
    use std::io::IsTerminal;
    let on = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    COLOR.store(on, Ordering::Relaxed);
}

/// Forces colour on or off (the watch screen always has a terminal).
pub fn set_color(on: bool) {
    COLOR.store(on, Ordering::Relaxed);
}

pub fn color_enabled() -> bool {
    COLOR.load(Ordering::Relaxed)
}

pub fn paint(text: &str, color: Color) -> String {
    if color_enabled() {
        text.with(color).to_string()
    } else {
        text.to_string()
    }
}

pub fn bold(text: &str) -> String {
    if color_enabled() {
        text.bold().to_string()
    } else {
        text.to_string()
    }
}

pub fn dim(text: &str) -> String {
    if color_enabled() {
        text.dim().to_string()
    } else {
        text.to_string()
    }
}

/// Removes ANSI colour codes (compiler messages come with them), and any
/// other control sequence of the same form (`ESC [`, parameters, one final
/// character), whole.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            skip_control_sequence(&mut chars);
        } else {
            out.push(c);
        }
    }
    out
}

/// Skips the rest of a control sequence after its `ESC [`: parameter and
/// intermediate characters, then the final one (`m` for colours, but any
/// of `@` to `~`). Text after a sequence cut short is kept.
pub fn skip_control_sequence(chars: &mut std::iter::Peekable<impl Iterator<Item = char>>) {
    while chars.next_if(|c| ('\x20'..='\x3f').contains(c)).is_some() {}
    chars.next_if(|c| ('\x40'..='\x7e').contains(c));
}

/// Breaks a line wider than `cols` at spaces, continuing under its own
/// indentation plus two; colour codes are kept and take no width. A word
/// wider than the screen stays whole (the terminal wraps it).
pub fn wrap(line: &str, cols: usize) -> Vec<String> {
    let width = |text: &str| strip_ansi(text).chars().count();
    if width(line) <= cols || cols < 20 {
        return vec![line.to_string()];
    }
    let indent = line.len() - line.trim_start_matches(' ').len();
    let continuation = " ".repeat(indent + 2);
    let mut lines = Vec::new();
    let mut current = " ".repeat(indent);
    let mut current_width = indent;
    let mut first_word = true;
    for word in line[indent..].split(' ') {
        let w = width(word);
        if !first_word && current_width + 1 + w > cols {
            lines.push(std::mem::replace(&mut current, continuation.clone()));
            current_width = continuation.len();
            first_word = true;
        }
        if !first_word {
            current.push(' ');
            current_width += 1;
        }
        current.push_str(word);
        current_width += w;
        first_word = false;
    }
    lines.push(current);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_spaces_under_the_indent() {
        let line = "   n0 panicked in on_start: not yet implemented: set the timer (at exercises/00_intro/pingpong.rs:68:9)";
        let lines = wrap(line, 40);
        assert!(lines.len() > 2);
        for l in &lines {
            assert!(l.chars().count() <= 40 || !l.trim().contains(' '), "{l:?}");
        }
        assert!(lines[1].starts_with("     ") && !lines[1].starts_with("      "));
        let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        assert_eq!(words(&lines.join(" ")), words(line));
        assert_eq!(wrap("short", 40), vec!["short"]);
    }

    #[test]
    fn strips_whole_control_sequences_only() {
        assert_eq!(strip_ansi("\x1b[1;31merror\x1b[0m: x"), "error: x");
        // A final character other than a letter ends the sequence too.
        assert_eq!(strip_ansi("\x1b[2~kept \x1b[5@text"), "kept text");
        assert_eq!(strip_ansi("cut \x1b[12"), "cut ");
    }

    #[test]
    fn wrapping_ignores_colour_codes() {
        set_color(true);
        let line = format!("   {} {}", paint("word", Color::Red), "x ".repeat(10));
        assert_eq!(wrap(&line, 30).len(), 1);
    }
}
