//! log_partition_leader: one partition on three replicas, a leader and its
//! in-sync replicas (ISR), under loss, duplication, delay, partitions,
//! crashes and skewed clocks. The suite plays the producers, the consumers
//! and the operator who tells the controller the leader is gone; the
//! properties of `watch.rs` are checked after every step. Written-out runs
//! show the rest: a follower cut off leaves the ISR and rejoins, the
//! controller refuses to elect a replica out of sync, an old leader cut off
//! is fenced, `acks=1` loses acknowledged records in a failover, and late
//! copies of old answers change nothing.

mod acks_one;
mod clients;
mod late;
#[cfg(bugs)]
mod meta;
mod scenarios;
pub mod watch;

use crate::subject::log::partition_leader::PartitionLeader;
use acks_one::acks_one_loses;
use clients::{ALL, CUTS, LOSSY, NONE};
use dscheck::{Property, Suite};
use late::late_answers;
#[cfg(bugs)]
pub use meta::meta;
use scenarios::{catch_up, failovers, grace, laggard, laggard_elected, split_brain, unclean};

const ELECTS: Property = Property {
    name: "the controller answers Elect at once: Elected with a member of its ISR other than \
           the old leader, dropped from the ISR, and the new leader told at once; or \
           NoCandidate when the ISR holds only the old leader",
    hint: "elect: pick a member of isr other than leader, remove the old leader from isr and \
           announce (LeaderAndIsr to every replica) before replying; with none, reply \
           Reply::NoCandidate and change nothing",
    when: &[],
};

const CONVERGED: Property = Property {
    name: "once the network is calm and every replica up, every replica holds the leader's log \
           with the leader's high watermark at its end, the ISR is whole again, and every \
           acks=all producer of the last epoch is answered",
    hint: "followers fetch every FETCH_EVERY and again at once after records; the leader \
           proposes a caught-up follower back into the ISR (in_sync, end >= hw) and advances \
           the HW on every fetch; an old leader follows the controller's announcement",
    when: &[],
};

const LAGGARDS: Property = Property {
    name: "a follower that gets nothing from the leader leaves the ISR within 250 ms, and not \
           before LAG_TIMEOUT (from its last catching up, or from the leader taking over), \
           after which acks=all producers are answered again, even by a leader alone in its \
           ISR; it rejoins within 300 ms once the network heals",
    hint: "on every Tick, review_isr: drop a member not caught up within LAG_TIMEOUT (caught \
           up: its fetch reached your log end as of its previous fetch), add back a follower in \
           sync whose end reaches the HW; resend a pending proposal on each Tick, take the \
           controller's answer as the confirmation, and advance the HW then and on each produce",
    when: &[],
};

const QUICK: Property = Property {
    name: "on a network that delivers within 2 ms, a follower far behind, or with records the \
           leader does not hold, catches up at the speed of round trips, not of FETCH_EVERY",
    hint: "fetch again at once after records arrive (if any came) and after dropping a \
           diverged record",
    when: &[],
};

pub fn tests(suite: Suite) -> Suite {
    suite
        .seeded(
            "partition_leader::failover_keeps_committed_records",
            4,
            |seed| failovers::<PartitionLeader>(seed, NONE),
        )
        .seeded("partition_leader::on_a_lossy_network", 4, |seed| {
            failovers::<PartitionLeader>(seed, LOSSY)
        })
        .seeded(
            "partition_leader::with_partitions_and_restarts",
            4,
            |seed| failovers::<PartitionLeader>(seed, CUTS),
        )
        .seeded(
            "partition_leader::every_fault_with_skewed_clocks",
            4,
            |seed| failovers::<PartitionLeader>(seed, ALL),
        )
        .seeded(
            "partition_leader::a_cut_off_follower_leaves_and_rejoins_the_isr",
            2,
            |seed| laggard::<PartitionLeader>(seed, false),
        )
        .seeded(
            "partition_leader::a_follower_that_fetches_but_gets_nothing_leaves_the_isr",
            2,
            |seed| laggard::<PartitionLeader>(seed, true),
        )
        .seeded(
            "partition_leader::a_new_leader_gives_its_followers_time",
            2,
            grace::<PartitionLeader>,
        )
        .seeded(
            "partition_leader::followers_catch_up_at_the_speed_of_round_trips",
            2,
            catch_up::<PartitionLeader>,
        )
        .seeded(
            "partition_leader::failover_after_a_follower_left_the_isr",
            2,
            laggard_elected::<PartitionLeader>,
        )
        .seeded("partition_leader::no_election_outside_the_isr", 2, |seed| {
            unclean::<PartitionLeader>(seed)
        })
        .seeded(
            "partition_leader::an_old_leader_cut_off_is_fenced",
            2,
            split_brain::<PartitionLeader>,
        )
        .seeded(
            "partition_leader::acks_1_loses_acknowledged_records",
            2,
            acks_one_loses::<PartitionLeader>,
        )
        .seeded(
            "partition_leader::late_copies_of_old_answers_change_nothing",
            2,
            late_answers::<PartitionLeader>,
        )
}
