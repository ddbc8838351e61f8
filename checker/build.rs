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
//!
//! `build/patch.rs` reads a patch and applies it; `build/source.rs` reads
//! a reference's top-level items and keeps the ones a variant needs.

#[path = "build/exercises.rs"]
mod exercises;
#[path = "build/patch.rs"]
mod patch;
#[path = "build/source.rs"]
mod source;

use patch::Patch;
use source::{changed_types, keep_node, node_types};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn main() {
    exercises::declare();
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

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}
