//! The result channel of one suite run, from the runner's side.
//!
//! On Unix it is one end of a socket pair, opened before the suite starts
//! and handed to it by descriptor number (`dscheck::protocol`): a socket
//! cannot be opened again by path, so code in the suite process can reach
//! it only through the descriptor, which the harness takes before any test
//! runs. The runner reads its end on a thread while the suite runs, up to
//! [`MAX_BYTES`]. Elsewhere it is a file with an unguessable name.

use anyhow::{Context, Result};
use std::path::Path;
use std::process::Command;

/// The most a run may send (a replayed seed carries its whole run).
const MAX_BYTES: u64 = 256 << 20;

pub struct ResultChannel {
    #[cfg(unix)]
    theirs: Option<std::os::unix::net::UnixStream>,
    #[cfg(unix)]
    reader: Option<std::thread::JoinHandle<Vec<u8>>>,
    #[cfg(not(unix))]
    file: std::path::PathBuf,
}

impl ResultChannel {
    /// Opens a channel and hands it to `cmd`. `dir` and `stem` name the
    /// file where a descriptor cannot be handed over.
    pub fn attach(cmd: &mut Command, dir: &Path, stem: &str) -> Result<ResultChannel> {
        #[cfg(unix)]
        {
            let _ = (dir, stem);
            attach_socket(cmd)
        }
        #[cfg(not(unix))]
        {
            let file = dir.join(format!("{stem}.jsonl"));
            let _ = std::fs::remove_file(&file);
            cmd.env(dscheck::protocol::RESULTS_VAR, &file);
            Ok(ResultChannel { file })
        }
    }

    /// Everything the suite sent, once the run (and everything it started)
    /// has ended.
    pub fn finish(mut self) -> String {
        #[cfg(unix)]
        {
            // Our copy of the suite's end: once it is closed, the reader
            // sees the end of the stream.
            drop(self.theirs.take());
            let bytes = self
                .reader
                .take()
                .and_then(|reader| reader.join().ok())
                .unwrap_or_default();
            String::from_utf8_lossy(&bytes).into_owned()
        }
        #[cfg(not(unix))]
        {
            let text = std::fs::read_to_string(&self.file).unwrap_or_default();
            let _ = std::fs::remove_file(&self.file);
            text
        }
    }
}

#[cfg(unix)]
fn attach_socket(cmd: &mut Command) -> Result<ResultChannel> {
    use std::io::Read;
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    // Both ends are closed on exec: no other child (a suite of another
    // slot, started at the same moment) inherits them.
    let (ours, theirs) =
        std::os::unix::net::UnixStream::pair().context("cannot open a result channel")?;
    let fd = theirs.as_raw_fd();
    cmd.env(dscheck::protocol::RESULTS_FD_VAR, fd.to_string());
    // SAFETY: the closure runs between fork and exec and only clears the
    // close-on-exec flag of the suite's end, with fcntl.
    unsafe {
        cmd.pre_exec(move || {
            if libc::fcntl(fd, libc::F_SETFD, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let reader = std::thread::Builder::new()
        .name("results".to_string())
        .spawn(move || {
            let mut bytes = Vec::new();
            let mut ours = ours;
            let _ = (&mut ours).take(MAX_BYTES).read_to_end(&mut bytes);
            // Past the limit, drain without keeping, so the suite never
            // blocks on a full channel.
            let _ = std::io::copy(&mut ours, &mut std::io::sink());
            bytes
        })
        .context("cannot start the result channel's reader")?;
    Ok(ResultChannel {
        theirs: Some(theirs),
        reader: Some(reader),
    })
}
