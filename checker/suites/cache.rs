//! The suite of topic 10, the distributed cache: `cache_lru_ttl`,
//! `cache_cluster`, `cache_single_flight` and `cache_server`. Tests in the
//! `meta` group run each property check on a known-wrong implementation
//! (written here, or the reference with one bug from `cache/bugs/`, see
//! `checker/build.rs`) and pass only if the check finds the bug; they grade
//! no exercise.

// A check of one exercise compiles only its part of the suite, and not
// every helper is used there.
#![cfg_attr(
    feature = "single-exercise",
    allow(dead_code, unused_imports, unused_macros)
)]

#[cfg(feature = "learner")]
use exercises as subject;
#[cfg(not(feature = "learner"))]
use solutions as subject;

mod cache {
    #[cfg(exercise = "cache_cluster")]
    pub mod cluster;
    #[cfg(exercise = "cache_lru_ttl")]
    pub mod lru_ttl;
    #[cfg(exercise = "cache_server")]
    pub mod server;
    #[cfg(exercise = "cache_single_flight")]
    pub mod single_flight;
}

/// The reference with one bug each, made by `build.rs` from `cache/bugs/`.
#[cfg(bugs)]
#[allow(
    dead_code,
    unused_imports,
    unused_variables,
    unused_mut,
    unreachable_code,
    clippy::all
)]
mod bugs {
    include!(concat!(env!("OUT_DIR"), "/bugs_cache.rs"));
}

fn main() {
    let suite = dscheck::Suite::new("cache");
    #[cfg(exercise = "cache_lru_ttl")]
    let suite = cache::lru_ttl::tests(suite);
    #[cfg(exercise = "cache_cluster")]
    let suite = cache::cluster::tests(suite);
    #[cfg(exercise = "cache_single_flight")]
    let suite = cache::single_flight::tests(suite);
    #[cfg(exercise = "cache_server")]
    let suite = cache::server::tests(suite);
    suite.run()
}
