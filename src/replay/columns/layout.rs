//! The layout step: which events of a run are shown, and what each row says
//! and where. Nothing here knows about widths or colours (see `draw.rs`).

use super::labels::{label, refused};
use dsim::{DropReason, Dump, DumpEvent, EventKind};
use std::collections::BTreeSet;

/// The most events before the violation a cut run shows.
pub const MAX_CONTEXT: usize = 60;
/// A quiet point closer than this to the violation is passed over for an
/// earlier one, so that the excerpt shows how the run got there.
pub const MIN_CONTEXT: usize = 8;

/// A run laid out as rows, one per event shown.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// How many nodes (columns) the run has.
    pub nodes: usize,
    /// Recorded events before the first row that are not shown.
    pub hidden: usize,
    /// Whether the cut starts at a quiet point (no message in flight), as
    /// opposed to the limit of [`MAX_CONTEXT`] events.
    pub quiet_start: bool,
    pub rows: Vec<Row>,
    /// The row of the event after which the property broke.
    pub highlighted: Option<usize>,
    /// The rows of the events the failure names.
    pub named: Vec<usize>,
    /// Recorded events after the last row that are not shown.
    pub later: usize,
    /// For a property checked after the run: the true time it was.
    pub checked_at_end: Option<u64>,
}

/// One event, placed.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The event's index in the whole run.
    pub index: u64,
    pub at_nanos: u64,
    pub place: Place,
    /// What the cell says, with its mark (`●`, `─▶`, `◀─`, `✗`).
    pub label: String,
    pub tone: Tone,
    /// Which nodes are up during this event (drawn as lifelines).
    pub up: Vec<bool>,
}

/// Where a row's label goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// In the column of this node.
    Node(usize),
    /// Across every column: network faults and notes.
    Across,
}

/// How a row stands out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Plain,
    /// A message that was not delivered, or a crash.
    Loss,
    /// A change to the network, or a note.
    Network,
}

/// Lays out `dump`: from the last quiet point before the violation, or
/// every event when `full`. A property checked after the run is shown from
/// before the first event it names (or the end of the run, if it names
/// none) to at most [`MAX_CONTEXT`] events after the last.
pub fn layout(dump: &Dump, full: bool) -> Layout {
    let events = &dump.events;
    let position = |index: &u64| events.iter().position(|e| e.index == *index);
    let checked_at_end = dump.violation.as_ref().and_then(|v| v.at_end);
    let violation = (dump.violation.as_ref())
        .filter(|v| v.at_end.is_none())
        .and_then(|v| position(&v.event));
    let mut named: Vec<usize> = (dump.violation.iter())
        .flat_map(|v| v.events.iter().filter_map(position))
        .collect();
    named.sort_unstable();
    named.dedup();
    let last = events.len().saturating_sub(1);
    let anchor = violation.or(named.first().copied()).unwrap_or(last);
    let (start, quiet_start) = if full {
        (0, true)
    } else {
        cut_point(events, anchor)
    };
    let end = match named.last() {
        Some(&n) if checked_at_end.is_some() && !full => (n + MAX_CONTEXT + 1).min(events.len()),
        _ => events.len(),
    };
    let mut up = vec![true; dump.nodes];
    let mut rows = Vec::new();
    for (i, event) in events.iter().enumerate() {
        // Lifelines are tracked from the start of the run, shown from `start`.
        if event.kind == EventKind::Restart {
            set(&mut up, event.node, true);
        }
        if (start..end).contains(&i) {
            rows.push(Row {
                index: event.index,
                at_nanos: event.at_nanos,
                place: place(event, dump.nodes),
                label: label(event),
                tone: tone(event),
                up: up.clone(),
            });
        }
        if event.kind.takes_node_down() {
            set(&mut up, event.node, false);
        }
    }
    Layout {
        nodes: dump.nodes,
        hidden: start,
        quiet_start,
        rows,
        highlighted: violation.map(|v| v - start),
        named: (named.iter())
            .filter(|&&n| (start..end).contains(&n))
            .map(|n| n - start)
            .collect(),
        later: events.len() - end,
        checked_at_end,
    }
}

fn set(up: &mut [bool], node: Option<usize>, value: bool) {
    if let Some(slot) = node.and_then(|n| up.get_mut(n)) {
        *slot = value;
    }
}

/// Where to start showing a run whose interesting event is at `anchor` (a
/// run shorter than [`MAX_CONTEXT`] events up to there is shown whole): the
/// last point at or before `anchor - MIN_CONTEXT` where no message was
/// in flight and a new step begins, but no more than [`MAX_CONTEXT`] events
/// before `anchor`. Returns the position and whether it is a quiet point.
pub fn cut_point(events: &[DumpEvent], anchor: usize) -> (usize, bool) {
    if anchor < MAX_CONTEXT {
        return (0, true);
    }
    let latest = anchor.saturating_sub(MIN_CONTEXT);
    let mut in_flight = BTreeSet::new();
    let mut quiet = 0;
    for (i, event) in events.iter().enumerate().take(latest + 1) {
        if in_flight.is_empty() && starts_step(event) {
            quiet = i;
        }
        match (event.kind, event.msg_id) {
            (EventKind::Send, Some(id)) => {
                in_flight.insert(id);
            }
            (EventKind::Deliver | EventKind::Drop, Some(id)) => {
                in_flight.remove(&id);
            }
            _ => {}
        }
    }
    let limit = anchor.saturating_sub(MAX_CONTEXT);
    if quiet >= limit {
        return (quiet, true);
    }
    // Start at the first step that begins within the limit.
    let start = (limit..=anchor)
        .find(|&i| events.get(i).is_some_and(starts_step))
        .unwrap_or(limit);
    (start, false)
}

/// Whether an event begins a step of the run, rather than being what a
/// handler did (its sends, the immediate loss of a send, its replies).
fn starts_step(event: &DumpEvent) -> bool {
    match event.kind {
        EventKind::Send | EventKind::Reply => false,
        EventKind::Drop => event.reason == Some(DropReason::ReceiverDown),
        _ => true,
    }
}

fn place(event: &DumpEvent, nodes: usize) -> Place {
    let column = match (event.kind, event.reason) {
        // A message that reached a node that was down is shown at that node.
        (EventKind::Drop, Some(DropReason::ReceiverDown)) => event.peer,
        _ => event.node,
    };
    match column {
        Some(n) if n < nodes => Place::Node(n),
        _ => Place::Across,
    }
}

fn tone(event: &DumpEvent) -> Tone {
    match event.kind {
        EventKind::Drop | EventKind::Crash | EventKind::PowerCut => Tone::Loss,
        EventKind::Fault | EventKind::Note => Tone::Network,
        EventKind::Request if refused(event) => Tone::Loss,
        _ => Tone::Plain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsim::DumpViolation;

    fn event(index: u64, kind: EventKind, node: Option<usize>) -> DumpEvent {
        DumpEvent {
            index,
            at_nanos: index * 1_000_000,
            kind,
            node,
            peer: None,
            msg_id: None,
            payload: String::new(),
            reason: None,
            text: String::new(),
        }
    }

    /// A run of `rounds` rounds: n0's timer fires and it pings n1, which
    /// answers; the message in flight makes the middle of each round busy.
    fn ping_rounds(rounds: u64) -> Dump {
        let mut events = Vec::new();
        let mut push =
            |kind, node: usize, peer: Option<usize>, msg_id: Option<u64>, payload: &str| {
                let mut e = event(events.len() as u64, kind, Some(node));
                e.peer = peer;
                e.msg_id = msg_id;
                e.payload = payload.to_string();
                events.push(e);
            };
        push(EventKind::Start, 0, None, None, "");
        push(EventKind::Start, 1, None, None, "");
        for r in 0..rounds {
            let (ping, pong) = (2 * r, 2 * r + 1);
            push(EventKind::Timer, 0, None, None, "Ping");
            push(EventKind::Send, 0, Some(1), Some(ping), "Ping { seq: 1 }");
            push(
                EventKind::Deliver,
                1,
                Some(0),
                Some(ping),
                "Ping { seq: 1 }",
            );
            push(EventKind::Send, 1, Some(0), Some(pong), "Pong { seq: 1 }");
            push(
                EventKind::Deliver,
                0,
                Some(1),
                Some(pong),
                "Pong { seq: 1 }",
            );
        }
        Dump {
            seed: 1,
            nodes: 2,
            events,
            ..Dump::default()
        }
    }

    fn broken_at(mut dump: Dump, event: u64) -> Dump {
        dump.violation = Some(DumpViolation {
            event,
            property: "p".into(),
            detail: "d".into(),
            nodes: vec![0],
            events: Vec::new(),
            at_end: None,
        });
        dump
    }

    #[test]
    fn each_event_goes_in_the_column_of_its_node() {
        let layout = layout(&ping_rounds(1), false);
        assert_eq!(layout.nodes, 2);
        assert_eq!(layout.hidden, 0);
        let placed: Vec<(Place, &str)> = layout
            .rows
            .iter()
            .map(|r| (r.place, r.label.as_str()))
            .collect();
        assert_eq!(
            placed,
            [
                (Place::Node(0), "● start"),
                (Place::Node(1), "● start"),
                (Place::Node(0), "● timer Ping"),
                (Place::Node(0), "─▶ n1 #0 Ping{seq:1}"),
                (Place::Node(1), "◀─ n0 #0 Ping{seq:1}"),
                (Place::Node(1), "─▶ n0 #1 Pong{seq:1}"),
                (Place::Node(0), "◀─ n1 #1 Pong{seq:1}"),
            ]
        );
        assert_eq!(layout.highlighted, None);
    }

    #[test]
    fn drops_faults_and_crashes_are_placed_and_marked() {
        let mut lost = event(0, EventKind::Drop, Some(0));
        (lost.peer, lost.msg_id, lost.reason) = (Some(1), Some(7), Some(DropReason::Lost));
        let mut down = lost.clone();
        (down.index, down.reason) = (3, Some(DropReason::ReceiverDown));
        let mut fault = event(1, EventKind::Fault, None);
        fault.payload = "partition {n0} | {n1}".into();
        let dump = Dump {
            nodes: 2,
            events: vec![
                lost,
                fault,
                event(2, EventKind::Crash, Some(1)),
                down,
                event(4, EventKind::Restart, Some(1)),
            ],
            ..Dump::default()
        };
        let rows = layout(&dump, true).rows;
        assert_eq!(
            (rows[0].place, rows[0].label.as_str()),
            (Place::Node(0), "✗ #7 lost")
        );
        assert_eq!(rows[1].place, Place::Across);
        assert_eq!(rows[1].label, "── network: partition {n0} | {n1} ──");
        assert_eq!(
            (rows[2].label.as_str(), rows[2].tone),
            ("✗ crash", Tone::Loss)
        );
        assert_eq!(
            (rows[3].place, rows[3].label.as_str()),
            (Place::Node(1), "✗ #7 down")
        );
        let up: Vec<Vec<bool>> = rows.iter().map(|r| r.up.clone()).collect();
        assert_eq!(
            up,
            [
                [true, true],
                [true, true],
                [true, true],
                [true, false],
                [true, true]
            ]
        );
    }

    #[test]
    fn syncs_and_power_cuts_are_marked_and_a_power_cut_takes_the_node_down() {
        let mut sync = event(0, EventKind::Sync, Some(0));
        sync.payload = "wal".into();
        let mut cut = event(2, EventKind::PowerCut, Some(0));
        cut.payload = "2 unsynced write(s) kept, 1 lost (one torn)".into();
        let dump = Dump {
            nodes: 1,
            events: vec![
                sync,
                event(1, EventKind::Sync, Some(0)),
                cut,
                event(3, EventKind::Note, None),
                event(4, EventKind::Restart, Some(0)),
            ],
            ..Dump::default()
        };
        let rows = layout(&dump, true).rows;
        let labels: Vec<&str> = rows.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "● sync wal",
                "● sync directory",
                "✗ power cut: 2 unsynced write(s) kept, 1 lost (one torn)",
                "·· ",
                "● restart"
            ]
        );
        assert_eq!(rows[2].tone, Tone::Loss);
        let up: Vec<bool> = rows.iter().map(|r| r.up[0]).collect();
        assert_eq!(up, [true, true, true, false, true]);
    }

    #[test]
    fn a_short_run_is_shown_whole_with_its_violation_highlighted() {
        let dump = broken_at(ping_rounds(2), 9);
        let layout = layout(&dump, false);
        assert_eq!(layout.hidden, 0);
        assert_eq!(layout.rows.len(), 12);
        let row = layout.highlighted.expect("a highlighted row");
        assert_eq!(layout.rows[row].index, 9);
    }

    #[test]
    fn a_long_run_starts_at_the_last_quiet_point_before_the_violation() {
        // Rounds are 5 events from index 2; the violation is in round 20.
        let violation = 2 + 5 * 20 + 3;
        let dump = broken_at(ping_rounds(30), violation);
        let layout = layout(&dump, false);
        // The latest quiet point at least MIN_CONTEXT before it: a round's timer.
        let first = layout.rows[0].index;
        assert_eq!(dump.events[first as usize].kind, EventKind::Timer);
        assert!(layout.quiet_start);
        assert!(violation - first >= MIN_CONTEXT as u64, "{first}");
        assert!(violation - first < MIN_CONTEXT as u64 + 5, "{first}");
        assert_eq!(layout.hidden, first as usize);
        let row = layout.highlighted.expect("a highlighted row");
        assert_eq!(layout.rows[row].index, violation);
        // Events after the violation are still shown.
        assert_eq!(
            layout.rows.last().unwrap().index,
            dump.events.len() as u64 - 1
        );

        let full = super::layout(&dump, true);
        assert_eq!(full.hidden, 0);
        assert_eq!(full.rows.len(), dump.events.len());
        assert_eq!(full.rows[full.highlighted.unwrap()].index, violation);
    }

    #[test]
    fn a_busy_run_is_cut_at_most_max_context_events_before_the_violation() {
        // A message that is never delivered keeps the network busy.
        let mut dump = ping_rounds(40);
        let mut stuck = event(0, EventKind::Send, Some(1));
        (stuck.peer, stuck.msg_id) = (Some(0), Some(999));
        dump.events.insert(2, stuck);
        for (i, e) in dump.events.iter_mut().enumerate() {
            e.index = i as u64;
        }
        let violation = 180;
        let layout = layout(&broken_at(dump.clone(), violation), false);
        assert!(!layout.quiet_start);
        let first = layout.rows[0].index;
        assert!(violation - first <= MAX_CONTEXT as u64, "{first}");
        assert!(violation - first > MAX_CONTEXT as u64 - 5, "{first}");
        assert!(starts_step(&dump.events[first as usize]));
    }

    #[test]
    fn a_property_checked_at_the_end_is_shown_from_the_events_it_names() {
        // Checked at 500 ms; it names the delivery in round 20 of 60.
        let named = 2 + 5 * 20 + 2;
        let mut dump = broken_at(ping_rounds(60), 2 + 5 * 60 - 1);
        let v = dump.violation.as_mut().unwrap();
        (v.at_end, v.events) = (Some(500_000_000), vec![named]);
        let layout = layout(&dump, false);
        assert_eq!(layout.highlighted, None);
        assert_eq!(layout.checked_at_end, Some(500_000_000));
        let first = layout.rows[0].index;
        assert!(
            first <= named && named - first < MIN_CONTEXT as u64 + 5,
            "{first}"
        );
        let [row] = layout.named[..] else {
            panic!("{:?}", layout.named)
        };
        assert_eq!(layout.rows[row].index, named);
        // At most MAX_CONTEXT events after it; the rest are counted.
        assert_eq!(
            layout.rows.last().unwrap().index,
            named + MAX_CONTEXT as u64
        );
        assert_eq!(layout.later as u64, dump.events.len() as u64 - named - 61);

        // Naming nothing, it is shown up to the end; --full shows it all.
        dump.violation.as_mut().unwrap().events.clear();
        let plain = super::layout(&dump, false);
        assert_eq!((plain.later, plain.named.len()), (0, 0));
        assert_eq!(
            plain.rows.last().unwrap().index,
            dump.events.len() as u64 - 1
        );
        let full = super::layout(&dump, true);
        assert_eq!((full.hidden, full.later), (0, 0));
    }

    #[test]
    fn without_a_violation_the_cut_leads_to_the_end_of_the_run() {
        let layout = layout(&ping_rounds(30), false);
        assert_eq!(layout.highlighted, None);
        assert!(layout.hidden > 0);
        assert!(layout.rows.len() <= MAX_CONTEXT + 1);
        assert_eq!(layout.rows.last().unwrap().index, 2 + 5 * 30 - 1);
    }
}
