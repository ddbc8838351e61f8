//! The job every run does, and the model it is checked against: a
//! sequential run of the same job.

use super::Cluster;
use crate::subject::mapreduce::coordinator::{
    input_name, output_name, partition, App, Job, Store, STORE,
};
use dsim::{NodeId, Sim, SimRng};
use std::collections::BTreeMap;

/// Words the splits are made of (some repeat across splits, some do not).
const VOCABULARY: &[&str] = &[
    "the",
    "map",
    "reduce",
    "worker",
    "master",
    "split",
    "key",
    "value",
    "Google",
    "file",
    "rename",
    "atomic",
    "crash",
    "straggler",
    "backup",
    "task",
    "partition",
    "hash",
    "shuffle",
    "sort",
    "GFS",
    "cluster",
    "fault",
    "tolerance",
    "re-execution",
    "output",
    "input",
    "word",
];

/// Workers in every run (nodes 2 and up).
pub const WORKERS: usize = 4;

/// A job of `app` over six splits of random text, into three partitions,
/// with backup tasks or without.
pub fn job(app: App, backups: bool, rng: &mut SimRng) -> Job {
    let inputs = (0..6)
        .map(|_| {
            let words = rng.range(15..=40);
            let mut text = String::new();
            for i in 0..words {
                let word: &&str = rng.pick(VOCABULARY);
                text.push_str(word);
                text.push_str(if i % 7 == 6 { ". " } else { " " });
            }
            text
        })
        .collect();
    Job {
        app,
        inputs,
        reduces: 3,
        backups,
    }
}

/// What a sequential run of `job` puts in each partition.
pub fn sequential(job: &Job) -> Vec<String> {
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (m, text) in job.inputs.iter().enumerate() {
        for (key, value) in job.app.map(&input_name(m), text) {
            groups.entry(key).or_default().push(value);
        }
    }
    let mut outputs = vec![String::new(); job.reduces];
    for (key, values) in &groups {
        let line = format!("{key} {}\n", job.app.reduce(key, values));
        outputs[partition(key, job.reduces)].push_str(&line);
    }
    outputs
}

pub fn workers() -> Vec<NodeId> {
    (2..2 + WORKERS).map(NodeId).collect()
}

pub(super) fn store<N: Cluster>(sim: &Sim<N>) -> &Store {
    sim.node(STORE).expect("the store does not crash").store()
}

/// Whether every reduce output is in place.
pub fn finished<N: Cluster>(sim: &Sim<N>, reduces: usize) -> bool {
    let files = &store(sim).files;
    (0..reduces).all(|r| files.contains_key(&output_name(r)))
}

pub(super) fn short(text: &str) -> String {
    let start: String = text.chars().take(40).collect();
    if start.len() < text.len() {
        format!("{start:?}… ({} bytes)", text.len())
    } else {
        format!("{start:?}")
    }
}
