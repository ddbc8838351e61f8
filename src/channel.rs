//! The result channel of one suite run, from the runner's side.
//!
//! On Unix it is one end of a socket pair, opened before the suite starts
//! and handed to it by descriptor number (`dscheck::protocol`): a socket
//! cannot be opened again by path, so code in the suite process can reach
//! it only through the descriptor, which the harness takes before any test
//! runs. The runner reads its end on a thread while the suite runs, up to
//! [`MAX_BYTES`]. Elsewhere it is a file with an unguessable name.

use anyhow::{Context, Result};
use dscheck::protocol::Record;
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

/// The records a trusted parent takes from a run: with a listing of the
/// tests it was asked to run (as the suite listed them before any learner
/// code ran), only those tests, each started once and finished once after
/// its start; without one (the learner's own checks), every record.
pub fn accept(records: Vec<Record>, listing: Option<&[String]>) -> Vec<Record> {
    let Some(listing) = listing else {
        return records;
    };
    let mut started = std::collections::BTreeSet::new();
    let mut finished = std::collections::BTreeSet::new();
    records
        .into_iter()
        .filter(|record| match record {
            Record::Start { test } => listing.contains(test) && started.insert(test.clone()),
            Record::Result(result) => {
                started.contains(&result.test) && finished.insert(result.test.clone())
            }
            Record::Done { .. } => true,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use dscheck::protocol::TestResult;

    fn start(test: &str) -> Record {
        Record::Start {
            test: test.to_string(),
        }
    }

    fn passed(test: &str) -> Record {
        Record::Result(Box::new(TestResult {
            test: test.to_string(),
            position: 0,
            hidden: false,
            passed: true,
            seeds: 1,
            duration_ms: 1,
            failure: None,
            dump: None,
            metrics: Vec::new(),
        }))
    }

    fn names(records: &[Record]) -> Vec<String> {
        records
            .iter()
            .map(|r| match r {
                Record::Start { test } => format!("start {test}"),
                Record::Result(result) => format!("result {}", result.test),
                Record::Done { .. } => "done".to_string(),
            })
            .collect()
    }

    #[test]
    fn a_listing_admits_only_its_tests_each_once_after_its_start() {
        let listing = vec!["g::a".to_string(), "g::b".to_string()];
        let sent = vec![
            passed("g::a"), // a result before its start: forged
            start("g::a"),
            passed("g::a"),
            passed("g::a"), // a second result
            start("g::invented"),
            passed("g::invented"),
            start("g::b"),
            start("g::b"),
            Record::Done {
                passed: 9,
                failed: 0,
            },
        ];
        assert_eq!(
            names(&accept(sent, Some(&listing))),
            ["start g::a", "result g::a", "start g::b", "done"]
        );
    }

    #[test]
    fn without_a_listing_every_record_is_taken() {
        let sent = vec![passed("g::a"), start("g::a"), passed("g::a")];
        assert_eq!(accept(sent, None).len(), 3);
    }
}
