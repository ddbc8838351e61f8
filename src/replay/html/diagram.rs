//! The SVG of the space-time diagram, drawn where `layout` put each event.

use super::layout::{sends, Diagram, Sends, AXIS, TOP};
use super::{esc, ms};
use dsim::{DropReason, Dump, DumpEvent, EventKind};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The strip of node names that stays on top while the diagram scrolls.
pub(super) fn names_svg(d: &Diagram, bad: &[usize]) -> String {
    let mut s = format!(
        r#"<svg id="names-svg" width="{w:.0}" height="28" viewBox="0 0 {w:.0} 28">"#,
        w = d.width()
    );
    let _ = write!(
        s,
        r#"<text class="axis-title" x="{}" y="19" text-anchor="end">time</text>"#,
        AXIS - 18.0
    );
    for n in 0..d.nodes {
        let class = if bad.contains(&n) { "name bad" } else { "name" };
        let _ = write!(
            s,
            r#"<text class="{class}" data-node="n{n}" x="{:.1}" y="19" text-anchor="middle">n{n}</text>"#,
            d.x(n)
        );
    }
    s.push_str("</svg>");
    s
}

/// The diagram.
pub(super) fn svg(d: &Diagram, dump: &Dump) -> String {
    let (w, h) = (d.width(), d.height);
    let bad: &[usize] = dump.violation.as_ref().map_or(&[], |v| &v.nodes);
    let mut s =
        format!(r#"<svg id="run" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}">"#);
    s.push_str(concat!(
        r#"<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">"#,
        r#"<path d="M0,0 L10,5 L0,10 z" class="head"/></marker>"#,
        r#"<marker id="arrow-client" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto">"#,
        r#"<path d="M0,0 L10,5 L0,10 z" class="head-client"/></marker>"#,
        r#"<marker id="arrow-reply" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto">"#,
        r#"<path d="M0,0 L10,5 L0,10 z" class="head-client reply"/></marker></defs>"#
    ));
    for &(y0, y1, long) in &d.cuts {
        let _ = write!(
            s,
            r#"<rect class="cut" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}"/><text class="cut-label" x="{:.1}" y="{:.1}" text-anchor="end">+{}</text>"#,
            AXIS - 30.0,
            y0 + 8.0,
            w - AXIS + 30.0,
            y1 - y0 - 16.0,
            AXIS - 18.0,
            (y0 + y1) / 2.0 + 4.0,
            esc(&ms(long))
        );
    }
    axis(&mut s, d);
    lifelines(&mut s, d, bad);
    for (e, &y) in d.events.iter().zip(&d.ys) {
        if matches!(e.kind, EventKind::Fault | EventKind::Note) {
            let _ = write!(
                s,
                r#"<g class="fault"><line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}"/><text class="halo" x="{:.1}" y="{:.1}">{}</text></g>"#,
                AXIS - 8.0,
                w - 12.0,
                AXIS + 6.0,
                y - 4.0,
                esc(&e.text)
            );
        }
    }
    let sends = sends(dump);
    messages(&mut s, d, dump, &sends);
    for (e, &y) in d.events.iter().zip(&d.ys) {
        event(&mut s, d, dump, &sends, e, y);
    }
    if let Some(v) = &dump.violation {
        if let Some(y) = d.y_of(v.event) {
            let _ = write!(
                s,
                r#"<g id="violation" data-event="{}" data-nodes="{}"><line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}"/><text class="halo" x="{:.1}" y="{:.1}">✗ {}</text></g>"#,
                v.event,
                v.nodes
                    .iter()
                    .map(|n| format!("n{n}"))
                    .collect::<Vec<_>>()
                    .join(" "),
                AXIS - 8.0,
                w - 12.0,
                AXIS + 6.0,
                y + 18.0,
                esc(&match v.at_end {
                    Some(end) => format!(
                        "{} (checked at the end of the run, at {})",
                        v.property,
                        ms(end)
                    ),
                    None => v.property.clone(),
                })
            );
        }
    }
    s.push_str(r#"<circle id="selected" r="10" cx="-50" cy="-50"/></svg>"#);
    s
}

fn axis(s: &mut String, d: &Diagram) {
    let x = AXIS - 12.0;
    let _ = write!(
        s,
        r#"<line class="axis" x1="{x}" y1="{TOP}" x2="{x}" y2="{:.1}"/>"#,
        d.height - 12.0
    );
    for &(y, at) in &d.ticks {
        let _ = write!(
            s,
            r#"<line class="axis" x1="{x}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}"/><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            x - 4.0,
            x - 6.0,
            y + 4.0,
            esc(&ms(at))
        );
    }
}

/// One line per node, solid while it is up and dotted while it is down.
fn lifelines(s: &mut String, d: &Diagram, bad: &[usize]) {
    for n in 0..d.nodes {
        let mut up = !(d.events.iter())
            .filter(|e| e.node == Some(n))
            .find(|e| e.kind.takes_node_down() || e.kind == EventKind::Restart)
            .is_some_and(|e| e.kind == EventKind::Restart);
        let mut from = TOP - 8.0;
        let mut pieces = Vec::new();
        for (e, &y) in d.events.iter().zip(&d.ys) {
            let flips = e.node == Some(n)
                && if up {
                    e.kind.takes_node_down()
                } else {
                    e.kind == EventKind::Restart
                };
            if flips {
                pieces.push((from, y, up));
                (from, up) = (y, !up);
            }
        }
        pieces.push((from, d.height - 8.0, up));
        let class = if bad.contains(&n) {
            "lifeline bad"
        } else {
            "lifeline"
        };
        for (y0, y1, up) in pieces {
            let _ = write!(
                s,
                r#"<line class="{class}{}" data-node="n{n}" x1="{x:.1}" y1="{y0:.1}" x2="{x:.1}" y2="{y1:.1}"/>"#,
                if up { "" } else { " down" },
                x = d.x(n)
            );
        }
    }
}

/// Arrows: one per delivery, one per drop (ending in a cross), and a stub
/// for a message still in flight where the drawing ends.
fn messages(s: &mut String, d: &Diagram, dump: &Dump, sends: &Sends) {
    let mut fate: BTreeMap<u64, u64> = BTreeMap::new();
    for e in &dump.events {
        if let (EventKind::Deliver | EventKind::Drop, Some(id)) = (e.kind, e.msg_id) {
            fate.entry(id).or_insert(e.index);
        }
    }
    let last = d.events.last().map_or(0, |e| e.index);
    for (e, &y) in d.events.iter().zip(&d.ys) {
        let (Some(node), Some(peer), Some(id)) = (e.node, e.peer, e.msg_id) else {
            continue;
        };
        if peer >= d.nodes {
            continue;
        }
        let send = sends.get(&id);
        let send_y = send.and_then(|s| d.y_of(s.index));
        let payload = send.map_or(e.payload.as_str(), |s| s.payload.as_str());
        let attrs = |from: usize, to: usize| {
            let send = send.map_or(String::new(), |s| s.index.to_string());
            format!(r#"data-msg-id="{id}" data-from="n{from}" data-to="n{to}" data-send="{send}""#)
        };
        match e.kind {
            EventKind::Deliver => {
                let tip = format!(
                    "message #{id}  n{peer} → n{node}\nsent {}, received {} (event #{})\n\n{}",
                    send.map_or("before the first event kept".into(), |s| ms(s.at_nanos)),
                    ms(e.at_nanos),
                    e.index,
                    super::cap(payload)
                );
                let (x0, x1) = (d.x(peer), d.x(node));
                let y0 = send_y.unwrap_or(TOP - 8.0);
                let early = if send_y.is_some() { "" } else { " early" };
                let (tag, geometry) = if peer == node {
                    let (cx, ex) = (x0 + 40.0, x0 + 5.0);
                    (
                        "path",
                        format!(
                            r#"d="M{x0:.1},{y0:.1} C{cx:.1},{y0:.1} {cx:.1},{y:.1} {ex:.1},{y:.1}""#
                        ),
                    )
                } else {
                    let (ex, ey) = shorten(x0, y0, x1, y, 5.0);
                    (
                        "line",
                        format!(r#"x1="{x0:.1}" y1="{y0:.1}" x2="{ex:.1}" y2="{ey:.1}""#),
                    )
                };
                let _ = write!(
                    s,
                    r#"<g class="m"><title>{}</title><{tag} class="hit" {geometry}/><{tag} class="msg{early}" {geometry} {} data-deliver="{}" marker-end="url(#arrow)"/></g>"#,
                    esc(&tip),
                    attrs(peer, node),
                    e.index
                );
            }
            EventKind::Drop => {
                let x0 = d.x(node);
                let y0 = send_y.unwrap_or(TOP - 8.0);
                let (ex, ey) = drop_point(d, e, send.copied()).unwrap_or((x0, y));
                let why = match e.reason {
                    Some(DropReason::Lost) => "lost by the network",
                    Some(DropReason::Partitioned) => "blocked by a partition",
                    Some(DropReason::ReceiverDown) => "dropped: the receiver was down",
                    None => "dropped",
                };
                let tip = format!(
                    "message #{id}  n{node} → n{peer}, {why} at {}\n\n{}",
                    ms(e.at_nanos),
                    super::cap(payload)
                );
                let _ = write!(
                    s,
                    r#"<g class="m"><title>{}</title><line class="hit" x1="{x0:.1}" y1="{y0:.1}" x2="{ex:.1}" y2="{ey:.1}"/><line class="msg-lost" x1="{x0:.1}" y1="{y0:.1}" x2="{ex:.1}" y2="{ey:.1}" {} data-drop="{}" data-reason="{}"/>{}</g>"#,
                    esc(&tip),
                    attrs(node, peer),
                    e.index,
                    esc(why),
                    cross("cross drop", ex, ey, 5.0)
                );
            }
            EventKind::Send if fate.get(&id).is_none_or(|&f| f > last) => {
                let (x0, x1) = (d.x(node), d.x(peer));
                let (ex, ey) = (x0 + (x1 - x0) * 0.3, y + 12.0);
                let tip = format!("message #{id}  n{node} → n{peer}, still on its way where the drawing ends\n\n{}", super::cap(payload));
                let _ = write!(
                    s,
                    r#"<g class="m"><title>{}</title><line class="hit" x1="{x0:.1}" y1="{y:.1}" x2="{ex:.1}" y2="{ey:.1}"/><line class="msg-pending" x1="{x0:.1}" y1="{y:.1}" x2="{ex:.1}" y2="{ey:.1}" {} marker-end="url(#arrow)"/></g>"#,
                    esc(&tip),
                    attrs(node, peer)
                );
            }
            _ => {}
        }
    }
}

/// The end of a line from (x0, y0) to (x1, y1), `by` short of (x1, y1).
fn shorten(x0: f64, y0: f64, x1: f64, y1: f64, by: f64) -> (f64, f64) {
    let (dx, dy) = (x1 - x0, y1 - y0);
    let len = (dx * dx + dy * dy).sqrt();
    if len <= by {
        return (x1, y1);
    }
    (x1 - dx / len * by, y1 - dy / len * by)
}

fn cross(class: &str, x: f64, y: f64, r: f64) -> String {
    format!(
        r#"<path class="{class}" d="M{:.1},{:.1} L{:.1},{:.1} M{:.1},{:.1} L{:.1},{:.1}"/>"#,
        x - r,
        y - r,
        x + r,
        y + r,
        x - r,
        y + r,
        x + r,
        y - r
    )
}

/// One event's mark, a circle that a click selects, plus what makes its kind
/// plain: a cross for a crash, a clock hand for a timer, a short arrow from
/// or to the client for a request or a reply.
fn event(s: &mut String, d: &Diagram, dump: &Dump, sends: &Sends, e: &DumpEvent, y: f64) {
    let x = match (e.kind, e.node) {
        (EventKind::Fault | EventKind::Note, _) | (_, None) => AXIS - 12.0,
        (_, Some(n)) => d.x(n),
    };
    let (kind, r) = match e.kind {
        EventKind::Start => ("start", 3.5),
        EventKind::Send => ("send", 4.0),
        EventKind::Deliver => ("deliver", 4.0),
        EventKind::Drop => ("drop", 6.0),
        EventKind::Timer => ("timer", 5.0),
        EventKind::Request => ("request", 4.5),
        EventKind::Reply => ("reply", 4.5),
        EventKind::Crash => ("crash", 7.0),
        EventKind::Restart => ("restart", 5.0),
        EventKind::Sync => ("sync", 4.0),
        EventKind::PowerCut => ("crash", 7.0),
        EventKind::Pause => ("pause", 5.0),
        EventKind::Resume => ("resume", 5.0),
        EventKind::Fault => ("fault", 4.0),
        EventKind::Note => ("note", 4.0),
    };
    let (x, y) = match e.kind {
        // A drop sits at the end of its arrow, drawn with the messages.
        EventKind::Drop => {
            let send = e.msg_id.and_then(|id| sends.get(&id)).copied();
            drop_point(d, e, send).unwrap_or((x, y))
        }
        _ => (x, y),
    };
    match e.kind {
        EventKind::Crash | EventKind::PowerCut => s.push_str(&cross("cross", x, y, 6.0)),
        EventKind::Request => {
            let _ = write!(
                s,
                r#"<line class="client" x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" marker-end="url(#arrow-client)"/>"#,
                x - 30.0,
                x - 6.0
            );
        }
        EventKind::Reply => {
            let _ = write!(
                s,
                r#"<line class="client reply" x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" marker-end="url(#arrow-reply)"/>"#,
                x - 6.0,
                x - 30.0
            );
        }
        _ => {}
    }
    let bad = dump.violation.as_ref().is_some_and(|v| v.event == e.index);
    let named = (dump.violation.as_ref()).is_some_and(|v| v.events.contains(&e.index));
    let node = e
        .node
        .map_or(String::new(), |n| format!(r#" data-node="n{n}""#));
    let tip = format!(
        "#{}  {}\n{}{}",
        e.index,
        ms(e.at_nanos),
        e.text,
        payload_tail(e)
    );
    let _ = write!(
        s,
        r#"<circle class="event k-{kind}{}{}" data-index="{}"{node} cx="{x:.1}" cy="{y:.1}" r="{r}"><title>{}</title></circle>"#,
        if bad { " bad" } else { "" },
        if named { " named" } else { "" },
        e.index,
        esc(&tip)
    );
    if e.kind == EventKind::Timer {
        let _ = write!(
            s,
            r#"<path class="hand" d="M{x:.1},{:.1} L{x:.1},{y:.1} L{:.1},{y:.1}"/>"#,
            y - 3.0,
            x + 2.5
        );
    }
}

/// The whole payload, when the one-line text had to cut it.
fn payload_tail(e: &DumpEvent) -> String {
    if e.payload.is_empty() || e.text.contains(e.payload.as_str()) {
        String::new()
    } else {
        format!("\n\n{}", super::cap(&e.payload))
    }
}

/// Where a drop's cross goes: part of the way to the receiver if the message
/// was lost as it was sent, beside the receiver if it was lost on arrival.
fn drop_point(d: &Diagram, e: &DumpEvent, send: Option<&DumpEvent>) -> Option<(f64, f64)> {
    let (node, peer) = (e.node?, e.peer.filter(|&p| p < d.nodes)?);
    let y = d.y_of(e.index)?;
    let (x0, x1) = (d.x(node), d.x(peer));
    if send.is_some_and(|s| s.at_nanos == e.at_nanos) {
        Some((x0 + (x1 - x0) * 0.38, y))
    } else {
        Some((x1 - (x1 - x0).signum() * 12.0, y))
    }
}
