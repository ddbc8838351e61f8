//! sharding_rebalance: servers hand shards over on every join and leave,
//! while clients read and write, without losing an acknowledged write,
//! without two servers serving one shard, and moving no more shards than
//! the change needs.
//!
//! Every scenario and check here (and in [`scenario`]) is generic over
//! [`Observed`], so that the `meta::` tests can run known-wrong
//! implementations (the [`wrong::Model`], with one [`wrong::Flaw`] each)
//! through the very same checks.

mod placement;
mod scenario;
mod wrong;

use crate::subject::sharding::rebalance::{
    shard_of, Change, Config, Reply, Request, Server, SHARDS,
};
use dscheck::{ms, secs, Failure, Property, Suite};
use dsim::{Network, Node, NodeId};
use scenario::{scenario, Profile};
use wrong::{caught, correct_model_passes, Flaw};

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded(
            "rebalance::no_write_lost_through_joins_and_leaves",
            20,
            |seed| lossy(seed, subject()),
        )
        .seeded(
            "rebalance::survives_heavy_loss_and_late_messages",
            15,
            |seed| heavy(seed, subject()),
        )
        .seeded(
            "rebalance::many_changes_move_the_fewest_shards",
            6,
            |seed| many_changes(seed, subject()),
        )
        .test(
            "rebalance::next_config_keeps_servers_in_id_order_and_breaks_ties_by_lowest_id",
            placement::next_config_follows_the_rules,
        )
        .test("meta::rebalance_correct_model_passes", correct_model_passes)
        .test("meta::rebalance_deletes_before_the_ack", || {
            caught(Flaw::DeletesBeforeAck, lossy, LOST)
        })
        .test("meta::rebalance_moves_every_shard_on_a_join", || {
            caught(Flaw::DealsAfresh, lossy, MINIMAL)
        })
        .test("meta::rebalance_serves_until_the_ack", || {
            caught(Flaw::ServesUntilAck, lossy, TWICE)
        })
        .test("meta::rebalance_serves_before_the_data_arrives", || {
            caught(Flaw::ServesEmpty, lossy, READS)
        })
        .test(
            "meta::rebalance_says_wrong_server_while_awaiting_the_data",
            || caught(Flaw::WrongServerWhileAwaiting, lossy, REFUSAL),
        )
        .test("meta::rebalance_leaving_an_announcement_unanswered", || {
            caught(Flaw::LeavesChangesUnanswered, lossy, ANNOUNCED)
        })
}

// ----- properties and their hints ---------------------------------------------

const LOST: Property = Property {
    name: "no acknowledged write is lost",
    hint: "the old owner must keep its copy of a shard (in outgoing) until a TransferAck for that \
           shard and configuration arrives, and send the Transfer again on every Resend timer: \
           the Transfer or its ack may be lost",
    when: &[],
};
const TWICE: Property = Property {
    name: "no shard is served by two servers in the same configuration",
    hint: "the old owner stops serving a shard the moment it learns the configuration that moves \
           it (take it out of serving in on_reconfigure), not when the ack arrives",
    when: &[],
};
const READS: Property = Property {
    name: "a read returns every write acknowledged before it",
    hint: "the new owner must not serve a shard it has gained before its data arrives: keep it in \
           incoming, answer TryLater meanwhile, and move it to serving only in on_transfer",
    when: &[],
};
pub(crate) const DONE: Property = Property {
    name: "every handoff completes",
    hint: "every Transfer must be acknowledged, even a copy of one already installed, and the old \
           owner resends until it sees the ack; a Transfer from a configuration the server has not \
           reached yet is left unacknowledged",
    when: &[],
};
const AGREE: Property = Property {
    name: "every server ends on the same configuration",
    hint: "every server, in the cluster or not, applies every change it is told of with \
           next_config, so they all compute the same configuration with the same number",
    when: &[],
};
const MINIMAL: Property = Property {
    name: "each change moves the fewest shards",
    hint:
        "on a join the newcomer takes SHARDS / (n + 1) shards, each from a server with the most; \
           on a leave only the leaver's shards move, each to a server with the fewest; no other \
           shard changes owner",
    when: &[],
};
const REFUSAL: Property = Property {
    name: "a refused request says why: TryLater from the shard's owner, WrongServer with the configuration number from any other server",
    hint: "refusal(me, shard): TryLater if self.config.owners[shard] == me (the data has not arrived yet), otherwise WrongServer { config: self.config.num }, so that the client knows whether to wait or to look elsewhere",
    when: &[],
};
const ANNOUNCED: Property = Property {
    name: "every server answers each announced change with Reconfigured",
    hint: "on_reconfigure ends with ctx.reply(id, Reply::Reconfigured): the controller waits for every server to move on",
    when: &[],
};
const ANSWERED: Property = Property {
    name: "every read and write is answered: with the value, Written, TryLater or WrongServer",
    hint: "on_put and on_get end with ctx.reply(id, reply) whichever reply it is: a client that \
           hears nothing cannot tell a lost request from a slow one",
    when: &[],
};
const READABLE: Property = Property {
    name: "every acknowledged write can be read at the end",
    hint: "once every handoff has finished, the owner of each shard in the last configuration \
           must serve it with all the writes acknowledged for it",
    when: &[],
};

// ----- what the checks see of an implementation --------------------------------

/// How the checks read a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Written,
    Value(Option<u64>),
    /// The server owns the shard but awaits its data.
    TryLater,
    /// The server does not own the shard in its configuration `config`.
    WrongServer {
        config: u64,
    },
    /// The server moved to an announced configuration.
    Reconfigured,
}

/// What a client asked, as the checks read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Put { key: u64, value: u64 },
    Get { key: u64 },
    Other,
}

/// What the checks need from an implementation.
pub trait Observed: Node {
    fn shard_of(key: u64) -> usize;
    fn put(key: u64, value: u64) -> Self::Request;
    fn get(key: u64) -> Self::Request;
    fn reconfigure(change: Change) -> Self::Request;
    fn op(request: &Self::Request) -> Op;
    fn answer(reply: &Self::Reply) -> Answer;
    /// The node's configuration: its number and the owner of every shard.
    fn config(&self) -> (u64, Vec<NodeId>);
    /// The shards the node serves now.
    fn serving(&self) -> Vec<usize>;
    /// The value of `key` in any copy of its shard the node keeps (served,
    /// or given away and not yet acknowledged).
    fn holds(&self, key: u64) -> Option<u64>;
    /// Whether a handoff it takes part in is unfinished.
    fn busy(&self) -> bool;
}

impl Observed for Server {
    fn shard_of(key: u64) -> usize {
        shard_of(key)
    }
    fn put(key: u64, value: u64) -> Request {
        Request::Put { key, value }
    }
    fn get(key: u64) -> Request {
        Request::Get { key }
    }
    fn reconfigure(change: Change) -> Request {
        Request::Reconfigure(change)
    }
    fn op(request: &Request) -> Op {
        match *request {
            Request::Put { key, value } => Op::Put { key, value },
            Request::Get { key } => Op::Get { key },
            Request::Reconfigure(_) => Op::Other,
        }
    }
    fn answer(reply: &Reply) -> Answer {
        match *reply {
            Reply::Written => Answer::Written,
            Reply::Value(v) => Answer::Value(v),
            Reply::WrongServer { config } => Answer::WrongServer { config },
            Reply::TryLater => Answer::TryLater,
            Reply::Reconfigured => Answer::Reconfigured,
        }
    }
    fn config(&self) -> (u64, Vec<NodeId>) {
        (self.config.num, self.config.owners.clone())
    }
    fn serving(&self) -> Vec<usize> {
        self.serving.keys().copied().collect()
    }
    fn holds(&self, key: u64) -> Option<u64> {
        let shard = shard_of(key);
        let served = self.serving.get(&shard);
        let outgoing = self.outgoing.get(&shard).map(|h| &h.data);
        served
            .and_then(|d| d.get(&key))
            .or_else(|| outgoing.and_then(|d| d.get(&key)))
            .copied()
    }
    fn busy(&self) -> bool {
        Server::busy(self)
    }
}

/// The servers of configuration 1.
pub(super) const INITIAL: [NodeId; 3] = [NodeId(0), NodeId(1), NodeId(2)];
/// How many nodes a run has: the initial servers and two that may join.
pub(super) const NODES: usize = 5;

/// Builds the nodes of a run.
type Factory<N> = Box<dyn FnMut(NodeId) -> N>;
/// A test of this suite, run against the nodes a factory builds.
type Test<N> = fn(u64, Factory<N>) -> Result<(), Failure>;

fn subject() -> Factory<Server> {
    Box::new(|id| Server::new(id, Config::initial(&INITIAL)))
}

// ----- the tests ----------------------------------------------------------------

/// The course's network: 1–10 ms per hop.
fn course_network() -> Network {
    Network::reliable(ms(1), ms(10))
}

/// Four changes (join, leave, join, leave) at 20% loss and 10% duplication.
fn lossy<N: Observed>(seed: u64, factory: Factory<N>) -> Result<(), Failure> {
    let profile = Profile {
        changes: 4,
        network: course_network().with_loss(0.2).with_duplication(0.1),
    };
    scenario(seed, factory, &profile).map(drop)
}

/// Four changes at 40% loss, with some messages held back for up to half a
/// second, so that old copies of transfers and acks arrive late.
fn heavy<N: Observed>(seed: u64, factory: Factory<N>) -> Result<(), Failure> {
    let profile = Profile {
        changes: 4,
        network: course_network()
            .with_loss(0.4)
            .with_duplication(0.2)
            .with_long_delays(0.05, ms(500)),
    };
    scenario(seed, factory, &profile).map(drop)
}

/// Eight changes on a mildly lossy network: shards travel back and forth.
fn many_changes<N: Observed>(seed: u64, factory: Factory<N>) -> Result<(), Failure> {
    let profile = Profile {
        changes: 8,
        network: course_network().with_loss(0.1),
    };
    scenario(seed, factory, &profile).map(drop)
}

/// The limit on each handoff and on the final phase.
pub(super) const LIVENESS: std::time::Duration = secs(5);

/// The fewest shards a change can move from `owners` and stay balanced:
/// a newcomer among `n` servers needs `SHARDS / (n + 1)`, a leaver's shards
/// must all go.
pub(super) fn fewest(owners: &[NodeId], servers: usize, change: Change) -> usize {
    match change {
        Change::Join(_) => SHARDS / (servers + 1),
        Change::Leave(leaver) => owners.iter().filter(|&&o| o == leaver).count(),
    }
}
