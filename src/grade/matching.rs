//! Which file of a submission is graded as each exercise file, wherever in
//! the upload it sits and however its name was typed. In order of
//! preference: a file at `exercises/<file>` (in an `exercises/` folder at
//! any depth, or with the submission itself as that folder); the same
//! without regard to case; a file with the exercise file's name anywhere,
//! when no other exercise file of the course has that name, exact case
//! first. Within one rule the shallowest file wins.

use super::intake::Found;

/// The rule a file was matched by, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum How {
    Path,
    PathWithoutCase,
    Name,
    NameWithoutCase,
}

impl How {
    pub fn ignores_case(self) -> bool {
        matches!(self, How::PathWithoutCase | How::NameWithoutCase)
    }
}

/// The file graded as one exercise file, and the other files that could
/// have been.
#[derive(Debug)]
pub struct Match<'a> {
    pub file: &'a Found,
    pub how: How,
    pub others: Vec<&'a Found>,
}

/// The file of `files` to grade as the exercise file `rel` (relative to
/// `exercises/`), among all the course's exercise files `wanted`.
/// `is_kit_copy` tells a file that is byte for byte the kit's own at its
/// place (a learner's clone holds the stubs in `checker/stubs/`): such a
/// file is never taken by its name alone, nor listed as another copy.
pub fn choose<'a>(
    rel: &str,
    wanted: &[&str],
    files: &'a [Found],
    is_kit_copy: impl Fn(&Found) -> bool,
) -> Option<Match<'a>> {
    let name = unique_name(rel, wanted);
    let mut candidates: Vec<(How, &Found, bool)> = files
        .iter()
        .filter_map(|file| rule(file, rel, name).map(|how| (how, file, is_kit_copy(file))))
        .filter(|(how, _, kit_copy)| *how < How::Name || !kit_copy)
        .collect();
    // Files come shallowest first, and a stable sort keeps that order.
    candidates.sort_by_key(|(how, file, _)| (*how, file.depth()));
    let mut candidates = candidates.into_iter();
    let (how, file, _) = candidates.next()?;
    let others = candidates
        .filter(|(_, _, kit_copy)| !kit_copy)
        .map(|(_, other, _)| other)
        .collect();
    Some(Match { file, how, others })
}

/// The best rule by which `file` is the exercise file `rel`, if any.
/// `name` is `rel`'s file name if no other exercise file has it.
fn rule(file: &Found, rel: &str, name: Option<&str>) -> Option<How> {
    if exercises_folder(&file.rel, rel, str::eq).is_some() {
        Some(How::Path)
    } else if exercises_folder(&file.rel, rel, same_without_case).is_some() {
        Some(How::PathWithoutCase)
    } else if name == Some(file.name()) {
        Some(How::Name)
    } else if name.is_some_and(|name| same_without_case(name, file.name())) {
        Some(How::NameWithoutCase)
    } else {
        None
    }
}

/// Where the kit's root is in a submission: the folder holding the
/// `exercises/` folder of the shallowest file matched by its path, or the
/// submission's root when no file is. The submission's other files are
/// compared with the kit's own at the same place under it.
pub fn kit_root_in(files: &[Found], wanted: &[&str]) -> KitRoot {
    let folder = files
        .iter()
        .filter_map(|file| {
            wanted.iter().find_map(|rel| {
                exercises_folder(&file.rel, rel, str::eq)
                    .or_else(|| exercises_folder(&file.rel, rel, same_without_case))
                    .map(|folder| (file.depth(), folder))
            })
        })
        .min_by_key(|(depth, _)| *depth)
        .map(|(_, folder)| folder);
    match folder {
        Some("") => KitRoot::IsExercisesFolder,
        Some(folder) => KitRoot::At(
            folder
                .rsplit_once('/')
                .map_or("", |(parent, _)| parent)
                .to_string(),
        ),
        None => KitRoot::At(String::new()),
    }
}

/// Where the kit's root is in a submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KitRoot {
    /// The submission is the kit's `exercises/` folder.
    IsExercisesFolder,
    /// At this folder (`""`: the submission's root).
    At(String),
}

impl KitRoot {
    /// The kit path of the submission's file `rel`, if it lies in the kit.
    pub fn kit_path(&self, rel: &str) -> Option<String> {
        match self {
            KitRoot::IsExercisesFolder => Some(format!("exercises/{rel}")),
            KitRoot::At(root) if root.is_empty() => Some(rel.to_string()),
            KitRoot::At(root) => rel
                .strip_prefix(root.as_str())
                .and_then(|rest| rest.strip_prefix('/'))
                .map(str::to_string),
        }
    }
}

/// If `file` is `rel` inside an exercises folder (a folder named
/// `exercises`, or the submission itself), that folder's path; names are
/// compared with `same`.
fn exercises_folder<'f>(file: &'f str, rel: &str, same: fn(&str, &str) -> bool) -> Option<&'f str> {
    let parts: Vec<&str> = file.split('/').collect();
    let wanted: Vec<&str> = rel.split('/').collect();
    let start = parts.len().checked_sub(wanted.len())?;
    if !parts[start..].iter().zip(&wanted).all(|(a, b)| same(a, b)) {
        return None;
    }
    if start == 0 {
        return Some("");
    }
    if !same(parts[start - 1], "exercises") {
        return None;
    }
    let folder_len = parts[..start].iter().map(|p| p.len() + 1).sum::<usize>() - 1;
    Some(&file[..folder_len])
}

fn same_without_case(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// The file name of `rel`, if no other exercise file has the same name
/// (then a file of that name anywhere in the submission can only be it).
pub fn unique_name<'a>(rel: &'a str, all: &[&str]) -> Option<&'a str> {
    let name = rel.rsplit('/').next()?;
    let same = all
        .iter()
        .filter(|f| {
            f.rsplit('/')
                .next()
                .is_some_and(|n| same_without_case(n, name))
        })
        .count();
    (same == 1).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn found(rel: &str) -> Found {
        Found {
            rel: rel.to_string(),
            path: PathBuf::from(rel),
            len: 0,
        }
    }

    const WANTED: [&str; 4] = [
        "00_intro/pingpong.rs",
        "00_intro/retry.rs",
        "a/mod.rs",
        "b/mod.rs",
    ];

    fn chosen(rel: &str, files: &[&str]) -> Option<(String, How, Vec<String>)> {
        let files: Vec<Found> = files.iter().map(|f| found(f)).collect();
        choose(rel, &WANTED, &files, |_| false).map(|m| {
            (
                m.file.rel.clone(),
                m.how,
                m.others.iter().map(|o| o.rel.clone()).collect(),
            )
        })
    }

    #[test]
    fn finds_an_exercises_folder_at_any_depth() {
        let upload = "upload/kit-main/exercises/00_intro/pingpong.rs";
        assert_eq!(
            chosen("00_intro/pingpong.rs", &[upload]),
            Some((upload.to_string(), How::Path, vec![]))
        );
        assert_eq!(
            chosen("00_intro/pingpong.rs", &["00_intro/pingpong.rs"]).map(|c| c.1),
            Some(How::Path)
        );
        // Not in a folder named exercises: found by name only.
        assert_eq!(
            chosen("00_intro/pingpong.rs", &["stuff/00_intro/pingpong.rs"]).map(|c| c.1),
            Some(How::Name)
        );
        assert_eq!(
            chosen("00_intro/pingpong.rs", &["myexercises/00_intro/ping.rs"]),
            None
        );
    }

    #[test]
    fn prefers_the_path_then_case_then_the_name() {
        let files = [
            "pingpong.rs",
            "Exercises/00_Intro/PingPong.rs",
            "deep/er/exercises/00_intro/pingpong.rs",
            "exercises/00_intro/pingpong.rs",
        ];
        let (file, how, others) = chosen("00_intro/pingpong.rs", &files).unwrap();
        assert_eq!(
            (file.as_str(), how),
            ("exercises/00_intro/pingpong.rs", How::Path)
        );
        assert_eq!(
            others,
            [
                "deep/er/exercises/00_intro/pingpong.rs",
                "Exercises/00_Intro/PingPong.rs",
                "pingpong.rs"
            ]
        );
        let (file, how, _) = chosen("00_intro/pingpong.rs", &files[..2]).unwrap();
        assert_eq!(
            (file.as_str(), how),
            ("Exercises/00_Intro/PingPong.rs", How::PathWithoutCase)
        );
        let (_, how, _) = chosen(
            "00_intro/pingpong.rs",
            &["x/PINGPONG.RS", "y/z/pingpong.rs"],
        )
        .unwrap();
        assert_eq!(how, How::Name);
        let (_, how, _) = chosen("00_intro/retry.rs", &["retry.RS"]).unwrap();
        assert!(how.ignores_case());
    }

    #[test]
    fn a_shared_name_is_matched_by_its_path_only() {
        assert_eq!(chosen("a/mod.rs", &["mod.rs"]), None);
        assert_eq!(
            chosen("a/mod.rs", &["exercises/a/mod.rs", "exercises/b/mod.rs"]).map(|c| c.0),
            Some("exercises/a/mod.rs".to_string())
        );
    }

    #[test]
    fn a_kit_copy_is_never_taken_by_its_name() {
        let files = vec![found("checker/stubs/00_intro/pingpong.rs")];
        assert!(choose("00_intro/pingpong.rs", &WANTED, &files, |_| true).is_none());
    }

    #[test]
    fn places_the_kit_root() {
        let files = |rels: &[&str]| rels.iter().map(|r| found(r)).collect::<Vec<_>>();
        let at = |root: &str| KitRoot::At(root.to_string());
        let kit = kit_root_in(
            &files(&["a/b/exercises/00_intro/retry.rs", "exercises/lib.rs"]),
            &WANTED,
        );
        assert_eq!(kit, at("a/b"));
        assert_eq!(
            kit.kit_path("a/b/Cargo.toml").as_deref(),
            Some("Cargo.toml")
        );
        assert_eq!(kit.kit_path("a/bc/Cargo.toml"), None);
        assert_eq!(
            kit_root_in(&files(&["exercises/00_intro/retry.rs"]), &WANTED),
            at("")
        );
        assert_eq!(kit_root_in(&files(&["retry.rs"]), &WANTED), at(""));
        let kit = kit_root_in(&files(&["00_intro/retry.rs"]), &WANTED);
        assert_eq!(kit, KitRoot::IsExercisesFolder);
        assert_eq!(kit.kit_path("lib.rs").as_deref(), Some("exercises/lib.rs"));
    }
}
