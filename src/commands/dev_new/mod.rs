//! `dscourse dev new TOPIC NAME`: scaffolds the exercise `TOPIC_NAME`, so
//! that adding one means writing four files rather than wiring ten.
//!
//! It writes a reference whose handlers are marked regions and a suite group
//! with one test the stub fails and the reference passes; wires them in
//! (both `lib.rs`, the topic's suite, an `info.toml` entry, the guide's
//! table; for a new topic also its folder, feature, suite target and
//! guide); and writes the stub as `dev stubs` does. `dev check` passes right
//! after. Every edit is made in memory first: a topic whose layout it does
//! not know is refused before anything is written.

mod edit;
mod template;
mod topic;

use super::dev_stubs::write_stub;
use crate::colour::paint;
use crate::invocation::command;
use crate::kit::Kit;
use crate::manifest::Manifest;
use anyhow::{bail, Context, Result};
use crossterm::style::Color;
use std::process::ExitCode;
use topic::read;

/// The exercise to scaffold, with every name resolved against the kit.
pub struct Scaffold {
    /// The topic as `info.toml` names it (the exercise's name begins with it).
    pub topic: String,
    /// The exercise's own name: its file, module and test group.
    pub name: String,
    /// The topic's suite, `checker/suites/<suite>.rs`, and its feature of
    /// the learner's crate.
    pub suite: String,
    /// The topic's module in both `lib.rs` and in its suite.
    pub module: String,
    /// The topic's folder in `exercises/` and `solutions/` (`03_clocks`).
    pub folder: String,
    /// The node type of the reference's skeleton.
    pub node: String,
    /// Whether the topic is created along with the exercise.
    pub new_topic: bool,
}

impl Scaffold {
    /// `<topic>_<name>`, as the learner types it.
    pub fn exercise(&self) -> String {
        format!("{}_{}", self.topic, self.name)
    }

    /// The exercise file, relative to `exercises/` and `solutions/`.
    pub fn file(&self) -> String {
        format!("{}/{}.rs", self.folder, self.name)
    }

    /// The file of its suite group.
    fn group_file(&self) -> String {
        format!("checker/suites/{}/{}.rs", self.module, self.name)
    }

    /// The topic's guide.
    fn guide_file(&self) -> String {
        format!("exercises/{}/README.md", self.folder)
    }
}

/// One file `dev new` writes: its kit path, its whole new text, and what it
/// is, for the report.
struct Change {
    file: String,
    text: String,
    created: bool,
    what: &'static str,
}

/// Scaffolds the exercise `<topic>_<name>` (see the module comment). A
/// refusal is an error, which the runner reports with exit status 2.
pub fn dev_new(topic: &str, name: &str) -> Result<ExitCode> {
    let kit = Kit::discover()?;
    if !kit.has_solutions() {
        bail!("this copy of the kit has no solutions/ (a student distribution): exercises are added in the course's own kit");
    }
    let scaffold = topic::resolve(&kit, topic, name)?;
    let changes = plan(&kit, &scaffold)?;
    apply(&kit, &changes)?;
    // Loading the manifest again checks the new entry names real files.
    let kit = Kit {
        manifest: Manifest::load(&kit.root).context("info.toml, with the new entry")?,
        root: kit.root,
    };
    let file = scaffold.file();
    write_stub(&kit, &file, &crate::stubs::stub_of(&kit, &file)?)?;
    print_next_steps(&kit, &scaffold, &changes);
    Ok(ExitCode::SUCCESS)
}

/// Every file to write, with its new text; fails, before anything is
/// written, where a file's layout is not the one expected.
fn plan(kit: &Kit, s: &Scaffold) -> Result<Vec<Change>> {
    let mut changes = vec![
        created(
            format!("solutions/{}", s.file()),
            template::reference(s),
            "the reference: a placeholder node, its handlers marked",
        ),
        created(
            s.group_file(),
            template::group(s),
            "its tests: one placeholder test",
        ),
    ];
    let wiring = if s.new_topic {
        new_topic_wiring(kit, s)
    } else {
        topic_wiring(kit, s)
    };
    changes.extend(wiring.with_context(|| {
        format!(
            "dev new cannot add {} to this layout (add it by hand, see ARCHITECTURE.md)",
            s.exercise()
        )
    })?);
    let manifest = edit::append_entry(&read(kit, "info.toml")?, &template::entry(s));
    changes.push(changed(
        "info.toml",
        manifest,
        "an [[exercises]] entry, with placeholder hints",
    ));
    Ok(changes)
}

/// The exercise wired into a topic that exists: a module in its blocks of
/// both `lib.rs`, its features (the learner's crate's and the checker's), a
/// group in its suite, a row in its guide.
fn topic_wiring(kit: &Kit, s: &Scaffold) -> Result<Vec<Change>> {
    let exercise = s.exercise();
    let whole = edit::built_whole(&read(kit, "exercises/lib.rs")?, &s.folder, &s.suite);
    let cfg = (!whole).then(|| feature_cfg(&exercise));
    let mut changes = vec![
        edited(kit, "solutions/lib.rs", "the module", |lib| {
            edit::add_module(lib, &s.folder, None, &s.name)
        })?,
        edited(kit, "exercises/lib.rs", "the module", |lib| {
            edit::add_module(lib, &s.folder, cfg.as_deref(), &s.name)
        })?,
        edited(
            kit,
            "exercises/Cargo.toml",
            "the exercise's feature",
            |text| edit::add_feature(text, &s.suite, &exercise, whole),
        )?,
        edited(
            kit,
            "checker/Cargo.toml",
            "the feature of a check of the exercise",
            |text| edit::add_check_feature(text, &exercise),
        )?,
        edited(
            kit,
            &format!("checker/suites/{}.rs", s.suite),
            "the group's tests, added to the suite",
            |suite| edit::register_group(suite, &s.module, &s.name, &exercise),
        )?,
    ];
    // A guide without a table of exercises is left to its author.
    let guide = s.guide_file();
    if let Some(text) = read(kit, &guide)
        .ok()
        .and_then(|text| edit::add_guide_row(&text, &template::guide_row(s)))
    {
        changes.push(changed(&guide, text, "a row in the table of exercises"));
    }
    Ok(changes)
}

/// The exercise wired into a new topic: its blocks in both `lib.rs`, its
/// features, its suite and the suite's test target, its guide.
fn new_topic_wiring(kit: &Kit, s: &Scaffold) -> Result<Vec<Change>> {
    let exercise = s.exercise();
    let block = |lib: &str, cfg: Option<&str>| {
        Ok(edit::add_topic_block(
            lib, &s.folder, &s.module, cfg, &s.name,
        ))
    };
    Ok(vec![
        edited(kit, "solutions/lib.rs", "the topic's module", |lib| {
            block(lib, None)
        })?,
        edited(
            kit,
            "exercises/lib.rs",
            "the topic's module, the file behind its exercise's feature",
            |lib| block(lib, Some(&feature_cfg(&exercise))),
        )?,
        edited(
            kit,
            "exercises/Cargo.toml",
            "the topic's and the exercise's features",
            |text| edit::add_feature(text, &s.suite, &exercise, false),
        )?,
        edited(
            kit,
            "checker/Cargo.toml",
            "the suite's [[test]] target and the feature of a check of the exercise",
            |text| edit::add_check_feature(&edit::add_suite_target(text, &s.suite)?, &exercise),
        )?,
        created(
            format!("checker/suites/{}.rs", s.suite),
            template::suite(s),
            "the topic's suite",
        ),
        created(s.guide_file(), template::guide(s), "the topic's guide"),
    ])
}

/// The attribute that puts a file of the learner's crate behind its
/// exercise's feature.
fn feature_cfg(exercise: &str) -> String {
    format!("#[cfg(feature = \"{exercise}\")]")
}

/// The change `edit` makes to the kit's file `file`; its failure names the
/// file.
fn edited(
    kit: &Kit,
    file: &str,
    what: &'static str,
    edit: impl FnOnce(&str) -> Result<String>,
) -> Result<Change> {
    let text = edit(&read(kit, file)?).with_context(|| file.to_string())?;
    Ok(changed(file, text, what))
}

fn created(file: String, text: String, what: &'static str) -> Change {
    Change {
        file,
        text,
        created: true,
        what,
    }
}

fn changed(file: &str, text: String, what: &'static str) -> Change {
    Change {
        file: file.to_string(),
        text,
        created: false,
        what,
    }
}

/// Writes every change, saying what each file is; a file to create that
/// appeared meanwhile is not overwritten.
fn apply(kit: &Kit, changes: &[Change]) -> Result<()> {
    if let Some(there) = changes
        .iter()
        .find(|c| c.created && kit.root.join(&c.file).exists())
    {
        bail!("{} exists already: nothing was written", there.file);
    }
    for change in changes {
        crate::state::write_atomically(&kit.root.join(&change.file), change.text.as_bytes())
            .with_context(|| format!("cannot write {}", change.file))?;
        let verb = if change.created { "wrote" } else { "changed" };
        println!(
            "{} {} ({})",
            paint(verb, Color::Green),
            change.file,
            change.what
        );
    }
    Ok(())
}

/// What the author writes next, file by file: the four places an exercise
/// is made in.
fn print_next_steps(kit: &Kit, s: &Scaffold, changes: &[Change]) {
    let exercise = s.exercise();
    let line = kit
        .manifest
        .find(&exercise)
        .map(|e| e.line)
        .unwrap_or_default();
    let guide = s.guide_file();
    let guide_step = if changes.iter().any(|c| c.file == guide) {
        format!("{guide}: what the learner builds in {exercise} (and, for a new topic, the topic)")
    } else {
        format!("{guide}: a word on {exercise} (its table of exercises was not found)")
    };
    println!();
    println!("{exercise} is scaffolded: its placeholder test fails on the stub and passes on the reference. Next:");
    let steps = [
        format!(
            "solutions/{}: the reference; mark what the learner writes with `// exercise: begin \"…\"` … `// exercise: end` (see src/stubs.rs)",
            s.file()
        ),
        format!(
            "{}: the properties, their hints and `meta::` tests, in place of the placeholder test",
            s.group_file()
        ),
        format!("info.toml:{line}: the hints and points (move the entry to change where it comes in the course)"),
        guide_step,
    ];
    for (n, step) in steps.iter().enumerate() {
        println!("  {}. {step}", n + 1);
    }
    println!(
        "then: {} && {}",
        command("dev stubs"),
        command(&format!("dev check {exercise}"))
    );
}
