//! # mapreduce_coordinator: a coordinator that re-executes, workers that commit by rename
//!
//! A job runs over more input than one machine should read: the input is
//! cut into `M` splits, and the user's `map` turns each split into
//! key/value pairs, which are shuffled by key into `R` partitions
//! ([`partition`]: a hash of the key mod `R`); the user's `reduce` turns
//! all the values of one key into its result. Node [`COORDINATOR`] hands
//! out the tasks, node [`STORE`] is the file store every node shares (as
//! GFS is in the paper), and every other node is a worker. The rules:
//!
//! 1. **Ask.** An idle worker asks the coordinator for a task
//!    (`Ask { finished }`, naming the task it has just finished, if any),
//!    and asks again every [`RETRY`] until it gets one.
//! 2. **Hand out.** The coordinator keeps each task idle, in progress (with
//!    its worker and when it was handed out) or done. A worker that asks
//!    while it holds a task (its Ask was repeated, or it restarted) is sent
//!    that task again. Otherwise it gets an idle task, or one in progress
//!    for [`TASK_TIMEOUT`] or more: that worker has crashed, is cut off, or
//!    is slow, and the task is simply run again (re-execution, not
//!    checkpointing). No reduce task is handed out before every map task is
//!    done: a reduce needs every map's output for its partition.
//! 3. **Work.** A map task reads its split, a reduce task reads
//!    `mr-<m>-<r>` of every map `m`; computing takes time (a timer of
//!    [`work_time`] of what was read); then each output is written in
//!    chunks of at most [`CHUNK`] bytes to a temporary name of its own and
//!    renamed into place. Only then is the task reported done.
//! 4. **Commit by rename.** A rename is atomic, so a final name only ever
//!    holds a whole output: a worker that crashes halfway leaves only a
//!    temporary file nobody reads. The store refuses a rename over a name
//!    that exists (the first finished copy of a task's output wins; a
//!    later copy is dropped): since `map` and `reduce` are deterministic
//!    the copies are equal, and a final name is created exactly once.
//!
//! Workers may crash and restart at any point; the network loses,
//! duplicates and delays messages, and a worker resends its one
//! outstanding request every [`RETRY`] until it is answered (every request
//! is idempotent). The coordinator and the store are assumed not to crash,
//! as in the paper (a single master; GFS replicates its files).
//!
//! Read `exercises/18_mapreduce/README.md` first. Then fill in the handlers
//! below: each `todo!()` is one step of the protocol.

use dsim::{Ctx, Node, NodeId, Time};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// The node that hands out tasks.
pub const COORDINATOR: NodeId = NodeId(0);
/// The node that keeps the files.
pub const STORE: NodeId = NodeId(1);
/// How long a task may stay in progress before it is handed out again.
pub const TASK_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a worker waits for an answer before sending its request again.
pub const RETRY: Duration = Duration::from_millis(25);
/// The most bytes one `Write` carries.
pub const CHUNK: usize = 128;
/// Computing takes this long per task…
pub const WORK_BASE: Duration = Duration::from_millis(2);
/// …plus this long per byte read.
pub const WORK_PER_BYTE: Duration = Duration::from_micros(200);

/// The job's user code: two classic MapReduce programs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum App {
    /// How often each word occurs.
    WordCount,
    /// In which inputs each word occurs.
    InvertedIndex,
}

/// The words of `text`: runs of ASCII letters, lowercased.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_lowercase())
}

impl App {
    /// The user's map: input `name` with contents `text` to key/value pairs.
    pub fn map(self, name: &str, text: &str) -> Vec<(String, String)> {
        match self {
            App::WordCount => words(text).map(|w| (w, "1".to_string())).collect(),
            App::InvertedIndex => words(text).map(|w| (w, name.to_string())).collect(),
        }
    }

    /// The user's reduce: every value of `key` to its result.
    pub fn reduce(self, _key: &str, values: &[String]) -> String {
        match self {
            App::WordCount => {
                let total: u64 = values.iter().filter_map(|v| v.parse::<u64>().ok()).sum();
                total.to_string()
            }
            App::InvertedIndex => {
                let mut names: Vec<&str> = values.iter().map(String::as_str).collect();
                names.sort_unstable();
                names.dedup();
                names.join(",")
            }
        }
    }
}

/// The reduce partition of `key`: FNV-1a of its bytes, mod `reduces`.
pub fn partition(key: &str, reduces: usize) -> usize {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        hash ^= byte as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % reduces as u64) as usize
}

/// What the job computes, known to every node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub app: App,
    /// The splits' contents; split `m` is the file [`input_name`]`(m)`.
    pub inputs: Vec<String>,
    /// `R`, the number of reduce tasks and partitions.
    pub reduces: usize,
    /// Whether the coordinator hands out backup copies of the last tasks
    /// of a phase (`stragglers.rs`).
    pub backups: bool,
}

/// Split `m`'s file.
pub fn input_name(m: usize) -> String {
    format!("input-{m}")
}

/// Map `m`'s output for partition `r`.
pub fn intermediate_name(m: usize, r: usize) -> String {
    format!("mr-{m}-{r}")
}

/// Reduce `r`'s output: one line `key value` per key, sorted by key.
pub fn output_name(r: usize) -> String {
    format!("mr-out-{r}")
}

/// Pairs as an intermediate file's text: one `key\tvalue` line each.
pub fn encode_pairs(pairs: &[(String, String)]) -> String {
    pairs.iter().map(|(k, v)| format!("{k}\t{v}\n")).collect()
}

/// An intermediate file's pairs.
pub fn decode_pairs(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| line.split_once('\t'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `text` cut into the `Write`s that carry it: at least one, so that an
/// empty output is still created. (The texts are ASCII.)
pub fn chunks(text: &str) -> Vec<String> {
    if text.is_empty() {
        return vec![String::new()];
    }
    text.as_bytes()
        .chunks(CHUNK)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect()
}

/// How long computing over `bytes` bytes of input takes.
pub fn work_time(bytes: usize) -> Duration {
    WORK_BASE + WORK_PER_BYTE * bytes as u32
}

/// A task of the job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Task {
    Map(usize),
    Reduce(usize),
}

/// What nodes send each other.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    /// Worker to coordinator: give me a task (and `finished` is done).
    Ask { finished: Option<Task> },
    /// Coordinator to worker: run this task.
    Assign(Task),
    /// Worker to store: send me this file.
    Read { name: String },
    /// Store to worker: the file (`None`: there is no such file).
    Data {
        name: String,
        contents: Option<String>,
    },
    /// Worker to store: write `data` at byte `offset` of file `name`
    /// (created if missing; ignored if `offset` is past its end).
    Write {
        name: String,
        offset: usize,
        data: String,
    },
    /// Store to worker: the bytes of `name` up to `end` are written.
    Written { name: String, end: usize },
    /// Worker to store: rename `from` to `to`, unless `to` exists (then
    /// `from` is removed: the first output renamed into place wins).
    Rename { from: String, to: String },
    /// Store to worker: `to` exists now.
    Renamed { from: String, to: String },
}

/// The worker's timers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Timer {
    /// Send the outstanding request again.
    Retry,
    /// The computing of the current task is over.
    Computed,
}

/// Where a task stands, at the coordinator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskState {
    Idle,
    InProgress { worker: NodeId, since: Time },
    Done,
}

/// The coordinator's bookkeeping: one state per map and per reduce task.
#[derive(Clone, Debug, Default)]
pub struct Coordinator {
    pub maps: Vec<TaskState>,
    pub reduces: Vec<TaskState>,
    /// The tasks a backup copy was handed out for, and to whom
    /// (`stragglers.rs`).
    pub backed_up: BTreeMap<Task, NodeId>,
}

/// The shared file store (given: not the learner's).
#[derive(Clone, Debug, Default)]
pub struct Store {
    pub files: BTreeMap<String, String>,
    /// Every name a rename created, in order.
    pub placed: Vec<String>,
}

/// One output of a task on its way into place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// The temporary name it is written under.
    pub temp: String,
    /// The name it is renamed to.
    pub name: String,
    /// Its text, in `Write`s; `sent` of them are acknowledged.
    pub chunks: Vec<String>,
    pub sent: usize,
}

/// A worker's state: all volatile (a restarted worker starts afresh).
#[derive(Clone, Debug, Default)]
pub struct Worker {
    /// The task it runs, if any.
    pub task: Option<Task>,
    /// Files still to read, and the contents of those read, in order.
    pub to_read: VecDeque<String>,
    pub read: Vec<String>,
    /// Outputs still to put in place, the first one being written.
    pub to_write: VecDeque<Output>,
    /// The request awaiting its answer, resent every RETRY.
    pub outstanding: Option<(NodeId, Msg)>,
}

/// A node of the job: its role is its id (see [`COORDINATOR`], [`STORE`]);
/// it uses only its role's part.
#[derive(Debug)]
pub struct MapReduce {
    pub job: Job,
    pub coordinator: Coordinator,
    pub store: Store,
    pub worker: Worker,
}

impl MapReduce {
    /// Node `id` of a run of `job`. The store starts with the splits.
    pub fn new(id: NodeId, job: Job) -> Self {
        let mut store = Store::default();
        if id == STORE {
            for (m, text) in job.inputs.iter().enumerate() {
                store.files.insert(input_name(m), text.clone());
            }
        }
        MapReduce {
            coordinator: Coordinator {
                maps: vec![TaskState::Idle; job.inputs.len()],
                reduces: vec![TaskState::Idle; job.reduces],
                backed_up: BTreeMap::new(),
            },
            job,
            store,
            worker: Worker::default(),
        }
    }

    // ----- the coordinator ---------------------------------------------

    /// A worker asks: record what it finished; then send it the task it
    /// holds (a repeated Ask, or a worker restarted before its task timed
    /// out), or else a task that may run now (none: no answer, it asks
    /// again).
    fn on_ask(&mut self, ctx: &mut Ctx<Self>, worker: NodeId, finished: Option<Task>) {
        todo!("mark `finished` Done; if task_of(worker) is some task, send it that one again; else pick_task(now): set it InProgress (this worker, since now) and send it Assign")
    }

    /// The task `worker` runs, as far as the coordinator knows: one in
    /// progress with it, or a backup copy of one (`stragglers.rs`).
    pub fn task_of(&self, worker: NodeId) -> Option<Task> {
        self.primary_task_of(worker)
            .or_else(|| self.backup_of(worker))
    }

    /// The map or reduce task in progress with `worker`, if any.
    pub fn primary_task_of(&self, worker: NodeId) -> Option<Task> {
        todo!("the map, else the reduce, whose state is InProgress with this worker")
    }

    /// The next task to hand out at `now`: while a map is not done, an idle
    /// map or one in progress for TASK_TIMEOUT; then the same for reduces.
    pub fn pick_task(&self, now: Time) -> Option<Task> {
        todo!("the phase barrier: maps until every map is Done, then reduces; an Idle task, or one InProgress since TASK_TIMEOUT or longer")
    }

    /// The coordinator's record of `task`.
    pub fn task_state(&mut self, task: Task) -> &mut TaskState {
        match task {
            Task::Map(m) => &mut self.coordinator.maps[m],
            Task::Reduce(r) => &mut self.coordinator.reduces[r],
        }
    }

    // ----- the store (given) -------------------------------------------

    fn on_store_request(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        let files = &mut self.store.files;
        let reply = match msg {
            Msg::Read { name } => Msg::Data {
                contents: files.get(&name).cloned(),
                name,
            },
            Msg::Write { name, offset, data } => {
                // Bytes written over at `offset`, as `pwrite` does: a late
                // duplicate of an earlier chunk writes the same bytes again.
                let file = files.entry(name.clone()).or_default();
                if offset > file.len() {
                    return;
                }
                let end = offset + data.len();
                let tail = file.get(end..).unwrap_or_default().to_string();
                file.truncate(offset);
                file.push_str(&data);
                file.push_str(&tail);
                Msg::Written { name, end }
            }
            Msg::Rename { from: old, to } => {
                let contents = files.remove(&old);
                if let (Some(contents), false) = (contents, files.contains_key(&to)) {
                    files.insert(to.clone(), contents);
                    self.store.placed.push(to.clone());
                }
                Msg::Renamed { from: old, to }
            }
            _ => return,
        };
        ctx.send(from, reply);
    }

    // ----- a worker ------------------------------------------------------

    /// Sends `msg` to `to` as the one outstanding request, resent every
    /// RETRY until its answer comes.
    fn request(&mut self, ctx: &mut Ctx<Self>, to: NodeId, msg: Msg) {
        ctx.send(to, msg.clone());
        self.worker.outstanding = Some((to, msg));
        ctx.set_timer(Timer::Retry, RETRY);
    }

    /// Idle again: ask for a task, reporting `finished`.
    fn ask(&mut self, ctx: &mut Ctx<Self>, finished: Option<Task>) {
        self.worker.task = None;
        self.request(ctx, COORDINATOR, Msg::Ask { finished });
    }

    /// A task arrives for an idle worker: read its inputs. (One that
    /// arrives while the worker is busy, a duplicate or the answer to an
    /// earlier Ask, never gets here: see `on_answer`; the coordinator hands
    /// it out again after TASK_TIMEOUT.)
    fn on_assign(&mut self, ctx: &mut Ctx<Self>, task: Task) {
        todo!("take the task; to_read = its split (Map) or mr-<m>-<r> of every map (Reduce); read the first")
    }

    /// Reads the next input, or, with all read, starts computing.
    fn read_next(&mut self, ctx: &mut Ctx<Self>) {
        todo!("request Read of the front of to_read; when none is left, clear outstanding and set Timer::Computed after work_time(bytes read)")
    }

    /// The computing is over: the outputs, each under a temporary name of
    /// this attempt's own, start on their way into place.
    fn on_computed(&mut self, ctx: &mut Ctx<Self>) {
        let Some(task) = self.worker.task else { return };
        let attempt = ctx.rng().next_u64();
        let me = ctx.id();
        let outputs = match task {
            Task::Map(m) => self.map_outputs(m),
            Task::Reduce(r) => vec![(output_name(r), self.reduce_output())],
        };
        self.worker.to_write = outputs
            .into_iter()
            .map(|(name, text)| Output {
                temp: format!("tmp-{name}-{me}-{attempt:x}"),
                name,
                chunks: chunks(&text),
                sent: 0,
            })
            .collect();
        self.write_next(ctx);
    }

    /// Map `m`'s outputs: its split's pairs, by partition, one file each.
    fn map_outputs(&self, m: usize) -> Vec<(String, String)> {
        todo!("run job.app.map(&input_name(m), split) and put each pair into partition(key, R); one (intermediate_name(m, r), encode_pairs(..)) per r")
    }

    /// A reduce's output: every pair read, grouped by key, reduced, one
    /// `key value` line per key in key order.
    fn reduce_output(&self) -> String {
        todo!("decode_pairs of every file read, values grouped by key (a BTreeMap); one line per key, its key, a space, job.app.reduce(key, values), a newline")
    }

    /// The next step of putting the outputs in place: the first output's
    /// next chunk, or its rename once every chunk is written; with every
    /// output in place, report the task done.
    fn write_next(&mut self, ctx: &mut Ctx<Self>) {
        todo!("front of to_write: Write its next chunk (offset: the bytes of those sent) to temp, or Rename temp to name once all are sent; none left: ask(Some(task))")
    }

    /// An answer from the store or the coordinator: acted on only if it
    /// answers the outstanding request (late duplicates are ignored).
    fn on_answer(&mut self, ctx: &mut Ctx<Self>, msg: Msg) {
        let Some((_, asked)) = &self.worker.outstanding else {
            return;
        };
        match (asked, msg) {
            (Msg::Ask { .. }, Msg::Assign(task)) => self.on_assign(ctx, task),
            // A file not there yet (`contents: None`) is read again at the
            // next RETRY.
            (
                Msg::Read { name },
                Msg::Data {
                    name: n,
                    contents: Some(text),
                },
            ) if *name == n => {
                self.worker.to_read.pop_front();
                self.worker.read.push(text);
                self.read_next(ctx);
            }
            (Msg::Write { name, offset, data }, Msg::Written { name: n, end })
                if *name == n && offset + data.len() == end =>
            {
                self.worker.to_write[0].sent += 1;
                self.write_next(ctx);
            }
            (Msg::Rename { to, .. }, Msg::Renamed { to: t, .. }) if *to == t => {
                self.worker.to_write.pop_front();
                self.write_next(ctx);
            }
            _ => {}
        }
    }
}

impl Node for MapReduce {
    type Msg = Msg;
    type Timer = Timer;
    type Request = ();
    type Reply = ();

    /// A worker (at boot or after a restart, with nothing) asks for a task.
    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        if ctx.id() != COORDINATOR && ctx.id() != STORE {
            self.ask(ctx, None);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        match (ctx.id(), msg) {
            (COORDINATOR, Msg::Ask { finished }) => {
                self.on_ask(ctx, from, finished);
                if self.job.backups {
                    self.back_up(ctx, from);
                }
            }
            (STORE, msg) => self.on_store_request(ctx, from, msg),
            (COORDINATOR, _) => {}
            (_, msg) => self.on_answer(ctx, msg),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        match timer {
            Timer::Retry => {
                if let Some((to, msg)) = self.worker.outstanding.clone() {
                    self.request(ctx, to, msg);
                }
            }
            Timer::Computed => self.on_computed(ctx),
        }
    }
}
