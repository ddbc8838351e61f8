//! Making a private copy of the kit, and the lock by which copies are used
//! one at a time (see the module comment of `common`).

use std::fs;
use std::io;
use std::path::Path;

/// Folders of the kit's root that a copy leaves out.
const SKIPPED: [&str; 3] = ["target", ".git", ".dscourse"];

/// Copies the kit at `from` to `to`, each file with its time there (`times` then gives each its own).
pub fn copy_kit(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if SKIPPED.contains(&name.as_ref()) {
            continue;
        }
        copy_tree(&entry.path(), &to.join(entry.file_name()))?;
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    let meta = fs::metadata(from)?;
    if meta.is_dir() {
        fs::create_dir_all(to)?;
        for entry in fs::read_dir(from)? {
            let entry = entry?;
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
    } else if meta.is_file() {
        fs::copy(from, to)?;
        fs::File::options()
            .write(true)
            .open(to)?
            .set_modified(meta.modified()?)?;
    }
    Ok(())
}

/// The turn of this process among all processes that copy the kit: an
/// exclusive lock on a file in the shared target folder, held until dropped
/// (see the module comment of `common`).
pub struct CopiesLock {
    _file: fs::File,
}

impl CopiesLock {
    /// Waits for the lock.
    pub fn take(dir: &Path) -> CopiesLock {
        fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        let path = dir.join("kit-copies.lock");
        let file = fs::File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
        lock_exclusive(&file).unwrap_or_else(|e| panic!("cannot lock {}: {e}", path.display()));
        CopiesLock { _file: file }
    }
}

/// Blocks until this process holds an exclusive lock on `file`; closing the
/// file releases it.
#[cfg(unix)]
fn lock_exclusive(file: &fs::File) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    loop {
        // SAFETY: flock only reads the descriptor, which `file` keeps open.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
            return Ok(());
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

/// Elsewhere, only the tests of one binary take turns (see the module comment).
#[cfg(not(unix))]
fn lock_exclusive(_file: &fs::File) -> io::Result<()> {
    Ok(())
}
