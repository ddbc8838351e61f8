//! The drawing step: a [`Layout`] as lines of a given width, one column per
//! node with a time column on the left. Labels are cut to their column,
//! never wrapped; colour comes from `crate::colour` and takes no width.

use super::layout::{Layout, Place, Row, Tone};
use crate::colour::{bold, dim, paint};
use crossterm::style::Color;

/// The narrowest a node's column gets, whatever the terminal's width.
const MIN_COLUMN: usize = 8;
/// The mark after the event at which the property broke.
pub const MARKER: &str = "◀ property broke here";
/// The same mark, on a line of its own under the event.
pub const UNDER: &str = "▲ property broke here";
/// The mark after an event the failure names.
pub const NAMED: &str = "◀ the failure names this";
/// The same mark, under the event.
pub const NAMED_UNDER: &str = "▲ the failure names this";
/// The last line of a run whose property was checked after it.
pub const AT_END: &str = "✗ end of the run: the property was checked here";

/// The diagram: a legend, the node names, a line for hidden events, then a
/// line per row, each at most `width` characters wide (when `width` allows
/// every column [`MIN_COLUMN`] characters).
pub fn diagram(layout: &Layout, width: usize, unrecorded: u64) -> Vec<String> {
    let time_width = (layout.rows.iter().map(|r| r.at_nanos))
        .chain(layout.checked_at_end)
        .map(|at| time(at).chars().count())
        .max()
        .unwrap_or(0);
    let grid = Grid {
        time_width,
        column: (width.saturating_sub(time_width + 2) / layout.nodes.max(1)).max(MIN_COLUMN),
        width,
    };
    let mut lines = vec![
        dim(&fit(
            "● handler ran   ─▶ sent   ◀─ received   ✗ lost, refused or crashed   #N message",
            width,
        )),
        String::new(),
    ];
    let names: Vec<String> = (0..layout.nodes).map(|n| format!("n{n}")).collect();
    let header: String = names
        .iter()
        .enumerate()
        .map(|(i, name)| grid.cell(name, i + 1 == names.len()))
        .collect();
    lines.push(format!("{}  {}", " ".repeat(time_width), bold(&header)));
    let indent = " ".repeat(time_width);
    if unrecorded > 0 {
        let text =
            format!("{indent}  ({unrecorded} events at the start of the run were not recorded)");
        lines.push(dim(&fit(&text, width)));
    }
    if layout.hidden > 0 {
        let from = if layout.quiet_start {
            "; no message was in flight here"
        } else {
            ""
        };
        let hidden = layout.hidden;
        let text = format!("{indent}  … {hidden} earlier events hidden (--full shows all){from}");
        lines.push(dim(&fit(&text, width)));
    }
    let mut last_time = None;
    for (i, row) in layout.rows.iter().enumerate() {
        let shown_time = (last_time != Some(row.at_nanos)).then(|| time(row.at_nanos));
        last_time = Some(row.at_nanos);
        let mark = if layout.highlighted == Some(i) {
            Some((MARKER, UNDER))
        } else if layout.named.contains(&i) {
            Some((NAMED, NAMED_UNDER))
        } else {
            None
        };
        lines.extend(grid.row(row, shown_time, mark));
    }
    if layout.later > 0 {
        let later = layout.later;
        let text = format!("{indent}  … {later} later events hidden (--full shows all)");
        lines.push(dim(&fit(&text, width)));
    }
    if let Some(end) = layout.checked_at_end {
        let stamp = pad_left(&time(end), time_width);
        let mark = fit(AT_END, width.saturating_sub(time_width + 2));
        lines.push(format!(
            "{}  {}",
            dim(&stamp),
            bold(&paint(&mark, Color::Red))
        ));
    }
    lines
}

/// The widths of the diagram.
struct Grid {
    time_width: usize,
    column: usize,
    width: usize,
}

impl Grid {
    /// `text` cut to fit a column, padded to its width unless `last`.
    fn cell(&self, text: &str, last: bool) -> String {
        let fitted = fit(text, self.column - 1);
        if last {
            fitted
        } else {
            pad(&fitted, self.column)
        }
    }

    /// The room left after column `column` starts.
    fn room_from(&self, column: usize) -> usize {
        self.width
            .saturating_sub(self.time_width + 2 + column * self.column)
            .max(self.column - 1)
    }

    /// A row's line, and for a marked row whose `mark` (beside, under) does
    /// not fit beside its label, a second line with the mark under it.
    fn row(
        &self,
        row: &Row,
        shown_time: Option<String>,
        mark: Option<(&str, &str)>,
    ) -> Vec<String> {
        let stamp = pad_left(shown_time.as_deref().unwrap_or(""), self.time_width);
        let (label_column, across) = match row.place {
            Place::Node(n) => (n, false),
            Place::Across => (0, true),
        };
        let room = self.room_from(label_column);
        let (beside, under) = mark.unwrap_or_default();
        let mark_beside = row.label.chars().count() + 2 + beside.chars().count() <= room;
        let label = if mark.is_some() {
            let text = if mark_beside {
                format!("{}  {beside}", row.label)
            } else {
                fit(&row.label, room)
            };
            bold(&paint(&text, Color::Red))
        } else {
            self.label(row, across, label_column + 1 == row.up.len())
        };
        let overflows = row.label.chars().count() >= self.column;
        let to_end = across || mark.is_some() || overflows;
        let mut lines = vec![self.line(&stamp, row, label_column, &label, to_end)];
        if mark.is_some() && !mark_beside {
            let under = bold(&paint(&fit(under, room), Color::Red));
            let blank = " ".repeat(self.time_width);
            lines.push(self.line(&blank, row, label_column, &under, true));
        }
        lines
    }

    /// The time, then lifelines with `label` in column `label_column`; the
    /// lifelines after it are left out when the label runs to the end.
    fn line(
        &self,
        stamp: &str,
        row: &Row,
        label_column: usize,
        label: &str,
        to_end: bool,
    ) -> String {
        let mut line = format!("{}  ", dim(stamp));
        let columns = row.up.len();
        for column in 0..columns {
            if column == label_column {
                line += label;
                if to_end {
                    break;
                }
                continue;
            }
            let lifeline = if row.up[column] { "│" } else { "┊" };
            line += &dim(&if column + 1 == columns {
                lifeline.to_string()
            } else {
                pad(lifeline, self.column)
            });
        }
        line
    }

    /// A row's label: in its column if it fits there, else running on over
    /// the columns to its right (their lifelines give way on that line) and
    /// cut at the end of the line. Faults and notes start at the first column.
    fn label(&self, row: &Row, across: bool, last: bool) -> String {
        let text = if across {
            fit(&row.label, self.room_from(0))
        } else if row.label.chars().count() >= self.column {
            let column = match row.place {
                Place::Node(n) => n,
                Place::Across => 0,
            };
            fit(&row.label, self.room_from(column))
        } else {
            self.cell(&row.label, last)
        };
        match row.tone {
            Tone::Plain => text,
            Tone::Loss => paint(&text, Color::Yellow),
            Tone::Network => paint(&text, Color::Cyan),
        }
    }
}

/// True time in milliseconds: `105.961 ms`.
pub fn time(nanos: u64) -> String {
    format!("{}.{:03} ms", nanos / 1_000_000, (nanos / 1_000) % 1_000)
}

/// `text` in at most `width` characters, cut with `…`.
pub fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    if width > 0 {
        cut.push('…');
    }
    cut
}

fn pad(text: &str, width: usize) -> String {
    let n = text.chars().count();
    format!("{text}{}", " ".repeat(width.saturating_sub(n)))
}

fn pad_left(text: &str, width: usize) -> String {
    let n = text.chars().count();
    format!("{}{text}", " ".repeat(width.saturating_sub(n)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::colour::strip_ansi;

    fn row(index: u64, place: Place, label: &str, up: Vec<bool>) -> Row {
        Row {
            index,
            at_nanos: index * 1_500_000,
            place,
            label: label.to_string(),
            tone: Tone::Plain,
            up,
        }
    }

    fn three_nodes(highlighted: Option<usize>) -> Layout {
        Layout {
            nodes: 3,
            hidden: 4,
            quiet_start: true,
            rows: vec![
                row(4, Place::Node(0), "─▶ n2 #3 Ping{seq:1}", vec![true; 3]),
                row(
                    5,
                    Place::Node(2),
                    "◀─ n0 #3 Ping{seq:1} and a very long tail",
                    vec![true, false, true],
                ),
                row(6, Place::Across, "── network: heal ──", vec![true; 3]),
            ],
            highlighted,
            named: Vec::new(),
            later: 0,
            checked_at_end: None,
        }
    }

    fn plain(lines: &[String]) -> Vec<String> {
        lines.iter().map(|l| strip_ansi(l)).collect()
    }

    #[test]
    fn rows_fit_the_width_in_their_columns() {
        let lines = plain(&diagram(&three_nodes(None), 60, 0));
        let header = lines.iter().position(|l| l.contains("n0")).unwrap();
        let n2 = lines[header].find("n2").unwrap();
        assert!(
            lines[header + 1].contains("4 earlier events hidden"),
            "{lines:#?}"
        );
        let rows = &lines[header + 2..];
        assert_eq!(rows.len(), 3, "{lines:#?}");
        for line in rows {
            assert!(line.chars().count() <= 60, "{line:?}");
        }
        assert!(
            rows[0].trim_start().starts_with("6.000 ms  ─▶ n2 #3"),
            "{rows:#?}"
        );
        // The label of n2 starts under its name; n1 is down (dotted).
        let at = |line: &str, text: &str| line[..line.find(text).unwrap()].chars().count();
        assert_eq!(at(&rows[1], "◀─"), lines[header][..n2].chars().count());
        assert!(rows[1].contains('┊') && rows[1].ends_with('…'), "{rows:#?}");
        assert!(rows[2].contains("── network: heal ──"));
    }

    #[test]
    fn a_label_too_long_for_its_column_runs_on_to_the_right() {
        let mut layout = three_nodes(None);
        layout.rows[0].label = format!("─▶ n2 #3 {}", "x".repeat(200));
        let lines = plain(&diagram(&layout, 60, 0));
        let row = lines.iter().find(|l| l.contains("─▶ n2 #3")).unwrap();
        assert_eq!(row.chars().count(), 60, "{row:?}");
        assert!(row.ends_with("x…") && !row.contains('│'), "{row:?}");
        // The short labels of other rows keep the lifelines beside them.
        let other = lines.iter().find(|l| l.contains("◀─ n0 #3")).unwrap();
        assert!(other.contains('│'), "{other:?}");
    }

    #[test]
    fn the_highlighted_row_carries_the_marker_beside_or_under_it() {
        let lines = plain(&diagram(&three_nodes(Some(0)), 100, 0));
        let marked: Vec<&String> = lines
            .iter()
            .filter(|l| l.contains("property broke here"))
            .collect();
        assert_eq!(marked.len(), 1, "{lines:#?}");
        assert!(
            marked[0].contains("─▶ n2 #3 Ping{seq:1}  ◀ property broke here"),
            "{lines:#?}"
        );
        assert!(marked[0].chars().count() <= 100);

        // In the last column there is no room beside a long label.
        let lines = plain(&diagram(&three_nodes(Some(1)), 100, 0));
        let row = lines.iter().position(|l| l.contains("◀─ n0 #3")).unwrap();
        assert!(lines[row + 1].contains(UNDER), "{lines:#?}");
        let column = |line: &str, text: &str| line[..line.find(text).unwrap()].chars().count();
        assert_eq!(column(&lines[row], "◀─"), column(&lines[row + 1], "▲"));
        for line in &lines {
            assert!(line.chars().count() <= 100, "{line:?}");
        }
    }

    #[test]
    fn a_property_checked_at_the_end_marks_what_it_names_and_the_end() {
        let mut layout = three_nodes(None);
        (layout.named, layout.later) = (vec![0], 12);
        layout.checked_at_end = Some(1_005_000_000);
        let lines = plain(&diagram(&layout, 100, 0));
        let text = lines.join("\n");
        assert!(text.contains("─▶ n2 #3 Ping{seq:1}  ◀ the failure names this"));
        assert!(!text.contains("property broke here"), "{text}");
        let n = lines.len();
        assert!(lines[n - 2].contains("… 12 later events hidden"), "{text}");
        assert!(
            lines[n - 1].starts_with("1005.000 ms  ✗ end of the run"),
            "{text}"
        );
    }

    #[test]
    fn times_are_shown_once_and_cut_labels_end_with_an_ellipsis() {
        assert_eq!(time(105_960_925), "105.960 ms");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 4), "abc");
        let mut layout = three_nodes(None);
        layout.rows[1].at_nanos = layout.rows[0].at_nanos;
        let lines = plain(&diagram(&layout, 80, 0));
        assert_eq!(
            lines.iter().filter(|l| l.contains(" ms  ")).count(),
            2,
            "{lines:#?}"
        );
    }
}
