//! Headless Chromium for the replay page tests, and just enough of an HTML
//! reader to check the DOM it serialises.

use dsim::Dump;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one page may take to load before the test gives up.
const LIMIT: Duration = Duration::from_secs(120);

pub struct Chromium(PathBuf);

impl Chromium {
    /// `$DSCOURSE_CHROMIUM`, or the first of the usual names on `PATH`.
    pub fn find() -> Option<Chromium> {
        if let Some(path) = std::env::var_os("DSCOURSE_CHROMIUM") {
            return Some(Chromium(path.into()));
        }
        let path = std::env::var_os("PATH")?;
        let names = ["chromium", "chromium-browser", "google-chrome"];
        (std::env::split_paths(&path))
            .flat_map(|dir| names.map(|name| dir.join(name)))
            .find(|candidate| candidate.is_file())
            .map(Chromium)
    }

    /// Runs the browser on `page` (its address with `#fragment`) and
    /// returns what it printed.
    fn run(&self, page: &Path, fragment: Option<&str>, action: &str) -> String {
        let page = page.canonicalize().expect("the page exists");
        let mut url = format!("file://{}", page.display()).replace(' ', "%20");
        if let Some(fragment) = fragment {
            url = format!("{url}#{fragment}");
        }
        // A fresh profile each time, so no earlier run's state leaks in.
        let profile = page.with_extension(format!("profile-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        let mut child = Command::new(&self.0)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--window-size=1200,900",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(action)
            .arg(&url)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.0.display()));
        let mut stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut out = String::new();
            let _ = stdout.read_to_string(&mut out);
            out
        });
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > LIMIT {
                let _ = child.kill();
                panic!("chromium took over {LIMIT:?} on {url}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let out = reader.join().unwrap();
        let _ = std::fs::remove_dir_all(&profile);
        assert!(status.success(), "chromium failed on {url}: {status}");
        out
    }

    /// The DOM after the page's scripts ran.
    pub fn dom(&self, page: &Path, fragment: Option<&str>) -> String {
        self.run(page, fragment, "--dump-dom")
    }

    pub fn screenshot(&self, page: &Path, png: &Path) {
        self.run(page, None, &format!("--screenshot={}", png.display()));
    }
}

/// An element's start tag.
#[derive(Debug)]
pub struct Tag {
    pub name: String,
    attrs: Vec<(String, String)>,
}

pub fn attr(tag: &Tag, name: &str) -> Option<String> {
    tag.attrs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

pub fn has_class(tag: &Tag, class: &str) -> bool {
    attr(tag, "class").is_some_and(|c| c.split_whitespace().any(|c| c == class))
}

/// Every start tag of a serialised DOM, in order (the contents of scripts
/// and styles skipped).
pub fn start_tags(html: &str) -> Vec<Tag> {
    let mut tags = Vec::new();
    let mut at = 0;
    while let Some(found) = html[at..].find('<') {
        let start = at + found + 1;
        let rest = &html[start..];
        let name_len = rest
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '-')
            .unwrap_or(rest.len());
        at = start;
        if name_len == 0 {
            continue;
        }
        let name = rest[..name_len].to_ascii_lowercase();
        let (attrs, end) = attributes(&rest[name_len..]);
        at = start + name_len + end;
        if name == "script" || name == "style" {
            let close = format!("</{name}");
            at += html[at..].find(&close).unwrap_or(html.len() - at);
        }
        tags.push(Tag { name, attrs });
    }
    tags
}

/// The attributes up to the end of a start tag, and where it ends.
fn attributes(text: &str) -> (Vec<(String, String)>, usize) {
    let mut attrs = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'>' => return (attrs, i + 1),
            b' ' | b'\n' | b'\t' | b'/' => i += 1,
            _ => {
                let name_end = text[i..]
                    .find(|c: char| c == '=' || c == '>' || c.is_whitespace())
                    .map_or(text.len(), |n| i + n);
                let name = text[i..name_end].to_string();
                i = name_end;
                let mut value = String::new();
                if bytes.get(i) == Some(&b'=') && bytes.get(i + 1) == Some(&b'"') {
                    let close = text[i + 2..].find('"').map_or(text.len(), |n| i + 2 + n);
                    value = unescape(&text[i + 2..close]);
                    i = close + 1;
                }
                attrs.push((name, value));
            }
        }
    }
    (attrs, text.len())
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// Text as the browser serialises it between tags.
pub fn text(raw: &str) -> String {
    raw.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\u{a0}', "&nbsp;")
}

/// The side panel shows, for event `index`, each node's state after it as
/// `Dump::state_after` gives it, and marks the nodes the event changed.
pub fn assert_states(dump: &Dump, dom: &str, index: u64) {
    let panel = format!("<div id=\"states\" data-event=\"{index}\">");
    let start = dom
        .find(&panel)
        .unwrap_or_else(|| panic!("no states shown for event {index}"));
    let panel = &dom[start..];
    let panel = &panel[..panel.find("</aside>").unwrap()];
    for node in 0..dump.nodes {
        let section = format!("data-node=\"n{node}\">");
        let at = panel
            .find(&section)
            .unwrap_or_else(|| panic!("event {index}: no state of n{node}"));
        let head = &panel[..at];
        let class = &head[head.rfind("<section").unwrap()..];
        let body = &panel[at..];
        let pre = &body[body.find("<pre>").unwrap() + 5..body.find("</pre>").unwrap()];
        let recorded = dump.state_after(node, index);
        let expected = match recorded {
            None => "(no state recorded yet)".to_string(),
            Some(s) => s.state.as_deref().map_or("(down)".into(), |raw| {
                // The panel shows the state compacted, as the terminal does.
                text(
                    &crate::replay::reflow::reflow(raw, crate::replay::html::STATE_WIDTH)
                        .join("\n"),
                )
            }),
        };
        assert_eq!(pre, expected, "event {index}, n{node}");
        let changed = recorded.is_some_and(|s| s.after == index);
        assert_eq!(
            class.contains("changed"),
            changed,
            "event {index}, n{node}: {class}"
        );
    }
}
