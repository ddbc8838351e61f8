//! `dscourse dev strip OUT`: a student distribution of the kit. It has no
//! reference solutions and no hidden tests; everything a learner uses
//! (`cargo run`, every runner command but `solution` and `diff`, and
//! `cargo test`) works there.

use crate::colour::paint;
use crate::distribute::{copy_kit, replace_once};
use crate::kit::Kit;
use anyhow::{Context, Result};
use crossterm::style::Color;
use std::path::Path;
use std::process::ExitCode;

/// What a student distribution leaves out, and why (shown to the author).
pub const LEFT_OUT: [(&str, &str); 5] = [
    ("solutions", "the reference solutions"),
    ("checker/hidden", "the hidden tests"),
    (
        "tests",
        "the runner's own tests, which drive the references",
    ),
    (".ci", "the course's CI, which checks the references"),
    (
        "benches",
        "the course's benchmarks, which run the references",
    ),
];

pub fn dev_strip(out: &Path) -> Result<ExitCode> {
    let kit = Kit::discover()?;
    let left_out: Vec<&str> = LEFT_OUT.iter().map(|(path, _)| *path).collect();
    let files = copy_kit(&kit.root, out, &left_out)?;
    rewrite_manifests(out)?;
    keep_stubs(&kit, out)?;
    println!(
        "{} a student distribution in {} ({files} files). Left out:",
        paint("wrote", Color::Green),
        out.display()
    );
    for (path, what) in LEFT_OUT {
        println!("  {path}/  {what}");
    }
    println!("Learners run `cargo run` there; `cargo test` tests the simulator and the runner.");
    Ok(ExitCode::SUCCESS)
}

/// Writes every exercise's stub, made from its reference, into
/// `OUT/checker/stubs/`: without references, `reset` and grading take the
/// starting code from there.
fn keep_stubs(kit: &Kit, out: &Path) -> Result<()> {
    for exercise in &kit.manifest.exercises {
        let stub = crate::stubs::stub_of(kit, &exercise.file)?;
        let path = out.join("checker/stubs").join(&exercise.file);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(&path, stub).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// The workspace without the solutions crate; the checker without its
/// dependency on it, and not a default member (its suites fail on the
/// stubs by design: the runner builds them when a learner checks).
fn rewrite_manifests(out: &Path) -> Result<()> {
    let root = out.join("Cargo.toml");
    let text = read(&root)?;
    let text = rewrite_list(&text, "members", &|m| m != "solutions")?;
    let text = rewrite_list(&text, "default-members", &|m| {
        m != "solutions" && m != "checker"
    })?;
    write(&root, &text)?;
    let checker = out.join("checker/Cargo.toml");
    let text = read(&checker)?;
    let text = rewrite_list(&text, "default", &|f| f != "solutions")?;
    let text = replace_once(
        "checker/Cargo.toml",
        &text,
        "solutions = { path = \"../solutions\", optional = true }\n",
        "",
    )?;
    write(&checker, &text)
}

/// Rewrites the one-line list `key = [...]` of a manifest, keeping
/// the entries `keep` accepts.
fn rewrite_list(text: &str, key: &str, keep: &dyn Fn(&str) -> bool) -> Result<String> {
    let prefix = format!("{key} = [");
    let mut found = false;
    let mut out = String::new();
    for line in text.lines() {
        if line.starts_with(&prefix) {
            let value: toml::Table = line.parse().with_context(|| {
                format!("cannot rewrite Cargo.toml: {key} is not a one-line list")
            })?;
            let kept: Vec<String> = value[key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str())
                .filter(|m| keep(m))
                .map(|m| format!("{m:?}"))
                .collect();
            out += &format!("{key} = [{}]\n", kept.join(", "));
            found = true;
        } else {
            out += line;
            out += "\n";
        }
    }
    if !found {
        anyhow::bail!("cannot rewrite a Cargo.toml: it has no line `{key} = [...]`");
    }
    Ok(out)
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
