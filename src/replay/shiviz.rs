//! A replayed run as a ShiViz log (<https://bestchai.bitbucket.io/shiviz/>; the
//! format is documented on that page and in github.com/DistributedClocks/shiviz).
//!
//! ShiViz reads a file whose first line is the regular expression that parses
//! the log, whose second line separates several executions (empty here: one
//! run), and whose rest is the log. We write each event as two lines, its
//! description and then `host {"host": n, …}`, its vector clock, which is what
//! ShiViz's default expression `(?<event>.*)\n(?<host>\S*) (?<clock>{.*})`
//! expects; the file spells that expression out on its first line.
//!
//! ShiViz insists that each host's own entry counts 1, 2, 3… over that host's
//! events with no gap, and it draws a message wherever one host's clock takes
//! in another's entry. So only events that happen *at* a node are logged:
//! starts, sends, deliveries, timers, client requests and replies, crashes
//! and restarts. A message the network dropped is not an event at any node;
//! its send says what became of it instead.

use anyhow::{Context, Result};
use dsim::{DropReason, Dump, EventKind};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// A vector clock: node index to how many of that node's events are known.
pub type VectorClock = BTreeMap<usize, u64>;

/// The parsing expression, the first line of the file.
const PARSER: &str = r"(?<event>.*)\n(?<host>\S*) (?<clock>{.*})";

/// Writes `dump` as a ShiViz log to `path`.
pub fn write_shiviz(dump: &Dump, path: &Path) -> Result<()> {
    std::fs::write(path, shiviz_log(dump))
        .with_context(|| format!("cannot write the ShiViz log {}", path.display()))
}

/// The vector clock of each event of `dump`, in the same order; `None` for
/// an event that happens at no node (a network fault, a note, a drop).
///
/// Each node's own entry counts its events. A delivery takes the entry-wise
/// maximum of its own clock and the clock of the send with the same message
/// id (every copy of a duplicated message merges the same send); a delivery
/// whose send is not in the dump (the trace was cut) counts only locally.
pub fn vector_clocks(dump: &Dump) -> Vec<Option<VectorClock>> {
    let mut current: BTreeMap<usize, VectorClock> = BTreeMap::new();
    let mut sent: BTreeMap<u64, VectorClock> = BTreeMap::new();
    let mut clocks = Vec::with_capacity(dump.events.len());
    for event in &dump.events {
        let Some(node) = event.node.filter(|_| event.kind != EventKind::Drop) else {
            clocks.push(None);
            continue;
        };
        let clock = current.entry(node).or_default();
        if event.kind == EventKind::Deliver {
            if let Some(send) = event.msg_id.and_then(|id| sent.get(&id)) {
                for (&other, &count) in send {
                    let mine = clock.entry(other).or_default();
                    *mine = (*mine).max(count);
                }
            }
        }
        *clock.entry(node).or_default() += 1;
        if event.kind == EventKind::Send {
            if let Some(id) = event.msg_id {
                sent.insert(id, clock.clone());
            }
        }
        clocks.push(Some(clock.clone()));
    }
    clocks
}

/// The whole file.
pub fn shiviz_log(dump: &Dump) -> String {
    let fates = fates(dump);
    let mut out = String::new();
    out.push_str(PARSER);
    out.push_str("\n\n");
    for (event, clock) in dump.events.iter().zip(vector_clocks(dump)) {
        let (Some(node), Some(clock)) = (event.node, clock) else {
            continue;
        };
        let ms = event.at_nanos as f64 / 1e6;
        let mut line = format!("#{} {ms:.3} ms  {}", event.index, one_line(&event.text));
        if event.kind == EventKind::Send {
            if let Some(fate) = event.msg_id.and_then(|id| fates.get(&id)) {
                let _ = write!(line, "  ({fate})");
            }
        }
        if dump
            .violation
            .as_ref()
            .is_some_and(|v| v.event == event.index)
        {
            let v = dump.violation.as_ref().expect("checked above");
            let _ = write!(
                line,
                "  VIOLATION: {}: {}",
                one_line(&v.property),
                one_line(&v.detail)
            );
        }
        let _ = writeln!(out, "{line}");
        let _ = writeln!(out, "n{node} {}", clock_json(&clock));
    }
    out
}

/// What the network did to each message that was not simply delivered.
fn fates(dump: &Dump) -> BTreeMap<u64, String> {
    let mut fates = BTreeMap::new();
    for event in &dump.events {
        if let (EventKind::Drop, Some(id)) = (event.kind, event.msg_id) {
            let why = match event.reason {
                Some(DropReason::Lost) => "lost by the network",
                Some(DropReason::Partitioned) => "blocked by a partition",
                Some(DropReason::ReceiverDown) => "dropped: the receiver was down",
                None => "dropped",
            };
            fates.insert(id, format!("message #{id} {why}"));
        }
    }
    fates
}

/// `{"n0":2,"n1":1}`: JSON, with the hosts named as the log names them.
fn clock_json(clock: &VectorClock) -> String {
    let entries: Vec<String> = clock
        .iter()
        .filter(|(_, &count)| count > 0)
        .map(|(node, count)| format!("\"n{node}\":{count}"))
        .collect();
    format!("{{{}}}", entries.join(", "))
}

/// A description must stay on its line, or the log's lines lose their pairs.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsim::{DumpEvent, DumpViolation};

    fn event(
        index: u64,
        kind: EventKind,
        node: usize,
        peer: Option<usize>,
        id: Option<u64>,
    ) -> DumpEvent {
        DumpEvent {
            index,
            at_nanos: index * 1_000_000,
            kind,
            node: Some(node),
            peer,
            msg_id: id,
            payload: String::new(),
            reason: None,
            text: format!("{kind:?} at n{node}"),
        }
    }

    /// n2's timer fires; n0 sends m0 to n1 and m1 to n2; n1 receives m0 and
    /// sends m2 to n2, which receives it; n0 sends m3, which is lost; n2
    /// receives m1 twice (the network duplicated it); a network fault.
    fn sample() -> Dump {
        use EventKind::*;
        let mut lost = event(7, Drop, 0, Some(2), Some(3));
        lost.reason = Some(DropReason::Lost);
        Dump {
            seed: 1,
            nodes: 3,
            dropped: 0,
            events: vec![
                event(0, Timer, 2, None, None),
                event(1, Send, 0, Some(1), Some(0)),
                event(2, Send, 0, Some(2), Some(1)),
                event(3, Deliver, 1, Some(0), Some(0)),
                event(4, Send, 1, Some(2), Some(2)),
                event(5, Deliver, 2, Some(1), Some(2)),
                event(6, Send, 0, Some(2), Some(3)),
                lost,
                event(8, Deliver, 2, Some(0), Some(1)),
                event(9, Deliver, 2, Some(0), Some(1)),
                DumpEvent {
                    node: None,
                    ..event(10, Fault, 0, None, None)
                },
            ],
            states: vec![],
            violation: Some(DumpViolation {
                event: 9,
                property: "no message is taken twice".into(),
                detail: "n2 took m1\ntwice".into(),
                nodes: vec![2],
                events: Vec::new(),
                at_end: None,
            }),
        }
    }

    fn clock(entries: &[(usize, u64)]) -> Option<VectorClock> {
        Some(entries.iter().copied().collect())
    }

    /// `a` happened before `b`: every entry at most, and not equal.
    fn before(a: &VectorClock, b: &VectorClock) -> bool {
        a != b
            && a.iter()
                .all(|(node, n)| b.get(node).copied().unwrap_or(0) >= *n)
    }

    #[test]
    fn clocks_count_local_events_and_merge_at_deliveries() {
        let clocks = vector_clocks(&sample());
        assert_eq!(clocks[0], clock(&[(2, 1)]));
        assert_eq!(clocks[1], clock(&[(0, 1)]));
        assert_eq!(clocks[2], clock(&[(0, 2)]));
        assert_eq!(clocks[3], clock(&[(0, 1), (1, 1)]));
        assert_eq!(clocks[4], clock(&[(0, 1), (1, 2)]));
        assert_eq!(clocks[5], clock(&[(0, 1), (1, 2), (2, 2)]));
        assert_eq!(clocks[6], clock(&[(0, 3)]));
        assert_eq!(clocks[7], None, "a drop happens at no node");
        assert_eq!(clocks[8], clock(&[(0, 2), (1, 2), (2, 3)]));
        assert_eq!(clocks[9], clock(&[(0, 2), (1, 2), (2, 4)]));
        assert_eq!(clocks[10], None);
    }

    #[test]
    fn a_delivery_comes_after_its_send_and_concurrent_events_are_incomparable() {
        let dump = sample();
        let clocks: Vec<Option<VectorClock>> = vector_clocks(&dump);
        let at = |i: usize| clocks[i].clone().unwrap();
        for (i, e) in dump.events.iter().enumerate() {
            if e.kind == EventKind::Deliver {
                let send = dump
                    .events
                    .iter()
                    .position(|s| s.kind == EventKind::Send && s.msg_id == e.msg_id)
                    .unwrap();
                assert!(before(&at(send), &at(i)), "event {i}");
            }
        }
        // n2's timer and everything n0 and n1 do are concurrent.
        for i in [1, 2, 3, 4, 6] {
            assert!(
                !before(&at(0), &at(i)) && !before(&at(i), &at(0)),
                "event {i}"
            );
        }
        // n0's third send knows nothing of n1's send, nor n1 of it.
        assert!(!before(&at(4), &at(6)) && !before(&at(6), &at(4)));
        // A chain through n1 orders n0's first send before n2's delivery of m2.
        assert!(before(&at(1), &at(5)));
    }

    #[test]
    fn the_log_is_what_shiviz_parses() {
        let log = shiviz_log(&sample());
        let lines: Vec<&str> = log.lines().collect();
        assert_eq!(lines[0], r"(?<event>.*)\n(?<host>\S*) (?<clock>{.*})");
        assert_eq!(lines[1], "", "no delimiter: one execution");
        // Nine events happen at nodes, two lines each.
        assert_eq!(lines.len(), 2 + 9 * 2);
        assert_eq!(lines[2], "#0 0.000 ms  Timer at n2");
        assert_eq!(lines[3], r#"n2 {"n2":1}"#);
        assert_eq!(lines[6], "#2 2.000 ms  Send at n0");
        assert_eq!(lines[7], r#"n0 {"n0":2}"#);
        assert!(lines[14].ends_with("(message #3 lost by the network)"));
        assert_eq!(lines[19], r#"n2 {"n0":2, "n1":2, "n2":4}"#);
        assert!(
            lines[18].ends_with("VIOLATION: no message is taken twice: n2 took m1 twice"),
            "{}",
            lines[18]
        );
        // Each host's own entry counts 1, 2, 3… with no gap.
        let mut seen: BTreeMap<String, u64> = BTreeMap::new();
        for pair in lines[2..].chunks(2) {
            let (host, json) = pair[1].split_once(' ').unwrap();
            let clock: BTreeMap<String, u64> = serde_json::from_str(json).unwrap();
            let own = seen.entry(host.to_string()).or_default();
            *own += 1;
            assert_eq!(clock[host], *own, "{}", pair[1]);
        }
    }

    #[test]
    fn odd_dumps_do_not_panic() {
        assert_eq!(shiviz_log(&Dump::default()).lines().count(), 2);
        let mut dump = sample();
        // A delivery whose send was cut from the trace, on a node past `nodes`.
        dump.events.retain(|e| e.index != 2);
        dump.events
            .push(event(11, EventKind::Deliver, 7, Some(0), Some(99)));
        dump.violation = None;
        let clocks = vector_clocks(&dump);
        assert_eq!(clocks.last().unwrap(), &clock(&[(7, 1)]));
        assert!(shiviz_log(&dump).contains(r#"n7 {"n7":1}"#));
    }

    #[test]
    fn writing_to_a_missing_folder_says_where() {
        let err = write_shiviz(&sample(), Path::new("/nonexistent/dir/run.log")).unwrap_err();
        assert!(format!("{err:#}").contains("/nonexistent/dir/run.log"));
    }
}
