//! What `dev new TOPIC NAME` names, resolved against the kit: the topic's
//! folder, suite and module (those of its exercises in `info.toml` and the
//! topic block of `solutions/lib.rs`, or new ones), and the refusals: a name
//! that is not a Rust identifier, an exercise or file that exists, a topic
//! whose layout is not the one `dev new` knows.

use super::edit::module_at;
use super::Scaffold;
use crate::kit::Kit;
use anyhow::{bail, Result};
use std::collections::BTreeSet;

/// Rust's keywords, reserved words included: a module cannot be named so.
const KEYWORDS: [&str; 52] = [
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// The names the reference's skeleton declares or imports: its node type
/// must be none of them.
const TAKEN_TYPES: [&str; 9] = [
    "Ctx",
    "Node",
    "NodeId",
    "Msg",
    "Timer",
    "BTreeSet",
    "Duration",
    "Serialize",
    "Deserialize",
];

/// Resolves `topic` and `name` into what to scaffold, or refuses.
pub fn resolve(kit: &Kit, topic: &str, name: &str) -> Result<Scaffold> {
    identifier("topic", topic)?;
    identifier("name", name)?;
    if name == "meta" {
        bail!("the test group `meta` is kept for the tests that check the checks: choose another name");
    }
    let exercise = format!("{topic}_{name}");
    if let Some(existing) = kit.manifest.exercises.iter().find(|e| e.name == exercise) {
        bail!(
            "there is already an exercise {exercise} (info.toml:{}): choose another name",
            existing.line
        );
    }
    let scaffold = if kit.manifest.exercises.iter().any(|e| e.topic == topic) {
        existing_topic(kit, topic, name)?
    } else {
        new_topic(kit, topic, name)?
    };
    refuse_taken_files(kit, &scaffold)?;
    Ok(scaffold)
}

/// A lowercase Rust identifier (`[a-z][a-z0-9_]*`, not a keyword): the
/// name becomes a module, a file, a test group and part of an exercise name.
fn identifier(what: &str, value: &str) -> Result<()> {
    let mut chars = value.chars();
    let well_formed = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !well_formed {
        bail!("the {what} {value:?} is not a lowercase name ([a-z][a-z0-9_]*, such as `clocks` or `hybrid`)");
    }
    if KEYWORDS.contains(&value) {
        bail!("the {what} {value:?} is a Rust keyword, so it cannot name a module: choose another");
    }
    Ok(())
}

/// A topic with exercises: its folder and suite are theirs, its module the
/// one `solutions/lib.rs` declares at that folder.
fn existing_topic(kit: &Kit, topic: &str, name: &str) -> Result<Scaffold> {
    let exercises: Vec<_> = kit
        .manifest
        .exercises
        .iter()
        .filter(|e| e.topic == topic)
        .collect();
    let folders: BTreeSet<&str> = exercises.iter().map(|e| folder_of(&e.file)).collect();
    let suites: BTreeSet<&str> = exercises.iter().map(|e| e.suite.as_str()).collect();
    let (Some(folder), Some(suite)) = (single(&folders), single(&suites)) else {
        bail!("the topic {topic} has exercises in the folders {folders:?} and the suites {suites:?}: dev new knows a topic with one folder and one suite; add this exercise by hand (see ARCHITECTURE.md)");
    };
    if folder.is_empty() || folder.contains('/') {
        bail!("the topic {topic}'s files are in {folder:?}, not in one folder of their own under exercises/: add this exercise by hand (see ARCHITECTURE.md)");
    }
    let lib = read(kit, "solutions/lib.rs")?;
    let Some(module) = module_at(&lib, folder) else {
        bail!("solutions/lib.rs has no block `#[path = \"{folder}\"] pub mod … {{` for the topic {topic}: add this exercise by hand (see ARCHITECTURE.md)");
    };
    if exercises.iter().any(|e| e.group == name) {
        bail!("the suite {suite} already has a test group {name:?}: choose another name");
    }
    Ok(Scaffold {
        topic: topic.to_string(),
        name: name.to_string(),
        suite: suite.to_string(),
        module,
        folder: folder.to_string(),
        node: node_type(name),
        new_topic: false,
    })
}

/// A topic without exercises: the next numbered folder, a suite, a module
/// and a feature all named like it, none of which may exist yet.
fn new_topic(kit: &Kit, topic: &str, name: &str) -> Result<Scaffold> {
    if let Some(other) = kit.manifest.exercises.iter().find(|e| {
        e.suite == topic || folder_of(&e.file).split_once('_').map(|(_, t)| t) == Some(topic)
    }) {
        bail!(
            "{topic} is the suite or folder of the topic {:?}, whose exercises are named {}_…: run `{}`",
            other.topic,
            other.topic,
            crate::invocation::command(&format!("dev new {} {name}", other.topic))
        );
    }
    if topic == "default" {
        bail!("the topic \"default\" would be a feature named like cargo's default features: choose another");
    }
    let scaffold = Scaffold {
        topic: topic.to_string(),
        name: name.to_string(),
        suite: topic.to_string(),
        module: topic.to_string(),
        folder: format!("{:02}_{topic}", next_topic_number(kit)),
        node: node_type(name),
        new_topic: true,
    };
    let suite = format!("checker/suites/{topic}.rs");
    for taken in [
        format!("exercises/{}", scaffold.folder),
        format!("solutions/{}", scaffold.folder),
        suite.clone(),
        format!("checker/suites/{topic}"),
    ] {
        if kit.root.join(&taken).exists() {
            bail!("{taken} exists, but no exercise in info.toml is in the topic {topic}: finish that topic by hand, or choose another topic name");
        }
    }
    for lib in ["solutions/lib.rs", "exercises/lib.rs"] {
        if read(kit, lib)?
            .lines()
            .any(|l| l.trim() == format!("pub mod {topic} {{"))
        {
            bail!("{lib} already declares `pub mod {topic}`, but no exercise in info.toml is in that topic: finish that topic by hand, or choose another topic name");
        }
    }
    let features = read(kit, "exercises/Cargo.toml")?;
    if features
        .lines()
        .any(|l| l.trim_start().starts_with(&format!("{topic} =")))
    {
        bail!("exercises/Cargo.toml already has a feature {topic:?}, but no exercise in info.toml is in that topic: finish that topic by hand, or choose another topic name");
    }
    Ok(scaffold)
}

/// Files the scaffold writes that must not exist yet (a stray file, or a
/// name a suite already uses for a helper module such as `wrong`).
fn refuse_taken_files(kit: &Kit, s: &Scaffold) -> Result<()> {
    let file = s.file();
    for taken in [
        format!("solutions/{file}"),
        format!("exercises/{file}"),
        format!("checker/suites/{}/{}.rs", s.module, s.name),
        format!("checker/suites/{}/{}", s.module, s.name),
    ] {
        if kit.root.join(&taken).exists() {
            bail!("{taken} exists already: choose another name");
        }
    }
    Ok(())
}

/// The number of a new topic's folder: one more than the highest of the
/// numbered topic folders (`03_clocks`) in `exercises/`.
fn next_topic_number(kit: &Kit) -> u32 {
    let Ok(entries) = std::fs::read_dir(kit.root.join("exercises")) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.split_once('_')?.0.parse::<u32>().ok()
        })
        .max()
        .map_or(0, |n| n + 1)
}

/// The node type of the reference: the name in CamelCase (`lww_register`
/// → `LwwRegister`), with `Node` after it where that is a name the skeleton
/// already uses (`msg` → `MsgNode`).
fn node_type(name: &str) -> String {
    let camel: String = name
        .split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            first.into_iter().chain(chars).collect::<String>()
        })
        .collect();
    if TAKEN_TYPES.contains(&camel.as_str()) {
        camel + "Node"
    } else {
        camel
    }
}

/// The folder of an exercise file (`03_clocks/lamport.rs` → `03_clocks`).
fn folder_of(file: &str) -> &str {
    file.rsplit_once('/').map_or("", |(folder, _)| folder)
}

/// The one element of a set, if it has exactly one.
fn single<'a>(set: &BTreeSet<&'a str>) -> Option<&'a str> {
    match set.len() {
        1 => set.first().copied(),
        _ => None,
    }
}

/// A file of the kit, as text.
pub fn read(kit: &Kit, file: &str) -> Result<String> {
    let path = kit.root.join(file);
    std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("cannot read {file}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lowercase_identifiers_and_not_keywords() {
        for good in ["hybrid", "lww_register", "v2", "a_"] {
            assert!(identifier("name", good).is_ok(), "{good}");
        }
        for bad in ["", "Hybrid", "2pc", "_x", "a-b", "a b", "é", "type", "mod"] {
            assert!(identifier("name", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_node_type_is_the_name_in_camel_case() {
        assert_eq!(node_type("hybrid"), "Hybrid");
        assert_eq!(node_type("lww_register"), "LwwRegister");
        assert_eq!(node_type("v2_x"), "V2X");
        assert_eq!(node_type("msg"), "MsgNode");
        assert_eq!(node_type("node_id"), "NodeIdNode");
    }
}
