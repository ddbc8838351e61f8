//! Walking a submission's folder tree as it arrived: an upload nested in
//! folders (`upload/kit-main/exercises/…`, as Gradescope's zips unpack), a
//! learner's whole clone of the kit, loose files. A symbolic link is never
//! followed, file or folder: it can point anywhere on the grader's machine,
//! the instructor's `solutions/` included. The walk is bounded, so a
//! submission cannot make grading read without end.

use anyhow::{Context, Result};
use std::collections::VecDeque;
use std::fs;
use std::path::{Path, PathBuf};

/// Folders never looked into, with what they usually hold: nothing a
/// learner writes, and often a great many files.
const SKIPPED: [(&str, &str); 4] = [
    ("target", "build output"),
    (".git", "version control data"),
    ("node_modules", "JavaScript packages"),
    (".dscourse", "the runner's own files"),
];

/// How much of a tree a walk looks at.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Folders this many levels below the root are listed, not entered.
    pub depth: usize,
    /// Entries (files, folders, links) met before the walk stops.
    pub entries: usize,
}

impl Limits {
    /// Deep enough for any zip of the kit, and far more entries than a
    /// clone of it has outside its skipped folders.
    pub const DEFAULT: Limits = Limits {
        depth: 12,
        entries: 20_000,
    };
}

/// A regular file of the submission.
#[derive(Clone, Debug)]
pub struct Found {
    /// Relative to the submission's root, `/`-separated.
    pub rel: String,
    pub path: PathBuf,
    pub len: u64,
}

impl Found {
    /// How many folders down the file is, plus one.
    pub fn depth(&self) -> usize {
        self.rel.split('/').count()
    }

    pub fn name(&self) -> &str {
        self.rel.rsplit('/').next().unwrap_or(&self.rel)
    }
}

/// What a walk met.
#[derive(Debug, Default)]
pub struct Tree {
    /// The regular files, shallowest first (in name order within a folder).
    pub files: Vec<Found>,
    /// What the submission held that grading refused to look at, each as
    /// `path: why`: symbolic links, anything else that is not a regular
    /// file, what lay beyond the walk's bounds.
    pub refused: Vec<String>,
    /// The skipped folders, each as `path/: what it holds, not graded`.
    pub passed_over: Vec<String>,
}

/// Walks the tree at `root` breadth first, never following a symbolic link.
pub fn walk(root: &Path, limits: Limits) -> Result<Tree> {
    let mut tree = Tree::default();
    let mut queue = VecDeque::from([(root.to_path_buf(), String::new(), 0usize)]);
    let mut met = 0usize;
    let mut too_deep: Option<String> = None;
    while let Some((dir, rel_dir, depth)) = queue.pop_front() {
        let entries = match sorted_entries(&dir) {
            Ok(entries) => entries,
            Err(e) if rel_dir.is_empty() => {
                return Err(e).with_context(|| format!("cannot read {}", root.display()))
            }
            Err(e) => {
                tree.refused
                    .push(format!("{rel_dir}/: cannot be read ({e})"));
                continue;
            }
        };
        for entry in entries {
            met += 1;
            if met > limits.entries {
                tree.refused.push(format!(
                    "(the submission): more than {} files and folders; the walk stopped there and the rest was not looked into",
                    limits.entries
                ));
                return Ok(tree);
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if rel_dir.is_empty() {
                name.clone()
            } else {
                format!("{rel_dir}/{name}")
            };
            // `DirEntry::file_type` and `metadata` do not follow links.
            let Ok(kind) = entry.file_type() else {
                tree.refused.push(format!("{rel}: cannot be read"));
                continue;
            };
            if kind.is_symlink() {
                tree.refused
                    .push(format!("{rel}: a symbolic link: not followed"));
            } else if kind.is_dir() {
                if let Some((_, what)) = SKIPPED.iter().find(|(skipped, _)| *skipped == name) {
                    tree.passed_over.push(format!("{rel}/: {what}, not graded"));
                } else if depth + 1 >= limits.depth {
                    too_deep.get_or_insert(rel);
                } else {
                    queue.push_back((entry.path(), rel, depth + 1));
                }
            } else if kind.is_file() {
                let len = entry.metadata().map_or(0, |m| m.len());
                tree.files.push(Found {
                    rel,
                    path: entry.path(),
                    len,
                });
            } else {
                tree.refused.push(format!("{rel}: not a file: not graded"));
            }
        }
    }
    if let Some(first) = too_deep {
        tree.refused.push(format!(
            "{first}/: more than {} folders deep; folders this deep were not looked into",
            limits.depth
        ));
    }
    Ok(tree)
}

/// The entries of `dir` in name order, so that every walk of the same tree
/// meets the same entries (and the same ones when it stops early).
fn sorted_entries(dir: &Path) -> std::io::Result<Vec<fs::DirEntry>> {
    let mut entries = fs::read_dir(dir)?.collect::<std::io::Result<Vec<_>>>()?;
    entries.sort_by_key(|e| e.file_name());
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder under the system's temp dir, for one test.
    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("dscourse-intake-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn write(root: &Path, rel: &str) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, rel).unwrap();
    }

    fn rels(tree: &Tree) -> Vec<&str> {
        tree.files.iter().map(|f| f.rel.as_str()).collect()
    }

    #[test]
    fn lists_files_shallowest_first_and_skips_build_folders() {
        let root = scratch("order");
        for rel in [
            "b/x.rs",
            "a/deep/y.rs",
            "z.rs",
            "target/debug/t.rs",
            "a/.git/HEAD",
        ] {
            write(&root, rel);
        }
        let tree = walk(&root, Limits::DEFAULT).unwrap();
        assert_eq!(rels(&tree), ["z.rs", "b/x.rs", "a/deep/y.rs"]);
        assert_eq!(
            tree.passed_over,
            [
                "target/: build output, not graded",
                "a/.git/: version control data, not graded"
            ]
        );
        fs::remove_dir_all(root).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn never_follows_a_link_even_in_a_loop() {
        let root = scratch("links");
        write(&root, "real/file.rs");
        std::os::unix::fs::symlink(&root, root.join("real/loop")).unwrap();
        std::os::unix::fs::symlink(root.join("real/file.rs"), root.join("link.rs")).unwrap();
        let tree = walk(&root, Limits::DEFAULT).unwrap();
        assert_eq!(rels(&tree), ["real/file.rs"]);
        assert_eq!(
            tree.refused,
            [
                "link.rs: a symbolic link: not followed",
                "real/loop: a symbolic link: not followed"
            ]
        );
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn stops_at_its_bounds_and_says_so() {
        let root = scratch("bounds");
        let deep = (1..=14).map(|i| format!("d{i}")).collect::<Vec<_>>();
        write(&root, &format!("{}/x.rs", deep.join("/")));
        write(&root, "d1/d2/shallow.rs");
        let tree = walk(&root, Limits::DEFAULT).unwrap();
        assert_eq!(rels(&tree), ["d1/d2/shallow.rs"]);
        assert_eq!(tree.refused.len(), 1, "{:?}", tree.refused);
        assert!(
            tree.refused[0].starts_with(&format!(
                "{}/: more than 12 folders deep",
                deep[..12].join("/")
            )),
            "{:?}",
            tree.refused
        );

        for i in 0..10 {
            write(&root, &format!("many/{i}.rs"));
        }
        let small = Limits {
            depth: 12,
            entries: 5,
        };
        let tree = walk(&root, small).unwrap();
        assert!(tree.files.len() < 5, "{:?}", rels(&tree));
        assert_eq!(tree.refused.len(), 1, "{:?}", tree.refused);
        assert!(tree.refused[0].contains("more than 5 files and folders"));
        fs::remove_dir_all(root).unwrap();
    }
}
