//! `dscourse dev gradescope OUT`: a Gradescope autograder bundle. Gradescope
//! unpacks it into /autograder/source, runs `setup.sh` once to build the
//! image, and `run_autograder` for every submission, which grades
//! /autograder/submission into /autograder/results/results.json.
//! (https://gradescope-autograders.readthedocs.io/en/latest/specs/)

use crate::colour::paint;
use crate::distribute::copy_kit;
use crate::kit::Kit;
use anyhow::{bail, Context, Result};
use crossterm::style::Color;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};

/// What the bundle's copy of the kit leaves out: nothing grading needs.
const LEFT_OUT: [&str; 3] = ["tests", ".ci", "benches"];

pub fn dev_gradescope(out: &Path, vendor: bool) -> Result<ExitCode> {
    let kit = Kit::discover()?;
    let bundle_kit = out.join("kit");
    let files = copy_kit(&kit.root, &bundle_kit, &LEFT_OUT)?;
    if vendor {
        vendor_crates(&bundle_kit)?;
    }
    let toolchain = rust_version()?;
    write_script(&out.join("setup.sh"), &setup_script(&toolchain))?;
    write_script(&out.join("run_autograder"), RUN_AUTOGRADER)?;
    println!(
        "{} a Gradescope autograder in {} (the kit: {files} files{}; Rust {toolchain}).",
        paint("wrote", Color::Green),
        out.display(),
        if vendor {
            ", its crates vendored for an offline build"
        } else {
            ""
        }
    );
    let zip = out.with_extension("zip");
    if zip_bundle(out, &zip) {
        println!(
            "Upload {} as the autograder (Configure Autograder → Zip file upload).",
            zip.display()
        );
    } else {
        println!(
            "Zip the folder's contents (not the folder) and upload the zip: cd {} && zip -r ../autograder.zip .",
            out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Copies every crate the kit uses into `kit/vendor/`; `setup.sh` points
/// cargo at it by its absolute path once the bundle is unpacked (grading
/// copies of the kit live elsewhere, and must find it too), so that the
/// autograder builds without the network.
fn vendor_crates(kit: &Path) -> Result<()> {
    let status = crate::check::cargo()
        .current_dir(kit)
        .args(["vendor", "--locked", "--quiet", "vendor"])
        .stdout(Stdio::null())
        .status()
        .context("cannot run cargo vendor")?;
    if !status.success() {
        bail!("cargo vendor failed (it needs the network once, to fetch the crates)");
    }
    Ok(())
}

/// The version of the Rust compiler in use, e.g. `1.91.0`.
fn rust_version() -> Result<String> {
    let output = Command::new("rustc")
        .arg("--version")
        .output()
        .context("cannot run rustc --version")?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.split_whitespace()
        .nth(1)
        .map(str::to_string)
        .context("rustc --version printed no version")
}

fn write_script(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

/// Zips the bundle's contents (not its folder) with the `zip` command, if
/// there is one.
fn zip_bundle(out: &Path, zip: &Path) -> bool {
    let Ok(zip) = std::path::absolute(zip) else {
        return false;
    };
    let _ = std::fs::remove_file(&zip);
    Command::new("zip")
        .current_dir(out)
        .args(["-q", "-r"])
        .arg(&zip)
        .args(["setup.sh", "run_autograder", "kit"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn setup_script(toolchain: &str) -> String {
    SETUP.replace("@TOOLCHAIN@", toolchain)
}

const SETUP: &str = r#"#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder's image: install
# Rust, build the kit from its vendored crates (no network), and build every
# suite once against the starting code, so that grading a submission only
# recompiles the learner's files.
set -euo pipefail
KIT=/autograder/source/kit

if ! command -v cc >/dev/null || ! command -v curl >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq build-essential curl ca-certificates >/dev/null
fi
if [ ! -x "$HOME/.cargo/bin/cargo" ]; then
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
    sh -s -- -y --profile minimal --default-toolchain @TOOLCHAIN@
fi
. "$HOME/.cargo/env"

cd "$KIT"
offline=""
if [ -d vendor ] && ! grep -q vendored-sources .cargo/config.toml 2>/dev/null; then
  # Crates from vendor/, named by an absolute path: the grading copies of
  # the kit (outside it) read this configuration too.
  mkdir -p .cargo
  printf '\n[source.crates-io]\nreplace-with = "vendored-sources"\n\n[source.vendored-sources]\ndirectory = "%s/vendor"\n' "$KIT" >> .cargo/config.toml
fi
[ -d vendor ] && offline="--offline"
cargo build $offline --locked
./target/debug/dscourse grade exercises --format json > /dev/null
echo "dscourse autograder ready"
"#;

const RUN_AUTOGRADER: &str = r#"#!/usr/bin/env bash
# Gradescope runs this for every submission: grade /autograder/submission
# (a copy of the kit, its exercises/ folder, or the exercise files uploaded
# by themselves) into /autograder/results/results.json. If grading itself
# fails, results.json says why, with no points.
set -uo pipefail
AUTOGRADER="${AUTOGRADER:-/autograder}"
# Grades only where the sandbox's file and process layers work (Landlock
# and seccomp); DSCOURSE_REQUIRE_SANDBOX=no grades anyway, for a trial on a
# machine without them.
require="--require-sandbox"
[ "${DSCOURSE_REQUIRE_SANDBOX:-yes}" = no ] && require=""
KIT="$AUTOGRADER/source/kit"
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
DSCOURSE="${DSCOURSE:-$KIT/target/debug/dscourse}"
export CARGO_NET_OFFLINE=true
mkdir -p "$AUTOGRADER/results"
cd "$KIT"
"$DSCOURSE" grade "$AUTOGRADER/submission" --format gradescope $require \
  --output "$AUTOGRADER/results/results.json" "$@"
"#;
