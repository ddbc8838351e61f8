//! Which exercises a build of the suites has, as `cfg(exercise = "<name>")`.
//!
//! A learner's check of one exercise builds the checker with that
//! exercise's feature, `exercise-<name>` (which turns on `single-exercise`
//! and the exercise's own feature of the learner's crate): the suite then
//! compiles only that exercise's tests and the helpers they use, a save
//! recompiles less, and the rest of the topic's files need not exist in
//! the learner's crate. Every other build (grading, the references, the
//! workspace's tests) has every exercise. The exercises are the features
//! named `exercise-…` in the checker's `Cargo.toml`.

/// Declares the `exercise` cfg and sets it for each exercise this build has.
pub fn declare() {
    let manifest = std::fs::read_to_string("Cargo.toml").unwrap_or_default();
    let names = exercise_features(&manifest);
    let values: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    println!(
        "cargo::rustc-check-cfg=cfg(exercise, values({}))",
        values.join(", ")
    );
    let single = std::env::var_os("CARGO_FEATURE_SINGLE_EXERCISE").is_some();
    for name in names {
        let feature = format!("CARGO_FEATURE_EXERCISE_{}", name.to_uppercase());
        if !single || std::env::var_os(feature).is_some() {
            println!("cargo::rustc-cfg=exercise=\"{name}\"");
        }
    }
    println!("cargo::rerun-if-changed=Cargo.toml");
}

/// The exercises named by `exercise-<name> = […]` lines of a manifest.
fn exercise_features(manifest: &str) -> Vec<String> {
    manifest
        .lines()
        .filter_map(|line| line.strip_prefix("exercise-"))
        .filter_map(|rest| rest.split_once('='))
        .map(|(name, _)| name.trim().to_string())
        .collect()
}
