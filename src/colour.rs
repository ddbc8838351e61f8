//! Colour and terminal text: whether to colour at all, painting text, and
//! measuring and wrapping lines that carry colour codes. Everything that
//! prints uses it (outcomes, replays, grade tables, the watch screen), so it
//! depends on nothing else in the runner.

use crossterm::style::{Color, Stylize};
use std::ffi::OsString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

static COLOR: AtomicBool = AtomicBool::new(false);

/// Turns colour on when the user's settings and stdout ask for it (see
/// [`colour_wanted`]).
pub fn init_color() {
    use std::io::IsTerminal;
    let on = colour_wanted(std::io::stdout().is_terminal(), |name| {
        std::env::var_os(name)
    });
    COLOR.store(on, Ordering::Relaxed);
}

/// Forces colour on or off (the watch screen decides for its terminal).
pub fn set_color(on: bool) {
    COLOR.store(on, Ordering::Relaxed);
}

pub fn color_enabled() -> bool {
    COLOR.load(Ordering::Relaxed)
}

/// Whether output should carry colour, from the conventions users set:
/// `NO_COLOR` (any value but empty) turns it off, `CLICOLOR_FORCE` (any value
/// but empty or `0`) turns it on even without a terminal, `CLICOLOR=0` and
/// `TERM=dumb` turn it off, and otherwise a terminal gets colour. `var`
/// reads a variable, so the rule can be tested without touching the
/// process's environment.
pub fn colour_wanted(is_terminal: bool, var: impl Fn(&str) -> Option<OsString>) -> bool {
    let set = |name: &str| var(name).filter(|value| !value.is_empty());
    if set("NO_COLOR").is_some() {
        return false;
    }
    if set("CLICOLOR_FORCE").is_some_and(|value| value != "0") {
        return true;
    }
    if set("CLICOLOR").is_some_and(|value| value == "0") || set("TERM").is_some_and(|t| t == "dumb")
    {
        return false;
    }
    is_terminal
}

/// crossterm checks `NO_COLOR` by itself when it writes a style; the runner
/// decides once, above, so crossterm is told to write what it is asked for.
/// Every styled string in the runner is made through the `ansi_*` functions.
fn styles_as_asked() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| crossterm::style::force_color_output(true));
}

/// `text` in `color`, whatever the settings (the caller has decided).
pub fn ansi_paint(text: &str, color: Color) -> String {
    styles_as_asked();
    text.with(color).to_string()
}

/// `text` in `color`, bold and underlined, whatever the settings.
pub fn ansi_emphasis(text: &str, color: Color) -> String {
    styles_as_asked();
    text.with(color).bold().underlined().to_string()
}

/// `text` bold, whatever the settings.
pub fn ansi_bold(text: &str) -> String {
    styles_as_asked();
    text.bold().to_string()
}

/// `text` dimmed, whatever the settings.
pub fn ansi_dim(text: &str) -> String {
    styles_as_asked();
    text.dim().to_string()
}

pub fn paint(text: &str, color: Color) -> String {
    if color_enabled() {
        ansi_paint(text, color)
    } else {
        text.to_string()
    }
}

pub fn bold(text: &str) -> String {
    if color_enabled() {
        ansi_bold(text)
    } else {
        text.to_string()
    }
}

pub fn dim(text: &str) -> String {
    if color_enabled() {
        ansi_dim(text)
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

    fn wanted(is_terminal: bool, env: &[(&str, &str)]) -> bool {
        colour_wanted(is_terminal, |name| {
            env.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| OsString::from(value))
        })
    }

    #[test]
    fn a_terminal_gets_colour_unless_the_user_says_otherwise() {
        assert!(wanted(true, &[]));
        assert!(!wanted(false, &[]));
        assert!(!wanted(true, &[("NO_COLOR", "1")]));
        assert!(!wanted(true, &[("CLICOLOR", "0")]));
        assert!(!wanted(true, &[("TERM", "dumb")]));
        // An empty NO_COLOR is no setting at all.
        assert!(wanted(true, &[("NO_COLOR", "")]));
        assert!(wanted(true, &[("CLICOLOR", "1"), ("TERM", "xterm")]));
    }

    #[test]
    fn clicolor_force_colours_a_pipe_but_no_color_wins() {
        assert!(wanted(false, &[("CLICOLOR_FORCE", "1")]));
        assert!(!wanted(false, &[("CLICOLOR_FORCE", "0")]));
        assert!(wanted(true, &[("CLICOLOR_FORCE", "1"), ("TERM", "dumb")]));
        assert!(!wanted(true, &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]));
    }

    #[test]
    fn asked_for_colour_is_given_whatever_the_environment() {
        // The test process may run under NO_COLOR; the caller's choice wins.
        assert_eq!(ansi_paint("x", Color::Red), "\u{1b}[38;5;9mx\u{1b}[39m");
        assert!(ansi_emphasis("x", Color::Green).contains("\u{1b}[4m"));
    }

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
        let line = format!("   {} {}", ansi_paint("word", Color::Red), "x ".repeat(10));
        assert_eq!(wrap(&line, 30).len(), 1);
    }
}
