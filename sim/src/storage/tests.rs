use super::*;
use crate::rng::SimRng;
use std::collections::hash_map::DefaultHasher;

fn hash(storage: &Storage) -> u64 {
    let mut h = DefaultHasher::new();
    storage.hash(&mut h);
    h.finish()
}

#[test]
fn round_trips_values() {
    let mut s = Storage::default();
    s.put("term", &7u64);
    s.put("log", &vec!["a".to_string()]);
    assert_eq!(s.get::<u64>("term"), Some(7));
    assert_eq!(s.get::<Vec<String>>("log"), Some(vec!["a".to_string()]));
    assert_eq!(s.get::<u64>("missing"), None);
    s.remove("term");
    assert_eq!(s.get::<u64>("term"), None);
    assert_eq!(s.changes(), 3);
}

#[test]
fn keys_are_files_on_the_disk_and_a_remove_is_durable() {
    let mut s = Storage::default();
    s.put("a", &1u8);
    s.put("a.tmp", &2u8);
    s.put("b", &3u8);
    s.remove("b");
    s.remove("never");
    let names: Vec<&str> = s.disk.list().collect();
    assert_eq!(names, ["storage/a", "storage/a.tmp"]);
    assert_eq!(s.size(), 2);
    assert!(s.disk.is_synced());
    for seed in 0..20 {
        let mut after = s.clone();
        after.disk.power_cut(&mut SimRng::new(seed));
        assert_eq!(after.get::<u8>("a"), Some(1));
        assert_eq!(after.get::<u8>("a.tmp"), Some(2));
        assert_eq!(after.get::<u8>("b"), None);
    }
}

#[test]
fn files_of_the_nodes_own_are_not_storage() {
    let mut s = Storage::default();
    s.disk.create("storagex");
    s.disk.write_at("storagex", 0, b"12345").unwrap();
    s.put("k", &0u8);
    assert_eq!(s.size(), 1);
}

#[test]
fn storages_equal_in_contents_are_equal_whatever_their_history() {
    let mut once = Storage::default();
    once.put("k", &2u8);
    let mut twice = Storage::default();
    twice.put("k", &1u8);
    twice.put("k", &2u8);
    assert_eq!(once, twice);
    assert_eq!(hash(&once), hash(&twice));
    twice.put("k", &3u8);
    assert_ne!(once, twice);
}
