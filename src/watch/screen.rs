//! The terminal: raw mode and its restoration, drawing a view, and reading
//! keys. On a terminal the screen is redrawn in place; without one (CI, a
//! pipe) the same views are printed as plain lines and keys are read as
//! lines from standard input.

use super::{Event, Key};
use crate::colour::strip_ansi;
use crossterm::cursor::{Hide, MoveTo, Show};
use crossterm::event::{KeyCode, KeyEventKind, KeyModifiers};
use crossterm::terminal::{self, Clear, ClearType};
use crossterm::{execute, queue};
use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;

/// What the screen shows: the report, notes below it (welcome, hints,
/// messages), a status line and the key legend.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct View {
    /// Which verdict the body shows (a new one is printed in line mode even
    /// when it reads the same as the last).
    pub serial: u64,
    pub body: Vec<String>,
    pub notes: Vec<String>,
    pub status: String,
    pub legend: String,
}

/// Where views go.
pub enum Screen {
    /// A terminal in raw mode, redrawn in place.
    Full { last: Option<View> },
    /// Plain lines: each view prints only what changed since the last one.
    Lines { last: View },
}

/// Set while the terminal is in raw mode, so that restoring is done once.
static RAW: AtomicBool = AtomicBool::new(false);

/// The name of the thread that runs checks: a panic there is caught and
/// reported on the screen, so the terminal stays as it is.
pub const CHECK_THREAD: &str = "dscourse-check";

impl Screen {
    /// Raw mode on a terminal, or lines when standard input or output is not one.
    pub fn open() -> Screen {
        use std::io::IsTerminal;
        if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() && enter_raw().is_ok()
        {
            crate::colour::set_color(std::env::var_os("NO_COLOR").is_none());
            Screen::Full { last: None }
        } else {
            Screen::Lines {
                last: View::default(),
            }
        }
    }

    pub fn is_terminal(&self) -> bool {
        matches!(self, Screen::Full { .. })
    }

    /// Shows `view` (nothing happens if it did not change).
    pub fn show(&mut self, view: &View) {
        match self {
            Screen::Full { last } => {
                if last.as_ref() != Some(view) {
                    let _ = draw(view);
                    *last = Some(view.clone());
                }
            }
            Screen::Lines { last } => {
                print_changes(last, view);
                *last = view.clone();
            }
        }
    }

    /// Forgets what is on the screen, so that the next view is drawn whole.
    pub fn invalidate(&mut self) {
        if let Screen::Full { last } = self {
            *last = None;
        }
    }

    /// Starts the thread that turns key presses (or lines) into events.
    pub fn read_keys(&self, send: Sender<Event>) {
        let full = self.is_terminal();
        let spawned = std::thread::Builder::new()
            .name("dscourse-keys".into())
            .spawn(move || {
                if full {
                    read_raw_keys(&send)
                } else {
                    read_line_keys(&send)
                }
            });
        if spawned.is_err() {
            // Without a key thread the watch still works; only keys are lost.
            eprintln!("warning: cannot read keys; watching only");
        }
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        if self.is_terminal() {
            restore();
        }
    }
}

/// Raw mode, hidden cursor, a clear screen, and a panic hook that puts the
/// terminal back before the panic message is printed.
fn enter_raw() -> std::io::Result<()> {
    terminal::enable_raw_mode()?;
    RAW.store(true, Ordering::SeqCst);
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() != Some(CHECK_THREAD) {
            restore();
        }
        previous(info);
    }));
    let mut out = std::io::stdout();
    execute!(out, Hide, Clear(ClearType::All), MoveTo(0, 0))
}

/// Raw mode off and the cursor shown, below what was drawn. Safe to call twice.
pub fn restore() {
    if RAW.swap(false, Ordering::SeqCst) {
        let mut out = std::io::stdout();
        let _ = execute!(out, Show);
        let _ = terminal::disable_raw_mode();
        let _ = writeln!(out);
        let _ = out.flush();
    }
}

/// Redraws the whole screen: body at the top, notes, then status and legend
/// on the last two rows. What does not fit is cut with a marker.
fn draw(view: &View) -> std::io::Result<()> {
    let (cols, rows) = terminal::size().unwrap_or((80, 24));
    let lines = fit(view, cols as usize, rows as usize);
    let mut out = std::io::stdout().lock();
    queue!(out, MoveTo(0, 0))?;
    let last = lines.len().saturating_sub(1);
    for (i, line) in lines.iter().enumerate() {
        write!(out, "{line}")?;
        queue!(out, Clear(ClearType::UntilNewLine))?;
        if i < last {
            write!(out, "\r\n")?;
        }
    }
    queue!(out, Clear(ClearType::FromCursorDown))?;
    out.flush()
}

/// How many rows a line takes on a screen `cols` wide.
fn rows_of(line: &str, cols: usize) -> usize {
    let width = strip_ansi(line).chars().count();
    width.div_ceil(cols.max(1)).max(1)
}

/// Lays a view out on `cols` × `rows`: status and legend on the last rows,
/// the body and notes above, cut to fit.
pub fn fit(view: &View, cols: usize, rows: usize) -> Vec<String> {
    let wrapped = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .flat_map(|l| crate::colour::wrap(l, cols))
            .collect()
    };
    let (body, notes) = (wrapped(&view.body), wrapped(&view.notes));
    let view = &View {
        body,
        notes,
        ..view.clone()
    };
    let footer = [view.status.clone(), view.legend.clone()];
    let footer_rows: usize = footer.iter().map(|l| rows_of(l, cols)).sum();
    let budget = rows.saturating_sub(footer_rows);
    let notes_rows: usize = view.notes.iter().map(|l| rows_of(l, cols)).sum();
    let body_rows: usize = view.body.iter().map(|l| rows_of(l, cols)).sum();
    // The notes (with a blank line above them) are what the learner just
    // asked for: when both do not fit, they keep at least half the room.
    let notes_budget = if view.notes.is_empty() {
        0
    } else {
        let wanted = notes_rows + 1;
        let left_by_body = budget.saturating_sub(body_rows);
        wanted.min(budget / 2).max(left_by_body)
    };
    let body_budget = budget.saturating_sub(notes_budget);
    let mut lines = take_rows(&view.body, body_budget, cols, "the report");
    if !view.notes.is_empty() && notes_budget > 0 {
        lines.push(String::new());
        lines.extend(take_rows(
            &view.notes,
            notes_budget - 1,
            cols,
            "this message",
        ));
    }
    let used: usize = lines.iter().map(|l| rows_of(l, cols)).sum();
    lines.extend(std::iter::repeat_n(
        String::new(),
        budget.saturating_sub(used),
    ));
    lines.extend(footer);
    lines
}

/// The first lines of `lines` that fit in `budget` rows, the last of them
/// replaced by a marker if some are left out.
fn take_rows(lines: &[String], budget: usize, cols: usize, what: &str) -> Vec<String> {
    let mut taken = Vec::new();
    let mut used = 0;
    for (i, line) in lines.iter().enumerate() {
        let need = rows_of(line, cols);
        let rest = lines.len() - i;
        if used + need > budget || (used + need == budget && rest > 1) {
            if budget > used {
                taken.push(crate::colour::dim(&format!(
                    " … {rest} more lines of {what} (`{}` prints them all)",
                    crate::invocation::command("run")
                )));
            }
            break;
        }
        used += need;
        taken.push(line.clone());
    }
    taken
}

/// Line mode: prints the body if it changed, the notes that are new, and the
/// status when it changes.
fn print_changes(last: &View, view: &View) {
    let mut out = std::io::stdout().lock();
    if (view.body != last.body || view.serial != last.serial) && !view.body.is_empty() {
        let _ = writeln!(out);
        // Serial 0 is no verdict yet: the header of an exercise just chosen.
        if view.serial != last.serial && view.serial != 0 {
            let _ = writeln!(
                out,
                "{}",
                crate::colour::dim(&format!("── verdict of check #{} ──", view.serial))
            );
        }
        for line in &view.body {
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(out, "{}", view.legend);
    }
    let fresh = if view.notes.starts_with(&last.notes) {
        &view.notes[last.notes.len()..]
    } else {
        &view.notes[..]
    };
    for line in fresh {
        let _ = writeln!(out, "{line}");
    }
    if view.status != last.status && !view.status.is_empty() {
        let _ = writeln!(out, "{}", view.status);
    }
    let _ = out.flush();
}

/// Keys from the terminal in raw mode. Ctrl-C arrives here as a key.
fn read_raw_keys(send: &Sender<Event>) {
    loop {
        let event = match crossterm::event::read() {
            Ok(event) => event,
            Err(_) => {
                let _ = send.send(Event::InputClosed);
                return;
            }
        };
        let key = match event {
            crossterm::event::Event::Key(key) if key.kind != KeyEventKind::Release => {
                let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
                match key.code {
                    KeyCode::Char('c') | KeyCode::Char('d') if ctrl => Key::Quit,
                    KeyCode::Char(c) => Key::Char(c.to_ascii_lowercase()),
                    KeyCode::Enter => Key::Char('\n'),
                    KeyCode::Backspace => Key::Backspace,
                    _ => Key::Other,
                }
            }
            crossterm::event::Event::Resize(..) => {
                if send.send(Event::Resized).is_err() {
                    return;
                }
                continue;
            }
            _ => continue,
        };
        if send.send(Event::Key(key)).is_err() {
            return;
        }
    }
}

/// Keys typed as lines when there is no terminal: a line's first letter
/// counts, and a number is its digits then Enter (as typed on a terminal,
/// to pick an exercise from the list). At the end of input the watch goes
/// on without keys.
fn read_line_keys(send: &Sender<Event>) {
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        if !send_line(send, line.trim()) {
            return;
        }
    }
    let _ = send.send(Event::InputClosed);
}

/// Sends the keys of one typed line; false once the loop has stopped
/// listening.
fn send_line(send: &Sender<Event>, line: &str) -> bool {
    let keys: Vec<Key> = if !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit()) {
        line.chars().chain(['\n']).map(Key::Char).collect()
    } else {
        match line.chars().next() {
            Some(c) => vec![Key::Char(c.to_ascii_lowercase())],
            None => vec![Key::Other],
        }
    };
    keys.into_iter()
        .all(|key| send.send(Event::Key(key)).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(body: usize, notes: usize) -> View {
        View {
            serial: 0,
            body: (0..body).map(|i| format!("body {i}")).collect(),
            notes: (0..notes).map(|i| format!("note {i}")).collect(),
            status: "status".into(),
            legend: "legend".into(),
        }
    }

    #[test]
    fn fills_the_screen_with_the_footer_at_the_bottom() {
        let lines = fit(&view(3, 0), 80, 10);
        assert_eq!(lines.len(), 10);
        assert_eq!(lines[0], "body 0");
        assert_eq!(lines[8], "status");
        assert_eq!(lines[9], "legend");
    }

    #[test]
    fn cuts_a_long_report_and_keeps_notes_and_footer() {
        crate::colour::set_color(false);
        let lines = fit(&view(100, 4), 80, 20);
        assert_eq!(lines.len(), 20);
        assert!(
            lines.iter().any(|l| l.contains("more lines of the report")),
            "{lines:#?}"
        );
        assert!(lines.contains(&"note 3".to_string()), "{lines:#?}");
        assert_eq!(lines[19], "legend");
    }

    #[test]
    fn a_typed_number_is_its_digits_then_enter() {
        let (send, receive) = std::sync::mpsc::channel();
        for line in ["12", "hint", "", "1a"] {
            assert!(send_line(&send, line));
        }
        drop(send);
        let keys: Vec<Key> = receive
            .iter()
            .map(|e| match e {
                Event::Key(key) => key,
                _ => panic!("only keys"),
            })
            .collect();
        let expected = [
            Key::Char('1'),
            Key::Char('2'),
            Key::Char('\n'),
            Key::Char('h'),
            Key::Other,
            Key::Char('1'),
        ];
        assert_eq!(keys, expected);
    }

    #[test]
    fn counts_wrapped_rows() {
        assert_eq!(rows_of("", 10), 1);
        assert_eq!(rows_of("0123456789", 10), 1);
        assert_eq!(rows_of("0123456789a", 10), 2);
        assert_eq!(rows_of("\u{1b}[31mred\u{1b}[0m", 10), 1);
    }
}
