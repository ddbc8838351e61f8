//! A history drawn as text: one row per client, each operation a bar from
//! its invocation to its return, labelled with a letter that a legend below
//! spells out. A bar ends in `]` at a return, in `?` at the latest time an
//! operation whose outcome is unknown could take effect, and in `>` at the
//! right edge when there is no such time.

use std::collections::BTreeMap;
use std::fmt::Write;

/// One operation to draw.
pub(crate) struct Bar {
    pub client: usize,
    pub label: String,
    pub start: u64,
    pub end: End,
    /// The legend line: what was asked and answered.
    pub text: String,
}

/// Where a bar ends.
#[derive(Clone, Copy)]
pub(crate) enum End {
    /// It returned then.
    Returned(u64),
    /// Its outcome is unknown, and it could take effect until then.
    Unknown(u64),
    /// It never returned (drawn to the right edge, open).
    Open,
}

impl End {
    fn time(self) -> Option<u64> {
        match self {
            End::Returned(t) | End::Unknown(t) => Some(t),
            End::Open => None,
        }
    }
}

/// The width of the time axis, in characters.
const WIDTH: usize = 64;

/// The label of the `i`-th operation shown: A, B, …, Z, AA, AB, …
pub(crate) fn label(i: usize) -> String {
    let mut s = String::new();
    let mut n = i + 1;
    while n > 0 {
        n -= 1;
        s.insert(0, (b'A' + (n % 26) as u8) as char);
        n /= 26;
    }
    s
}

/// Nanoseconds as milliseconds, e.g. `12.345ms`.
pub(crate) fn millis(nanos: u64) -> String {
    format!("{}.{:03}ms", nanos / 1_000_000, (nanos / 1_000) % 1_000)
}

/// The timeline of `bars`, with the time axis and the legend.
pub(crate) fn render(bars: &[Bar]) -> String {
    let Some(first) = bars.iter().map(|b| b.start).min() else {
        return String::new();
    };
    let last = bars
        .iter()
        .map(|b| b.end.time().unwrap_or(b.start))
        .max()
        .unwrap_or(first)
        .max(first + 1);
    let column =
        |t: u64| ((t - first) as u128 * (WIDTH as u128 - 1) / (last - first) as u128) as usize;

    // Each client gets one lane, or more if its operations overlap.
    let mut lanes: BTreeMap<usize, Vec<Vec<u8>>> = BTreeMap::new();
    let mut order: Vec<&Bar> = bars.iter().collect();
    order.sort_by_key(|b| (b.client, b.start));
    for bar in order {
        let from = column(bar.start);
        let to = bar
            .end
            .time()
            .map_or(WIDTH + 1, |e| column(e).max(from + bar.label.len() + 1));
        let client_lanes = lanes.entry(bar.client).or_default();
        let free = client_lanes.iter().position(|lane| {
            lane.iter()
                .skip(from)
                .take(to + 1 - from)
                .all(|&c| c == b' ')
        });
        let lane = match free {
            Some(l) => &mut client_lanes[l],
            None => {
                client_lanes.push(Vec::new());
                client_lanes.last_mut().expect("just pushed")
            }
        };
        if lane.len() < to + 2 {
            lane.resize(to + 2, b' ');
        }
        lane[from] = b'[';
        for c in lane.iter_mut().take(to).skip(from + 1) {
            *c = b'-';
        }
        lane[from + 1..from + 1 + bar.label.len()].copy_from_slice(bar.label.as_bytes());
        lane[to] = match bar.end {
            End::Returned(_) => b']',
            End::Unknown(_) => b'?',
            End::Open => b'>',
        };
    }

    let mut out = String::new();
    let axis_end = millis(last);
    let _ = writeln!(
        out,
        "{:<10}{}{:>width$}",
        "time",
        millis(first),
        axis_end,
        width = WIDTH.saturating_sub(millis(first).len())
    );
    for (client, client_lanes) in &lanes {
        for (i, lane) in client_lanes.iter().enumerate() {
            let name = if i == 0 {
                format!("client {client}")
            } else {
                String::new()
            };
            let text = String::from_utf8_lossy(lane);
            let _ = writeln!(out, "{name:<10}{}", text.trim_end());
        }
    }
    out.push('\n');
    let mut legend: Vec<&Bar> = bars.iter().collect();
    legend.sort_by_key(|b| b.start);
    for bar in legend {
        let when = match bar.end {
            End::Returned(e) => format!("{} .. {}", millis(bar.start), millis(e)),
            End::Unknown(e) => format!("{} .. by {} or never", millis(bar.start), millis(e)),
            End::Open => format!("{} .. never returned", millis(bar.start)),
        };
        let _ = writeln!(
            out,
            "  {:<3} client {:<3} {:<44} {when}",
            bar.label, bar.client, bar.text
        );
    }
    out
}
