//! Reading a reference's source text: its top-level items, the type that
//! implements `Node`, the types a patch changed, and the file cut down to
//! what a bug's variant keeps, with its paths into the topic rewritten.

/// The types the files implement `Node` for.
pub fn node_types<'a>(sources: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut found = Vec::new();
    for source in sources {
        for item in items(source) {
            if let Item::Impl {
                self_type,
                trait_name: Some(t),
                ..
            } = &item.kind
            {
                if t == "Node" && !found.contains(self_type) {
                    found.push(self_type.clone());
                }
            }
        }
    }
    found
}

/// The public types whose definition or impls the patch changed (a
/// client-side type with a bug, say): the variant keeps its own copy of
/// them, as of the node.
pub fn changed_types(original: &str, patched: &str) -> Vec<String> {
    let before: Vec<String> = items(original).into_iter().map(|i| i.text).collect();
    let mut changed = Vec::new();
    for item in items(patched) {
        if before.contains(&item.text) {
            continue;
        }
        match item.kind {
            Item::PublicType(name)
            | Item::Impl {
                self_type: name, ..
            } => changed.push(name),
            Item::Other => {}
        }
    }
    changed
}

/// The file's text keeping only the node `kept` and what is not a public
/// type (functions, constants, imports, private helpers); the public types
/// and their impls come from the subject. Paths into the topic's module
/// are taken from the subject, except to the node, which is the variant's.
pub fn keep_node(source: &str, kept: &[String], module: &str) -> String {
    let items = items(source);
    let dropped: Vec<&str> = items
        .iter()
        .filter_map(|item| match &item.kind {
            Item::PublicType(name) if !kept.contains(name) => Some(name.as_str()),
            _ => None,
        })
        .collect();
    let mut out = String::new();
    for item in &items {
        let drop = match &item.kind {
            Item::PublicType(name) => dropped.contains(&name.as_str()),
            Item::Impl { self_type, .. } => dropped.contains(&self_type.as_str()),
            Item::Other => false,
        };
        if !drop {
            out += &rewrite_paths(&item.text, kept, module);
        }
    }
    out
}

/// `crate::<module>::` → the subject's; a `use` of the node from there →
/// the variant's own (`super::`); the file's own documentation (`//!`), a
/// plain comment inside the module the variant is generated into.
fn rewrite_paths(text: &str, kept: &[String], module: &str) -> String {
    let own = format!("crate::{module}::");
    let subject = format!("crate::subject::{module}::");
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let line = match line.strip_prefix("//!") {
            Some(rest) => format!("//{rest}"),
            None => line.replace(&own, &subject),
        };
        let Some(list) = line
            .trim()
            .strip_prefix(&format!("use {subject}{{"))
            .and_then(|l| l.strip_suffix("};"))
        else {
            out += &line;
            continue;
        };
        let names: Vec<&str> = list
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        let (ours, theirs): (Vec<&str>, Vec<&str>) =
            names.iter().partition(|n| kept.iter().any(|k| k == *n));
        if !ours.is_empty() {
            out += &format!("use super::{{{}}};\n", ours.join(", "));
        }
        if !theirs.is_empty() {
            out += &format!("use {subject}{{{}}};\n", theirs.join(", "));
        }
    }
    out
}

/// A top-level item of a rustfmt-formatted file, with the doc comments
/// and attributes before it.
struct Span {
    text: String,
    kind: Item,
}

enum Item {
    /// `pub struct|enum|type|trait|union NAME`.
    PublicType(String),
    /// `impl [TRAIT for] TYPE`.
    Impl {
        self_type: String,
        trait_name: Option<String>,
    },
    /// Anything else: functions, constants, imports, comments, blank lines.
    Other,
}

/// Splits `source` into its top-level items. An item starts at a line in
/// column 0 and ends on its first line if that ends with `;`, else at the
/// first later line in column 0 that closes it (`}`, `)`, `]`, not opening
/// another block); doc comments and attributes go with the item after them.
fn items(source: &str) -> Vec<Span> {
    let lines: Vec<&str> = source.split_inclusive('\n').collect();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let start = i;
        // Doc comments and attributes belong to the next item.
        while i < lines.len() && (lines[i].starts_with("///") || lines[i].starts_with("#[")) {
            i += 1;
        }
        let header = lines.get(i).copied().unwrap_or("");
        let opens =
            !header.starts_with(' ') && !header.trim().is_empty() && !header.starts_with("//");
        if opens && !header.trim_end().ends_with(';') {
            i += 1;
            while i < lines.len() && !closes(lines[i]) {
                i += 1;
            }
        }
        i = (i + 1).min(lines.len()).max(start + 1);
        let text: String = lines[start..i].concat();
        let kind = if opens { classify(header) } else { Item::Other };
        spans.push(Span { text, kind });
    }
    spans
}

fn closes(line: &str) -> bool {
    let line = line.trim_end();
    matches!(line.chars().next(), Some('}' | ')' | ']')) && !line.ends_with('{')
}

fn classify(header: &str) -> Item {
    let mut words = header.split_whitespace();
    let first = words.next().unwrap_or("");
    if first == "pub" {
        let kind = words.next().unwrap_or("");
        if ["struct", "enum", "type", "trait", "union"].contains(&kind) {
            let name: String = words
                .next()
                .unwrap_or("")
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            return Item::PublicType(name);
        }
        return Item::Other;
    }
    if let Some(rest) = header.strip_prefix("impl") {
        let rest = skip_generics(rest.trim_start());
        let (trait_name, self_part) = match rest.split_once(" for ") {
            Some((t, s)) => (Some(last_segment(t)), s),
            None => (None, rest),
        };
        return Item::Impl {
            self_type: last_segment(self_part),
            trait_name,
        };
    }
    Item::Other
}

/// `rest` after a leading `<…>`, if any.
fn skip_generics(rest: &str) -> &str {
    if !rest.starts_with('<') {
        return rest;
    }
    let mut depth = 0;
    for (i, c) in rest.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => {
                depth -= 1;
                if depth == 0 {
                    return rest[i + 1..].trim_start();
                }
            }
            _ => {}
        }
    }
    rest
}

/// The name a path ends with: `dsim::Node<X>` → `Node`.
fn last_segment(path: &str) -> String {
    let path = path.trim();
    let end = path.find(['<', ' ', '{']).unwrap_or(path.len());
    path[..end].rsplit("::").next().unwrap_or("").to_string()
}
