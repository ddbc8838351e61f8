//! `dscourse dev new`, as a course author runs it: an exercise scaffolded in
//! a topic that exists and one in a new topic both pass `dev check` (run on
//! those two only) as they are; and the names and layouts it cannot
//! scaffold are refused without a file changed. The real binary on a
//! private copy of the kit (see `common`).

use crate::common;

use common::TestKit;

/// The folder `dev new` gives a new topic: the next number after the
/// kit's numbered topic folders.
fn next_topic_folder(kit: &TestKit, topic: &str) -> String {
    let highest = std::fs::read_dir(kit.path("exercises"))
        .expect("exercises/ is readable")
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.split_once('_')?.0.parse::<u32>().ok()
        })
        .max()
        .expect("the kit has numbered topic folders");
    format!("{:02}_{topic}", highest + 1)
}

#[test]
fn scaffolded_exercises_pass_dev_check_in_a_topic_and_in_a_new_one() {
    let kit = TestKit::new();
    let folder = next_topic_folder(&kit, "leases");
    kit.run(&["dev", "new", "clocks", "hybrid"])
        .code(0)
        .stdout_shows("wrote solutions/03_clocks/hybrid.rs")
        .stdout_shows("wrote checker/suites/clocks/hybrid.rs")
        .stdout_shows("changed checker/suites/clocks.rs")
        .stdout_shows("changed info.toml")
        .stdout_shows("wrote exercises/03_clocks/hybrid.rs")
        .stdout_shows("cargo run -- dev check clocks_hybrid");
    kit.run(&["dev", "new", "leases", "basic"])
        .code(0)
        .stdout_shows(&format!("wrote solutions/{folder}/basic.rs"))
        .stdout_shows("changed exercises/Cargo.toml")
        .stdout_shows("changed checker/Cargo.toml")
        .stdout_shows("wrote checker/suites/leases.rs")
        .stdout_shows(&format!("wrote exercises/{folder}/README.md"));

    let names = kit.exercise_names();
    assert_eq!(names[names.len() - 2..], ["clocks_hybrid", "leases_basic"]);
    assert_eq!(kit.hints("leases_basic").len(), 3);
    assert!(kit
        .read("exercises/03_clocks/hybrid.rs")
        .contains("todo!(\"greet every peer, then set the timer again\")"));
    assert!(kit
        .read("exercises/03_clocks/README.md")
        .contains("| `clocks_hybrid` (`hybrid.rs`) |"));

    kit.run(&["dev", "stubs", "--check"]).code(0);
    kit.run(&["dev", "check", "clocks_hybrid", "leases_basic"])
        .code(0)
        .stdout_shows("ok: every stub compiles and fails, every solution passes")
        .stdout_shows("(2 of ")
        .stderr_shows("clocks_hybrid")
        .stderr_shows("leases_basic")
        .stderr_shows("stub fails 1 of 1")
        .hides("intro_pingpong")
        .hides("problem:");
}

#[test]
fn dev_new_refuses_without_changing_a_file() {
    let kit = TestKit::new();
    let watched = [
        "info.toml",
        "solutions/lib.rs",
        "exercises/lib.rs",
        "exercises/Cargo.toml",
        "checker/Cargo.toml",
        "checker/suites/raft.rs",
    ];
    let before: Vec<String> = watched.iter().map(|f| kit.read(f)).collect();
    let refusals: [(&[&str], &str); 8] = [
        (
            &["intro", "pingpong"],
            "there is already an exercise intro_pingpong",
        ),
        (&["intro", "Ping"], "\"Ping\" is not a lowercase name"),
        (&["intro", "9lives"], "\"9lives\" is not a lowercase name"),
        (&["intro", "ping-pong"], "is not a lowercase name"),
        (
            &["Intro", "ping"],
            "the topic \"Intro\" is not a lowercase name",
        ),
        (&["intro", "match"], "is a Rust keyword"),
        // A name a suite already uses for a helper module.
        (
            &["generals", "protocols"],
            "checker/suites/generals/protocols.rs exists",
        ),
        // A suite that adds its tests from tables, not one group a line.
        (&["raft", "witness"], "checker/suites/raft.rs"),
    ];
    for (args, why) in refusals {
        let args: Vec<&str> = ["dev", "new"].iter().chain(args).copied().collect();
        kit.run(&args).code(2).stderr_shows(why).hides("wrote");
    }
    // A topic whose block in solutions/lib.rs is not where it should be.
    let lib = kit.read("solutions/lib.rs");
    kit.write(
        "solutions/lib.rs",
        lib.replace("#[path = \"01_generals\"]\n", ""),
    );
    kit.run(&["dev", "new", "generals", "scouts"])
        .code(2)
        .stderr_shows("solutions/lib.rs has no block `#[path = \"01_generals\"]");
    kit.write("solutions/lib.rs", &lib);

    let after: Vec<String> = watched.iter().map(|f| kit.read(f)).collect();
    assert_eq!(before, after, "a refusal changed a file");
    assert!(!kit.exists("solutions/05_raft/witness.rs"));
    assert!(!kit.exists("checker/suites/raft/witness.rs"));
    kit.run(&["dev", "check", "intro_pingpnog"])
        .code(2)
        .stderr_shows("there is no exercise called \"intro_pingpnog\"");
}
