//! Group `hash_ring`: consistent hashing with virtual nodes (in progress).

pub fn tests(suite: dscheck::Suite) -> dscheck::Suite {
    suite
}
