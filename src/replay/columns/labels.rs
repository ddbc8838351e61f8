//! What each event's row says, in few characters: a mark (`●` a handler
//! ran, `─▶` sent, `◀─` received, `✗` lost or crashed), the message's
//! number and the payload as compact `Debug` text.

use dsim::{DropReason, DumpEvent, EventKind};

/// A request that reached a node that was down.
pub fn refused(event: &DumpEvent) -> bool {
    event.text.contains("(refused:")
}

/// What a row says: a mark, then the event in few characters.
pub fn label(event: &DumpEvent) -> String {
    let payload = compact(&event.payload);
    let peer = event.peer.map(|p| format!("n{p}")).unwrap_or_default();
    let msg = event.msg_id.map(|id| format!("#{id}")).unwrap_or_default();
    match event.kind {
        EventKind::Start => "● start".to_string(),
        EventKind::Timer => format!("● timer {payload}"),
        EventKind::Send => format!("─▶ {peer} {msg} {payload}"),
        EventKind::Deliver => format!("◀─ {peer} {msg} {payload}"),
        EventKind::Drop => {
            let why = match event.reason {
                Some(DropReason::Lost) => "lost",
                Some(DropReason::Partitioned) => "partition",
                Some(DropReason::ReceiverDown) => "down",
                None => "dropped",
            };
            format!("✗ {msg} {why}")
        }
        EventKind::Request if refused(event) => format!("✗ client {payload} (refused: down)"),
        EventKind::Request => format!("◀─ client {payload}"),
        EventKind::Reply => format!("─▶ client {payload}"),
        EventKind::Crash => "✗ crash".to_string(),
        EventKind::Restart => "● restart".to_string(),
        EventKind::Sync if event.payload.is_empty() => "● sync directory".to_string(),
        EventKind::Sync => format!("● sync {}", event.payload),
        EventKind::PowerCut => format!("✗ power cut: {}", event.payload),
        EventKind::Pause => format!("‖ paused until {}", event.payload),
        EventKind::Resume => "▶ resumes".to_string(),
        EventKind::Fault => format!("── network: {} ──", event.payload),
        EventKind::Note => format!("·· {}", event.payload),
    }
}

/// `Debug` text without the spaces it puts around brackets, colons and
/// commas (`Ping { seq: 1 }` → `Ping{seq:1}`), on one line; the insides of
/// string literals are kept as they are.
pub fn compact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if c.is_whitespace() {
            let after_tight = out.ends_with(['{', '(', '[', ',', ':', ' ']) || out.is_empty();
            let before_tight = chars.peek().is_none_or(|n| {
                matches!(n, '{' | '}' | '(' | ')' | '[' | ']') || n.is_whitespace()
            });
            if !after_tight && !before_tight {
                out.push(' ');
            }
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_text_is_compacted_outside_strings() {
        assert_eq!(compact("Ping { seq: 1 }"), "Ping{seq:1}");
        assert_eq!(
            compact("Put { key: \"a b\", value: [1, 2] }"),
            "Put{key:\"a b\",value:[1,2]}"
        );
        assert_eq!(compact("Some(Entry { term: 3 })"), "Some(Entry{term:3})");
        assert_eq!(compact("Vote\n  granted"), "Vote granted");
        assert_eq!(compact("\"quote \\\" { x }\" y"), "\"quote \\\" { x }\" y");
    }
}
