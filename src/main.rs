//! `dscourse`: the course runner. See `dscourse --help` and README.md.

mod channel;
mod check;
mod child;
mod colour;
mod commands;
mod diff;
mod distribute;
mod grade;
mod invocation;
mod kit;
mod manifest;
mod mutants;
mod render;
mod replay;
mod sandbox;
mod state;
mod stubs;
mod timings;
mod tree;
mod watch;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Learn distributed systems by building them: dscourse watches your
/// exercise, runs its hidden suite on every save and tells you which
/// property broke.
#[derive(Parser)]
#[command(name = "dscourse", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Watch the current exercise and check it on every save (the default).
    Watch {
        /// Poll for changes instead of using file system events (for WSL's
        /// /mnt, network shares and other file systems without events).
        #[arg(long)]
        poll: bool,
    },
    /// Show every exercise and your progress.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Check one exercise (the current one by default). Exit status: 0 pass, 1 fail, 2 usage error.
    Run {
        /// The exercise, e.g. clocks_lamport.
        name: Option<String>,
        /// Replay one seed, with the whole trace.
        #[arg(long)]
        seed: Option<u64>,
        /// Check the reference solution in `solutions/` instead of your
        /// code (for course authors; records nothing).
        #[arg(long)]
        solution: bool,
    },
    /// Rerun one seed of an exercise and draw the run of its failing test:
    /// a column per node, a line per event. Exit status: 0 the test passes
    /// for that seed, 1 it fails, 2 usage error.
    Replay {
        /// The exercise, e.g. intro_pingpong.
        name: String,
        /// The seed to replay, as a failure names it.
        #[arg(long)]
        seed: u64,
        /// The test to draw (its name after `group::`); by default the failing one.
        #[arg(long)]
        test: Option<String>,
        /// Show every event of the run and whole states, not only the part that matters.
        #[arg(long)]
        full: bool,
        /// Also write the run as an HTML space-time diagram to FILE.
        #[arg(long, value_name = "FILE")]
        html: Option<std::path::PathBuf>,
        /// Also write the run as a ShiViz log to FILE (https://bestchai.bitbucket.io/shiviz/).
        #[arg(long, value_name = "FILE")]
        shiviz: Option<std::path::PathBuf>,
    },
    /// Show the next hint for an exercise (the current one by default).
    Hint { name: Option<String> },
    /// Restore an exercise's starting code, after backing up yours under .dscourse/backups/.
    Reset { name: String },
    /// Show the reference solution of an exercise you have passed.
    Solution {
        name: String,
        /// Show it even though you have not passed the exercise yet.
        #[arg(long)]
        force: bool,
    },
    /// Compare your file with the reference solution, once you have passed the exercise.
    Diff {
        name: String,
        /// Compare even though you have not passed the exercise yet.
        #[arg(long)]
        force: bool,
    },
    /// Check every exercise and summarise.
    Verify {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Grade a learner's submission (a copy of the kit, or its exercises/
    /// folder) or a folder of them. Exit status: 0 when grading completed,
    /// whatever the score; 2 when it could not grade.
    Grade(grade::GradeArgs),
    /// Run a topic's server for real clients: `serve cache` runs your cache
    /// server, for redis-cli and redis-benchmark.
    Serve {
        /// The topic, e.g. cache.
        topic: String,
        /// The port to listen on.
        #[arg(long, default_value_t = 6380)]
        port: u16,
        /// Run the reference instead of your code.
        #[arg(long)]
        solution: bool,
    },
    /// Tools for course authors.
    Dev {
        #[command(subcommand)]
        command: DevCmd,
    },
}

#[derive(Subcommand)]
enum DevCmd {
    /// Every stub compiles and fails its suite, every solution passes, every
    /// manifest entry is whole, and no file is stray.
    Check {
        /// Run only these exercises' suites (the manifest and the files are
        /// still checked whole), e.g. the ones just added.
        names: Vec<String>,
    },
    /// Scaffold the exercise TOPIC_NAME: its reference, stub and suite group,
    /// wired into both lib.rs, the topic's suite and info.toml (and a new
    /// topic's folder, feature, suite and guide), then say what to write.
    New {
        /// The topic, as info.toml names it (e.g. clocks); a new one is created.
        topic: String,
        /// The exercise's name within the topic (e.g. hybrid): its file,
        /// module and test group.
        name: String,
    },
    /// Mutate the code a learner writes (the marked regions of the
    /// references) and report how many mutants each exercise's own tests
    /// catch.
    Mutants {
        /// Only these exercises (all by default).
        names: Vec<String>,
        /// Only this topic's exercises.
        #[arg(long)]
        topic: Option<String>,
        /// Exit 1 if an exercise's tests catch fewer than this share of its
        /// mutants (in %).
        #[arg(long, value_name = "PERCENT")]
        min_kill: Option<f64>,
    },
    /// Write every exercise's starting code in exercises/ from its reference
    /// in solutions/ (where what the learner writes is marked), backing up
    /// any file it changes.
    Stubs {
        /// Only say which exercise files differ from their stubs (exit 1 if any).
        #[arg(long)]
        check: bool,
    },
    /// Write a student distribution of the kit to OUT: no solutions, no
    /// hidden tests, everything else working.
    Strip {
        /// A new folder.
        out: std::path::PathBuf,
    },
    /// Write a Gradescope autograder bundle to OUT (and OUT.zip): a setup
    /// script that builds the kit offline once, and a run script that grades
    /// each submission.
    Gradescope {
        /// A new folder.
        out: std::path::PathBuf,
        /// Do not copy the crates into the bundle (the image then builds
        /// with the network).
        #[arg(long)]
        no_vendor: bool,
    },
}

fn main() -> ExitCode {
    // Started by cargo as the compiler of a grading build.
    if let Some(code) = sandbox::rustc::wrap_if_asked() {
        return ExitCode::from(code);
    }
    // Started by cargo as the compiler of a learner's build, to record it.
    if let Some(code) = check::fast::wrap_if_recording() {
        return ExitCode::from(code);
    }
    colour::init_color();
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Cmd::Watch { poll: false }) {
        Cmd::Watch { poll } => commands::watch(poll),
        Cmd::List { json } => commands::list(json),
        Cmd::Run {
            name,
            seed,
            solution,
        } => commands::run(name.as_deref(), seed, solution),
        Cmd::Replay {
            name,
            seed,
            test,
            full,
            html,
            shiviz,
        } => commands::replay(&commands::ReplayArgs {
            name: &name,
            seed,
            test: test.as_deref(),
            full,
            html: html.as_deref(),
            shiviz: shiviz.as_deref(),
        }),
        Cmd::Hint { name } => commands::hint(name.as_deref()),
        Cmd::Reset { name } => commands::reset(&name),
        Cmd::Solution { name, force } => commands::solution(&name, force),
        Cmd::Diff { name, force } => commands::diff(&name, force),
        Cmd::Verify { json } => commands::verify(json),
        Cmd::Grade(args) => grade::grade(&args),
        Cmd::Dev { command } => match command {
            DevCmd::Check { names } => commands::dev_check(&names),
            DevCmd::New { topic, name } => commands::dev_new(&topic, &name),
            DevCmd::Stubs { check } => commands::dev_stubs(check),
            DevCmd::Mutants {
                names,
                topic,
                min_kill,
            } => mutants::dev_mutants(&mutants::MutantsArgs {
                names: &names,
                topic: topic.as_deref(),
                min_kill,
            }),
            DevCmd::Strip { out } => commands::dev_strip(&out),
            DevCmd::Gradescope { out, no_vendor } => commands::dev_gradescope(&out, !no_vendor),
        },
        Cmd::Serve {
            topic,
            port,
            solution,
        } => commands::serve(&topic, port, solution),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!(
                "{} {error:#}",
                colour::paint("error:", crossterm::style::Color::Red)
            );
            ExitCode::from(2)
        }
    }
}
