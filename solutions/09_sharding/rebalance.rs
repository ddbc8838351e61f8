//! # sharding_rebalance: moving shards while serving
//!
//! The keys are split into a fixed number of shards ([`SHARDS`]); a key's
//! shard never changes ([`shard_of`]). A numbered configuration
//! ([`Config`]) says which server owns each shard. When a server joins or
//! leaves, the next configuration moves some shards to new owners, and the
//! servers hand those shards over while clients keep reading and writing.
//!
//! Two promises must hold through every handoff:
//! - **no acknowledged write is lost**: the old owner keeps its copy of a
//!   shard until the new owner has acknowledged receiving it, and sends it
//!   again every [`RESEND_AFTER`] until then (the network loses messages);
//! - **one server serves a shard at a time**: the old owner stops serving a
//!   shard as soon as it learns the new configuration, and the new owner
//!   starts only once the data has arrived. Meanwhile both refuse, and the
//!   client tries again later.
//!
//! And one economy: a change moves as few shards as it can. A server that
//! joins a cluster of `n` takes `SHARDS / (n + 1)` shards, one at a time from
//! the servers that have the most; a server that leaves gives each of its
//! shards to the server that has the fewest. Every other shard stays put.
//!
//! The test is the controller: it announces each change to every server as
//! a client request ([`Request::Reconfigure`]), all at the same moment, and
//! announces the next only once every handoff of the last has finished.
//!
// exercise: begin
// stub: //! Read `exercises/09_sharding/README.md` first. Then fill in each `todo!()`:
// stub: //! [`next_config`] first (a plain function), then the server's handlers, one
// stub: //! rule of the protocol each.
//! The reference solution: each handler is one rule of the protocol.
// exercise: end

use dsim::{Ctx, Node, NodeId, RequestId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// How many shards the keys are split into.
pub const SHARDS: usize = 16;

/// How long an old owner waits for the acknowledgement of a shard it sent
/// before sending it again: longer than a round trip (two hops of 1–10 ms).
pub const RESEND_AFTER: Duration = Duration::from_millis(30);

/// The shard of `key`: a fixed mix of its bits, so that neighbouring keys
/// land on different shards, and the same key always lands on the same one.
pub fn shard_of(key: u64) -> usize {
    let mut x = key.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (x % SHARDS as u64) as usize
}

/// One shard's keys and values.
pub type ShardData = BTreeMap<u64, u64>;

/// Configuration number `num`: the servers in the cluster, and the owner of
/// every shard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// 1 for the first configuration, one more for each change.
    pub num: u64,
    /// The servers in the cluster, in id order.
    pub servers: Vec<NodeId>,
    /// `owners[shard]`: the server that owns `shard`.
    pub owners: Vec<NodeId>,
}

impl Config {
    /// Configuration 1: the shards dealt out to `servers` in turn.
    pub fn initial(servers: &[NodeId]) -> Config {
        let mut servers = servers.to_vec();
        servers.sort();
        let owners = (0..SHARDS).map(|s| servers[s % servers.len()]).collect();
        Config {
            num: 1,
            servers,
            owners,
        }
    }

    /// The shards `server` owns, in order.
    pub fn shards_of(&self, server: NodeId) -> Vec<usize> {
        (0..SHARDS).filter(|&s| self.owners[s] == server).collect()
    }
}

/// A change of membership.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// This server enters the cluster.
    Join(NodeId),
    /// This server leaves the cluster.
    Leave(NodeId),
}

/// The configuration after `change`, numbered one more than `config`,
/// moving as few shards as possible while keeping the shard counts of any two
/// servers within one of each other:
/// - on a join, the newcomer takes `SHARDS / (n + 1)` shards (`n`: the
///   servers before it), each time from a server that has the most (the
///   lowest such shard, from the lowest such server id, so that every server
///   computes the same result);
/// - on a leave, each shard of the leaver goes, in shard order, to a
///   remaining server that has the fewest (the lowest id among them).
pub fn next_config(config: &Config, change: Change) -> Config {
    // exercise: begin "number it one more; a join takes from the busiest, a leave gives to the idlest"
    let mut next = config.clone();
    next.num += 1;
    let count = |c: &Config, server: NodeId| c.shards_of(server).len();
    match change {
        Change::Join(newcomer) => {
            let others = next.servers.clone();
            next.servers.push(newcomer);
            next.servers.sort();
            for _ in 0..SHARDS / next.servers.len() {
                // max_by_key keeps the last of equals: scan from the highest id.
                let busiest = *others
                    .iter()
                    .rev()
                    .max_by_key(|&&s| count(&next, s))
                    .expect("a join keeps the servers already there");
                let shard = next.shards_of(busiest)[0];
                next.owners[shard] = newcomer;
            }
        }
        Change::Leave(leaver) => {
            next.servers.retain(|&s| s != leaver);
            for shard in config.shards_of(leaver) {
                // min_by_key keeps the first of equals: the lowest id.
                let idlest = *next
                    .servers
                    .iter()
                    .min_by_key(|&&s| count(&next, s))
                    .expect("a leave keeps at least one server");
                next.owners[shard] = idlest;
            }
        }
    }
    next
    // exercise: end
}

/// What a client asks a server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Set `key` to `value`.
    Put { key: u64, value: u64 },
    /// Read `key`.
    Get { key: u64 },
    /// The controller announces the next configuration change.
    Reconfigure(Change),
}

/// What the client gets back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// The write is stored.
    Written,
    /// The value of the key read (`None`: never written).
    Value(Option<u64>),
    /// This server does not own the key's shard in configuration `config`.
    WrongServer { config: u64 },
    /// This server owns the key's shard but its data has not arrived yet.
    TryLater,
    /// The server has moved to the announced configuration.
    Reconfigured,
}

/// What servers send each other.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Msg {
    /// Old owner to new owner: `shard`'s data, handed over in configuration
    /// `config`.
    Transfer {
        config: u64,
        shard: usize,
        data: ShardData,
    },
    /// New owner to old owner: `shard` of configuration `config` has arrived.
    TransferAck { config: u64, shard: usize },
}

/// A server's timers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Timer {
    /// No acknowledgement for `shard` yet: send it again.
    Resend { shard: usize },
}

/// A shard on its way out: kept, not served, until the new owner has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handoff {
    /// The new owner.
    pub to: NodeId,
    /// The configuration that moved the shard.
    pub config: u64,
    /// The shard's data, frozen since the server stopped serving it.
    pub data: ShardData,
}

impl Handoff {
    /// The message that carries `shard` (this handoff's shard) to its new
    /// owner.
    pub fn transfer(&self, shard: usize) -> Msg {
        Msg::Transfer {
            config: self.config,
            shard,
            data: self.data.clone(),
        }
    }
}

/// A server. Every node of the run is one, in the cluster or not.
#[derive(Debug)]
pub struct Server {
    /// The latest configuration this server knows.
    pub config: Config,
    /// The shards this server serves now, with their data.
    pub serving: BTreeMap<usize, ShardData>,
    /// The shards this server has given away and not yet seen acknowledged.
    pub outgoing: BTreeMap<usize, Handoff>,
    /// The shards this server now owns but whose data has not arrived yet,
    /// with the configuration that moved them here.
    pub incoming: BTreeMap<usize, u64>,
}

impl Server {
    /// Node `id` at the start, when `initial` (configuration 1) holds: it
    /// serves its shards of `initial`, all empty.
    pub fn new(id: NodeId, initial: Config) -> Self {
        let serving = initial
            .shards_of(id)
            .into_iter()
            .map(|s| (s, ShardData::new()))
            .collect();
        Server {
            config: initial,
            serving,
            outgoing: BTreeMap::new(),
            incoming: BTreeMap::new(),
        }
    }

    /// Whether a handoff this server takes part in is still going on.
    pub fn busy(&self) -> bool {
        !self.outgoing.is_empty() || !self.incoming.is_empty()
    }

    /// The reply of server `me` to a request for `shard`, which it does not
    /// serve: `TryLater` if it owns the shard and awaits its data, otherwise
    /// `WrongServer` with its configuration number.
    pub fn refusal(&self, me: NodeId, shard: usize) -> Reply {
        // exercise: begin "TryLater if me owns the shard, otherwise WrongServer with the configuration number"
        if self.config.owners[shard] == me {
            Reply::TryLater
        } else {
            Reply::WrongServer {
                config: self.config.num,
            }
        }
        // exercise: end
    }

    /// On a write: store it if this server serves the key's shard, and only
    /// then answer `Written`; otherwise refuse.
    fn on_put(&mut self, ctx: &mut Ctx<Server>, id: RequestId, key: u64, value: u64) {
        // exercise: begin "store the value if the key's shard is served here, else refuse"
        let shard = shard_of(key);
        let reply = match self.serving.get_mut(&shard) {
            Some(data) => {
                data.insert(key, value);
                Reply::Written
            }
            None => self.refusal(ctx.id(), shard),
        };
        ctx.reply(id, reply);
        // exercise: end
    }

    /// On a read: answer with the key's value if this server serves the
    /// key's shard; otherwise refuse.
    fn on_get(&mut self, ctx: &mut Ctx<Server>, id: RequestId, key: u64) {
        // exercise: begin "answer the key's value if its shard is served here, else refuse"
        let shard = shard_of(key);
        let reply = match self.serving.get(&shard) {
            Some(data) => Reply::Value(data.get(&key).copied()),
            None => self.refusal(ctx.id(), shard),
        };
        ctx.reply(id, reply);
        // exercise: end
    }

    /// On a configuration change: move to the next configuration. Each shard
    /// this server gives away stops being served at once and is sent to its
    /// new owner (kept until acknowledged, sent again on a timer); each
    /// shard it gains from another server waits in `incoming` until its data
    /// arrives. A shard that was unowned (no server had it) starts empty.
    fn on_reconfigure(&mut self, ctx: &mut Ctx<Server>, id: RequestId, change: Change) {
        // exercise: begin "hand off each shard lost, await each shard gained, adopt next_config, reply"
        let next = next_config(&self.config, change);
        let me = ctx.id();
        for shard in 0..SHARDS {
            let (old, new) = (self.config.owners[shard], next.owners[shard]);
            if old == me && new != me {
                let data = self.serving.remove(&shard).unwrap_or_default();
                let handoff = Handoff {
                    to: new,
                    config: next.num,
                    data,
                };
                ctx.send(handoff.to, handoff.transfer(shard));
                ctx.set_timer(Timer::Resend { shard }, RESEND_AFTER);
                self.outgoing.insert(shard, handoff);
            } else if old != me && new == me {
                self.incoming.insert(shard, next.num);
            }
        }
        self.config = next;
        ctx.reply(id, Reply::Reconfigured);
        // exercise: end
    }

    /// On a shard's data from its old owner: install it if it is the shard
    /// this server awaits for that configuration, and start serving it; then
    /// acknowledge it, even a copy that came before (the old owner keeps
    /// sending until an acknowledgement gets through). A transfer from a
    /// configuration this server has not reached yet is not acknowledged: the
    /// old owner will send it again.
    fn on_transfer(
        &mut self,
        ctx: &mut Ctx<Server>,
        from: NodeId,
        config: u64,
        shard: usize,
        data: ShardData,
    ) {
        // exercise: begin "install the shard if it is awaited for this configuration; acknowledge it"
        if config > self.config.num {
            return;
        }
        if self.incoming.get(&shard) == Some(&config) {
            self.incoming.remove(&shard);
            self.serving.insert(shard, data);
        }
        ctx.send(from, Msg::TransferAck { config, shard });
        // exercise: end
    }

    /// On an acknowledgement: the new owner holds the shard, so now, and
    /// only now, delete this server's copy and stop resending it.
    fn on_transfer_ack(&mut self, ctx: &mut Ctx<Server>, config: u64, shard: usize) {
        // exercise: begin "if outgoing holds this shard for this configuration, delete it, stop resending"
        if self
            .outgoing
            .get(&shard)
            .is_some_and(|h| h.config == config)
        {
            self.outgoing.remove(&shard);
            ctx.cancel_timer(Timer::Resend { shard });
        }
        // exercise: end
    }

    /// On the resend timer of `shard`: if it is still unacknowledged, send
    /// it again and wait again.
    fn on_resend(&mut self, ctx: &mut Ctx<Server>, shard: usize) {
        // exercise: begin "if the shard is still in outgoing, send it again and set the timer again"
        if let Some(handoff) = self.outgoing.get(&shard) {
            ctx.send(handoff.to, handoff.transfer(shard));
            ctx.set_timer(Timer::Resend { shard }, RESEND_AFTER);
        }
        // exercise: end
    }
}

impl Node for Server {
    type Msg = Msg;
    type Timer = Timer;
    type Request = Request;
    type Reply = Reply;

    fn on_request(&mut self, ctx: &mut Ctx<Self>, id: RequestId, req: Request) {
        match req {
            Request::Put { key, value } => self.on_put(ctx, id, key, value),
            Request::Get { key } => self.on_get(ctx, id, key),
            Request::Reconfigure(change) => self.on_reconfigure(ctx, id, change),
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<Self>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Transfer {
                config,
                shard,
                data,
            } => self.on_transfer(ctx, from, config, shard, data),
            Msg::TransferAck { config, shard } => self.on_transfer_ack(ctx, config, shard),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Self>, timer: Timer) {
        let Timer::Resend { shard } = timer;
        self.on_resend(ctx, shard);
    }
}
