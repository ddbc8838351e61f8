//! A replayed run in the terminal: one column per node, time downwards, a
//! line per event. Sends and deliveries carry the message's number (`#12`)
//! on both ends; drops, timers, crashes, restarts and client requests and
//! replies are marked; the event after which the property broke is
//! highlighted, and the states it looked at follow the diagram.
//!
//! Two steps: [`layout`] picks the events to show (a long run is cut at the
//! last quiet point before the violation) and says what each row holds;
//! [`draw`] fits the rows to the terminal's width.

pub mod draw;
pub mod labels;
pub mod layout;
pub mod states;

use dsim::Dump;

/// How to draw a run.
#[derive(Clone, Copy, Debug)]
pub struct View {
    /// Characters per line.
    pub width: usize,
    /// Every event and whole states, instead of the part that matters.
    pub full: bool,
}

/// The run as lines: the diagram, then the violation and the states of the
/// nodes it names (if a property broke during the run).
pub fn render(dump: &Dump, view: View) -> Vec<String> {
    let layout = layout::layout(dump, view.full);
    let mut lines = draw::diagram(&layout, view.width, dump.dropped);
    if let Some(violation) = &dump.violation {
        lines.push(String::new());
        lines.extend(states::violation(dump, violation, view));
    }
    lines
}

/// The width to draw at: the terminal's, or 100 columns when stdout is not
/// a terminal.
pub fn terminal_width() -> usize {
    use std::io::IsTerminal;
    const DEFAULT: usize = 100;
    if !std::io::stdout().is_terminal() {
        return DEFAULT;
    }
    match crossterm::terminal::size() {
        Ok((cols, _)) if cols >= 40 => usize::from(cols),
        _ => DEFAULT,
    }
}
