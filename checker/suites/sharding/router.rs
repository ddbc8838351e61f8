//! sharding_router: a router whose routing table goes stale as shards move
//! is redirected by the servers, never loses a write, and its table catches
//! up with the servers' configuration.
//!
//! Every scenario and check here (and in [`scenario`]) is generic over
//! [`Observed`], so that the `meta::` tests can run known-wrong routers (the
//! [`wrong::Model`], with one [`wrong::Flaw`] each) through the very same
//! checks.

mod scenario;
mod wrong;

use crate::subject::sharding::router::{Config, Msg, Op, Reply, Request, Sharded};
use dscheck::{ms, Failure, Property, Suite};
use dsim::{Network, Node, NodeId, RequestId};
use scenario::{scenario, Profile};
use wrong::{caught, correct_model_passes, Flaw};

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded("router::no_write_lost_while_shards_move", 20, |seed| {
            steady(seed, subject())
        })
        .seeded("router::stale_router_catches_up", 20, |seed| {
            reordered(seed, subject())
        })
        .test("meta::router_correct_model_passes", correct_model_passes)
        .test("meta::router_answers_a_redirect_as_success", || {
            caught(Flaw::AnswersRedirect, steady, READABLE)
        })
        .test("meta::router_drops_a_redirected_request", || {
            caught(Flaw::DropsRedirected, steady, ANSWERED)
        })
        .test("meta::router_never_updates_its_table", || {
            caught(Flaw::NeverLearns, steady, BOUNDED)
        })
        .test("meta::router_follows_redirects_without_learning", || {
            caught(Flaw::FollowsWithoutLearning, steady, CONVERGES)
        })
}

// ----- properties and their hints ---------------------------------------------

const READABLE: Property = Property {
    name: "every write a client was told succeeded can be read afterwards",
    hint: "a Redirect means the request was not carried out: keep it in pending and forward it \
           again; answer the client only on Done, with the reply the server sent",
    when: &[],
};
const BOUNDED: Property = Property {
    name: "a request is redirected at most 3 times",
    hint: "on a Redirect, adopt the configuration it carries when its number is higher than the \
           table's, then route the request with the updated table: the old owner would only \
           redirect it again",
    when: &[],
};
const ANSWERED: Property = Property {
    name: "every request is answered",
    hint: "a request stays in pending until a Done arrives for it: after a Redirect forward it \
           again at once, after a TryLater set a Retry timer and forward it when it fires",
    when: &[],
};
const CONVERGES: Property = Property {
    name: "the router's table converges to the servers' configuration",
    hint: "the table is what the router learns from: replace it with a redirect's configuration \
           whenever that configuration is newer",
    when: &[],
};

// ----- what the checks see of an implementation --------------------------------

/// How the checks read a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Written,
    Value(Option<u64>),
    Other,
}

/// What the checks need from an implementation.
pub trait Observed: Node {
    fn client(op: Op) -> Self::Request;
    fn reconfigure(num: u64, owners: Vec<NodeId>) -> Self::Request;
    /// The client operation of a request, if it is one.
    fn op(request: &Self::Request) -> Option<Op>;
    fn answer(reply: &Self::Reply) -> Answer;
    /// The request a redirect message is about, if `msg` is one.
    fn redirect_of(msg: &Self::Msg) -> Option<RequestId>;
    /// A router's table: its number and owners (`None` on a server).
    fn table(&self) -> Option<(u64, Vec<NodeId>)>;
    /// A server's configuration (`None` on a router).
    fn config(&self) -> Option<(u64, Vec<NodeId>)>;
    /// Whether a server still awaits the data of a shard.
    fn busy(&self) -> bool;
}

impl Observed for Sharded {
    fn client(op: Op) -> Request {
        Request::Client(op)
    }
    fn reconfigure(num: u64, owners: Vec<NodeId>) -> Request {
        Request::Reconfigure(Config { num, owners })
    }
    fn op(request: &Request) -> Option<Op> {
        match request {
            Request::Client(op) => Some(*op),
            Request::Reconfigure(_) => None,
        }
    }
    fn answer(reply: &Reply) -> Answer {
        match *reply {
            Reply::Written => Answer::Written,
            Reply::Value(v) => Answer::Value(v),
            Reply::Reconfigured => Answer::Other,
        }
    }
    fn redirect_of(msg: &Msg) -> Option<RequestId> {
        match msg {
            Msg::Redirect { id, .. } => Some(*id),
            _ => None,
        }
    }
    fn table(&self) -> Option<(u64, Vec<NodeId>)> {
        match self {
            Sharded::Router(r) => Some((r.table.num, r.table.owners.clone())),
            Sharded::Server(_) => None,
        }
    }
    fn config(&self) -> Option<(u64, Vec<NodeId>)> {
        match self {
            Sharded::Server(s) => Some((s.config.num, s.config.owners.clone())),
            Sharded::Router(_) => None,
        }
    }
    fn busy(&self) -> bool {
        matches!(self, Sharded::Server(s) if !s.incoming.is_empty())
    }
}

/// The servers of configuration 1 (n0 and n1 are the routers, n5 may join).
pub(super) const INITIAL: [NodeId; 3] = [NodeId(2), NodeId(3), NodeId(4)];
/// How many nodes a run has.
pub(super) const NODES: usize = 6;

/// Builds the nodes of a run.
type Factory<N> = Box<dyn FnMut(NodeId) -> N>;
/// A test of this suite, run against the nodes a factory builds.
type Test<N> = fn(u64, Factory<N>) -> Result<(), Failure>;

fn subject() -> Factory<Sharded> {
    Box::new(|id| Sharded::new(id, Config::initial(&INITIAL)))
}

// ----- the tests ----------------------------------------------------------------

/// Four changes; the busy router n0 sees traffic all along, the other (n1)
/// only now and then, so its table falls several configurations behind.
fn steady<N: Observed>(seed: u64, factory: Factory<N>) -> Result<(), Failure> {
    let profile = Profile {
        changes: 4,
        network: Network::reliable(ms(1), ms(10)),
    };
    scenario(seed, factory, &profile)
}

/// Six changes, with a few messages held back for up to 100 ms, so that
/// replies and redirects overtake each other.
fn reordered<N: Observed>(seed: u64, factory: Factory<N>) -> Result<(), Failure> {
    let profile = Profile {
        changes: 6,
        network: Network::reliable(ms(1), ms(10)).with_long_delays(0.05, ms(100)),
    };
    scenario(seed, factory, &profile)
}
