//! Writing copies of the kit for others: a student distribution (no
//! solutions, no hidden tests) and a Gradescope autograder bundle.

use anyhow::{bail, Context, Result};
use std::path::Path;

/// Folders and files of a kit that no copy for others takes: build output,
/// version control, the runner's own state.
const NEVER_COPIED: [&str; 3] = ["target", ".git", ".dscourse"];

/// Copies the kit at `from` into the new folder `to`, leaving out
/// [`NEVER_COPIED`] and the files and folders `leave_out` names (kit paths,
/// `/`-separated). Returns the number of files copied.
pub fn copy_kit(from: &Path, to: &Path, leave_out: &[&str]) -> Result<usize> {
    if to.exists()
        && std::fs::read_dir(to)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!(
            "{} already exists and is not empty: choose a new folder",
            to.display()
        );
    }
    let from = from.canonicalize()?;
    if let Ok(to_abs) = std::path::absolute(to) {
        if to_abs.starts_with(&from)
            && !NEVER_COPIED
                .iter()
                .any(|n| to_abs.starts_with(from.join(n)))
        {
            bail!(
                "{} is inside the kit: choose a folder outside it",
                to.display()
            );
        }
    }
    let left_out = |rel: &str| {
        leave_out
            .iter()
            .any(|p| rel == *p || rel.strip_prefix(p).is_some_and(|r| r.starts_with('/')))
    };
    let mut copied = 0;
    for rel in crate::tree::files(&from, &NEVER_COPIED)? {
        if left_out(&rel) {
            continue;
        }
        let (path, dest) = (from.join(&rel), to.join(&rel));
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::copy(&path, &dest)
            .with_context(|| format!("cannot copy {} to {}", path.display(), dest.display()))?;
        copied += 1;
    }
    Ok(copied)
}

/// `text` with `old` replaced by `new`, which must occur exactly once: the
/// manifests are edited as text to keep their comments, and an edit that
/// does not find its place stops rather than writing a broken kit.
pub fn replace_once(file: &str, text: &str, old: &str, new: &str) -> Result<String> {
    match text.matches(old).count() {
        1 => Ok(text.replacen(old, new, 1)),
        n => bail!("cannot rewrite {file}: expected {old:?} once, found it {n} times (was the file edited by hand?)"),
    }
}
