use super::*;
use dsim::{DropReason, DumpEvent, DumpState, DumpViolation, EventKind};

/// An event at `at` ms; `text` as a failure report would print it.
fn ev(
    index: u64,
    at: u64,
    kind: EventKind,
    node: usize,
    peer: Option<usize>,
    id: Option<u64>,
) -> DumpEvent {
    DumpEvent {
        index,
        at_nanos: at * 1_000_000,
        kind,
        node: Some(node),
        peer,
        msg_id: id,
        payload: format!("Msg{id:?}"),
        reason: None,
        text: format!("{kind:?} n{node}"),
    }
}

fn state(after: u64, node: usize, text: Option<&str>) -> DumpState {
    DumpState {
        after,
        node,
        state: text.map(str::to_string),
    }
}

/// Every kind of awkward message: duplicated, lost at once, lost on
/// arrival, never delivered, delivered without a send in the trace, sent to
/// itself, delivered at zero latency; and a crash with events around it.
fn awkward() -> Dump {
    use EventKind::*;
    let mut lost = ev(4, 1, Drop, 0, Some(2), Some(1));
    lost.reason = Some(DropReason::Lost);
    let mut down = ev(12, 9, Drop, 0, Some(1), Some(5));
    down.reason = Some(DropReason::ReceiverDown);
    Dump {
        seed: 9,
        nodes: 3,
        dropped: 0,
        events: vec![
            ev(0, 0, Start, 0, None, None),
            ev(1, 0, Start, 1, None, None),
            ev(2, 1, Send, 0, Some(1), Some(0)),
            ev(3, 1, Send, 0, Some(2), Some(1)),
            lost,
            ev(5, 2, Deliver, 2, Some(0), Some(9)),
            ev(6, 3, Deliver, 1, Some(0), Some(0)),
            ev(7, 4, Deliver, 1, Some(0), Some(0)),
            ev(8, 4, Send, 0, Some(0), Some(3)),
            ev(9, 4, Deliver, 0, Some(0), Some(3)),
            ev(10, 5, Crash, 1, None, None),
            ev(11, 6, Send, 0, Some(1), Some(5)),
            down,
            ev(13, 400, Restart, 1, None, None),
            ev(14, 400, Send, 2, Some(0), Some(6)),
            ev(15, 400, Timer, 2, None, None),
            ev(16, 401, Request, 0, None, None),
            ev(17, 401, Reply, 0, None, None),
        ],
        states: vec![
            state(0, 0, Some("A0")),
            state(1, 1, Some("B0")),
            state(6, 1, Some("B1")),
            state(7, 1, Some("B1")),
            state(10, 1, None),
            state(13, 1, Some("B0")),
            state(16, 0, Some("A1")),
        ],
        violation: Some(DumpViolation {
            event: 9,
            property: "no node talks to itself".into(),
            detail: "n0 sent itself message #3".into(),
            nodes: vec![0],
            events: Vec::new(),
            at_end: None,
        }),
    }
}

fn all(dump: &Dump) -> String {
    page(dump, "run", 0..=u64::MAX)
}

fn count(page: &str, needle: &str) -> usize {
    page.matches(needle).count()
}

#[test]
fn one_arrow_per_delivery_one_cross_per_drop_and_a_stub_per_message_in_flight() {
    let page = all(&awkward());
    // Two copies of #0, #3 to itself, #9 whose send is not in the trace.
    assert_eq!(count(&page, "data-deliver="), 4);
    assert_eq!(count(&page, r#"class="msg" "#), 3);
    assert_eq!(count(&page, r#"<path class="msg" "#), 1);
    assert_eq!(count(&page, r#"class="msg early" "#), 1);
    assert!(page
        .contains(r#"data-msg-id="9" data-from="n0" data-to="n2" data-send="" data-deliver="5""#));
    assert!(page
        .contains(r#"data-msg-id="0" data-from="n0" data-to="n1" data-send="2" data-deliver="7""#));
    assert_eq!(count(&page, r#"class="msg-lost""#), 2);
    assert!(page.contains(r#"data-msg-id="1" data-from="n0" data-to="n2" data-send="3" data-drop="4" data-reason="lost by the network""#));
    assert!(page.contains(r#"data-drop="12" data-reason="dropped: the receiver was down""#));
    assert_eq!(count(&page, r#"class="msg-pending""#), 1);
    assert!(page.contains(r#"data-msg-id="6" data-from="n2" data-to="n0" data-send="14""#));
    assert_eq!(count(&page, r#"<circle class="event "#), 18);
}

#[test]
fn no_arrow_points_up() {
    let page = all(&awkward());
    let number = |tag: &str, name: &str| -> f64 {
        let at = tag.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        tag[at..at + tag[at..].find('"').unwrap()].parse().unwrap()
    };
    let lines: Vec<&str> = page.split("<line class=\"msg").skip(1).collect();
    assert_eq!(lines.len(), 3 + 2 + 1);
    for line in lines {
        assert!(number(line, "y2") >= number(line, "y1"), "{line}");
    }
}

#[test]
fn the_violation_is_marked() {
    let page = all(&awkward());
    assert!(page.contains(r#"<g id="violation" data-event="9" data-nodes="n0">"#));
    assert!(page.contains(r#"<circle class="event k-deliver bad" data-index="9" data-node="n0""#));
    assert!(page.contains(r#"<text class="name bad" data-node="n0""#));
    assert!(page.contains("no node talks to itself"));
    assert!(page.contains("n0 sent itself message #3"));
    let mut fine = awkward();
    fine.violation = None;
    let page = all(&fine);
    assert!(!page.contains("id=\"violation\"") && !page.contains(" bad\""));
    assert!(page.contains("No property broke"));
}

#[test]
fn each_nodes_state_after_each_event_is_what_state_after_says() {
    let dump = awkward();
    let d = layout::layout(&dump, &(0..=u64::MAX));
    let data: serde_json::Value = serde_json::from_str(&run_data(&dump, &d, &[])).unwrap();
    let table = data["states"].as_array().unwrap();
    let rows = data["rows"].as_array().unwrap();
    assert_eq!(rows.len(), dump.events.len());
    for (row, event) in rows.iter().zip(&dump.events) {
        assert_eq!(row[0], event.index);
        for node in 0..3 {
            let id = row[1][node].as_i64().unwrap();
            let shown = match id {
                -1 => None,
                -2 => Some(None),
                id => Some(table[id as usize].as_str()),
            };
            let recorded = dump.state_after(node, event.index);
            assert_eq!(
                shown,
                recorded.map(|s| s.state.as_deref()),
                "#{} n{node}",
                event.index
            );
            let changed = row[2].as_array().unwrap().contains(&node.into());
            assert_eq!(changed, recorded.is_some_and(|s| s.after == event.index));
        }
    }
    // Equal states are stored once.
    assert_eq!(table.len(), 4);
}

#[test]
fn what_the_learner_wrote_is_shown_not_run() {
    let evil = "</script><script>alert('x')</script><!-- & \"";
    let mut dump = awkward();
    dump.events[2].payload = evil.into();
    dump.events[2].text = evil.into();
    dump.states[0].state = Some(evil.into());
    dump.violation.as_mut().unwrap().detail = evil.into();
    let page = page(&dump, evil, 0..=u64::MAX);
    assert!(!page.contains("<script>alert"));
    assert!(!page.contains("<!-- &"));
    assert_eq!(
        count(&page, "<script"),
        2,
        "the data and the page's own script"
    );
    assert!(page.contains(
        "&lt;/script&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;!-- &amp; &quot;"
    ));
    assert!(
        page.contains(r"\u003c/script>\u003cscript>alert('x')"),
        "the state, in the data"
    );
    // Control characters would make the page malformed XML-ish text; they go.
    assert_eq!(esc("a\u{1}b\nc"), "a\u{fffd}b\nc");
}

/// `events` timer events, alternating between two nodes, 1 ms apart.
fn long(events: u64, violation: Option<u64>) -> Dump {
    Dump {
        seed: 1,
        nodes: 2,
        events: (0..events)
            .map(|i| ev(i, i, EventKind::Timer, (i % 2) as usize, None, None))
            .collect(),
        violation: violation.map(|event| DumpViolation {
            event,
            property: "p".into(),
            detail: "d".into(),
            nodes: vec![0],
            events: Vec::new(),
            at_end: None,
        }),
        ..Dump::default()
    }
}

#[test]
fn a_long_run_is_drawn_up_to_its_violation_or_from_its_start() {
    let drawn = |dump: &Dump| {
        count(
            &page(dump, "t", default_window(dump)),
            "<circle class=\"event ",
        )
    };
    let dump = long(5000, Some(4000));
    assert_eq!(default_window(&dump), (4006 - MAX_DRAWN as u64)..=4005);
    assert_eq!(drawn(&dump), MAX_DRAWN);
    let page_text = page(&dump, "t", default_window(&dump));
    assert!(page_text.contains("events #2506–#4005 of 5000 drawn"));
    assert_eq!(
        default_window(&long(5000, None)),
        0..=(MAX_DRAWN as u64 - 1)
    );
    assert_eq!(default_window(&long(100, Some(50))), 0..=u64::MAX);
    assert_eq!(count(&all(&dump), "<circle class=\"event "), 5000);
    // A long idle stretch does not make the picture long, and says so.
    let mut idle = long(4, None);
    idle.events[3].at_nanos = 10_002_000_000;
    let page_text = all(&idle);
    let at = page_text.find(r#"<svg id="run" width=""#).unwrap();
    let height: f64 = page_text[at..].split('"').nth(5).unwrap().parse().unwrap();
    assert!(height < 250.0, "{height}");
    assert!(page_text.contains("+10000 ms"));
}

/// [`long`], whose property was checked after its end (at 9 s) and names
/// `named`.
fn checked_at_end(events: u64, named: &[u64]) -> Dump {
    let mut dump = long(events, Some(events - 1));
    let v = dump.violation.as_mut().unwrap();
    (v.at_end, v.events) = (Some(9_000_000_000), named.to_vec());
    dump
}

#[test]
fn a_property_checked_at_the_end_is_marked_there_and_its_run_drawn_whole() {
    let dump = checked_at_end(3000, &[40]);
    assert_eq!(default_window(&dump), 0..=u64::MAX);
    let page = page(&dump, "t", default_window(&dump));
    assert!(!page.contains("No property broke"), "{page}");
    assert!(page.contains("checked at the end of the run, at 9000 ms"));
    assert!(page.contains("it names <a href=\"#event=40\""));
    assert!(page.contains(r#"<g id="violation" data-event="2999""#));
    assert_eq!(count(&page, "<circle class=\"event "), 3000);
    assert_eq!(count(&page, " named\" data-index=\"40\""), 1);
    // The first event named is shown first.
    assert!(page.contains("\"violation\":40"), "{page}");
    // Longer still: from a little before the event named, or up to the end.
    let far = checked_at_end(20_000, &[12_000]);
    let before = 12_000 - MAX_DRAWN as u64 / 10;
    assert_eq!(default_window(&far), before..=before + MAX_DRAWN as u64 - 1);
    let unnamed = checked_at_end(20_000, &[]);
    assert_eq!(
        default_window(&unnamed),
        (20_000 - MAX_DRAWN as u64)..=19_999
    );
}

#[test]
fn odd_dumps_do_not_panic() {
    let empty = all(&Dump::default());
    assert!(empty.contains("no events") && empty.contains("data-ready"));
    let mut odd = awkward();
    odd.events[3].at_nanos = 0; // time going backwards
    odd.events[5].node = Some(9_999_999); // a node far past `nodes`
    odd.events[6].peer = Some(7);
    odd.states.push(state(3, 500, Some("?")));
    odd.violation.as_mut().unwrap().event = 77; // not in the trace
    odd.violation.as_mut().unwrap().nodes = vec![4_000_000];
    odd.dropped = 12;
    let page = all(&odd);
    assert!(page.contains("the first 12 events were not kept"));
    assert!(
        page.contains("8 nodes"),
        "n7 is drawn, the absurd node is not"
    );
    assert!(!page.contains("id=\"violation\""));
    let window = page_for_window(&odd, 6..=9);
    assert_eq!(count(&window, "<circle class=\"event "), 4);
    assert_eq!(
        count(&window, r#"class="msg early" "#),
        2,
        "the sends are above the window"
    );
}

fn page_for_window(dump: &Dump, window: RangeInclusive<u64>) -> String {
    page(dump, "w", window)
}

#[test]
fn writing_to_a_missing_folder_says_where() {
    let err = write_html(&awkward(), "t", Path::new("/nonexistent/dir/run.html")).unwrap_err();
    assert!(format!("{err:#}").contains("/nonexistent/dir/run.html"));
}

#[test]
fn a_power_cut_is_drawn_as_a_crash_and_a_sync_as_its_own_mark() {
    use EventKind::*;
    let dump = Dump {
        seed: 1,
        nodes: 1,
        events: vec![
            ev(0, 0, Start, 0, None, None),
            ev(1, 1, Sync, 0, None, None),
            ev(2, 2, PowerCut, 0, None, None),
            ev(3, 9, Restart, 0, None, None),
        ],
        ..Dump::default()
    };
    let page = all(&dump);
    assert_eq!(count(&page, r#"class="event k-sync"#), 1);
    assert_eq!(count(&page, r#"class="event k-crash"#), 1);
    // Down until the restart: one dotted piece more than without the cut.
    let mut uncut = dump.clone();
    uncut
        .events
        .retain(|e| e.kind != PowerCut && e.kind != Restart);
    let down = r#"class="lifeline down""#;
    assert_eq!(count(&page, down), count(&all(&uncut), down) + 1);
}
