//! Where each event of the space-time diagram goes.
//!
//! Time runs down. Events follow each other in trace order, so every arrow
//! points down or sideways; a gap in time becomes a gap in the picture, the
//! typical gap `TYPICAL_GAP` pixels, longer ones on a logarithmic scale
//! (an idle stretch much longer than typical is shaded and labelled). Events
//! at one instant start level; two on one node's line are never closer than
//! `ROW`.

use dsim::{Dump, DumpEvent, EventKind};
use std::collections::BTreeMap;
use std::ops::RangeInclusive;

pub(super) const AXIS: f64 = 88.0;
pub(super) const TOP: f64 = 16.0;
const ROW: f64 = 16.0;
const TYPICAL_GAP: f64 = 24.0;
const MAX_GAP: f64 = 120.0;
/// A wait this many times the typical step is shaded and its length written.
const CUT_RATIO: f64 = 12.0;
/// Nodes beyond this in an odd dump are not drawn.
const MAX_NODES: usize = 256;

/// The events drawn and where.
pub(super) struct Diagram<'a> {
    pub events: Vec<&'a DumpEvent>,
    pub ys: Vec<f64>,
    pub nodes: usize,
    pub col: f64,
    pub height: f64,
    /// Times written on the axis.
    pub ticks: Vec<(f64, u64)>,
    /// Idle stretches cut short: from, to, how long they really were.
    pub cuts: Vec<(f64, f64, u64)>,
}

/// How many lines to draw: every node the dump names (`n0`…).
pub(super) fn node_count(dump: &Dump) -> usize {
    let named = dump.events.iter().flat_map(|e| [e.node, e.peer]).flatten();
    let blamed = dump.violation.iter().flat_map(|v| v.nodes.iter().copied());
    named
        .chain(blamed)
        .filter(|&n| n < MAX_NODES)
        .map(|n| n + 1)
        .fold(dump.nodes.min(MAX_NODES), usize::max)
}

/// The lines an event takes a place on.
fn lines_taken(e: &DumpEvent, send_at: Option<u64>, nodes: usize) -> Vec<usize> {
    match e.kind {
        EventKind::Fault | EventKind::Note => (0..nodes).collect::<Vec<_>>(),
        // Lost at once: beside its sender; lost on arrival: beside the receiver.
        EventKind::Drop if send_at != Some(e.at_nanos) => e.peer.into_iter().collect(),
        _ => e.node.into_iter().collect(),
    }
    .into_iter()
    .filter(|&n| n < nodes)
    .collect()
}

pub(super) fn layout<'a>(dump: &'a Dump, window: &RangeInclusive<u64>) -> Diagram<'a> {
    let nodes = node_count(dump);
    let sends = sends(dump);
    let events: Vec<&DumpEvent> = (dump.events.iter())
        .filter(|e| window.contains(&e.index) && e.node.is_none_or(|n| n < nodes))
        .collect();
    // The typical step between instants (the lower median) sets the scale.
    let mut steps: Vec<u64> = (events.windows(2))
        .map(|w| w[1].at_nanos.saturating_sub(w[0].at_nanos))
        .filter(|&d| d > 0)
        .collect();
    steps.sort_unstable();
    let typical = steps.get(steps.len().saturating_sub(1) / 2).copied();
    let typical = typical.unwrap_or(1_000_000).max(1) as f64;

    let mut d = Diagram {
        events: Vec::new(),
        ys: Vec::new(),
        nodes,
        col: (720.0 / nodes.max(1) as f64).clamp(110.0, 200.0),
        height: 0.0,
        ticks: Vec::new(),
        cuts: Vec::new(),
    };
    // Events at one instant start level, each node's one below another.
    let (mut top, mut bottom, mut last_tick) = (TOP, TOP, f64::NEG_INFINITY);
    let mut busy_until = vec![f64::NEG_INFINITY; nodes];
    let mut prev: Option<u64> = None;
    for e in events {
        let fresh = prev.is_none_or(|p| e.at_nanos > p);
        if let Some(p) = prev.filter(|_| fresh) {
            let ratio = (e.at_nanos - p) as f64 / typical;
            // Linear up to the typical step, logarithmic beyond: a longer
            // wait always looks longer, and a long one stays short.
            let gap = if ratio <= 1.0 {
                (TYPICAL_GAP * ratio).max(4.0)
            } else {
                (TYPICAL_GAP * (1.0 + ratio.ln())).min(MAX_GAP)
            };
            if ratio >= CUT_RATIO {
                d.cuts.push((bottom, bottom + gap, e.at_nanos - p));
                last_tick = f64::NEG_INFINITY;
            }
            top = bottom + gap;
        }
        prev = Some(prev.map_or(e.at_nanos, |p| p.max(e.at_nanos)));
        let send = e.msg_id.and_then(|id| sends.get(&id));
        let taken = lines_taken(e, send.map(|s| s.at_nanos), nodes);
        let mut y = (taken.iter()).fold(top, |y, &n| y.max(busy_until[n] + ROW));
        if e.kind != EventKind::Send {
            // No arrow points up, even at zero latency.
            if let Some(sent) = send.and_then(|s| d.y_of(s.index)) {
                y = y.max(sent);
            }
        }
        for n in taken {
            busy_until[n] = y;
        }
        if fresh && top - last_tick >= 30.0 {
            d.ticks.push((top, e.at_nanos));
            last_tick = top;
        }
        bottom = bottom.max(y);
        d.events.push(e);
        d.ys.push(y);
    }
    d.height = (bottom + 28.0).max(TOP + 120.0);
    d
}

impl Diagram<'_> {
    pub fn x(&self, node: usize) -> f64 {
        AXIS + self.col * (node as f64 + 0.5)
    }

    pub fn width(&self) -> f64 {
        AXIS + self.col * self.nodes as f64 + 24.0
    }

    pub fn y_of(&self, index: u64) -> Option<f64> {
        let at = self.events.binary_search_by_key(&index, |e| e.index).ok()?;
        Some(self.ys[at])
    }
}

/// Each message's send, by message id.
pub(super) type Sends<'a> = BTreeMap<u64, &'a DumpEvent>;

pub(super) fn sends(dump: &Dump) -> Sends<'_> {
    let mut sends = BTreeMap::new();
    for e in &dump.events {
        if let (EventKind::Send, Some(id)) = (e.kind, e.msg_id) {
            sends.entry(id).or_insert(e);
        }
    }
    sends
}
