//! # coord_fencing: a lock with fencing tokens
//!
//! A lock service (`n0`) hands out a lock for a lease of [`LEASE`]; clients
//! (`n2` and up) take it, write to a storage service (`n1`), and release
//! or renew it. A lease alone does not keep two clients from writing as
//! holder: a client that checked its lease and then paused (a long garbage
//! collection) writes after its lease ran out, when another client holds
//! the lock. So every grant carries a **fencing token**, and the resource
//! itself turns away the past:
//!
//! - The lock service grants to a client when no one holds the lock, or
//!   the holder's lease has expired by the lock service's clock, or the
//!   holder is asking again (a renewal). Every grant carries a new token,
//!   one higher than any token before, written to durable storage before
//!   the grant goes out, so that a restart cannot hand out a token twice.
//! - A release names its token: only the grant it names is given up.
//! - A restarted lock service has forgotten who holds the lock: if it ever
//!   granted (its counter is in storage), it grants nothing for [`LEASE`].
//! - Storage applies a write only if its token is at least the highest
//!   token it has applied; an older token is rejected, and the client
//!   learns it lost the lock.
//!
//! The client is given. It starts a write while it believes it holds the
//! lock and sends it [`WRITE_TIME`] later *without looking at its lease
//! again*: that gap is where a real process may pause, and the scenario
//! that tests this exercise pauses it exactly there.
//!
// exercise: begin
// stub: //! Read `exercises/14_coord/README.md` first. Then fill in the lock
// stub: //! service's and the storage's rules below: each `todo!()` is one rule.
//! The reference solution.
// exercise: end

use dsim::{Ctx, Node, NodeId, Storage, Time};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How long a grant lasts, by the lock service's clock.
pub const LEASE: Duration = Duration::from_millis(300);
/// How often a client looks at its lock.
pub const TICK: Duration = Duration::from_millis(25);
/// How long a client takes to prepare a write it has decided on.
pub const WRITE_TIME: Duration = Duration::from_millis(10);
/// The most writes a client makes in one hold of the lock.
pub const MAX_WRITES: u64 = 6;
/// The longest a client waits after a release before it asks again.
pub const BACKOFF: Duration = Duration::from_millis(50);
/// The lock service.
pub const LOCK: NodeId = NodeId(0);
/// The storage service.
pub const STORAGE: NodeId = NodeId(1);
/// The lock service's storage key for the last token it handed out.
pub const TOKEN_KEY: &str = "last_token";

/// A write a client asks storage to apply: its fencing token, and what
/// it writes (the client and its own count of writes, unique per write).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Write {
    pub token: u64,
    pub client: NodeId,
    pub seq: u64,
}

/// Between the nodes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    /// Client to lock service: "grant me the lock (again)".
    Acquire,
    /// Lock service to client: "you hold the lock for LEASE, with `token`".
    Granted { token: u64 },
    /// Client to lock service: "I give up the grant of `token`".
    Release { token: u64 },
    /// Client to storage.
    Write(Write),
    /// Storage to client: applied.
    Written { token: u64 },
    /// Storage to client: refused, `newest` is a higher token it applied.
    Rejected { token: u64, newest: u64 },
}

/// The kinds of timer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Timer {
    /// A client looks at its lock.
    Tick,
    /// A client's prepared write goes out.
    Send,
}

/// Whom the lock service granted the lock, with which token, until when
/// by its own clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Holder {
    pub client: NodeId,
    pub token: u64,
    pub until: Time,
}

/// The lock service's state.
#[derive(Debug, Default)]
pub struct LockService {
    pub holder: Option<Holder>,
    /// The last token handed out: a copy of what storage holds under
    /// [`TOKEN_KEY`].
    pub last_token: u64,
    /// After a restart, it grants nothing before this reading of its clock.
    pub quiet_until: Option<Time>,
}

/// The storage service's state: every write it applied, in order.
#[derive(Debug, Default)]
pub struct Store {
    /// The highest token of an applied write (0: none yet).
    pub highest: u64,
    pub applied: Vec<Write>,
}

/// A client's state.
#[derive(Debug, Default)]
pub struct Client {
    /// The token of the grant it holds, and until when it believes it
    /// holds it, by its own clock.
    pub lock: Option<(u64, Time)>,
    /// When it last asked for the lock and has had no grant since.
    pub asked: Option<Time>,
    /// The write it is preparing (sent at `Timer::Send`).
    pub pending: Option<Write>,
    /// Writes left in this hold; it releases the lock after the last.
    pub writes_left: u64,
    /// Writes made so far (each write's `seq`).
    pub seq: u64,
    /// After a release, it does not ask before this reading of its clock.
    pub idle_until: Time,
}

/// A node of coord_fencing: `n0` the lock service, `n1` storage, the rest
/// clients. Each node uses only the part of its role.
#[derive(Debug, Default)]
pub struct Fencing {
    pub lock: LockService,
    pub store: Store,
    pub client: Client,
}

/// The lock service.
impl Fencing {
    /// On start: read the last token back; after a restart (a token was
    /// ever handed out), grant nothing for one LEASE, the longest a grant
    /// made before the crash can still run.
    pub fn start_lock(&mut self, storage: &Storage, now: Time) {
        // exercise: begin "last_token from storage's TOKEN_KEY (0 if none); if it was there, "
        //   "quiet_until = now + LEASE"
        if let Some(last) = storage.get::<u64>(TOKEN_KEY) {
            self.lock.last_token = last;
            self.lock.quiet_until = Some(now + LEASE);
        }
        // exercise: end
    }

    /// The lock service's rule: may `client` have the lock at `now`? If
    /// so, the new token, made durable, with the grant recorded.
    pub fn grant(&mut self, storage: &mut Storage, client: NodeId, now: Time) -> Option<u64> {
        let lock = &mut self.lock;
        if lock.quiet_until.is_some_and(|quiet| now < quiet) {
            return None;
        }
        // exercise: begin "refuse while another client's grant is unexpired; else the next token, "
        //   "written to storage under TOKEN_KEY, and the holder recorded until now + LEASE"
        if lock
            .holder
            .is_some_and(|h| h.client != client && now < h.until)
        {
            return None;
        }
        lock.last_token += 1;
        storage.put(TOKEN_KEY, &lock.last_token);
        lock.holder = Some(Holder {
            client,
            token: lock.last_token,
            until: now + LEASE,
        });
        Some(lock.last_token)
        // exercise: end
    }

    /// `client` gives up its grant of `token`.
    pub fn release(&mut self, client: NodeId, token: u64) {
        // exercise: begin "forget the holder only if it is this client's grant of this token"
        if self
            .lock
            .holder
            .is_some_and(|h| h.client == client && h.token == token)
        {
            self.lock.holder = None;
        }
        // exercise: end
    }
}

/// The storage service.
impl Fencing {
    /// The fencing check: apply `write` only if its token is at least the
    /// highest applied; `Err(highest)` otherwise.
    pub fn apply(&mut self, write: Write) -> Result<(), u64> {
        let store = &mut self.store;
        // exercise: begin "reject a token below highest; else raise highest and push onto applied"
        if write.token < store.highest {
            return Err(store.highest);
        }
        store.highest = write.token;
        store.applied.push(write);
        Ok(())
        // exercise: end
    }
}

/// A client (given).
impl Fencing {
    /// Whether the client believes it holds the lock at `now`, and with
    /// which token: only a belief, which a pause can make wrong; storage
    /// has the last word.
    pub fn holds(&self, now: Time) -> Option<u64> {
        let lock = self.client.lock;
        lock.filter(|&(_, until)| now < until).map(|(t, _)| t)
    }

    /// Every tick: a holder renews with half its lease gone, starts its
    /// next write, or releases after the last; any other client asks.
    fn tick(&mut self, ctx: &mut Ctx<Self>) {
        let now = ctx.now();
        let held = self.holds(now);
        let me = &mut self.client;
        let Some(token) = held else {
            me.lock = None;
            if now >= me.idle_until && me.asked.is_none_or(|a| now >= a + TICK) {
                me.asked = Some(now);
                ctx.send(LOCK, Msg::Acquire);
            }
            return;
        };
        if me.pending.is_some() {
            return;
        }
        if me.writes_left == 0 {
            ctx.send(LOCK, Msg::Release { token });
            me.lock = None;
            me.asked = None;
            me.idle_until = now + ctx.rng().duration(Duration::ZERO..=BACKOFF);
            return;
        }
        let until = me.lock.map_or(now, |(_, until)| until);
        if until.saturating_since(now) <= LEASE / 2 && me.asked.is_none() {
            me.asked = Some(now);
            ctx.send(LOCK, Msg::Acquire);
        }
        me.writes_left -= 1;
        me.seq += 1;
        me.pending = Some(Write {
            token,
            client: ctx.id(),
            seq: me.seq,
        });
        ctx.set_timer(Timer::Send, WRITE_TIME);
    }

    /// A grant answers the last request (a late or doubled one is ignored:
    /// it expires by itself at the lock service); a rejection means a
    /// newer token exists, so the lock is lost.
    fn on_client_message(&mut self, ctx: &mut Ctx<Self>, msg: Msg) {
        let now = ctx.now();
        let fresh = self.holds(now).is_none();
        let me = &mut self.client;
        match msg {
            Msg::Granted { token } => {
                let Some(asked) = me.asked.take() else {
                    return;
                };
                if fresh {
                    me.writes_left = ctx.rng().range(1..=MAX_WRITES);
                }
                me.lock = Some((token, asked + LEASE));
            }
            Msg::Rejected { token, .. } if me.lock.is_some_and(|(held, _)| held <= token) => {
                me.lock = None;
            }
            _ => {}
        }
    }
}

impl Fencing {
    /// A node before it has started (its role comes from its id).
    pub fn new() -> Self {
        Fencing::default()
    }
}

impl Node for Fencing {
    type Msg = Msg;
    type Timer = Timer;
    type Request = ();
    type Reply = ();

    fn on_start(&mut self, ctx: &mut Ctx<Self>) {
        let now = ctx.now();
        match ctx.id() {
            LOCK => self.start_lock(ctx.storage(), now),
            STORAGE => {}
            _ => ctx.set_timer(Timer::Tick, TICK),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        match timer {
            Timer::Tick => {
                self.tick(ctx);
                ctx.set_timer(Timer::Tick, TICK);
            }
            // The prepared write goes out with the token it was started
            // with: no second look at the lease, which could not close the
            // gap anyway (a pause may come after any look).
            Timer::Send => {
                if let Some(write) = self.client.pending.take() {
                    ctx.send(STORAGE, Msg::Write(write));
                }
            }
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        let now = ctx.now();
        match (ctx.id(), msg) {
            (LOCK, Msg::Acquire) => {
                if let Some(token) = self.grant(ctx.storage(), from, now) {
                    ctx.send(from, Msg::Granted { token });
                }
            }
            (LOCK, Msg::Release { token }) => self.release(from, token),
            (STORAGE, Msg::Write(write)) => match self.apply(write) {
                Ok(()) => ctx.send(from, Msg::Written { token: write.token }),
                Err(newest) => ctx.send(
                    from,
                    Msg::Rejected {
                        token: write.token,
                        newest,
                    },
                ),
            },
            (LOCK | STORAGE, _) => {}
            (_, msg) => self.on_client_message(ctx, msg),
        }
    }
}
