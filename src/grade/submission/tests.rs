use super::*;
use std::fs;

const WANTED: [&str; 3] = [
    "00_intro/pingpong.rs",
    "00_intro/retry.rs",
    "05_raft/raft/log.rs",
];

/// A fresh folder under the system's temp dir, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("dscourse-submission-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn write(&self, rel: &str, contents: &str) {
        let path = self.0.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }

    #[cfg(unix)]
    fn link(&self, rel: &str, target: &Path) {
        let path = self.0.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, path).unwrap();
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A small kit: stubs in exercises/, a manifest, a suite, a stub copy.
fn kit(name: &str) -> Scratch {
    let kit = Scratch::new(&format!("{name}-kit"));
    kit.write("exercises/00_intro/pingpong.rs", "pingpong stub");
    kit.write("exercises/00_intro/retry.rs", "retry stub");
    kit.write("exercises/05_raft/raft/log.rs", "log stub");
    kit.write("exercises/lib.rs", "mod intro;");
    kit.write("Cargo.toml", "[workspace]");
    kit.write("checker/suites/intro.rs", "tests");
    kit.write("checker/stubs/00_intro/pingpong.rs", "pingpong stub");
    kit
}

fn take_from(submission: &Scratch, kit: &Scratch) -> Intake {
    take(&submission.0, &kit.0, &WANTED, Limits::DEFAULT).unwrap()
}

fn graded(intake: &Intake) -> Vec<(&str, &str)> {
    intake
        .files
        .iter()
        .map(|(rel, bytes)| (rel.as_str(), std::str::from_utf8(bytes).unwrap()))
        .collect()
}

#[test]
fn finds_an_upload_nested_in_folders() {
    let kit = kit("nested");
    let upload = Scratch::new("nested");
    upload.write("upload/kit-main/exercises/00_intro/pingpong.rs", "mine");
    upload.write("upload/kit-main/exercises/00_intro/retry.rs", "mine too");
    upload.write("upload/kit-main/exercises/lib.rs", "mod intro;");
    let intake = take_from(&upload, &kit);
    assert_eq!(
        graded(&intake),
        [
            ("00_intro/pingpong.rs", "mine"),
            ("00_intro/retry.rs", "mine too")
        ]
    );
    assert_eq!(intake.ignored, Vec::<String>::new());
    assert!(intake.notes.is_empty() && !intake.refused_any);
}

#[test]
fn the_shallowest_of_two_copies_wins_and_the_other_is_listed() {
    let kit = kit("copies");
    let upload = Scratch::new("copies");
    upload.write("old/exercises/00_intro/pingpong.rs", "old");
    upload.write("exercises/00_intro/pingpong.rs", "new");
    let intake = take_from(&upload, &kit);
    assert_eq!(graded(&intake), [("00_intro/pingpong.rs", "new")]);
    assert_eq!(
        intake.ignored,
        ["old/exercises/00_intro/pingpong.rs: another copy of exercises/00_intro/pingpong.rs, not graded (exercises/00_intro/pingpong.rs was)"]
    );
}

#[test]
fn loose_files_are_found_at_any_depth_and_in_any_case() {
    let kit = kit("loose");
    let upload = Scratch::new("loose");
    upload.write("PingPong.rs", "mine");
    upload.write("a/b/c/retry.RS", "mine too");
    upload.write("a/b/log.rs", "log");
    let intake = take_from(&upload, &kit);
    assert_eq!(
        graded(&intake),
        [
            ("00_intro/pingpong.rs", "mine"),
            ("00_intro/retry.rs", "mine too"),
            ("05_raft/raft/log.rs", "log")
        ]
    );
    assert_eq!(
        intake.notes,
        [
            "PingPong.rs: graded as exercises/00_intro/pingpong.rs, its name matching only without regard to case",
            "a/b/c/retry.RS: graded as exercises/00_intro/retry.rs, its name matching only without regard to case"
        ]
    );
    assert!(intake.ignored.is_empty(), "{:?}", intake.ignored);
}

#[test]
fn a_folder_named_in_other_case_is_found_and_noted() {
    let kit = kit("case");
    let upload = Scratch::new("case");
    upload.write("Exercises/00_Intro/pingpong.rs", "mine");
    let intake = take_from(&upload, &kit);
    assert_eq!(graded(&intake), [("00_intro/pingpong.rs", "mine")]);
    assert_eq!(intake.notes.len(), 1);
    assert!(intake.notes[0].starts_with("Exercises/00_Intro/pingpong.rs: graded as"));
}

#[cfg(unix)]
#[test]
fn no_link_is_followed() {
    let kit = kit("links");
    let upload = Scratch::new("links");
    // exercises/ pointing at a folder of finished work: never read.
    upload.link("exercises", &kit.0.join("exercises"));
    let intake = take_from(&upload, &kit);
    assert!(intake.files.is_empty());
    assert!(intake.refused_any, "graded at zero, not turned away");
    assert_eq!(intake.ignored, ["exercises: a symbolic link: not followed"]);

    // A linked exercise file is not submitted; a linked loop ends.
    let upload = Scratch::new("file-link");
    upload.write("exercises/00_intro/retry.rs", "mine");
    upload.link(
        "exercises/00_intro/pingpong.rs",
        &kit.0.join("exercises/00_intro/pingpong.rs"),
    );
    upload.link("exercises/loop", &upload.0);
    let intake = take_from(&upload, &kit);
    assert_eq!(graded(&intake), [("00_intro/retry.rs", "mine")]);
    assert_eq!(
        intake.ignored,
        [
            "exercises/00_intro/pingpong.rs: a symbolic link: not followed",
            "exercises/loop: a symbolic link: not followed"
        ]
    );
}

#[test]
fn lists_changed_kit_files_but_not_unchanged_ones() {
    let kit = kit("clone");
    let clone = Scratch::new("clone");
    for rel in [
        "exercises/lib.rs",
        "checker/stubs/00_intro/pingpong.rs",
        "Cargo.toml",
    ] {
        clone.write(rel, &fs::read_to_string(kit.0.join(rel)).unwrap());
    }
    clone.write("exercises/00_intro/retry.rs", "mine");
    clone.write("checker/suites/intro.rs", "tests that always pass");
    clone.write("build.rs", "fn main() {}");
    clone.write("target/debug/huge", "build output");
    let intake = take_from(&clone, &kit);
    // The stub in checker/stubs/ is the kit's: not taken as pingpong.rs.
    assert_eq!(graded(&intake), [("00_intro/retry.rs", "mine")]);
    assert_eq!(
        intake.ignored,
        [
            "checker/suites/intro.rs: changed; the kit's own is used",
            "build.rs: not an exercise file, not graded (only the files info.toml names are)",
            "target/: build output, not graded",
        ]
    );
}

#[test]
fn refuses_a_file_too_large() {
    let kit = kit("large");
    let upload = Scratch::new("large");
    upload.write("pingpong.rs", &"x".repeat(MAX_FILE_BYTES as usize + 1));
    let intake = take_from(&upload, &kit);
    assert!(intake.files.is_empty() && intake.refused_any);
    assert_eq!(
        intake.ignored,
        ["pingpong.rs: larger than 1024 KiB (graded as not submitted)"]
    );
}

#[test]
fn the_list_is_capped_and_says_how_much_more_there_was() {
    let kit = kit("many");
    let upload = Scratch::new("many");
    upload.write("exercises/00_intro/retry.rs", "mine");
    for i in 0..MAX_LISTED + 5 {
        upload.write(&format!("junk/{i:03}.txt"), "junk");
    }
    let intake = take_from(&upload, &kit);
    assert_eq!(intake.ignored.len(), MAX_LISTED + 1);
    assert!(intake.ignored[0].starts_with("junk/000.txt: not an exercise file"));
    assert_eq!(intake.ignored[MAX_LISTED], "… and 5 more");
}

#[test]
fn says_where_the_walk_stopped() {
    let kit = kit("bound");
    let upload = Scratch::new("bound");
    upload.write("a/b/c/d/pingpong.rs", "too deep");
    let limits = Limits {
        depth: 3,
        entries: 100,
    };
    let intake = take(&upload.0, &kit.0, &WANTED, limits).unwrap();
    assert!(intake.files.is_empty() && intake.refused_any);
    assert_eq!(intake.ignored.len(), 1);
    assert!(
        intake.ignored[0].starts_with("a/b/c/: more than 3 folders deep"),
        "{:?}",
        intake.ignored
    );
}
