//! `dscourse grade`: an instructor grades one submission or a folder of
//! them. Grading copies only the learner's exercise files into a clean copy
//! of the kit, so nothing a submission ships (manifests, build scripts,
//! lock files) is built; every suite runs with the runner's limits; points
//! come from the suites' result channel only.

mod batch;
mod clean;
mod formats;
mod grader;
mod intake;
mod matching;
mod report;
mod submission;
mod trusted;
mod workspace;

pub use formats::Format;

use crate::kit::Kit;
use crate::manifest::Exercise;
use anyhow::{bail, Context, Result};
use report::Report;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use submission::Submission;
use workspace::{SlotSettings, Workspace};

/// What to grade and how to report it.
#[derive(clap::Args)]
pub struct GradeArgs {
    /// The submission: a learner's copy of the kit, or its exercises/ folder.
    pub submission: Option<PathBuf>,
    /// Grade every sub-folder of DIR (one per student), several at once.
    #[arg(long, value_name = "DIR")]
    pub batch: Option<PathBuf>,
    /// Only these exercises (comma-separated names).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub exercises: Vec<String>,
    /// Only the exercises of this topic.
    #[arg(long)]
    pub topic: Option<String>,
    /// The report's format; several, comma-separated (e.g.
    /// `gradescope,junit,csv`), grade once and write a report in each into
    /// the folder given by --output.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "table")]
    pub format: Vec<Format>,
    /// Write the report to FILE; with several formats, the folder for the
    /// reports (`results.json` for Gradescope, `report.xml`, `report.csv`…);
    /// with --batch, the folder for the reports (`grades` by default).
    #[arg(long, short, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// How many submissions to grade at once (default: one per core).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Refuse to grade unless the sandbox's file-system (Landlock) and
    /// process (seccomp) layers are active on this machine.
    #[arg(long)]
    pub require_sandbox: bool,
    /// How long the compiler may run on the learner's code, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = workspace::LEARNER_COMPILER_BOUNDS.secs)]
    pub compile_time_limit: u64,
    /// How much memory (address space) the compiler may use on the
    /// learner's code, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = workspace::LEARNER_COMPILER_BOUNDS.mib)]
    pub compile_memory_limit: u64,
    /// Grade without the sandbox: to measure what it costs, or to see what
    /// it stops (tests/hostile/). Never for real grades.
    #[arg(long, conflicts_with = "require_sandbox")]
    pub no_sandbox: bool,
}

impl GradeArgs {
    /// The formats asked for, each once, in the order given.
    fn formats(&self) -> Vec<Format> {
        let mut formats: Vec<Format> = Vec::new();
        for &format in &self.format {
            if !formats.contains(&format) {
                formats.push(format);
            }
        }
        formats
    }

    /// Where one submission's report in `format` goes: the file --output
    /// names for one format, a file in that folder for several, standard
    /// output without --output.
    fn report_file(&self, format: Format) -> Option<PathBuf> {
        let output = self.output.as_ref()?;
        Some(match self.formats()[..] {
            [_] => output.clone(),
            _ => output.join(format.report_file_name()),
        })
    }

    /// Where one submission's Gradescope report goes, if one was asked
    /// for: Gradescope shows the student only that file, so a grading that
    /// fails says why there too.
    fn gradescope_file(&self) -> Option<PathBuf> {
        let asked = self.batch.is_none() && self.formats().contains(&Format::Gradescope);
        asked
            .then(|| self.report_file(Format::Gradescope))
            .flatten()
    }

    /// How every grading slot is set up.
    fn slot_settings(&self) -> SlotSettings {
        SlotSettings {
            layers: if self.no_sandbox {
                crate::sandbox::Layers::none()
            } else {
                crate::sandbox::Layers::probe()
            },
            learner_compiler: crate::sandbox::rustc::Bounds {
                secs: self.compile_time_limit,
                mib: self.compile_memory_limit,
            },
        }
    }
}

pub fn grade(args: &GradeArgs) -> Result<ExitCode> {
    let kit = Kit::discover()?;
    let exercises = select(&kit, args)?;
    let settings = args.slot_settings();
    eprintln!("sandbox: {}", settings.layers.describe());
    if args.require_sandbox && !settings.layers.complete() {
        let error = anyhow::anyhow!(
            "--require-sandbox: this machine cannot confine the code it grades:\n  {}",
            settings.layers.missing().join("\n  ")
        );
        if let Some(file) = args.gradescope_file() {
            let _ = write_report(&file, &formats::gradescope_error(&format!("{error:#}")));
        }
        return Err(error);
    }
    match (&args.submission, &args.batch) {
        (Some(_), Some(_)) => bail!("give a submission or --batch DIR, not both"),
        (None, None) => bail!("give the submission to grade (a learner's copy of the kit, or its exercises/ folder), or --batch DIR"),
        (Some(path), None) => grade_one(&kit, &exercises, path, args, &settings).inspect_err(|error| {
            // Gradescope shows the student only results.json: say there why
            // nothing was graded.
            if let Some(file) = args.gradescope_file() {
                let why = clean::clean(&format!("{error:#}"));
                let _ = write_report(&file, &formats::gradescope_error(&why));
            }
        }),
        (None, Some(dir)) => batch::grade_all(&kit, &exercises, dir, args, &settings),
    }
}

fn grade_one(
    kit: &Kit,
    exercises: &[&Exercise],
    path: &Path,
    args: &GradeArgs,
    settings: &SlotSettings,
) -> Result<ExitCode> {
    let formats = args.formats();
    if formats.len() > 1 && args.output.is_none() {
        bail!(
            "several formats need --output DIR: the folder to write a report in each \
             format into (results.json for Gradescope, report.xml, report.csv…)"
        );
    }
    let submission = Submission::read(path, &kit.root, &kit.manifest)?;
    let mut workspace = Workspace::open(kit, 0, settings)?;
    let report = grade_submission(kit, &mut workspace, &submission, exercises)?;
    let points = format!(
        "{}: {} of {} points",
        report.student,
        formats::number(report.score),
        formats::number(report.max_score)
    );
    for &format in &formats {
        let text = formats::render(&report, format)?;
        match args.report_file(format) {
            Some(file) => write_report(&file, &text)?,
            None => print!("{text}"),
        }
    }
    match (&args.output, &formats[..]) {
        (Some(file), [_]) => eprintln!("{points}; report written to {}", file.display()),
        (Some(dir), several) => {
            let names: Vec<String> = several.iter().map(|f| f.report_file_name()).collect();
            eprintln!(
                "{points}; reports written to {}: {}",
                dir.display(),
                names.join(", ")
            );
        }
        (None, _) => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// Grades `submission`, for one report or for a class: the report lists
/// how its files were found, and holds no control characters whatever the
/// learner's code printed or the learner named files.
fn grade_submission(
    kit: &Kit,
    workspace: &mut Workspace,
    submission: &Submission,
    exercises: &[&Exercise],
) -> Result<Report> {
    let mut report = grader::grade(kit, workspace, submission, exercises)?;
    clean::report(&mut report);
    Ok(report)
}

/// Writes a report file atomically, creating its folder.
fn write_report(file: &Path, text: &str) -> Result<()> {
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    crate::state::write_atomically(file, text.as_bytes())
}

/// The exercises to grade, in course order.
fn select<'k>(kit: &'k Kit, args: &GradeArgs) -> Result<Vec<&'k Exercise>> {
    let mut chosen: Vec<&Exercise> = kit.manifest.exercises.iter().collect();
    if let Some(topic) = &args.topic {
        chosen.retain(|e| &e.topic == topic || &e.suite == topic);
        if chosen.is_empty() {
            let mut topics: Vec<&str> = kit
                .manifest
                .exercises
                .iter()
                .map(|e| e.topic.as_str())
                .collect();
            topics.dedup();
            bail!(
                "no topic {topic:?} in info.toml; the topics are: {}",
                topics.join(", ")
            );
        }
    }
    if !args.exercises.is_empty() {
        for name in &args.exercises {
            kit.manifest
                .find(name)
                .map_err(|unknown| anyhow::anyhow!("{unknown}"))?;
        }
        chosen.retain(|e| args.exercises.contains(&e.name));
        if chosen.is_empty() {
            bail!("none of the exercises given is in the topic given");
        }
    }
    Ok(chosen)
}
