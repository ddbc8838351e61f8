//! Listing the files of a folder tree, as kit paths: relative to the
//! root, `/`-separated, sorted. Symbolic links are neither followed nor
//! listed.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// Every file under `root`'s entries `entries` (names of files or folders
/// directly inside `root`; a missing one is skipped).
pub fn files_under<'a>(
    root: &Path,
    entries: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<String>> {
    let mut found = Vec::new();
    let mut stack: Vec<PathBuf> = entries.into_iter().map(|e| root.join(e)).collect();
    while let Some(path) = stack.pop() {
        let kind = match std::fs::symlink_metadata(&path) {
            Ok(meta) => meta.file_type(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        if kind.is_dir() {
            let listing = std::fs::read_dir(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            for entry in listing {
                stack.push(entry?.path());
            }
        } else if kind.is_file() {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            found.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    found.sort();
    Ok(found)
}

/// Every file under `root`, leaving out the entries of `root` named in
/// `skipped`.
pub fn files(root: &Path, skipped: &[&str]) -> Result<Vec<String>> {
    let mut entries = Vec::new();
    if let Ok(listing) = std::fs::read_dir(root) {
        for entry in listing.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !skipped.contains(&name.as_str()) {
                entries.push(name);
            }
        }
    }
    files_under(root, entries.iter().map(String::as_str))
}
