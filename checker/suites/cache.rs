//! The suite of topic 10, the distributed cache: `cache_lru_ttl`,
//! `cache_cluster`, `cache_single_flight` and `cache_server`. Tests in the
//! `meta` group run each property check on a known-wrong implementation
//! (written here, or the reference with one bug from `cache/bugs/`, see
//! `checker/build.rs`) and pass only if the check finds the bug; they grade
//! no exercise.

#[cfg(feature = "learner")]
use exercises as subject;
#[cfg(not(feature = "learner"))]
use solutions as subject;

mod cache {
    pub mod cluster;
    pub mod lru_ttl;
    pub mod server;
    pub mod single_flight;
}

/// The reference with one bug each, made by `build.rs` from `cache/bugs/`.
#[cfg(bugs)]
#[allow(
    dead_code,
    unused_imports,
    unused_variables,
    unreachable_code,
    clippy::all
)]
mod bugs {
    include!(concat!(env!("OUT_DIR"), "/bugs_cache.rs"));
}

fn main() {
    let suite = dscheck::Suite::new("cache");
    let suite = cache::lru_ttl::tests(suite);
    let suite = cache::cluster::tests(suite);
    let suite = cache::single_flight::tests(suite);
    let suite = cache::server::tests(suite);
    suite.run()
}
