//! The learner's crate: one folder per topic, one file per exercise.
//!
//! You edit the files in the topic folders; this file only lists them. Run
//! `cargo run` (or `dscourse`) at the top of the kit to start the course.

// A stub names its parameters before you use them.
#![allow(unused_variables)]
// Every exercise is written in safe Rust. (This also keeps the code under
// test from reaching past the simulator into the grader's process, and
// rules out #[no_mangle], #[export_name] and #[link_section].)
#![forbid(unsafe_code)]

// Each exercise is a cargo feature named like it, and each topic a feature
// with all of its exercises (all on by default): a check builds only the
// exercise it grades (and the files that exercise uses), so a save
// recompiles one file, and a file you broke elsewhere does not stop this
// one from being checked. Raft, two-phase commit, replication and MapReduce build one
// system over several files: each of their exercises builds the whole topic.

#[path = "00_intro"]
pub mod intro {
    #[cfg(feature = "intro_pingpong")]
    pub mod pingpong;
    #[cfg(feature = "intro_retry")]
    pub mod retry;
}

#[path = "01_generals"]
pub mod generals {
    #[cfg(feature = "generals_adversary")]
    pub mod adversary;
    #[cfg(feature = "generals_messengers")]
    pub mod messengers;
}

#[path = "02_byzantine"]
pub mod byzantine {
    #[cfg(feature = "byzantine_oral_messages")]
    pub mod oral_messages;
    #[cfg(feature = "byzantine_signed_messages")]
    pub mod signed_messages;
    #[cfg(feature = "byzantine_three_is_not_enough")]
    pub mod three_is_not_enough;
}

#[path = "03_clocks"]
pub mod clocks {
    #[cfg(feature = "clocks_lamport")]
    pub mod lamport;
    #[cfg(feature = "clocks_physical")]
    pub mod physical;
    #[cfg(feature = "clocks_vector")]
    pub mod vector;
}

#[path = "04_broadcast"]
pub mod broadcast {
    #[cfg(feature = "broadcast_causal")]
    pub mod causal;
    #[cfg(feature = "broadcast_fifo")]
    pub mod fifo;
    #[cfg(feature = "broadcast_gossip")]
    pub mod gossip;
    #[cfg(feature = "broadcast_reliable")]
    pub mod reliable;
    #[cfg(feature = "broadcast_total_order")]
    pub mod total_order;
}

#[cfg(feature = "raft")]
#[path = "05_raft"]
pub mod raft {
    pub mod election;
    pub mod kv;
    pub mod membership;
    pub mod persist;
    pub mod replication;
    pub mod snapshot;

    pub use election::*;
    pub use persist::*;
    pub use replication::*;
    pub use snapshot::*;
}

#[path = "06_quorums"]
pub mod quorums {
    #[cfg(feature = "quorum_abd")]
    pub mod quorum_abd;
    #[cfg(feature = "quorum_anti_entropy")]
    pub mod quorum_anti_entropy;
    #[cfg(feature = "quorum_linearizability")]
    pub mod quorum_linearizability;
    #[cfg(feature = "quorum_read_repair")]
    pub mod quorum_read_repair;
    #[cfg(feature = "quorum_rw")]
    pub mod quorum_rw;
}

#[cfg(feature = "tpc")]
#[path = "07_two_phase_commit"]
pub mod tpc {
    pub mod basic;
    pub mod recovery;
}

#[path = "08_crdts"]
pub mod crdts {
    #[cfg(feature = "crdt_g_counter")]
    pub mod g_counter;
    #[cfg(feature = "crdt_lww_register")]
    pub mod lww_register;
    #[cfg(feature = "crdt_or_set")]
    pub mod or_set;
    #[cfg(feature = "crdt_pn_counter")]
    pub mod pn_counter;
}

#[path = "09_sharding"]
pub mod sharding {
    #[cfg(feature = "sharding_hash_ring")]
    pub mod hash_ring;
    #[cfg(feature = "sharding_rebalance")]
    pub mod rebalance;
    #[cfg(feature = "sharding_router")]
    pub mod router;
}

#[path = "10_cache"]
pub mod cache {
    #[cfg(feature = "cache_cluster")]
    pub mod cluster;
    #[cfg(feature = "cache_lru_ttl")]
    pub mod lru_ttl;
    #[cfg(feature = "cache_server")]
    pub mod server;
    #[cfg(feature = "cache_single_flight")]
    pub mod single_flight;
}

#[path = "11_event_sourcing"]
pub mod events {
    #[cfg(feature = "events_projections")]
    pub mod projections;
    #[cfg(feature = "events_snapshots")]
    pub mod snapshots;
    #[cfg(feature = "events_store")]
    pub mod store;
    #[cfg(feature = "events_temporal")]
    pub mod temporal;
}

#[path = "12_paxos"]
pub mod paxos {
    #[cfg(feature = "paxos_multi")]
    pub mod multi;
    #[cfg(feature = "paxos_single_decree")]
    pub mod single_decree;
}

#[cfg(feature = "replication")]
#[path = "13_replication"]
pub mod replication {
    pub mod failover;
    pub mod log_shipping;
    pub mod read_guarantees;

    pub use failover::*;
    pub use log_shipping::*;
    pub use read_guarantees::*;
}

#[path = "14_coord"]
pub mod coord {
    #[cfg(feature = "coord_fencing")]
    pub mod fencing;
    #[cfg(feature = "coord_lease")]
    pub mod lease;
    #[cfg(feature = "coord_sessions")]
    pub mod sessions;
}

#[path = "15_failure_detection"]
pub mod fd {
    #[cfg(feature = "fd_heartbeat")]
    pub mod heartbeat;
    #[cfg(feature = "fd_phi_accrual")]
    pub mod phi_accrual;
    #[cfg(feature = "fd_swim")]
    pub mod swim;
}

#[path = "16_storage"]
pub mod storage {
    #[cfg(feature = "storage_btree")]
    pub mod btree;
    #[cfg(feature = "storage_lsm")]
    pub mod lsm;
    #[cfg(feature = "storage_wal")]
    pub mod wal;
}

#[path = "17_log"]
pub mod log {
    #[cfg(feature = "log_consumer_groups")]
    pub mod consumer_groups;
    #[cfg(feature = "log_idempotent_producer")]
    pub mod idempotent_producer;
    #[cfg(feature = "log_partition_leader")]
    pub mod partition_leader;
}

#[cfg(feature = "mapreduce")]
#[path = "18_mapreduce"]
pub mod mapreduce {
    pub mod coordinator;
    pub mod stragglers;

    pub use coordinator::*;
}
