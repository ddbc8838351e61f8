//! The modification times a kit copy's files get, so that cargo reuses a
//! build made in an earlier copy exactly when it was made from the same
//! files.
//!
//! Every copy builds in one shared target folder at the same paths inside
//! the workspace, and cargo decides that a unit is up to date when none of
//! its source files is newer than its last build. So a copy must never show
//! a file older than a build that was made from *other* contents of that
//! file (else cargo would take the other contents' build), and should show
//! it older than the builds made from *these* contents (else cargo rebuilds
//! what it already has: a few seconds per suite and a copy).
//!
//! A record in the shared target folder keeps, for every file of the last
//! copy as it was when that copy was dropped, a hash of its contents and
//! its modification time then. A new copy's file gets the recorded time
//! when its contents have the recorded hash, and the present time
//! otherwise. This is safe because of what holds for every recorded
//! `(hash, time)`: every build made after `time` was made from contents
//! with that hash. It holds for the file of a copy that never changed it
//! (by induction: all its builds saw those contents); and for a file a
//! test wrote, `time` is its last write, after which every build saw the
//! final contents. Copies are used one at a time, so no other copy builds
//! in between.
//!
//! A copy that was never dropped (its process was killed) leaves a marker;
//! the next copy then trusts no record and gives every file the present
//! time. A file without a record keeps its time in the repository, except
//! in the learner's and the reference crates, which tests edit most.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Crates whose files, without a record, get the present time.
const EDITED_MOST: [&str; 2] = ["exercises", "solutions"];

/// What the last dropped copy held, and how far to trust it.
pub struct Times {
    record: PathBuf,
    marker: PathBuf,
    trust: Trust,
}

enum Trust {
    /// The last copy was dropped: kit-relative path → (hash, time).
    Record(BTreeMap<String, (String, Duration)>),
    /// No copy was made yet: builds so far are the repository's own files'.
    FirstCopy,
    /// A copy was never dropped: nothing it built is known.
    Nothing,
}

impl Times {
    /// The record in `shared` (the shared target folder). Marks it in use
    /// until [`Times::save`].
    pub fn take(shared: &Path) -> io::Result<Times> {
        let record = shared.join("kit-times.tsv");
        let marker = shared.join("kit-times.in-use");
        let trust = if marker.exists() {
            Trust::Nothing
        } else if record.exists() {
            read_record(&record).map_or(Trust::Nothing, Trust::Record)
        } else {
            Trust::FirstCopy
        };
        fs::write(&marker, "a copy of the kit is in use\n")?;
        Ok(Times {
            record,
            marker,
            trust,
        })
    }

    /// Gives each file of the new copy at `root` its time (see the module
    /// comment), then each folder the newest time inside it, or the present
    /// time when a file the last copy had is gone from it.
    pub fn apply(&self, root: &Path) -> io::Result<()> {
        let now = SystemTime::now();
        let files = files_of(root)?;
        for (rel, path) in &files {
            let time = match &self.trust {
                Trust::Record(record) => match record.get(rel) {
                    Some((hash, time)) if *hash == hash_of(path)? => UNIX_EPOCH + *time,
                    _ => now,
                },
                Trust::FirstCopy
                    if EDITED_MOST
                        .iter()
                        .any(|c| rel.starts_with(&format!("{c}/"))) =>
                {
                    now
                }
                Trust::FirstCopy => continue,
                Trust::Nothing => now,
            };
            set_time(path, time)?;
        }
        let mut gone = Vec::new();
        if let Trust::Record(record) = &self.trust {
            let present: std::collections::BTreeSet<&str> =
                files.iter().map(|(rel, _)| rel.as_str()).collect();
            gone.extend(record.keys().filter(|rel| !present.contains(rel.as_str())));
        }
        folder_times(root, root, &gone, now).map(|_| ())
    }
    /// Records the copy at `root` as it is now and clears the marker.
    pub fn save(self, root: &Path) -> io::Result<()> {
        let mut text = String::new();
        for (rel, path) in files_of(root)? {
            let time = fs::metadata(&path)?
                .modified()?
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            text.push_str(&format!(
                "{}\t{}\t{}\n",
                hash_of(&path)?,
                time.as_nanos(),
                rel
            ));
        }
        let partial = self.record.with_extension("tsv.partial");
        fs::write(&partial, text)?;
        fs::rename(&partial, &self.record)?;
        fs::remove_file(&self.marker)
    }
}

/// The record's lines, or `None` when it cannot be read whole.
fn read_record(record: &Path) -> Option<BTreeMap<String, (String, Duration)>> {
    let text = fs::read_to_string(record).ok()?;
    let mut files = BTreeMap::new();
    for line in text.lines() {
        let mut parts = line.splitn(3, '\t');
        let (hash, nanos, rel) = (parts.next()?, parts.next()?, parts.next()?);
        let nanos = nanos.parse::<u64>().ok()?;
        files.insert(
            rel.to_string(),
            (hash.to_string(), Duration::from_nanos(nanos)),
        );
    }
    Some(files)
}

fn set_time(path: &Path, time: SystemTime) -> io::Result<()> {
    fs::File::options()
        .write(true)
        .open(path)?
        .set_modified(time)
}

/// Sets the time of `folder` and every folder under it (innermost first) to
/// the newest time inside it, or to `now` when a path in `gone` was inside
/// it; returns the time given to `folder`.
fn folder_times(
    root: &Path,
    folder: &Path,
    gone: &[&String],
    now: SystemTime,
) -> io::Result<SystemTime> {
    let mut newest = UNIX_EPOCH;
    for entry in fs::read_dir(folder)? {
        let entry = entry?;
        let time = if entry.file_type()?.is_dir() {
            folder_times(root, &entry.path(), gone, now)?
        } else {
            entry.metadata()?.modified()?
        };
        newest = newest.max(time);
    }
    let rel = folder
        .strip_prefix(root)
        .expect("under root")
        .to_string_lossy()
        .replace('\\', "/");
    let lost = gone
        .iter()
        .any(|g| rel.is_empty() || g.starts_with(&format!("{rel}/")));
    let time = if lost { now } else { newest };
    fs::File::open(folder)?.set_modified(time)?;
    Ok(time)
}

/// Every file under `root`, by its path relative to `root` (with `/`).
fn files_of(root: &Path) -> io::Result<Vec<(String, PathBuf)>> {
    let mut found = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in fs::read_dir(&folder)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                folders.push(entry.path());
            } else if kind.is_file() {
                let path = entry.path();
                let rel = path
                    .strip_prefix(root)
                    .expect("found under root")
                    .to_string_lossy()
                    .replace('\\', "/");
                found.push((rel, path));
            }
        }
    }
    Ok(found)
}

fn hash_of(path: &Path) -> io::Result<String> {
    let digest = Sha256::digest(fs::read(path)?);
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}
