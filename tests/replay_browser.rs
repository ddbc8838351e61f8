//! The replay page in a real browser: headless Chromium loads the page that
//! `dscourse replay --html` writes for a small simulated run (loss,
//! duplication, a crash, a partition, client requests, a broken property),
//! and what it drew is checked against the run, one arrow per message; and
//! the same run with its property checked at the end, naming an event.
//!
//! Ignored by default, since a fresh machine has no Chromium; CI installs it
//! (`apt-get install chromium`) and runs
//! `cargo test --test replay_browser -- --ignored`. The page and a screenshot
//! are left in `target/tmp/replay_browser/` to look at.

// The drawing code itself, compiled into this test (the runner is a binary
// crate, so there is no library to link against).
#[path = "../src/replay"]
#[allow(dead_code)]
mod replay {
    pub mod html;
    pub mod reflow;
}

#[path = "replay_browser/browser.rs"]
mod browser;

use browser::{attr, has_class, start_tags, Chromium};
use dsim::{
    capture, Broken, Ctx, DropReason, Dump, EventKind, Network, Node, NodeId, Property, RequestId,
    Sim,
};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// Gossips the values clients give it; resends its latest on a timer.
#[derive(Debug, Default)]
struct Gossip {
    values: Vec<u32>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
enum Msg {
    Update(u32),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
enum Tick {
    Resend,
}

impl Node for Gossip {
    type Msg = Msg;
    type Timer = Tick;
    type Request = u32;
    type Reply = String;

    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        ctx.set_timer(Tick::Resend, Duration::from_millis(25));
    }

    fn on_message(&mut self, _ctx: &mut Ctx<Self>, _from: NodeId, Msg::Update(v): Msg) {
        if !self.values.contains(&v) {
            self.values.push(v);
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, Tick::Resend: Tick) {
        if let Some(&v) = self.values.last() {
            ctx.broadcast(Msg::Update(v));
        }
        ctx.set_timer(Tick::Resend, Duration::from_millis(25));
    }

    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, v: u32) {
        self.values.push(v);
        ctx.broadcast(Msg::Update(v));
        // Learner output is arbitrary text: the page must show it, not run it.
        ctx.reply(
            id,
            format!("stored {v} </script><img src=x onerror=alert(1)> & \"done\""),
        );
    }
}

/// The run drawn: deterministic, so the same seed gives the same page.
fn run() -> Dump {
    run_seed(3)
}

fn run_seed(seed: u64) -> Dump {
    capture::start();
    let dump = {
        let ms = Duration::from_millis;
        let mut sim = Sim::new(seed, 3, |_| Gossip::default());
        sim.set_network(
            Network::reliable(ms(2), ms(12))
                .with_loss(0.15)
                .with_duplication(0.25),
        );
        let bounded = Property {
            name: "n2 learns no value above 4",
            hint: "",
            when: &[],
        };
        sim.check(bounded, |sim, _| {
            match sim
                .node(NodeId(2))
                .filter(|n| n.values.iter().any(|&v| v > 4))
            {
                Some(n) => Err(Broken::new(format!("n2 holds {:?} <b>", n.values))
                    .nodes([NodeId(2), NodeId(0)])),
                None => Ok(()),
            }
        });
        // After a violation every call returns it; the run just stops.
        let _ = (|| {
            sim.request(NodeId(0), 1);
            sim.run_for(ms(30))?;
            sim.crash(NodeId(2))?;
            sim.request(NodeId(1), 2);
            sim.run_for(ms(40))?;
            sim.restart(NodeId(2))?;
            sim.partition(&[&[NodeId(0)], &[NodeId(1), NodeId(2)]])?;
            sim.request(NodeId(0), 3);
            sim.run_for(ms(60))?;
            sim.heal()?;
            sim.request(NodeId(0), 5);
            sim.run_for(ms(300))
        })();
        sim.dump()
    };
    capture::finish();
    dump
}

fn out_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("replay_browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn count(dump: &Dump, kind: EventKind) -> usize {
    dump.events.iter().filter(|e| e.kind == kind).count()
}

#[test]
fn the_run_has_everything_the_page_draws() {
    let dump = run();
    let dropped =
        |why| (dump.events.iter()).any(|e| e.kind == EventKind::Drop && e.reason == Some(why));
    assert!(
        dropped(DropReason::Lost)
            && dropped(DropReason::Partitioned)
            && dropped(DropReason::ReceiverDown)
    );
    for kind in [
        EventKind::Timer,
        EventKind::Request,
        EventKind::Reply,
        EventKind::Crash,
        EventKind::Restart,
        EventKind::Fault,
    ] {
        assert!(count(&dump, kind) > 0, "{kind:?}");
    }
    let mut deliveries: Vec<u64> = (dump.events.iter())
        .filter(|e| e.kind == EventKind::Deliver)
        .filter_map(|e| e.msg_id)
        .collect();
    let all = deliveries.len();
    deliveries.sort_unstable();
    deliveries.dedup();
    assert!(deliveries.len() < all, "some message is delivered twice");
    assert!(dump.violation.is_some());
    assert!(dump.events.len() < replay::html::MAX_DRAWN);
}

/// Each message the page draws: id, from, to, send, deliver or drop.
type Arrow = (String, String, String, String, String);

fn arrows(tags: &[browser::Tag], class: &str, end: &str) -> Vec<Arrow> {
    let mut arrows: Vec<Arrow> = (tags.iter())
        .filter(|t| has_class(t, class))
        .map(|t| {
            let a = |name| attr(t, name).unwrap_or_default();
            (
                a("data-msg-id"),
                a("data-from"),
                a("data-to"),
                a("data-send"),
                a(end),
            )
        })
        .collect();
    arrows.sort();
    arrows
}

fn expected(dump: &Dump, kind: EventKind) -> Vec<Arrow> {
    let send_of = |id| (dump.events.iter()).find(|e| e.kind == EventKind::Send && e.msg_id == id);
    let mut arrows: Vec<Arrow> = (dump.events.iter())
        .filter(|e| e.kind == kind)
        .map(|e| {
            let (from, to) = match kind {
                EventKind::Deliver => (e.peer, e.node),
                _ => (e.node, e.peer),
            };
            (
                e.msg_id.unwrap().to_string(),
                format!("n{}", from.unwrap()),
                format!("n{}", to.unwrap()),
                send_of(e.msg_id).unwrap().index.to_string(),
                e.index.to_string(),
            )
        })
        .collect();
    arrows.sort();
    arrows
}

#[test]
#[ignore = "needs Chromium (apt-get install chromium); CI runs it with --ignored"]
fn chromium_draws_one_arrow_per_message_and_marks_the_violation() {
    let chromium = Chromium::find().expect("no chromium on PATH (apt-get install chromium)");
    let dump = run();
    let page = out_dir().join("run.html");
    replay::html::write_html(&dump, "gossip <run> & \"seed 3\"", &page).unwrap();
    let dom = chromium.dom(&page, None);
    let tags = start_tags(&dom);
    let body = tags.iter().find(|t| t.name == "body").unwrap();
    assert_eq!(
        attr(body, "data-ready").as_deref(),
        Some("yes"),
        "the script did not finish: {:?}",
        attr(body, "data-error")
    );
    assert!(
        !tags.iter().any(|t| t.name == "img"),
        "a payload became markup"
    );
    assert!(dom.contains("<title>gossip &lt;run&gt; &amp; \"seed 3\"</title>"));

    let drawn: Vec<&browser::Tag> = tags.iter().filter(|t| has_class(t, "event")).collect();
    assert_eq!(drawn.len(), dump.events.len());
    for (tag, event) in drawn.iter().zip(&dump.events) {
        assert_eq!(attr(tag, "data-index"), Some(event.index.to_string()));
        assert_eq!(attr(tag, "data-node"), event.node.map(|n| format!("n{n}")));
    }
    assert_eq!(
        arrows(&tags, "msg", "data-deliver"),
        expected(&dump, EventKind::Deliver)
    );
    assert_eq!(
        arrows(&tags, "msg-lost", "data-drop"),
        expected(&dump, EventKind::Drop)
    );

    let v = dump.violation.as_ref().unwrap();
    let marker = tags
        .iter()
        .find(|t| attr(t, "id").as_deref() == Some("violation"))
        .unwrap();
    assert_eq!(attr(marker, "data-event"), Some(v.event.to_string()));
    assert_eq!(attr(marker, "data-nodes").as_deref(), Some("n2 n0"));
    let bad: Vec<String> = (tags.iter())
        .filter(|t| has_class(t, "event") && has_class(t, "bad"))
        .filter_map(|t| attr(t, "data-index"))
        .collect();
    assert_eq!(bad, [v.event.to_string()]);
    assert!(dom.contains("n2 learns no value above 4"));
    assert!(dom.contains(&browser::text(&v.detail)));

    // The violation's event is selected at first: its states are shown.
    browser::assert_states(&dump, &dom, v.event);
    let shot = out_dir().join("run.png");
    chromium.screenshot(&page, &shot);
    assert!(std::fs::metadata(&shot).unwrap().len() > 10_000);
    println!("page {} and screenshot {}", page.display(), shot.display());
}

#[test]
#[ignore = "needs Chromium (apt-get install chromium); CI runs it with --ignored"]
fn a_chosen_event_shows_every_nodes_state_after_it() {
    let chromium = Chromium::find().expect("no chromium on PATH (apt-get install chromium)");
    let dump = run();
    let page = out_dir().join("chosen.html");
    replay::html::write_html(&dump, "gossip", &page).unwrap();
    // An event while n2 is down, and the first event after it restarts.
    let crash = dump
        .events
        .iter()
        .find(|e| e.kind == EventKind::Crash)
        .unwrap()
        .index;
    let restart = dump
        .events
        .iter()
        .find(|e| e.kind == EventKind::Restart)
        .unwrap()
        .index;
    for index in [crash + 1, restart + 1, dump.events.last().unwrap().index] {
        let dom = chromium.dom(&page, Some(&format!("event={index}")));
        assert!(dom.contains("data-ready=\"yes\""));
        browser::assert_states(&dump, &dom, index);
    }
}

#[test]
#[ignore = "needs Chromium (apt-get install chromium); CI runs it with --ignored"]
fn odd_runs_still_load() {
    let chromium = Chromium::find().expect("no chromium on PATH (apt-get install chromium)");
    let mut cut = run();
    cut.events.drain(..40); // sends whose deliveries remain, as in a cut trace
    cut.violation = None;
    for (name, dump) in [("empty", Dump::default()), ("cut", cut)] {
        let page = out_dir().join(format!("{name}.html"));
        replay::html::write_html(&dump, name, &page).unwrap();
        let dom = chromium.dom(&page, None);
        assert!(dom.contains("data-ready=\"yes\""), "{name}: {dom}");
    }
}

#[test]
#[ignore = "needs Chromium (apt-get install chromium); CI runs it with --ignored"]
fn a_property_checked_at_the_end_shows_the_event_it_names_first() {
    let chromium = Chromium::find().expect("no chromium on PATH (apt-get install chromium)");
    let mut dump = run();
    let last = dump.events.last().unwrap().index;
    let named = dump.events[dump.events.len() / 2].index;
    let v = dump.violation.as_mut().unwrap();
    (v.event, v.events, v.at_end) = (last, vec![named], Some(400_000_000));
    let page = out_dir().join("at_end.html");
    replay::html::write_html(&dump, "gossip, checked at the end", &page).unwrap();
    let dom = chromium.dom(&page, None);
    let tags = start_tags(&dom);
    assert!(dom.contains("data-ready=\"yes\""));
    assert!(!dom.contains("No property broke"));
    assert!(dom.contains("checked at the end of the run, at 400.0 ms"));
    let marker = (tags.iter())
        .find(|t| attr(t, "id").as_deref() == Some("violation"))
        .unwrap();
    assert_eq!(attr(marker, "data-event"), Some(last.to_string()));
    let marked: Vec<String> = (tags.iter())
        .filter(|t| has_class(t, "event") && has_class(t, "named"))
        .filter_map(|t| attr(t, "data-index"))
        .collect();
    assert_eq!(marked, [named.to_string()]);
    // The event the failure names is selected at first, not the run's end.
    browser::assert_states(&dump, &dom, named);
}
