//! # sharding_router: routing with a stale table
//!
//! Clients do not talk to the servers of a sharded store directly: they talk
//! to a router ([`ROUTERS`]), which keeps a routing table, a copy of a
//! [`Config`] (which server owns each shard, and the configuration number),
//! and forwards each request to the owner of its key's shard.
//!
//! Shards move while the router is not looking, so its table may be stale.
//! The servers always know better, and help:
//! - a server that does not own the shard answers [`Msg::Redirect`] with its
//!   own, newer configuration: the router adopts it if it is newer than its
//!   table and forwards the request again, now to the right server;
//! - a server that owns the shard but still awaits its data answers
//!   [`Msg::TryLater`]: the router forwards the request again after
//!   [`RETRY_AFTER`];
//! - a server that serves the shard answers [`Msg::Done`], and the router
//!   passes the reply on to the client.
//!
//! Until a request is done the router keeps it: a redirect is a detour, never
//! an end. Because a redirect carries the whole newer configuration, one
//! redirect brings the table up to date for every shard, and later requests
//! go straight to the right server.
//!
//! The servers are given; they move shards when the controller (the test)
//! announces a configuration ([`Request::Reconfigure`]).
//!
// exercise: begin
// stub: //! Read `exercises/09_sharding/README.md` first. Then fill in the router's
// stub: //! `todo!()`s, one rule of the protocol each; the servers are complete.
//! The reference solution: each router handler is one rule of the protocol.
// exercise: end

use dsim::{Ctx, Node, NodeId, RequestId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// How many shards the keys are split into.
pub const SHARDS: usize = 8;

/// The nodes that are routers; every other node is a server.
pub const ROUTERS: [NodeId; 2] = [NodeId(0), NodeId(1)];

/// How long a router waits before forwarding a request that a server asked
/// it to try later.
pub const RETRY_AFTER: Duration = Duration::from_millis(10);

/// The shard of `key`: a fixed mix of its bits.
pub fn shard_of(key: u64) -> usize {
    let mut x = key.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (x % SHARDS as u64) as usize
}

/// One shard's keys and values.
pub type ShardData = BTreeMap<u64, u64>;

/// Configuration number `num`: the owner of every shard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// 1 for the first configuration, one more for each change.
    pub num: u64,
    /// `owners[shard]`: the server that owns `shard`.
    pub owners: Vec<NodeId>,
}

impl Config {
    /// Configuration 1: the shards dealt out to `servers` in turn.
    pub fn initial(servers: &[NodeId]) -> Config {
        let owners = (0..SHARDS).map(|s| servers[s % servers.len()]).collect();
        Config { num: 1, owners }
    }
}

/// A client's operation on the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Set `key` to `value`.
    Put { key: u64, value: u64 },
    /// Read `key`.
    Get { key: u64 },
}

impl Op {
    /// The key the operation is about.
    pub fn key(&self) -> u64 {
        match *self {
            Op::Put { key, .. } | Op::Get { key } => key,
        }
    }
}

/// What a client asks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// An operation, sent to a router.
    Client(Op),
    /// The controller announces the next configuration to a server.
    Reconfigure(Config),
}

/// What the client gets back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// The write is stored.
    Written,
    /// The value of the key read (`None`: never written).
    Value(Option<u64>),
    /// The server has moved to the announced configuration.
    Reconfigured,
}

/// What routers and servers send each other.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    /// Router to server: carry out client request `id`.
    Forward { id: RequestId, op: Op },
    /// Server to router: request `id` is done; pass `reply` on.
    Done { id: RequestId, reply: Reply },
    /// Server to router: not my shard; here is my configuration.
    Redirect { id: RequestId, config: Config },
    /// Server to router: my shard, but its data has not arrived yet.
    TryLater { id: RequestId },
    /// Old owner to new owner: `shard`'s data, moved by configuration
    /// `config`.
    Handoff {
        config: u64,
        shard: usize,
        data: ShardData,
    },
}

/// A router's timers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Timer {
    /// Time to forward request `id` again.
    Retry { id: RequestId },
}

/// A router: a routing table and the requests not yet done.
#[derive(Debug)]
pub struct Router {
    /// The newest configuration this router knows: its routing table.
    pub table: Config,
    /// The client requests forwarded and not yet done.
    pub pending: BTreeMap<RequestId, Op>,
}

/// A server (given): it serves the shards it owns once their data is here.
#[derive(Debug)]
pub struct Server {
    /// The latest configuration this server knows.
    pub config: Config,
    /// The shards it serves, with their data.
    pub serving: BTreeMap<usize, ShardData>,
    /// The shards it owns whose data has not arrived yet.
    pub incoming: BTreeSet<usize>,
}

/// A node of the run: a router or a server.
#[derive(Debug)]
pub enum Sharded {
    Router(Router),
    Server(Server),
}

impl Sharded {
    /// Node `id` at the start, when `initial` (configuration 1) holds.
    pub fn new(id: NodeId, initial: Config) -> Self {
        if ROUTERS.contains(&id) {
            return Sharded::Router(Router {
                table: initial,
                pending: BTreeMap::new(),
            });
        }
        let serving = (0..SHARDS)
            .filter(|&s| initial.owners[s] == id)
            .map(|s| (s, ShardData::new()))
            .collect();
        Sharded::Server(Server {
            config: initial,
            serving,
            incoming: BTreeSet::new(),
        })
    }
}

impl Router {
    /// The server the table names as the owner of `key`'s shard.
    pub fn route(&self, key: u64) -> NodeId {
        // exercise: begin "the owner of the key's shard in the table"
        self.table.owners[shard_of(key)]
        // exercise: end
    }

    /// On a client request: keep it until it is done, and forward it to the
    /// owner the table names.
    fn on_client(&mut self, ctx: &mut Ctx<Sharded>, id: RequestId, op: Op) {
        // exercise: begin "keep the request in pending and forward it to the owner the table names"
        self.pending.insert(id, op);
        ctx.send(self.route(op.key()), Msg::Forward { id, op });
        // exercise: end
    }

    /// On `Done`: the request is finished; forget it and answer its client
    /// (once: a request no longer pending was answered before).
    fn on_done(&mut self, ctx: &mut Ctx<Sharded>, id: RequestId, reply: Reply) {
        // exercise: begin "if id is pending, forget it and pass the reply on to its client"
        if self.pending.remove(&id).is_some() {
            ctx.reply(id, reply);
        }
        // exercise: end
    }

    /// On `Redirect`: the server knows a configuration; if it is newer than
    /// the table, it becomes the table. Then forward the request again, to
    /// the owner the (updated) table names. The request is not done.
    fn on_redirect(&mut self, ctx: &mut Ctx<Sharded>, id: RequestId, config: Config) {
        // exercise: begin "adopt the configuration if it is newer, then forward the request again"
        if config.num > self.table.num {
            self.table = config;
        }
        if let Some(&op) = self.pending.get(&id) {
            ctx.send(self.route(op.key()), Msg::Forward { id, op });
        }
        // exercise: end
    }

    /// On `TryLater`: the right server, too early; try again after
    /// [`RETRY_AFTER`].
    fn on_try_later(&mut self, ctx: &mut Ctx<Sharded>, id: RequestId) {
        // exercise: begin "if id is still pending, set its Retry timer"
        if self.pending.contains_key(&id) {
            ctx.set_timer(Timer::Retry { id }, RETRY_AFTER);
        }
        // exercise: end
    }

    /// On the retry timer of `id`: forward it again if it is still pending.
    fn on_retry(&mut self, ctx: &mut Ctx<Sharded>, id: RequestId) {
        // exercise: begin "if id is still pending, forward it again"
        if let Some(&op) = self.pending.get(&id) {
            ctx.send(self.route(op.key()), Msg::Forward { id, op });
        }
        // exercise: end
    }
}

impl Server {
    /// On a forwarded request: carry it out if this server serves the shard;
    /// ask to try later if it owns the shard but awaits its data; otherwise
    /// redirect with its configuration.
    fn on_forward(&mut self, ctx: &mut Ctx<Sharded>, from: NodeId, id: RequestId, op: Op) {
        let shard = shard_of(op.key());
        let msg = match (self.serving.get_mut(&shard), op) {
            (Some(data), Op::Put { key, value }) => {
                data.insert(key, value);
                Msg::Done {
                    id,
                    reply: Reply::Written,
                }
            }
            (Some(data), Op::Get { key }) => Msg::Done {
                id,
                reply: Reply::Value(data.get(&key).copied()),
            },
            (None, _) if self.config.owners[shard] == ctx.id() => Msg::TryLater { id },
            (None, _) => Msg::Redirect {
                id,
                config: self.config.clone(),
            },
        };
        ctx.send(from, msg);
    }

    /// On the next configuration: hand over each shard it loses, await each
    /// shard it gains. (The network of this exercise loses no messages.)
    fn on_reconfigure(&mut self, ctx: &mut Ctx<Sharded>, id: RequestId, config: Config) {
        if config.num == self.config.num + 1 {
            let me = ctx.id();
            for shard in 0..SHARDS {
                let (old, new) = (self.config.owners[shard], config.owners[shard]);
                if old == me && new != me {
                    let data = self.serving.remove(&shard).unwrap_or_default();
                    let num = config.num;
                    let msg = Msg::Handoff {
                        config: num,
                        shard,
                        data,
                    };
                    ctx.send(new, msg);
                } else if old != me && new == me {
                    self.incoming.insert(shard);
                }
            }
            self.config = config;
        }
        ctx.reply(id, Reply::Reconfigured);
    }

    /// On a shard's data: start serving it.
    fn on_handoff(&mut self, shard: usize, data: ShardData) {
        if self.incoming.remove(&shard) {
            self.serving.insert(shard, data);
        }
    }
}

impl Node for Sharded {
    type Msg = Msg;
    type Timer = Timer;
    type Request = Request;
    type Reply = Reply;

    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, req: Request) {
        match (self, req) {
            (Sharded::Router(r), Request::Client(op)) => r.on_client(ctx, id, op),
            (Sharded::Server(s), Request::Reconfigure(config)) => s.on_reconfigure(ctx, id, config),
            _ => {}
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        match (self, msg) {
            (Sharded::Router(r), Msg::Done { id, reply }) => r.on_done(ctx, id, reply),
            (Sharded::Router(r), Msg::Redirect { id, config }) => r.on_redirect(ctx, id, config),
            (Sharded::Router(r), Msg::TryLater { id }) => r.on_try_later(ctx, id),
            (Sharded::Server(s), Msg::Forward { id, op }) => s.on_forward(ctx, from, id, op),
            (Sharded::Server(s), Msg::Handoff { shard, data, .. }) => s.on_handoff(shard, data),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        if let (Sharded::Router(r), Timer::Retry { id }) = (self, timer) {
            r.on_retry(ctx, id);
        }
    }
}
