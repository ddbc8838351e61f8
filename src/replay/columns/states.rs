//! Below the diagram: the property that broke, in plain words, and the
//! state of each node it names, as `Debug` text just after the event.

use super::draw::time;
use super::View;
use crate::colour::{bold, dim, paint, wrap};
use crate::replay::reflow::reflow;
use crossterm::style::Color;
use dsim::{Dump, DumpViolation};

/// The most lines of one node's state shown unless the whole run is asked for.
pub const MAX_STATE_LINES: usize = 30;
/// The widest a group of a state is put on one line.
const STATE_WIDTH: usize = 80;

/// The property, the detail and the states of the nodes the violation names
/// (every node's, when it names none).
pub fn violation(dump: &Dump, violation: &DumpViolation, view: View) -> Vec<String> {
    let mut lines = vec![format!(
        " {} {}",
        paint("✗", Color::Red),
        bold(&violation.property)
    )];
    for line in violation.detail.lines() {
        lines.extend(wrap(&format!("   {line}"), view.width));
    }
    let when = match violation.at_end {
        Some(end) => format!("checked at the end of the run, at {}", time(end)),
        None => {
            let at = (dump.events.iter())
                .find(|e| e.index == violation.event)
                .map(|e| format!(", at {}", time(e.at_nanos)))
                .unwrap_or_default();
            format!("found broken after event {}{at}", violation.event)
        }
    };
    let named: Vec<String> = violation.events.iter().map(u64::to_string).collect();
    let named = match named.as_slice() {
        [] => String::new(),
        [one] => format!("; it names event {one}"),
        many => format!("; it names events {}", many.join(", ")),
    };
    lines.push(format!("   {}", dim(&format!("{when}{named}"))));
    let nodes: Vec<usize> = if violation.nodes.is_empty() {
        (0..dump.nodes).collect()
    } else {
        violation.nodes.clone()
    };
    lines.extend(node_states(dump, &nodes, violation.event, view.full));
    lines
}

/// The state of each of `nodes` just after event `after`, indented, each cut
/// to [`MAX_STATE_LINES`] lines unless `full`.
pub fn node_states(dump: &Dump, nodes: &[usize], after: u64, full: bool) -> Vec<String> {
    let mut lines = Vec::new();
    for &node in nodes {
        lines.push(String::new());
        let Some(recorded) = dump.state_after(node, after) else {
            lines.push(format!(
                "   {}",
                dim(&format!("n{node}: no state recorded"))
            ));
            continue;
        };
        let Some(state) = &recorded.state else {
            lines.push(format!("   {} is down", bold(&format!("n{node}"))));
            continue;
        };
        lines.push(format!(
            "   {} {}",
            bold(&format!("n{node}")),
            dim(&format!("after event {after}:"))
        ));
        let state_lines = reflow(state, STATE_WIDTH);
        let shown = if full {
            state_lines.len()
        } else {
            state_lines.len().min(MAX_STATE_LINES)
        };
        lines.extend(state_lines[..shown].iter().map(|l| format!("     {l}")));
        if shown < state_lines.len() {
            lines.push(format!(
                "     {}",
                dim(&format!(
                    "… {} more lines (--full shows the whole state)",
                    state_lines.len() - shown
                ))
            ));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::colour::strip_ansi;
    use dsim::DumpState;

    fn state(after: u64, node: usize, state: Option<String>) -> DumpState {
        DumpState { after, node, state }
    }

    #[test]
    fn shows_the_state_just_after_the_event_cut_when_long() {
        let long: Vec<String> = (0..50).map(|i| format!("line {i}")).collect();
        let dump = Dump {
            nodes: 3,
            states: vec![
                state(1, 2, Some("Old".into())),
                state(5, 2, Some("New {\n    x: 1,\n}".into())),
                state(6, 2, Some("Later".into())),
                state(5, 0, Some(long.join("\n"))),
                state(4, 1, None),
            ],
            ..Dump::default()
        };
        let lines: Vec<String> = node_states(&dump, &[2, 1, 0], 5, false)
            .iter()
            .map(|l| strip_ansi(l))
            .collect();
        let text = lines.join("\n");
        assert!(
            text.contains("   n2 after event 5:\n     New { x: 1 }"),
            "{text}"
        );
        assert!(!text.contains("Later") && !text.contains("Old"), "{text}");
        assert!(text.contains("n1 is down"), "{text}");
        assert!(
            text.contains("line 29") && !text.contains("line 30"),
            "{text}"
        );
        assert!(text.contains("… 20 more lines"), "{text}");
        let full = node_states(&dump, &[0], 5, true).join("\n");
        assert!(full.contains("line 49") && !full.contains("more lines"));
    }

    #[test]
    fn groups_that_fit_go_back_on_one_line() {
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Node {
            seq: u64,
            pongs: std::collections::BTreeSet<(Id, u64)>,
            log: Vec<String>,
            empty: Vec<u8>,
        }
        #[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
        struct Id(usize);
        let node = Node {
            seq: 5,
            pongs: [(Id(0), 1), (Id(1), 2)].into_iter().collect(),
            log: vec!["a long entry, with a comma {".into(); 4],
            empty: Vec::new(),
        };
        let pretty = format!("{node:#?}");
        assert_eq!(reflow(&pretty, 200), [format!("{node:?}")]);
        assert_eq!(
            reflow(&pretty, 60),
            [
                "Node {",
                "    seq: 5,",
                "    pongs: {(Id(0), 1), (Id(1), 2)},",
                "    log: [",
                "        \"a long entry, with a comma {\",",
                "        \"a long entry, with a comma {\",",
                "        \"a long entry, with a comma {\",",
                "        \"a long entry, with a comma {\",",
                "    ],",
                "    empty: [],",
                "}",
            ]
        );
        // Text that is not pretty Debug comes out as it went in.
        assert_eq!(reflow("a {\n  b\nc", 80), ["a {", "  b", "c"]);
    }

    #[test]
    fn a_long_list_of_short_items_fills_its_lines() {
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Waiting {
            sender: usize,
            deps: Vec<u64>,
        }
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Node {
            delivered: Vec<u64>,
            buffer: Vec<Waiting>,
        }
        let node = Node {
            delivered: (1..=30).collect(),
            buffer: (0..2)
                .map(|sender| Waiting {
                    sender,
                    deps: vec![4, 6, 4, 2],
                })
                .collect(),
        };
        let lines = reflow(&format!("{node:#?}"), 50);
        assert_eq!(
            lines,
            [
                "Node {",
                "    delivered: [",
                "        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,",
                "        14, 15, 16, 17, 18, 19, 20, 21, 22, 23,",
                "        24, 25, 26, 27, 28, 29, 30,",
                "    ],",
                "    buffer: [",
                "        Waiting { sender: 0, deps: [4, 6, 4, 2] },",
                "        Waiting { sender: 1, deps: [4, 6, 4, 2] },",
                "    ],",
                "}",
            ]
        );
        // Whole, the state fits in far fewer lines than the cut.
        assert!(lines.len() < MAX_STATE_LINES);
    }
}
