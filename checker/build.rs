//! Known-wrong implementations for the meta tests, made from today's
//! references at build time.
//!
//! A meta test proves that a check catches a bug: it runs the graded
//! scenario on an implementation with that one bug and requires the
//! intended property to break. Each bug is a small patch beside the meta
//! test, `suites/<topic>/bugs/<bug>.patch`, applied to the current
//! reference, so a meta test always checks today's protocol, never an
//! older copy of it. A patch reads like a unified diff without line
//! numbers:
//!
//! ```text
//! A read answers at its first reply instead of waiting for r.   <- what it is
//! --- 06_quorums/quorum_rw.rs                                    <- the reference file
//! @@                                                             <- a change:
//!          if op.answered.len() >= needed {                         context (' '),
//! -            self.finish(ctx, id);                                removed ('-'),
//! +            self.finish_early(ctx, id);                          added ('+')
//! ```
//!
//! A change's context and removed lines must appear exactly once in the
//! file; when a reference changes so that they no longer do, the build
//! fails naming the bug, and the patch is brought up to date.
//!
//! Each bug becomes a module `<bug>` in `$OUT_DIR/bugs_<topic>.rs`, which the
//! suite includes as `crate::bugs`: the reference files of the exercise
//! (every file of the topic for a topic built in steps on one node, like
//! Raft), with the patch applied, keeping only the node (the type that
//! implements `Node`), the types whose code the patch changes, their impls
//! and the functions and constants; every
//! other public type comes from the subject (`crate::subject::…`), so the
//! wrong node speaks the same messages and the same checks run it. Only
//! built when the references are the subject (the `solutions` feature).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn main() {
    let references = Path::new("../solutions");
    // The references are the subject (not the learner's crate), and here.
    let with_references = std::env::var_os("CARGO_FEATURE_SOLUTIONS").is_some()
        && std::env::var_os("CARGO_FEATURE_LEARNER").is_none()
        && references.join("lib.rs").is_file();
    println!("cargo::rustc-check-cfg=cfg(bugs)");
    if !with_references {
        // Nothing to make: the learner's builds never run this again.
        println!("cargo::rerun-if-changed=build.rs");
        return;
    }
    println!("cargo::rustc-cfg=bugs");
    println!("cargo::rerun-if-changed=suites");
    println!("cargo::rerun-if-changed=../solutions");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    for (topic, bugs) in bug_folders(Path::new("suites")) {
        let generated = match generate(&bugs, references) {
            Ok(text) => text,
            Err(error) => {
                eprintln!("error: {error}");
                std::process::exit(1);
            }
        };
        let file = out.join(format!("bugs_{topic}.rs"));
        std::fs::write(&file, generated).expect("OUT_DIR is writable");
    }
}

/// Every `suites/<topic>/bugs/` folder, by topic.
fn bug_folders(suites: &Path) -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(suites).into_iter().flatten().flatten() {
        let bugs = entry.path().join("bugs");
        if bugs.is_dir() {
            found.push((entry.file_name().to_string_lossy().into_owned(), bugs));
        }
    }
    found.sort();
    found
}

/// The modules of every bug in `bugs`.
fn generate(bugs: &Path, references: &Path) -> Result<String, String> {
    let topics = topic_modules(&read(&references.join("lib.rs"))?);
    let mut patches: Vec<PathBuf> = std::fs::read_dir(bugs)
        .map_err(|e| format!("cannot read {}: {e}", bugs.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "patch"))
        .collect();
    patches.sort();
    let mut out = String::new();
    for path in patches {
        let bug = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let patch = Patch::parse(&read(&path)?).map_err(|e| format!("{}: {e}", path.display()))?;
        let module = variant(&bug, &patch, &topics, references)
            .map_err(|e| format!("the bug `{bug}` ({}): {e}", path.display()))?;
        out += &module;
    }
    Ok(out)
}

/// A topic of the reference crate, as `lib.rs` declares it:
/// `#[path = "05_raft"] pub mod raft { pub mod election; …; pub use election::*; }`.
struct Topic {
    module: String,
    files: Vec<String>,
    /// The files whose items the topic re-exports (`pub use x::*`): a node
    /// built in steps across them.
    reexported: Vec<String>,
}

/// The topics of `lib.rs`, by folder.
fn topic_modules(lib: &str) -> BTreeMap<String, Topic> {
    let mut topics = BTreeMap::new();
    let mut folder = None;
    let mut current: Option<(String, Topic)> = None;
    for line in lib.lines().map(str::trim) {
        if let Some(path) = line
            .strip_prefix("#[path = \"")
            .and_then(|l| l.strip_suffix("\"]"))
        {
            folder = Some(path.to_string());
        } else if let Some(name) = line
            .strip_prefix("pub mod ")
            .and_then(|l| l.strip_suffix(" {"))
        {
            if let Some(folder) = folder.take() {
                let topic = Topic {
                    module: name.to_string(),
                    files: Vec::new(),
                    reexported: Vec::new(),
                };
                current = Some((folder, topic));
            }
        } else if let Some((_, topic)) = current.as_mut() {
            if let Some(file) = line
                .strip_prefix("pub mod ")
                .and_then(|l| l.strip_suffix(';'))
            {
                topic.files.push(file.to_string());
            } else if let Some(file) = line
                .strip_prefix("pub use ")
                .and_then(|l| l.strip_suffix("::*;"))
            {
                topic.reexported.push(file.to_string());
            } else if line == "}" {
                let (folder, topic) = current.take().expect("inside a topic");
                topics.insert(folder, topic);
            }
        }
    }
    topics
}

/// One bug's module.
fn variant(
    bug: &str,
    patch: &Patch,
    topics: &BTreeMap<String, Topic>,
    references: &Path,
) -> Result<String, String> {
    let (folder, _) = patch.files[0]
        .0
        .split_once('/')
        .ok_or("name the file as folder/file.rs")?;
    let topic = topics
        .get(folder)
        .ok_or_else(|| format!("no topic in solutions/lib.rs has the folder {folder}"))?;
    // A node built in steps across files takes every file; else only the
    // files the patch changes.
    let stems: Vec<String> = if topic.reexported.is_empty() {
        patch.files.iter().map(|(f, _)| stem(f)).collect()
    } else {
        topic.files.clone()
    };
    let mut sources = BTreeMap::new();
    for stem in &stems {
        let file = format!("{folder}/{stem}.rs");
        sources.insert(stem.clone(), read(&references.join(&file))?);
    }
    let originals = sources.clone();
    for (file, changes) in &patch.files {
        let stem = stem(file);
        let source = sources
            .get_mut(&stem)
            .ok_or_else(|| format!("{file} is not a file of the topic {}", topic.module))?;
        for change in changes {
            *source = change.apply(source).map_err(|e| format!("{file}: {e}"))?;
        }
    }
    let mut kept = node_types(sources.values().map(String::as_str));
    if kept.is_empty() {
        return Err("the reference has no type that implements Node".to_string());
    }
    for (stem, source) in &sources {
        for name in changed_types(&originals[stem], source) {
            if !kept.contains(&name) {
                kept.push(name);
            }
        }
    }
    let mut out = format!("/// {}\npub mod {bug} {{\n", patch.what.join("\n/// "));
    for stem in &stems {
        let subject = if topic.reexported.is_empty() {
            format!("crate::subject::{}::{stem}", topic.module)
        } else {
            format!("crate::subject::{}", topic.module)
        };
        out += &format!("pub mod {stem} {{\nuse {subject}::*;\n");
        out += &keep_node(&sources[stem], &kept, &topic.module);
        out += "}\n";
    }
    for stem in &topic.reexported {
        out += &format!("pub use {stem}::*;\n");
    }
    out += "}\n";
    Ok(out)
}

fn stem(file: &str) -> String {
    file.rsplit('/')
        .next()
        .unwrap_or(file)
        .trim_end_matches(".rs")
        .to_string()
}

/// The types the files implement `Node` for.
fn node_types<'a>(sources: impl Iterator<Item = &'a str>) -> Vec<String> {
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
fn changed_types(original: &str, patched: &str) -> Vec<String> {
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
fn keep_node(source: &str, kept: &[String], module: &str) -> String {
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

/// A bug: what it is, and its changes to each reference file.
struct Patch {
    what: Vec<String>,
    files: Vec<(String, Vec<Change>)>,
}

/// One change: lines to find (context and removed) and what replaces them
/// (context and added).
struct Change {
    before: Vec<String>,
    after: Vec<String>,
}

impl Patch {
    fn parse(text: &str) -> Result<Patch, String> {
        let mut what = Vec::new();
        let mut files: Vec<(String, Vec<Change>)> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if let Some(file) = line.strip_prefix("--- ") {
                files.push((file.trim().to_string(), Vec::new()));
                continue;
            }
            let Some((_, changes)) = files.last_mut() else {
                if !line.trim().is_empty() {
                    what.push(line.trim().to_string());
                }
                continue;
            };
            if line.starts_with("@@") {
                changes.push(Change {
                    before: Vec::new(),
                    after: Vec::new(),
                });
                continue;
            }
            let change = changes
                .last_mut()
                .ok_or_else(|| format!("line {}: a change starts with @@", n + 1))?;
            let (mark, rest) = line.split_at(line.len().min(1));
            match mark {
                " " | "" => {
                    change.before.push(rest.to_string());
                    change.after.push(rest.to_string());
                }
                "-" => change.before.push(rest.to_string()),
                "+" => change.after.push(rest.to_string()),
                _ => {
                    return Err(format!(
                        "line {}: a line starts with ' ', '-' or '+'",
                        n + 1
                    ))
                }
            }
        }
        if what.is_empty() || files.is_empty() {
            return Err("say what the bug is, then the changes (--- file, @@, lines)".to_string());
        }
        Ok(Patch { what, files })
    }
}

impl Change {
    fn apply(&self, source: &str) -> Result<String, String> {
        let lines: Vec<&str> = source.lines().collect();
        let n = self.before.len();
        let found: Vec<usize> = (0..lines.len().saturating_sub(n) + 1)
            .filter(|&i| {
                n > 0
                    && lines[i..i + n]
                        .iter()
                        .zip(&self.before)
                        .all(|(a, b)| a == b)
            })
            .collect();
        let at = match found.as_slice() {
            [at] => *at,
            [] => {
                return Err(format!(
                "the change no longer applies: these lines are not in the reference any more:\n{}",
                self.before.join("\n")
            ))
            }
            _ => {
                return Err(format!(
                    "the change applies in {} places: give more context lines:\n{}",
                    found.len(),
                    self.before.join("\n")
                ))
            }
        };
        let mut out: Vec<&str> = lines[..at].to_vec();
        out.extend(self.after.iter().map(String::as_str));
        out.extend(&lines[at + n..]);
        Ok(out.join("\n") + "\n")
    }
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}
