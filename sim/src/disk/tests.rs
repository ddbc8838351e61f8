use super::*;

fn bytes(n: usize, fill: u8) -> Vec<u8> {
    vec![fill; n]
}

/// The disk after a power cut drawn from `seed`.
fn cut(disk: &Disk, seed: u64) -> (Disk, PowerLoss) {
    let mut after = disk.clone();
    let loss = after.power_cut(&mut SimRng::new(seed));
    (after, loss)
}

#[test]
fn reads_see_writes_at_once_and_a_crash_keeps_them() {
    let mut disk = Disk::default();
    disk.create("log");
    assert_eq!(disk.append("log", b"abc"), Ok(0));
    assert_eq!(disk.append("log", b"de"), Ok(3));
    disk.write_at("log", 1, b"X").unwrap();
    assert_eq!(disk.read("log").unwrap(), b"aXcde");
    disk.write_at("log", 7, b"!").unwrap();
    assert_eq!(disk.read("log").unwrap(), b"aXcde\0\0!");
    disk.truncate("log", 2).unwrap();
    assert_eq!(disk.read("log").unwrap(), b"aX");
    assert_eq!(
        disk.read("nothing"),
        Err(DiskError::NotFound("nothing".into()))
    );
}

#[test]
fn synced_data_and_names_survive_every_power_cut() {
    let mut disk = Disk::default();
    disk.create("data");
    disk.append("data", &bytes(2000, 7)).unwrap();
    disk.sync("data").unwrap();
    disk.sync_dir();
    assert!(disk.is_synced());
    for seed in 0..50 {
        let (after, loss) = cut(&disk, seed);
        assert_eq!(after.read("data").unwrap(), &bytes(2000, 7)[..]);
        assert_eq!(loss, PowerLoss::default());
    }
}

#[test]
fn unsynced_writes_survive_as_a_prefix_in_order_and_the_next_may_be_torn() {
    let mut disk = Disk::default();
    disk.create("wal");
    disk.sync_dir();
    let records: Vec<Vec<u8>> = (0..4u8).map(|i| bytes(700, i + 1)).collect();
    for record in &records {
        disk.append("wal", record).unwrap();
    }
    let (mut kept_counts, mut torn) = (std::collections::BTreeSet::new(), 0);
    for seed in 0..400 {
        let (after, loss) = cut(&disk, seed);
        let data = after.read("wal").unwrap();
        let whole = loss.kept;
        kept_counts.insert(whole);
        assert_eq!(whole + loss.lost, 4);
        // The first `whole` records are there, whole and in order.
        for (i, record) in records.iter().take(whole).enumerate() {
            assert_eq!(&data[i * 700..(i + 1) * 700], &record[..], "seed {seed}");
        }
        let tail = &data[whole * 700..];
        if loss.torn {
            torn += 1;
            // Torn at a sector boundary, inside the next record.
            assert!(!tail.is_empty() && tail.len() < 700, "seed {seed}");
            assert_eq!(data.len() as u64 % SECTOR, 0, "seed {seed}");
            assert!(tail.iter().all(|&b| b == whole as u8 + 1), "seed {seed}");
        } else {
            assert!(tail.is_empty(), "seed {seed}: {} bytes", tail.len());
        }
    }
    assert_eq!(kept_counts.len(), 5, "from none to all: {kept_counts:?}");
    assert!(torn > 0, "no write was ever torn");
}

#[test]
fn a_write_within_one_sector_is_never_torn() {
    let mut disk = Disk::default();
    disk.create("f");
    disk.sync_dir();
    disk.write_at("f", 100, &bytes(400, 9)).unwrap();
    for seed in 0..100 {
        let (after, loss) = cut(&disk, seed);
        assert!(!loss.torn);
        let data = after.read("f").unwrap();
        assert!(data.is_empty() || data.len() == 500, "seed {seed}");
    }
}

#[test]
fn names_are_those_of_the_last_directory_sync() {
    let mut disk = Disk::default();
    disk.create("old");
    disk.append("old", b"first").unwrap();
    disk.sync("old").unwrap();
    disk.sync_dir();
    // Write a new version beside it, sync its data, rename it over.
    disk.create("old.tmp");
    disk.append("old.tmp", b"second").unwrap();
    disk.sync("old.tmp").unwrap();
    disk.rename("old.tmp", "old").unwrap();
    assert_eq!(disk.read("old").unwrap(), b"second");
    for seed in 0..20 {
        let (after, loss) = cut(&disk, seed);
        assert_eq!(after.read("old").unwrap(), b"first", "rename undone");
        assert!(!after.exists("old.tmp"), "creation undone");
        assert_eq!(loss.names_undone, 1, "one name differs: old");
    }
    disk.sync_dir();
    for seed in 0..20 {
        let (after, _) = cut(&disk, seed);
        assert_eq!(after.read("old").unwrap(), b"second");
        assert_eq!(after.list().collect::<Vec<_>>(), ["old"]);
    }
    // A removal not synced comes back.
    disk.remove("old").unwrap();
    assert!(!disk.exists("old"));
    let (after, _) = cut(&disk, 1);
    assert_eq!(after.read("old").unwrap(), b"second");
}

#[test]
fn a_new_file_synced_but_not_its_name_is_lost() {
    let mut disk = Disk::default();
    disk.create("fresh");
    disk.append("fresh", b"data").unwrap();
    disk.sync("fresh").unwrap();
    let (after, _) = cut(&disk, 3);
    assert!(!after.exists("fresh"));
}

#[test]
fn the_same_seed_cuts_the_same_way() {
    let mut disk = Disk::default();
    disk.create("f");
    disk.sync_dir();
    for i in 0..10u8 {
        disk.append("f", &bytes(300, i)).unwrap();
    }
    for seed in 0..30 {
        let (a, la) = cut(&disk, seed);
        let (b, lb) = cut(&disk, seed);
        assert_eq!(a.read("f").unwrap(), b.read("f").unwrap());
        assert_eq!(la, lb);
    }
}

#[test]
fn disks_are_equal_by_what_they_hold_and_what_a_power_cut_would_leave() {
    let mut direct = Disk::default();
    direct.create("a");
    direct.append("a", b"x").unwrap();
    direct.sync("a").unwrap();
    direct.sync_dir();
    let mut roundabout = Disk::default();
    roundabout.create("tmp");
    roundabout.append("tmp", b"x").unwrap();
    roundabout.sync("tmp").unwrap();
    roundabout.rename("tmp", "a").unwrap();
    roundabout.sync_dir();
    assert_eq!(direct, roundabout, "files are compared, not their numbers");

    let mut renamed = direct.clone();
    renamed.rename("a", "b").unwrap();
    let mut made = direct.clone();
    made.remove("a").unwrap();
    made.create("b");
    made.append("b", b"x").unwrap();
    made.sync("b").unwrap();
    assert_eq!(renamed.read("b"), made.read("b"));
    assert_ne!(
        renamed, made,
        "in one, a write to b changes what a power cut leaves of a"
    );
    renamed.sync_dir();
    made.sync_dir();
    assert_eq!(renamed, made);
}

/// `replace_synced` against its five steps taken one by one, from a disk
/// with names and writes not yet synced, for every point a failure may be
/// pending at: the same disk, the same syncs recorded, the same cut after.
#[test]
fn a_synced_replace_is_its_five_steps() {
    let mut start = Disk::default();
    start.create("old");
    start.append("old", &bytes(900, 1)).unwrap();
    start.sync("old").unwrap();
    start.sync_dir();
    start.create("loose");
    start.append("loose", &bytes(700, 2)).unwrap();
    start.rename("old", "moved").unwrap();
    for fail in [None, Some(0), Some(2), Some(4), Some(5), Some(7)] {
        for to in ["moved", "new", "loose"] {
            let (mut quick, mut steps) = (start.clone(), start.clone());
            if let Some(ops) = fail {
                quick.fail_after(ops);
                steps.fail_after(ops);
            }
            quick.replace_synced("tmp".into(), to, bytes(1500, 3));
            steps.create("tmp");
            steps.write_at("tmp", 0, &bytes(1500, 3)).unwrap();
            steps.sync("tmp").unwrap();
            steps.rename("tmp", to).unwrap();
            steps.sync_dir();
            let case = format!("failure after {fail:?}, to {to}");
            assert_eq!(quick, steps, "{case}");
            assert_eq!(
                quick.list().collect::<Vec<_>>(),
                steps.list().collect::<Vec<_>>()
            );
            assert_eq!(quick.synced, steps.synced, "{case}");
            assert_eq!(
                (quick.syncs(), quick.bytes_written(), quick.failed),
                (steps.syncs(), steps.bytes_written(), steps.failed),
                "{case}"
            );
            for seed in 0..5 {
                let (q, _) = cut(&quick, seed);
                let (s, _) = cut(&steps, seed);
                assert_eq!(q, s, "{case}, seed {seed}");
            }
            quick.create("next");
            steps.create("next");
            assert_eq!(
                quick.failed, steps.failed,
                "{case}: the same operations left"
            );
        }
    }
}
