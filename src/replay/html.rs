//! A replayed run as one self-contained HTML page: a space-time diagram in
//! SVG (one vertical line per node, time downwards, an arrow per message),
//! the violation in the header, and every node's state after the event the
//! learner clicks. Styles, script and data are inline; the page loads
//! nothing and its content security policy forbids it to.
//!
//! What a test (or a curious learner) can rely on in the SVG:
//! - `circle.event[data-index][data-node]`, one per event drawn (faults and
//!   notes have no `data-node`), `.bad` on the violation's event;
//! - `.msg[data-msg-id][data-from][data-to][data-send][data-deliver]`, one
//!   per delivery (a duplicated message has one per copy);
//!   `.msg-lost[…][data-drop][data-reason]`, one per drop; `.msg-pending`,
//!   one per message still in flight where the drawing ends;
//! - `#violation[data-event][data-nodes]` where the property broke;
//! - `body[data-ready="yes"]` once the script has run.

mod diagram;
mod layout;

use crate::replay::reflow::reflow;
use anyhow::{Context, Result};
use dsim::Dump;
use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::path::Path;

/// A longer run is drawn in part by [`write_html`] (see [`default_window`]).
pub const MAX_DRAWN: usize = 1500;
/// A property checked at the end of a run is about all of it: such a run is
/// drawn whole up to this many events. (Each event costs its nodes' states
/// in the page, so a page of this many is some megabytes.)
pub const MAX_DRAWN_AT_END: usize = 4 * MAX_DRAWN;

const CSS: &str = include_str!("html/page.css");
const JS: &str = include_str!("html/page.js");

/// Writes the page for `dump` to `path`, drawing [`default_window`].
pub fn write_html(dump: &Dump, title: &str, path: &Path) -> Result<()> {
    write_html_window(dump, title, path, default_window(dump))
}

/// Writes the page drawing only the events whose index is in `window`
/// (`0..=u64::MAX` draws them all).
pub fn write_html_window(
    dump: &Dump,
    title: &str,
    path: &Path,
    window: RangeInclusive<u64>,
) -> Result<()> {
    std::fs::write(path, page(dump, title, window))
        .with_context(|| format!("cannot write the page {}", path.display()))
}

/// The events drawn by default: all of them, or for a run longer than
/// [`MAX_DRAWN`] events, the last `MAX_DRAWN` up to the violation (and the
/// few after it), or the first `MAX_DRAWN` of a run without one. A
/// property checked at the end of the run is drawn whole up to
/// [`MAX_DRAWN_AT_END`] events; beyond, from a little before the first
/// event it names, or else up to the end.
pub fn default_window(dump: &Dump) -> RangeInclusive<u64> {
    let events = &dump.events;
    let at_end = dump.violation.as_ref().is_some_and(|v| v.at_end.is_some());
    let whole = if at_end { MAX_DRAWN_AT_END } else { MAX_DRAWN };
    if events.len() <= whole {
        return 0..=u64::MAX;
    }
    let position = |index: u64| events.iter().position(|e| e.index >= index);
    let end = match &dump.violation {
        Some(v) if v.at_end.is_some() => match v.events.iter().min().and_then(|&e| position(e)) {
            Some(named) => (named.saturating_sub(MAX_DRAWN / 10) + MAX_DRAWN).min(events.len()),
            None => events.len(),
        },
        Some(v) => {
            position(v.event + 1).map_or(events.len(), |after| (after + 5).min(events.len()))
        }
        None => MAX_DRAWN,
    };
    let start = end.saturating_sub(MAX_DRAWN);
    events[start].index..=events[end - 1].index
}

/// The whole page.
pub fn page(dump: &Dump, title: &str, window: RangeInclusive<u64>) -> String {
    let d = layout::layout(dump, &window);
    let bad: Vec<usize> = dump
        .violation
        .iter()
        .flat_map(|v| v.nodes.clone())
        .collect();
    let mut out = String::with_capacity(64 * 1024);
    out.push_str(concat!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; ",
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
    ));
    out.push_str(&format!("<title>{}</title>\n", esc(title)));
    out.push_str(&format!("<style>\n{CSS}</style>\n</head>\n"));
    out.push_str("<body data-ready=\"no\">\n<header>\n");
    out.push_str(&format!("<h1>{}</h1>\n", esc(title)));
    out.push_str(&format!(
        "<p class=\"meta\">{}</p>\n",
        esc(&summary(dump, &d.events))
    ));
    match &dump.violation {
        Some(v) => out.push_str(&format!(
            "<p class=\"verdict bad\" id=\"verdict\" data-event=\"{}\">✗ <b>{}</b><br>{} {}</p>\n",
            v.event,
            esc(&v.property),
            esc(&v.detail),
            where_broken(v)
        )),
        None => out.push_str(
            "<p class=\"verdict ok\" id=\"verdict\">No property broke in this run.</p>\n",
        ),
    }
    out.push_str(LEGEND);
    out.push_str("</header>\n<main>\n<div id=\"diagram\">\n<div id=\"names\">");
    out.push_str(&diagram::names_svg(&d, &bad));
    out.push_str("</div>\n");
    out.push_str(&diagram::svg(&d, dump));
    out.push_str(concat!(
        "\n</div>\n<aside id=\"panel\">\n<h2 id=\"sel-title\">Node states</h2>\n",
        "<p id=\"sel-text\">Click an event to see every node's state after it ",
        "(j and k, or the arrow keys, step through the events).</p>\n",
        "<div id=\"states\"></div>\n</aside>\n</main>\n<div id=\"tip\" hidden></div>\n",
        "<script type=\"application/json\" id=\"run-data\">"
    ));
    out.push_str(&run_data(dump, &d, &bad));
    out.push_str(&format!(
        "</script>\n<script>\n{JS}</script>\n</body>\n</html>\n"
    ));
    out
}

/// Links to the event after which the property broke (for one checked
/// after the run, the run's last) and to the events the failure names.
fn where_broken(v: &dsim::DumpViolation) -> String {
    let link = |e: u64| format!("<a href=\"#event={e}\" data-goto=\"{e}\">event #{e}</a>");
    let mut text = match v.at_end {
        Some(end) => format!(
            "(checked at the end of the run, at {}, after {})",
            ms(end),
            link(v.event)
        ),
        None => link(v.event),
    };
    if !v.events.is_empty() {
        let named: Vec<String> = v.events.iter().map(|&e| link(e)).collect();
        text += &format!(" · it names {}", named.join(" "));
    }
    text
}

fn summary(dump: &Dump, drawn: &[&dsim::DumpEvent]) -> String {
    let mut parts = vec![
        format!("seed {}", dump.seed),
        format!("{} nodes", layout::node_count(dump)),
    ];
    match (drawn.first(), drawn.last()) {
        (Some(first), Some(last)) if drawn.len() < dump.events.len() => parts.push(format!(
            "events #{}–#{} of {} drawn ({} at {} – {})",
            first.index,
            last.index,
            dump.events.len(),
            drawn.len(),
            ms(first.at_nanos),
            ms(last.at_nanos)
        )),
        (Some(_), Some(last)) => {
            let n = drawn.len();
            let events = if n == 1 { "event" } else { "events" };
            parts.push(format!("{n} {events} over {}", ms(last.at_nanos)))
        }
        _ => parts.push("no events".into()),
    }
    if dump.dropped > 0 {
        parts.push(format!("the first {} events were not kept", dump.dropped));
    }
    parts.join(" · ")
}

/// The widest a group of a node's state is put on one line in the panel.
pub(crate) const STATE_WIDTH: usize = 56;

/// What the script needs: for each event drawn, each node's state after it
/// (an index into a table of distinct states; -1 none recorded yet, -2 the
/// node is down) and which nodes it changed.
fn run_data(dump: &Dump, d: &layout::Diagram, bad: &[usize]) -> String {
    let mut table: Vec<&str> = Vec::new();
    let mut ids: BTreeMap<&str, usize> = BTreeMap::new();
    let mut order: Vec<&dsim::DumpState> = dump.states.iter().collect();
    order.sort_by_key(|s| s.after);
    let mut latest: Vec<Option<&dsim::DumpState>> = vec![None; d.nodes];
    let mut next = 0;
    let mut rows = Vec::with_capacity(d.events.len());
    for e in &d.events {
        while next < order.len() && order[next].after <= e.index {
            if let Some(slot) = latest.get_mut(order[next].node) {
                *slot = Some(order[next]);
            }
            next += 1;
        }
        let mut states = Vec::with_capacity(d.nodes);
        let mut changed = Vec::new();
        for (node, state) in latest.iter().enumerate() {
            states.push(match state {
                None => -1,
                Some(dsim::DumpState { state: None, .. }) => -2,
                Some(dsim::DumpState {
                    state: Some(text), ..
                }) => *ids.entry(text.as_str()).or_insert_with(|| {
                    table.push(text.as_str());
                    table.len() - 1
                }) as i64,
            });
            if state.is_some_and(|s| s.after == e.index) {
                changed.push(node);
            }
        }
        rows.push(serde_json::json!([e.index, states, changed]));
    }
    let data = serde_json::json!({
        "nodes": d.nodes,
        "states": table.iter().map(|text| reflow(text, STATE_WIDTH).join("\n")).collect::<Vec<_>>(),
        "rows": rows,
        "bad": bad,
        // The event selected first: the first the failure names, else the
        // one after which it broke.
        "violation": dump.violation.as_ref().map(|v| v.events.iter().min().copied().unwrap_or(v.event)),
    });
    // Inside <script>, no text may close the element or open a comment.
    data.to_string().replace('<', "\\u003c")
}

/// Text made safe for HTML and SVG, in content and in quoted attributes.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// A long payload cut for a tooltip (the side panel shows states whole).
pub(crate) fn cap(text: &str) -> &str {
    const LIMIT: usize = 3000;
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => &text[..cut],
        None => text,
    }
}

/// A time in milliseconds, to a sensible precision.
pub(crate) fn ms(nanos: u64) -> String {
    let ms = nanos as f64 / 1e6;
    match ms {
        m if m < 10.0 => format!("{m:.2} ms"),
        m if m < 1000.0 => format!("{m:.1} ms"),
        m => format!("{m:.0} ms"),
    }
}

const LEGEND: &str = include_str!("html/legend.html");

#[cfg(test)]
#[path = "html/tests.rs"]
mod tests;
