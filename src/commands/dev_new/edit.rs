//! The edits `dev new` makes to files an author also edits by hand (the two
//! `lib.rs`, the manifests, a topic's suite, `info.toml`, a guide): each one
//! a few inserted lines, the rest of the text left as it was, comments
//! included. Each takes the file's text and returns the new text, or says
//! which layout it expected and did not find, so that nothing is written
//! when any edit cannot be made.

use anyhow::{bail, Context, Result};

/// The module declared by the topic block `#[path = "<folder>"] pub mod
/// <module> {` of a `lib.rs`, if there is one.
pub fn module_at(lib: &str, folder: &str) -> Option<String> {
    let (_, module) = topic_block(lib, folder)?;
    Some(module)
}

/// The line of the `pub mod <module> {` that follows `#[path = "<folder>"]`,
/// and the module's name.
fn topic_block(lib: &str, folder: &str) -> Option<(usize, String)> {
    let lines: Vec<&str> = lib.lines().collect();
    let path = format!("#[path = \"{folder}\"]");
    let at = lines.iter().position(|l| l.trim() == path)?;
    let header = lines.get(at + 1)?.trim();
    let module = header.strip_prefix("pub mod ")?.strip_suffix(" {")?;
    Some((at + 1, module.to_string()))
}

/// Whether the topic block of `folder` in the learner's `lib.rs` sits under
/// `#[cfg(feature = "<feature>")]`: a topic whose exercises build one
/// system over several files, built whole. Other topics' files are each
/// under their exercise's feature.
pub fn built_whole(lib: &str, folder: &str, feature: &str) -> bool {
    let lines: Vec<&str> = lib.lines().collect();
    topic_block(lib, folder).is_some_and(|(header, _)| {
        header >= 2 && lines[header - 2].trim() == format!("#[cfg(feature = \"{feature}\")]")
    })
}

/// `lib` with `pub mod <name>;` added to the topic block of `folder`, in
/// alphabetical order, under `cfg` if given (an attribute such as
/// `#[cfg(feature = "clocks_hybrid")]`).
pub fn add_module(lib: &str, folder: &str, cfg: Option<&str>, name: &str) -> Result<String> {
    let Some((header, module)) = topic_block(lib, folder) else {
        bail!("no block `#[path = \"{folder}\"]` followed by `pub mod <topic> {{`");
    };
    insert_module(lib, header, name, cfg)
        .with_context(|| format!("in the block of `pub mod {module}`"))
}

/// `text` with `    pub mod <name>;` (under `cfg`, if given) added to the
/// block that opens on line `header` (and closes with a `}` of its own),
/// among its other `pub mod` lines in alphabetical order; a module's
/// attributes stay with it.
fn insert_module(text: &str, header: usize, name: &str, cfg: Option<&str>) -> Result<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let close = lines[header..]
        .iter()
        .position(|l| l == "}")
        .map(|n| header + n)
        .context("the block has no closing `}` of its own")?;
    let modules: Vec<(usize, &str)> = (header + 1..close)
        .filter_map(|i| {
            let declared = lines[i]
                .trim()
                .strip_prefix("pub mod ")?
                .strip_suffix(';')?;
            Some((i, declared))
        })
        .collect();
    if modules.iter().any(|(_, m)| *m == name) {
        bail!("it already declares `pub mod {name};`");
    }
    let mut at = modules
        .iter()
        .find(|(_, m)| *m > name)
        .map(|(i, _)| *i)
        .or_else(|| modules.last().map(|(i, _)| i + 1))
        .unwrap_or(header + 1);
    // Before the attributes of the module it goes in front of.
    while at > header + 1 && at <= close && lines[at - 1].trim_start().starts_with("#[") {
        at -= 1;
    }
    let mut added = Vec::new();
    if let Some(cfg) = cfg {
        added.push(format!("    {cfg}"));
    }
    added.push(format!("    pub mod {name};"));
    lines.splice(at..at, added);
    Ok(joined(lines))
}

/// `lib` with a new topic block at its end: `pub mod <module>` at
/// `#[path = "<folder>"]`, holding `pub mod <name>;` under `cfg` if given.
pub fn add_topic_block(
    lib: &str,
    folder: &str,
    module: &str,
    cfg: Option<&str>,
    name: &str,
) -> String {
    let mut text = lib.trim_end().to_string();
    text.push_str(&format!(
        "\n\n#[path = \"{folder}\"]\npub mod {module} {{\n"
    ));
    if let Some(cfg) = cfg {
        text.push_str(&format!("    {cfg}\n"));
    }
    text.push_str(&format!("    pub mod {name};\n}}\n"));
    text
}

/// The learner's manifest (`exercises/Cargo.toml`) with the feature of the
/// exercise `exercise` of topic `topic`. A topic built whole (see
/// [`built_whole`]) has `<exercise> = ["<topic>"]`; any other has
/// `<exercise> = []`, listed in the topic's feature `<topic> = [...]`
/// (which a new topic gains, on by default like every topic's).
pub fn add_feature(manifest: &str, topic: &str, exercise: &str, whole: bool) -> Result<String> {
    let mut lines: Vec<String> = manifest.lines().map(str::to_string).collect();
    let start = lines
        .iter()
        .position(|l| l.trim() == "[features]")
        .context("no [features] table")?;
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.trim_start().starts_with('['))
        .map_or(lines.len(), |n| start + 1 + n);
    let default = (start + 1..end)
        .find(|&i| lines[i].trim_start().starts_with("default = ["))
        .context("no `default = [...]` on one line under [features]")?;
    let topic_line = format!("{topic} = [");
    let own = if whole {
        format!("{exercise} = [\"{topic}\"]")
    } else {
        format!("{exercise} = []")
    };
    match (start..end).find(|&i| lines[i].starts_with(&topic_line)) {
        Some(at) => {
            if !whole {
                lines[at] = appended(&lines[at], exercise)
                    .with_context(|| format!("the feature `{topic}` is not on one line"))?;
            }
            // After the topic's line and its exercises' (up to a blank line
            // or the next topic).
            let topics = listed(&lines[default]);
            let mut after = at + 1;
            while after < end
                && lines[after].contains(" = [")
                && !topics
                    .iter()
                    .any(|t| lines[after].starts_with(&format!("{t} = [")))
            {
                after += 1;
            }
            lines.insert(after, own);
        }
        None => {
            lines[default] = appended(&lines[default], topic)
                .context("the `default = [...]` list of [features] is not on one line")?;
            let last = (start..end)
                .rev()
                .find(|&i| !lines[i].trim().is_empty())
                .unwrap_or(start);
            lines.insert(last + 1, format!("{topic} = [\"{exercise}\"]"));
            lines.insert(last + 2, own);
        }
    }
    let text = joined(lines);
    let table: toml::Table = text.parse().context("the edited manifest does not parse")?;
    let features = table.get("features").and_then(|f| f.as_table());
    let list = |name: &str| -> Vec<String> {
        features
            .and_then(|f| f.get(name))
            .and_then(|d| d.as_array())
            .map(|d| {
                d.iter()
                    .filter_map(|f| f.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let has = |name: &str| features.is_some_and(|f| f.contains_key(name));
    let wired = if whole {
        list(exercise) == [topic]
    } else {
        list(topic).iter().any(|e| e == exercise)
    };
    if !wired || !has(exercise) || !list("default").iter().any(|t| t == topic) {
        bail!("the feature {exercise:?} did not come out as expected");
    }
    Ok(text)
}

/// A one-line list `key = [...]` with `"<item>"` added at its end.
fn appended(line: &str, item: &str) -> Option<String> {
    let open = line.trim_end().strip_suffix(']')?;
    let sep = if open.trim_end().ends_with('[') {
        ""
    } else {
        ", "
    };
    Some(format!("{open}{sep}\"{item}\"]"))
}

/// The quoted items of a one-line list `key = ["a", "b"]`.
fn listed(line: &str) -> Vec<String> {
    line.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The checker's manifest with the feature of a learner's check of one
/// exercise, `exercise-<exercise>`, after the last such feature.
pub fn add_check_feature(manifest: &str, exercise: &str) -> Result<String> {
    let mut lines: Vec<String> = manifest.lines().map(str::to_string).collect();
    let last = lines
        .iter()
        .rposition(|l| l.starts_with("exercise-"))
        .context("no `exercise-<name> = [...]` feature to add another after")?;
    lines.insert(
        last + 1,
        format!("exercise-{exercise} = [\"single-exercise\", \"exercises/{exercise}\"]"),
    );
    let text = joined(lines);
    let table: toml::Table = text.parse().context("the edited manifest does not parse")?;
    let added = table
        .get("features")
        .and_then(|f| f.get(format!("exercise-{exercise}")))
        .is_some();
    if !added {
        bail!("the feature \"exercise-{exercise}\" did not come out as expected");
    }
    Ok(text)
}

/// The checker's manifest with a `[[test]]` target for the suite `suite`
/// (`suites/<suite>.rs`, without libtest's harness), after the last one.
pub fn add_suite_target(manifest: &str, suite: &str) -> Result<String> {
    let mut lines: Vec<String> = manifest.lines().map(str::to_string).collect();
    let last = lines
        .iter()
        .rposition(|l| l.trim() == "[[test]]")
        .context("no [[test]] target to add another after")?;
    let end = lines[last..]
        .iter()
        .position(|l| l.trim().is_empty())
        .map_or(lines.len(), |n| last + n);
    let target = [
        String::new(),
        "[[test]]".to_string(),
        format!("name = \"{suite}\""),
        format!("path = \"suites/{suite}.rs\""),
        "harness = false".to_string(),
    ];
    lines.splice(end..end, target);
    let text = joined(lines);
    let table: toml::Table = text.parse().context("the edited manifest does not parse")?;
    let added = table
        .get("test")
        .and_then(|t| t.as_array())
        .is_some_and(|tests| {
            tests
                .iter()
                .any(|t| t.get("name").and_then(|n| n.as_str()) == Some(suite))
        });
    if !added {
        bail!("the [[test]] target {suite:?} did not come out as expected");
    }
    Ok(text)
}

/// A topic's suite (`checker/suites/<suite>.rs`) with the group file
/// `<module>/<name>.rs` declared in its `mod <module> {` block and its tests
/// added after the last group's: `let suite = <module>::<name>::tests(suite);`,
/// both under `#[cfg(exercise = "<exercise>")]` (a check of one exercise
/// builds only its own group).
pub fn register_group(suite: &str, module: &str, name: &str, exercise: &str) -> Result<String> {
    let header = suite
        .lines()
        .position(|l| l == format!("mod {module} {{"))
        .with_context(|| format!("no block `mod {module} {{` declaring the group files"))?;
    let cfg = format!("#[cfg(exercise = \"{exercise}\")]");
    let text = insert_module(suite, header, name, Some(&cfg))?;
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    // The meta tests are not a group (and are added only where the
    // references are the subject).
    let registers = |line: &str| {
        line.trim()
            .strip_prefix(&format!("let suite = {module}::"))
            .is_some_and(|rest| rest.ends_with("::tests(suite);") && !rest.starts_with("meta::"))
    };
    let Some(last) = lines.iter().rposition(|l| registers(l)) else {
        bail!(
            "its groups are not added one a line as `let suite = {module}::<group>::tests(suite);`"
        );
    };
    let indent: String = lines[last].chars().take_while(|c| *c == ' ').collect();
    lines.splice(
        last + 1..last + 1,
        [
            format!("{indent}{cfg}"),
            format!("{indent}let suite = {module}::{name}::tests(suite);"),
        ],
    );
    Ok(joined(lines))
}

/// `info.toml` with `entry` appended, after a blank line; nothing else
/// changes (the file is the author's, comments and all).
pub fn append_entry(manifest: &str, entry: &str) -> String {
    format!("{}\n\n{entry}", manifest.trim_end())
}

/// A topic guide with `row` added to its table of exercises (the first
/// table whose header starts `| exercise |`), or `None` when it has none.
pub fn add_guide_row(guide: &str, row: &str) -> Option<String> {
    let mut lines: Vec<String> = guide.lines().map(str::to_string).collect();
    let header = lines.iter().position(|l| l.starts_with("| exercise |"))?;
    let end = lines[header..]
        .iter()
        .position(|l| !l.starts_with('|'))
        .map_or(lines.len(), |n| header + n);
    lines.insert(end, row.to_string());
    Some(joined(lines))
}

/// Lines joined back into a file's text, ending with a newline.
fn joined(lines: Vec<String>) -> String {
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const LIB: &str = "//! Docs.\n\n#[cfg(feature = \"clocks\")]\n#[path = \"03_clocks\"]\npub mod clocks {\n    pub mod lamport;\n    pub mod vector;\n\n    pub use lamport::*;\n}\n";

    /// A learner's `lib.rs`: one topic built whole, one file by file.
    const SPLIT: &str = "#[cfg(feature = \"raft\")]\n#[path = \"05_raft\"]\npub mod raft {\n    pub mod election;\n}\n\n#[path = \"03_clocks\"]\npub mod clocks {\n    #[cfg(feature = \"clocks_lamport\")]\n    pub mod lamport;\n    #[cfg(feature = \"clocks_vector\")]\n    pub mod vector;\n}\n";

    #[test]
    fn a_module_goes_into_its_topic_block_in_order() {
        assert_eq!(module_at(LIB, "03_clocks").as_deref(), Some("clocks"));
        assert_eq!(module_at(LIB, "04_broadcast"), None);
        let text = add_module(LIB, "03_clocks", None, "physical").unwrap();
        assert!(
            text.contains("    pub mod lamport;\n    pub mod physical;\n    pub mod vector;\n"),
            "{text}"
        );
        let last = add_module(LIB, "03_clocks", None, "zeta").unwrap();
        assert!(
            last.contains("    pub mod vector;\n    pub mod zeta;\n\n    pub use"),
            "{last}"
        );
        let first = add_module(LIB, "03_clocks", None, "hybrid").unwrap();
        assert!(
            first.contains("pub mod clocks {\n    pub mod hybrid;\n    pub mod lamport;"),
            "{first}"
        );
    }

    #[test]
    fn a_module_behind_its_feature_keeps_the_others_behind_theirs() {
        assert!(built_whole(SPLIT, "05_raft", "raft"));
        assert!(!built_whole(SPLIT, "03_clocks", "clocks"));
        let cfg = "#[cfg(feature = \"clocks_physical\")]";
        let text = add_module(SPLIT, "03_clocks", Some(cfg), "physical").unwrap();
        assert!(
            text.contains("    #[cfg(feature = \"clocks_lamport\")]\n    pub mod lamport;\n    #[cfg(feature = \"clocks_physical\")]\n    pub mod physical;\n    #[cfg(feature = \"clocks_vector\")]\n    pub mod vector;\n"),
            "{text}"
        );
        let first = add_module(SPLIT, "03_clocks", Some(cfg), "hybrid").unwrap();
        assert!(
            first.contains("pub mod clocks {\n    #[cfg(feature = \"clocks_physical\")]\n    pub mod hybrid;\n    #[cfg(feature = \"clocks_lamport\")]"),
            "{first}"
        );
    }

    #[test]
    fn a_module_is_refused_where_the_layout_is_not_the_expected_one() {
        assert!(add_module(LIB, "05_raft", None, "x").is_err());
        let twice = add_module(LIB, "03_clocks", None, "lamport").unwrap_err();
        assert!(
            format!("{twice:#}").contains("already declares"),
            "{twice:#}"
        );
    }

    #[test]
    fn a_new_topic_block_is_appended() {
        let cfg = "#[cfg(feature = \"leases_basic\")]";
        let text = add_topic_block(LIB, "12_leases", "leases", Some(cfg), "basic");
        assert!(text.starts_with(LIB));
        assert!(text.ends_with("}\n\n#[path = \"12_leases\"]\npub mod leases {\n    #[cfg(feature = \"leases_basic\")]\n    pub mod basic;\n}\n"), "{text}");
        assert_eq!(module_at(&text, "12_leases").as_deref(), Some("leases"));
    }

    #[test]
    fn an_exercise_feature_is_added_to_its_topic() {
        let manifest = "[package]\nname = \"exercises\"\n\n[features]\ndefault = [\"clocks\", \"raft\"]\nclocks = [\"clocks_lamport\"]\nclocks_lamport = []\nraft = []\nraft_election = [\"raft\"]\n";
        let split = add_feature(manifest, "clocks", "clocks_vector", false).unwrap();
        assert_eq!(
            split,
            "[package]\nname = \"exercises\"\n\n[features]\ndefault = [\"clocks\", \"raft\"]\nclocks = [\"clocks_lamport\", \"clocks_vector\"]\nclocks_lamport = []\nclocks_vector = []\nraft = []\nraft_election = [\"raft\"]\n"
        );
        let whole = add_feature(manifest, "raft", "raft_kv", true).unwrap();
        assert!(
            whole.ends_with("raft = []\nraft_election = [\"raft\"]\nraft_kv = [\"raft\"]\n"),
            "{whole}"
        );
        let new = add_feature(manifest, "leases", "leases_basic", false).unwrap();
        assert!(
            new.contains("default = [\"clocks\", \"raft\", \"leases\"]\n")
                && new.ends_with(
                    "raft_election = [\"raft\"]\nleases = [\"leases_basic\"]\nleases_basic = []\n"
                ),
            "{new}"
        );
        let empty = add_feature("[features]\ndefault = []\n", "leases", "leases_a", false).unwrap();
        assert_eq!(
            empty,
            "[features]\ndefault = [\"leases\"]\nleases = [\"leases_a\"]\nleases_a = []\n"
        );
        assert!(add_feature("[features]\ndefault = [\n  \"a\",\n]\n", "b", "b_c", false).is_err());
    }

    #[test]
    fn a_check_feature_follows_the_last_one() {
        let manifest = "[features]\nlearner = []\nsingle-exercise = [\"learner\"]\nexercise-a_b = [\"single-exercise\", \"exercises/a_b\"]\nhidden = []\n";
        let text = add_check_feature(manifest, "a_c").unwrap();
        assert!(
            text.contains("exercise-a_b = [\"single-exercise\", \"exercises/a_b\"]\nexercise-a_c = [\"single-exercise\", \"exercises/a_c\"]\nhidden"),
            "{text}"
        );
        assert!(add_check_feature("[features]\nlearner = []\n", "a_c").is_err());
    }

    #[test]
    fn a_suite_target_follows_the_last_one() {
        let manifest = "[package]\nname = \"checker\"\n\n[[test]]\nname = \"intro\"\npath = \"suites/intro.rs\"\nharness = false\n\n# The server.\n[[bin]]\nname = \"s\"\npath = \"bin/s.rs\"\n";
        let text = add_suite_target(manifest, "leases").unwrap();
        assert!(text.contains("harness = false\n\n[[test]]\nname = \"leases\"\npath = \"suites/leases.rs\"\nharness = false\n\n# The server.\n"), "{text}");
        assert!(add_suite_target("[package]\nname = \"c\"\n", "x").is_err());
    }

    #[test]
    fn a_group_is_declared_and_its_tests_added_last() {
        let suite = "use x;\n\nmod clocks {\n    pub mod happens_before;\n    pub mod lamport;\n}\n\nfn main() {\n    let suite = dscheck::Suite::new(\"clocks\");\n    let suite = clocks::lamport::tests(suite);\n    suite.run()\n}\n";
        let text = register_group(suite, "clocks", "hybrid", "clocks_hybrid").unwrap();
        assert!(text.contains("mod clocks {\n    pub mod happens_before;\n    #[cfg(exercise = \"clocks_hybrid\")]\n    pub mod hybrid;\n    pub mod lamport;\n}"), "{text}");
        assert!(text.contains("    let suite = clocks::lamport::tests(suite);\n    #[cfg(exercise = \"clocks_hybrid\")]\n    let suite = clocks::hybrid::tests(suite);\n    suite.run()"), "{text}");
        let table_driven =
            "mod raft {\n    pub mod election;\n}\n\nfn main() {\n    for t in TESTS {}\n}\n";
        let refused = register_group(table_driven, "raft", "x", "raft_x").unwrap_err();
        assert!(format!("{refused:#}").contains("one a line"), "{refused:#}");
    }

    #[test]
    fn an_entry_is_appended_and_a_guide_row_added() {
        assert_eq!(
            append_entry("# c\nx = 1\n\n\n", "[[e]]\n"),
            "# c\nx = 1\n\n[[e]]\n"
        );
        let guide =
            "# T\n\n| exercise | you build | points |\n|---|---|---|\n| `a` | a | 5 |\n\n## More\n";
        assert_eq!(
            add_guide_row(guide, "| `b` | b | 10 |").unwrap(),
            "# T\n\n| exercise | you build | points |\n|---|---|---|\n| `a` | a | 5 |\n| `b` | b | 10 |\n\n## More\n"
        );
        assert_eq!(add_guide_row("# T\n", "| x |"), None);
    }
}
