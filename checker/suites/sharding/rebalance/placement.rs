//! `next_config` on its own, over long random runs of joins and leaves in
//! which servers leave and come back and newcomers have lower ids than the
//! servers already there (the scenarios only ever add higher ids): the
//! servers stay in id order, and each shard moves where the function's doc
//! says, ties broken by the lowest id and the lowest shard.

use crate::subject::sharding::rebalance::{next_config, Change, Config, SHARDS};
use dscheck::{ensure, Failure, Property};
use dsim::{NodeId, SimRng};

const PLACEMENT: Property = Property {
    name: "next_config keeps the servers in id order and moves each shard where its doc says",
    hint: "sort servers after a join; a join takes SHARDS / (n + 1) shards, each the lowest shard of the server with the most (the lowest id among equals); a leave gives each of the leaver's shards, in shard order, to the remaining server with the fewest (the lowest id among equals)",
    when: &[],
};

/// The ids servers are drawn from.
const IDS: usize = 8;
/// Runs, and changes per run.
const RUNS: u64 = 4;
const CHANGES: usize = 16;

pub fn next_config_follows_the_rules() -> Result<(), Failure> {
    for run in 1..=RUNS {
        let mut rng = SimRng::new(run);
        let mut config = Config::initial(&[NodeId(5), NodeId(2), NodeId(6)]);
        let mut changes = Vec::new();
        for _ in 0..CHANGES {
            let change = draw(&config, &mut rng);
            changes.push(change);
            let next = next_config(&config, change);
            let expected = by_the_rules(&config, change);
            ensure(next == expected, PLACEMENT, || {
                format!(
                    "after the changes {changes:?} from configuration 1 of servers [n2, n5, n6]:\n  next_config gave {next:?}\n  expected       {expected:?}"
                )
            })?;
            config = next;
        }
    }
    Ok(())
}

/// A join of a server outside (any id, lower ones included) or a leave of
/// one inside, keeping two servers at least.
fn draw(config: &Config, rng: &mut SimRng) -> Change {
    let outside: Vec<NodeId> = (0..IDS)
        .map(NodeId)
        .filter(|id| !config.servers.contains(id))
        .collect();
    let join = config.servers.len() <= 2 || (!outside.is_empty() && rng.chance(0.5));
    if join {
        Change::Join(*rng.pick(&outside))
    } else {
        Change::Leave(*rng.pick(&config.servers))
    }
}

/// The next configuration, as the doc of `next_config` states it.
fn by_the_rules(config: &Config, change: Change) -> Config {
    let count = |owners: &[NodeId], s: NodeId| owners.iter().filter(|&&o| o == s).count();
    let mut servers = config.servers.clone();
    let mut owners = config.owners.clone();
    match change {
        Change::Join(newcomer) => {
            let before = servers.clone();
            servers.push(newcomer);
            servers.sort();
            for _ in 0..SHARDS / servers.len() {
                let most = before.iter().map(|&s| count(&owners, s)).max().unwrap_or(0);
                let busiest = *before
                    .iter()
                    .filter(|&&s| count(&owners, s) == most)
                    .min()
                    .expect("a server has the most");
                let shard = (0..SHARDS)
                    .find(|&s| owners[s] == busiest)
                    .expect("the busiest has a shard");
                owners[shard] = newcomer;
            }
        }
        Change::Leave(leaver) => {
            servers.retain(|&s| s != leaver);
            for shard in (0..SHARDS).filter(|&s| config.owners[s] == leaver) {
                let least = servers
                    .iter()
                    .map(|&s| count(&owners, s))
                    .min()
                    .unwrap_or(0);
                owners[shard] = *servers
                    .iter()
                    .filter(|&&s| count(&owners, s) == least)
                    .min()
                    .expect("a server has the fewest");
            }
        }
    }
    Config {
        num: config.num + 1,
        servers,
        owners,
    }
}
