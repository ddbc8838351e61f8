//! The power-cut test: the store on a simulated disk ([`dsim::Disk`]) whose
//! power goes out at an operation drawn from the seed, again and again.
//!
//! A killed process loses nothing it wrote (the operating system's cache
//! outlives it), so the kill test cannot tell a store that syncs from one
//! that does not. A power cut can: the disk keeps what was synced and, of
//! what was not, a prefix of the writes in the order they were made, the
//! first one left out possibly torn at a sector boundary; a file created
//! since its folder was last synced is gone. After each cut the store is
//! opened again on what is left, and every event it acknowledged must be
//! there, whole and in order. Unlike the kill test, one seed replays one
//! run exactly.

use super::log::{batch_for, show};
use super::{check_intact, INTACT, KEPT};
use crate::subject::events::store::{EventStore, ExpectedVersion, Folder, LogFile};
use dscheck::{ensure, Failure};
use dsim::{Disk, SimRng};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::rc::Rc;

/// The store's file on the simulated disk.
const LOG: &str = "events.log";
/// The streams the test appends to.
const STREAMS: [&str; 3] = ["acct-1", "cart-7", "order-42"];
/// Power cuts per run.
const ROUNDS: u64 = 8;
/// The most appends between two power cuts.
const APPENDS: u64 = 20;
/// The most disk operations the power lasts after a store is opened.
const POWER: u64 = 60;

/// What a broken disk gets wrong, for the meta tests: a sync that returns
/// without reaching the disk is a store that never syncs.
#[derive(Clone, Copy, Debug, Default)]
pub struct Lies {
    /// `sync_data` on the file does nothing.
    pub file_sync: bool,
    /// `sync` on the folder does nothing.
    pub folder_sync: bool,
}

/// The disk, and how many more operations that change it the power lasts.
struct Machine {
    disk: Disk,
    power: u64,
    lies: Lies,
}

impl Machine {
    /// Fails once the power is out.
    fn powered(&self) -> io::Result<()> {
        if self.power == 0 {
            return Err(io::Error::other("the power is out"));
        }
        Ok(())
    }

    /// Uses up one operation that changes the disk.
    fn spend(&mut self) -> io::Result<()> {
        self.powered()?;
        self.power -= 1;
        Ok(())
    }
}

type Shared = Rc<RefCell<Machine>>;

/// The store's folder on the simulated disk.
struct SimFolder(Shared);

/// A file of the simulated disk, opened to read from the start and append.
struct SimFile {
    machine: Shared,
    name: String,
    read_at: usize,
}

fn lost(e: dsim::DiskError) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, e.to_string())
}

impl Folder for SimFolder {
    type File = SimFile;
    fn exists(&self, name: &str) -> bool {
        self.0.borrow().disk.exists(name)
    }
    fn open(&mut self, name: &str) -> io::Result<SimFile> {
        let mut machine = self.0.borrow_mut();
        if !machine.disk.exists(name) {
            machine.spend()?;
            machine.disk.create(name);
        }
        Ok(SimFile {
            machine: self.0.clone(),
            name: name.to_string(),
            read_at: 0,
        })
    }
    fn sync(&mut self) -> io::Result<()> {
        let mut machine = self.0.borrow_mut();
        machine.spend()?;
        if !machine.lies.folder_sync {
            machine.disk.sync_dir();
        }
        Ok(())
    }
}

impl io::Read for SimFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let machine = self.machine.borrow();
        machine.powered()?;
        let data = machine.disk.read(&self.name).map_err(lost)?;
        let rest = &data[self.read_at.min(data.len())..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.read_at += n;
        Ok(n)
    }
}

impl io::Write for SimFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut machine = self.machine.borrow_mut();
        machine.spend()?;
        machine.disk.append(&self.name, buf).map_err(lost)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.machine.borrow().powered()
    }
}

impl LogFile for SimFile {
    fn sync_data(&mut self) -> io::Result<()> {
        let mut machine = self.machine.borrow_mut();
        machine.spend()?;
        if !machine.lies.file_sync {
            machine.disk.sync(&self.name).map_err(lost)?;
        }
        Ok(())
    }
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        let mut machine = self.machine.borrow_mut();
        machine.spend()?;
        machine.disk.truncate(&self.name, len).map_err(lost)
    }
    fn size(&self) -> io::Result<u64> {
        let machine = self.machine.borrow();
        machine.powered()?;
        machine.disk.len(&self.name).map_err(lost)
    }
}

/// The power-cut test on the subject's store.
pub fn power_cuts(seed: u64) -> Result<(), Failure> {
    power_cuts_on(seed, Lies::default())
}

/// `ROUNDS` times: open the store on what the disk kept, check it, append
/// until the power goes out at an operation drawn from `seed`, cut the
/// power. A last open checks what the last cut left.
pub fn power_cuts_on(seed: u64, lies: Lies) -> Result<(), Failure> {
    let mut rng = SimRng::new(seed);
    let machine = Rc::new(RefCell::new(Machine {
        disk: Disk::default(),
        power: 0,
        lies,
    }));
    let mut run = Run::default();
    for round in 1..=ROUNDS + 1 {
        let last = round > ROUNDS;
        machine.borrow_mut().power = if last { u64::MAX } else { rng.range(1..=POWER) };
        run.note(format!(
            "power on; it lasts {} operations",
            machine.borrow().power
        ));
        match EventStore::open_in(&mut SimFolder(machine.clone()), LOG) {
            Ok(mut store) => {
                run.recovered(&store)?;
                if !last {
                    run.append_until_out(&mut store, &mut rng, &machine)?;
                }
            }
            Err(e) if machine.borrow().power == 0 => run.note(format!("open failed: {e}")),
            Err(e) => {
                let failure = Failure::new(KEPT, format!("open failed with the power on: {e}"));
                return Err(run.story(failure));
            }
        }
        if !last {
            let loss = machine.borrow_mut().disk.power_cut(&mut rng);
            run.note(format!("power cut: {loss}"));
        }
    }
    Ok(())
}

/// What one run has done so far.
#[derive(Default)]
struct Run {
    /// Each stream's version as of the last acknowledgement (or recovery).
    acked: BTreeMap<String, u64>,
    /// The append the last power cut interrupted: its stream and the
    /// version it would have reached.
    in_flight: Option<(String, u64)>,
    /// What happened, for a failure's report.
    journal: Vec<String>,
}

impl Run {
    fn note(&mut self, what: String) {
        self.journal.push(what);
    }

    /// The journal's last lines, the failure's trace.
    fn story(&self, failure: Failure) -> Failure {
        let from = self.journal.len().saturating_sub(12);
        failure.with_trace(self.journal[from..].to_vec())
    }

    /// A store just opened holds every acknowledged event and, beyond
    /// them, at most a prefix of the interrupted append; each whole.
    fn recovered<F: LogFile>(&mut self, store: &EventStore<F>) -> Result<(), Failure> {
        let events = store.read_all(0);
        self.note(format!("opened: {} events recovered", events.len()));
        check_intact(events, "after a power cut and a reopen").map_err(|f| self.story(f))?;
        for (stream, &acked) in &self.acked {
            let version = store.version(stream);
            ensure(version >= acked, KEPT, || {
                format!("{stream} was acknowledged up to version {acked}, and after the power cut the store has it only up to version {version}")
            })
            .map_err(|f| self.story(f))?;
        }
        for e in events {
            let stream = e.event.stream.as_str();
            let acked = self.acked.get(stream).copied().unwrap_or(0);
            let in_flight = match &self.in_flight {
                Some((s, end)) if s == stream => *end,
                _ => 0,
            };
            if e.event.version > acked.max(in_flight) {
                let detail = format!(
                    "after the power cut the store holds {}, which was never appended",
                    show(e)
                );
                return Err(self.story(Failure::new(INTACT, detail)));
            }
        }
        self.acked = STREAMS
            .iter()
            .map(|s| (s.to_string(), store.version(s)))
            .collect();
        self.in_flight = None;
        Ok(())
    }

    /// Appends batches until the power goes out (or `APPENDS` are done).
    fn append_until_out<F: LogFile>(
        &mut self,
        store: &mut EventStore<F>,
        rng: &mut SimRng,
        machine: &Shared,
    ) -> Result<(), Failure> {
        for _ in 0..APPENDS {
            let stream = STREAMS[rng.below(STREAMS.len() as u64) as usize];
            let version = store.version(stream);
            let count = rng.range(1..=8);
            let batch = batch_for(stream, version, count);
            match store.append(stream, ExpectedVersion::Exact(version), &batch) {
                Ok(_) => {
                    self.acked.insert(stream.to_string(), version + count);
                    self.note(format!("acknowledged {stream} up to v{}", version + count));
                }
                Err(e) if machine.borrow().power > 0 => {
                    let detail = format!("an append to {stream} of {count} events at version {version} failed with the power on: {e}");
                    return Err(self.story(Failure::new(KEPT, detail)));
                }
                Err(e) => {
                    self.in_flight = Some((stream.to_string(), version + count));
                    self.note(format!("append to {stream} of {count} failed: {e}"));
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}
