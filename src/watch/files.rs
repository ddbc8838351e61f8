//! Watching the learner's files: which file system events are saves of an
//! exercise file, and the watcher (events, or polling) that reports them.
//!
//! Editors save in different ways, and every one of them must count:
//! - in place (truncate and write): a data change, then close-after-write;
//! - a temporary file renamed over the original (VS Code, JetBrains "safe
//!   write", our own `reset`): the rename *to* the exercise's name;
//! - vim's default: the original renamed to `file.rs~`, a new `file.rs`
//!   written, after probing the folder with a `4913` file and keeping a
//!   `.file.rs.swp` swap file.
//!
//! Only `.rs` files under `exercises/` count, never editor droppings (backup,
//! swap, lock and temporary files) and never build output. Reads do not count
//! (cargo opens every source file when it builds, which would otherwise
//! trigger a check after each check).

use crate::invocation::command;
use anyhow::{Context, Result};
use notify::event::{AccessKind, AccessMode, MetadataKind, ModifyKind, RenameMode};
use notify::{EventKind, RecursiveMode, Watcher};
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc::Sender;
use std::time::Duration;

/// How often `--poll` looks at the files.
pub const POLL_INTERVAL: Duration = Duration::from_millis(300);

/// What the watcher reports to the event loop.
pub enum Change {
    /// An exercise file was written, created, renamed into place or
    /// removed: its path inside `exercises/` (which exercise it is decides
    /// which one is checked), and what the event says of the save.
    Saved(PathBuf, Step),
    /// The watcher itself failed (e.g. the system's limit on watches).
    Failed(String),
}

/// What one event says of a save.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Part of a save, more may follow (a write, a creation, a removal):
    /// the check waits for the files to be quiet.
    Partial,
    /// The save is complete: a writer closed the file (inotify's
    /// close-after-write), or a whole file was renamed into place. The
    /// check can start at once.
    Complete,
    /// Only the file's attributes changed (inotify cannot tell a new
    /// modification time from new permissions): a save if alone (`touch`),
    /// nothing new right after a complete save of the same file (vim sets
    /// the permissions of the file it wrote after closing it).
    Attributes,
}

/// What an event of kind `kind` says of the save of its path number
/// `index` (`is_save` is true of it).
pub fn step(kind: &EventKind, index: usize) -> Step {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => Step::Complete,
        EventKind::Modify(ModifyKind::Name(RenameMode::To)) => Step::Complete,
        // Both paths of a rename: the second is the one written to.
        EventKind::Modify(ModifyKind::Name(RenameMode::Both)) if index == 1 => Step::Complete,
        EventKind::Modify(ModifyKind::Metadata(_)) => Step::Attributes,
        _ => Step::Partial,
    }
}

/// Keeps the watcher alive; dropping it stops watching.
pub struct FileWatcher {
    _watcher: Box<dyn Watcher + Send>,
    /// How changes are noticed, for the status line.
    pub how: &'static str,
}

/// Starts watching `exercises/` under `root`, recursively, sending every save
/// of an exercise file to `send` (wrapped by `wrap` into the loop's event type).
pub fn watch<E: Send + 'static>(
    root: &Path,
    poll: bool,
    send: Sender<E>,
    wrap: fn(Change) -> E,
) -> Result<FileWatcher> {
    let dir = root.join("exercises");
    // Events carry absolute paths; compare against the canonical folder so
    // that a kit reached through a symbolic link still matches.
    let base = dir.canonicalize().unwrap_or_else(|_| dir.clone());
    let handler = move |result: notify::Result<notify::Event>| match result {
        Ok(event) => {
            if !is_save(&event.kind) {
                return;
            }
            for (index, path) in event.paths.iter().enumerate() {
                let inside = [&base, &dir]
                    .into_iter()
                    .find(|folder| is_exercise_file(folder, path))
                    .and_then(|folder| path.strip_prefix(folder).ok());
                if let Some(file) = inside {
                    let step = step(&event.kind, index);
                    let _ = send.send(wrap(Change::Saved(file.to_path_buf(), step)));
                }
            }
        }
        Err(error) => {
            let _ = send.send(wrap(Change::Failed(error.to_string())));
        }
    };
    let (mut watcher, how): (Box<dyn Watcher + Send>, &'static str) = if poll {
        let config = notify::Config::default()
            .with_poll_interval(POLL_INTERVAL)
            .with_compare_contents(true);
        (
            Box::new(notify::PollWatcher::new(handler, config)?),
            "polling",
        )
    } else {
        (
            Box::new(notify::recommended_watcher(handler).with_context(|| {
                format!(
                    "cannot watch for file changes (try `{}`)",
                    command("watch --poll")
                )
            })?),
            "events",
        )
    };
    let exercises = root.join("exercises");
    watcher.watch(&exercises, RecursiveMode::Recursive).with_context(|| {
        format!(
            "cannot watch {} for changes; if the system's limit on watched files is reached, try `{}`",
            exercises.display(),
            command("watch --poll")
        )
    })?;
    Ok(FileWatcher {
        _watcher: watcher,
        how,
    })
}

/// Whether an event can mean new content: writes, creations, renames,
/// removals; not opening or reading a file, nor an access-time update.
pub fn is_save(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) | EventKind::Any => true,
        EventKind::Modify(ModifyKind::Metadata(meta)) => {
            matches!(meta, MetadataKind::WriteTime | MetadataKind::Any)
        }
        EventKind::Modify(_) => true,
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) | EventKind::Other => false,
    }
}

/// Whether `path` is one of the learner's exercise files: a `.rs` file under
/// `exercises` (the folder), not hidden, not in a build or state folder.
pub fn is_exercise_file(exercises: &Path, path: &Path) -> bool {
    let Ok(relative) = path.strip_prefix(exercises) else {
        return false;
    };
    let mut parts = relative.components().peekable();
    while let Some(part) = parts.next() {
        let Component::Normal(name) = part else {
            return false;
        };
        let Some(name) = name.to_str() else {
            return false;
        };
        // Hidden files and folders: swap files (.x.rs.swp), emacs locks
        // (.#x.rs), .dscourse/, .git/ and temporary files of atomic writes.
        if name.starts_with('.') || name.starts_with('#') {
            return false;
        }
        if parts.peek().is_some() {
            if name == "target" {
                return false;
            }
        } else {
            return name.ends_with(".rs") && name.len() > 3;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, DataChange, RemoveKind};

    #[test]
    fn exercise_files_only() {
        let ex = Path::new("/kit/exercises");
        let yes = ["00_intro/pingpong.rs", "lib.rs", "05_raft/raft/log.rs"];
        for p in yes {
            assert!(is_exercise_file(ex, &ex.join(p)), "{p}");
        }
        let no = [
            "00_intro/pingpong.rs~",
            "00_intro/.pingpong.rs.swp",
            "00_intro/.pingpong.rs.swx",
            "00_intro/4913",
            "00_intro/pingpong.rs___jb_tmp___",
            "00_intro/pingpong.rs___jb_old___",
            "00_intro/.#pingpong.rs",
            "00_intro/#pingpong.rs#",
            "00_intro/.pingpong.rs.tmp1234",
            "00_intro/README.md",
            "target/debug/build/x.rs",
            ".dscourse/backups/pingpong-1.rs",
            "00_intro",
            ".rs",
        ];
        for p in no {
            assert!(!is_exercise_file(ex, &ex.join(p)), "{p}");
        }
        assert!(!is_exercise_file(
            ex,
            Path::new("/kit/solutions/00_intro/pingpong.rs")
        ));
        assert!(!is_exercise_file(
            ex,
            Path::new("/kit/exercises/../src/main.rs")
        ));
    }

    #[test]
    fn saves_but_not_reads() {
        assert!(is_save(&EventKind::Modify(ModifyKind::Data(
            DataChange::Content
        ))));
        assert!(is_save(&EventKind::Modify(ModifyKind::Name(
            RenameMode::To
        ))));
        assert!(is_save(&EventKind::Modify(ModifyKind::Name(
            RenameMode::Both
        ))));
        assert!(is_save(&EventKind::Create(CreateKind::File)));
        assert!(is_save(&EventKind::Remove(RemoveKind::File)));
        assert!(is_save(&EventKind::Access(AccessKind::Close(
            AccessMode::Write
        ))));
        assert!(is_save(&EventKind::Modify(ModifyKind::Metadata(
            MetadataKind::WriteTime
        ))));
        assert!(!is_save(&EventKind::Access(AccessKind::Open(
            AccessMode::Any
        ))));
        assert!(!is_save(&EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
        assert!(!is_save(&EventKind::Modify(ModifyKind::Metadata(
            MetadataKind::AccessTime
        ))));
        assert!(!is_save(&EventKind::Other));
    }

    #[test]
    fn a_close_after_write_or_a_rename_into_place_completes_a_save() {
        let close = EventKind::Access(AccessKind::Close(AccessMode::Write));
        assert_eq!(step(&close, 0), Step::Complete);
        let to = EventKind::Modify(ModifyKind::Name(RenameMode::To));
        assert_eq!(step(&to, 0), Step::Complete);
        // vim renames the file to its backup: the file is going, not written.
        let both = EventKind::Modify(ModifyKind::Name(RenameMode::Both));
        assert_eq!(step(&both, 0), Step::Partial);
        assert_eq!(step(&both, 1), Step::Complete);
        let from = EventKind::Modify(ModifyKind::Name(RenameMode::From));
        assert_eq!(step(&from, 0), Step::Partial);
        let data = EventKind::Modify(ModifyKind::Data(DataChange::Content));
        assert_eq!(step(&data, 0), Step::Partial);
        assert_eq!(step(&EventKind::Create(CreateKind::File), 0), Step::Partial);
        assert_eq!(step(&EventKind::Remove(RemoveKind::File), 0), Step::Partial);
        let attributes = EventKind::Modify(ModifyKind::Metadata(MetadataKind::Any));
        assert_eq!(step(&attributes, 0), Step::Attributes);
    }
}
