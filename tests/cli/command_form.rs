//! The commands the runner prints are written the way it was started: `cargo
//! run -- …` when cargo started it or it lives in a build folder, `dscourse
//! …` when it is installed (here: a copy of the binary outside any `target/`
//! folder, without cargo's `CARGO` variable).

use crate::common;

use common::{TestKit, EX};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A copy of the runner where `cargo install` would put it: outside any
/// `target/` folder.
fn installed_copy() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dscourse-installed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("cannot make a folder for the copy");
    let copy = dir.join("dscourse");
    std::fs::copy(env!("CARGO_BIN_EXE_dscourse"), &copy).expect("cannot copy the runner");
    copy
}

/// What `exe solution EX` prints on standard error before the exercise
/// passes (it names two commands), with `CARGO` set to `cargo` or unset.
fn refusal(kit: &TestKit, exe: &Path, cargo: Option<&str>) -> String {
    let mut command = Command::new(exe);
    command
        .args(["solution", EX])
        .current_dir(kit.root())
        .env("NO_COLOR", "1")
        .env_remove("CARGO");
    if let Some(cargo) = cargo {
        command.env("CARGO", cargo);
    }
    let output = command.output().expect("the runner runs");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn commands_are_printed_the_way_the_runner_was_started() {
    let kit = TestKit::new();
    let built = Path::new(env!("CARGO_BIN_EXE_dscourse"));
    let installed = installed_copy();

    let cargo_form = format!("cargo run -- run {EX}");
    let forced = format!("cargo run -- solution {EX} --force");
    // Built in a kit's target/ folder: run by `cargo run`, or by hand.
    let text = refusal(&kit, built, None);
    assert!(
        text.contains(&cargo_form) && text.contains(&forced),
        "{text}"
    );
    // Started by cargo, wherever the binary is.
    let text = refusal(&kit, &installed, Some("/usr/local/bin/cargo"));
    assert!(
        text.contains(&cargo_form) && text.contains(&forced),
        "{text}"
    );

    // Installed.
    let text = refusal(&kit, &installed, None);
    assert!(
        text.contains(&format!("(dscourse run {EX})"))
            && text.contains(&format!("dscourse solution {EX} --force")),
        "{text}"
    );
    assert!(!text.contains("cargo run"), "{text}");
    let _ = std::fs::remove_dir_all(installed.parent().unwrap());
}
