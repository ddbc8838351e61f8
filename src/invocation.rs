//! How to write a command of this runner so that it works in the learner's
//! shell. Someone who started the runner with `cargo run` has no `dscourse`
//! on their path: a replay line that says `dscourse replay …` would fail for
//! them, so every command the runner prints goes through [`command`].

use std::ffi::OsStr;
use std::path::{Component, Path};
use std::sync::OnceLock;

/// How the runner was started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// By cargo (`cargo run`): commands are `cargo run -- …`.
    Cargo,
    /// As an installed program: commands are `dscourse …`.
    Installed,
}

/// `dscourse ARGS` written the way this runner was started: `cargo run --
/// replay x --seed 3` under cargo, `dscourse replay x --seed 3` installed.
pub fn command(args: &str) -> String {
    static FORM: OnceLock<Form> = OnceLock::new();
    let form = *FORM.get_or_init(|| {
        let exe = std::env::current_exe().ok();
        form(std::env::var_os("CARGO").as_deref(), exe.as_deref())
    });
    written(form, args)
}

/// `args` as a command of the given form.
pub fn written(form: Form, args: &str) -> String {
    match form {
        Form::Cargo => format!("cargo run -- {args}"),
        Form::Installed => format!("dscourse {args}"),
    }
}

/// Cargo sets `CARGO` for the programs it runs; a runner built in a kit
/// (`target/debug/dscourse`, run by hand or by a script) is under a
/// `target` folder, where `cargo install` never leaves one.
pub fn form(cargo: Option<&OsStr>, exe: Option<&Path>) -> Form {
    let under_target = exe.is_some_and(|exe| {
        exe.components()
            .any(|c| c == Component::Normal(OsStr::new("target")))
    });
    if cargo.is_some_and(|c| !c.is_empty()) || under_target {
        Form::Cargo
    } else {
        Form::Installed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_or_a_build_folder_means_cargo_run() {
        let cargo = Some(OsStr::new("/home/a/.cargo/bin/cargo"));
        let built = Some(Path::new("/home/a/kit/target/debug/dscourse"));
        let installed = Some(Path::new("/home/a/.cargo/bin/dscourse"));
        assert_eq!(form(cargo, installed), Form::Cargo);
        assert_eq!(form(None, built), Form::Cargo);
        assert_eq!(form(None, installed), Form::Installed);
        assert_eq!(form(Some(OsStr::new("")), installed), Form::Installed);
        assert_eq!(form(None, None), Form::Installed);
        // A folder whose name only contains "target" is not a build folder.
        let other = Some(Path::new("/opt/targets/dscourse"));
        assert_eq!(form(None, other), Form::Installed);
    }

    #[test]
    fn writes_both_forms() {
        assert_eq!(
            written(Form::Cargo, "replay intro_pingpong --seed 3"),
            "cargo run -- replay intro_pingpong --seed 3"
        );
        assert_eq!(written(Form::Installed, "list"), "dscourse list");
    }
}
