//! Where scenario, lesson and flags files come from: a file on disk, or the library under
//! `scenarios/` that is built into the binary (see `build.rs`), so that an installed
//! `deploysim` finds `rolling-bad-release` or the `canary` lesson from any directory.
//!
//! What a person types is resolved here, once, for every front end ([`find`]): a path
//! that exists on disk wins; a bare name — no `/`, no `.ron` — is looked up among the
//! shipped files of its kind; anything else is a path. References inside a file (a
//! lesson's `scenario: Path("../rolling.ron")`, a trace CSV) are resolved against the
//! file they appear in ([`Source::join`]), so a shipped lesson names a shipped scenario.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{ScenarioError, ScenarioErrorKind};

/// A file of the shipped library.
#[derive(Debug, PartialEq, Eq)]
pub struct Shipped {
    /// Its path under `scenarios/`, with `/` separators: `canary.ron`, `lessons/canary.ron`.
    pub path: &'static str,
    pub text: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/shipped.rs"));

/// The kinds of file a name can stand for, each in its own folder of `scenarios/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `scenarios/*.ron`
    Scenario,
    /// `scenarios/lessons/*.ron`
    Lesson,
    /// `scenarios/flags/*.ron`
    Flags,
}

impl Kind {
    fn folder(self) -> &'static str {
        match self {
            Kind::Scenario => "",
            Kind::Lesson => "lessons/",
            Kind::Flags => "flags/",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Kind::Scenario => "scenario",
            Kind::Lesson => "lesson",
            Kind::Flags => "flags file",
        }
    }
}

/// The shipped files of a kind as `(name, file)`, sorted by name.
pub fn shipped(kind: Kind) -> impl Iterator<Item = (&'static str, &'static Shipped)> {
    let mut files: Vec<(&'static str, &'static Shipped)> = SHIPPED
        .iter()
        .filter_map(|f| {
            let name = f.path.strip_prefix(kind.folder())?.strip_suffix(".ron")?;
            (!name.contains('/')).then_some((name, f))
        })
        .collect();
    files.sort_unstable_by_key(|(name, _)| *name);
    files.into_iter()
}

/// The shipped file of a kind with this name (`canary`), if there is one.
pub fn shipped_named(kind: Kind, name: &str) -> Option<&'static Shipped> {
    shipped(kind).find(|(n, _)| *n == name).map(|(_, f)| f)
}

/// A file to read: on disk, or shipped in the binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Disk(PathBuf),
    Shipped(&'static Shipped),
}

impl fmt::Display for Source {
    /// How messages name the file: its path, or `shipped:scenarios/…` for a shipped one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Disk(p) => write!(f, "{}", p.display()),
            Source::Shipped(s) => write!(f, "shipped:scenarios/{}", s.path),
        }
    }
}

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read the file: {0}")]
    Io(std::io::Error),
    /// Longer than the limit it was read with.
    #[error("the file is too long")]
    TooLong,
    #[error("the file is not UTF-8 text: {0}")]
    NotUtf8(std::string::FromUtf8Error),
}

/// Why a file named inside another could not be found.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum JoinError {
    #[error("`{rel}` is outside the shipped scenarios")]
    OutsideShipped { rel: String },
    #[error("there is no shipped file scenarios/{path}")]
    NotShipped { path: String },
}

impl Source {
    /// Its text, at most `limit` bytes, without a leading byte-order mark.
    ///
    /// A file on disk is read through a limit, not after a `metadata().len()` check alone:
    /// devices and pipes report a length of 0, so `/dev/zero` would be read until memory
    /// runs out.
    pub fn read(&self, limit: u64) -> Result<String, ReadError> {
        let text = match self {
            Source::Disk(path) => {
                let mut bytes = Vec::new();
                std::fs::File::open(path)
                    .and_then(|f| f.take(limit + 1).read_to_end(&mut bytes))
                    .map_err(ReadError::Io)?;
                if bytes.len() as u64 > limit {
                    return Err(ReadError::TooLong);
                }
                String::from_utf8(bytes).map_err(ReadError::NotUtf8)?
            }
            Source::Shipped(s) if s.text.len() as u64 > limit => return Err(ReadError::TooLong),
            Source::Shipped(s) => s.text.to_string(),
        };
        Ok(match text.strip_prefix('\u{feff}') {
            Some(rest) => rest.to_string(),
            None => text,
        })
    }

    /// A file named by `rel` inside this one, relative to this file's folder: beside a
    /// file on disk, or among the shipped files for a shipped one (an absolute path is
    /// always on disk).
    pub fn join(&self, rel: &str) -> Result<Source, JoinError> {
        match self {
            Source::Disk(path) => Ok(Source::Disk(path.parent().unwrap_or(Path::new(".")).join(rel))),
            Source::Shipped(_) if Path::new(rel).is_absolute() => Ok(Source::Disk(PathBuf::from(rel))),
            Source::Shipped(s) => {
                let mut parts: Vec<&str> = s.path.split('/').collect();
                parts.pop();
                for part in rel.split(['/', '\\']) {
                    match part {
                        "" | "." => {}
                        ".." => {
                            if parts.pop().is_none() {
                                return Err(JoinError::OutsideShipped { rel: rel.to_string() });
                            }
                        }
                        p => parts.push(p),
                    }
                }
                let path = parts.join("/");
                SHIPPED.iter().find(|f| f.path == path).map(Source::Shipped).ok_or(JoinError::NotShipped { path })
            }
        }
    }
}

/// Whether what was typed is a bare name rather than a path.
fn is_name(arg: &str) -> bool {
    !arg.is_empty() && !arg.contains(['/', '\\']) && !arg.ends_with(".ron")
}

/// Resolves what a person typed for a file of `kind`: an existing path, else a shipped
/// name, else the path (whose reading then fails with the system's reason). An unknown
/// name is an error that lists the shipped names.
pub fn find(arg: &Path, kind: Kind) -> Result<Source, ScenarioError> {
    if std::fs::symlink_metadata(arg).is_ok() {
        return Ok(Source::Disk(arg.to_path_buf()));
    }
    let Some(name) = arg.to_str().filter(|a| is_name(a)) else {
        // `scenarios/rolling.ron` typed outside the checkout: point at the built-in copy.
        let stem = arg.file_stem().and_then(|s| s.to_str()).filter(|_| arg.extension().is_some_and(|e| e == "ron"));
        if let Some(stem) = stem
            && shipped_named(kind, stem).is_some()
        {
            return Err(ScenarioError::whole(
                arg.display().to_string(),
                ScenarioErrorKind::Read {
                    reason: format!(
                        "there is no such file here; the shipped {} `{stem}` is built in (give its name alone: `{stem}`)",
                        kind.noun()
                    ),
                },
            ));
        }
        return Ok(Source::Disk(arg.to_path_buf()));
    };
    if let Some(f) = shipped_named(kind, name) {
        return Ok(Source::Shipped(f));
    }
    let names: Vec<&str> = shipped(kind).map(|(n, _)| n).collect();
    Err(ScenarioError::whole(name, ScenarioErrorKind::UnknownName { noun: kind.noun(), names: names.join(", ") }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_file_stems_of_their_folder() {
        let lessons: Vec<&str> = shipped(Kind::Lesson).map(|(n, _)| n).collect();
        assert!(lessons.contains(&"canary"), "{lessons:?}");
        let scenarios: Vec<&str> = shipped(Kind::Scenario).map(|(n, _)| n).collect();
        assert!(scenarios.contains(&"canary") && scenarios.contains(&"rolling-bad-release"), "{scenarios:?}");
        assert!(!scenarios.iter().any(|n| n.contains('/')), "a lesson is not a scenario: {scenarios:?}");
        assert_eq!(shipped(Kind::Flags).map(|(n, _)| n).collect::<Vec<_>>(), ["checkout"]);
        // Scenario and lesson `canary` are different files.
        assert_ne!(shipped_named(Kind::Scenario, "canary"), shipped_named(Kind::Lesson, "canary"));
    }

    #[test]
    fn shipped_files_are_the_checkout_files() {
        let s = shipped_named(Kind::Lesson, "rolling").expect("the rolling lesson");
        assert_eq!(s.path, "lessons/rolling.ron");
        let on_disk = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/lessons/rolling.ron"))
            .expect("the checkout's file");
        assert_eq!(s.text, on_disk);
    }

    #[test]
    fn references_resolve_inside_the_shipped_set() {
        let lesson = Source::Shipped(shipped_named(Kind::Lesson, "rolling").expect("the rolling lesson"));
        let target = lesson.join("../rolling.ron").expect("resolves");
        assert_eq!(target, Source::Shipped(shipped_named(Kind::Scenario, "rolling").expect("rolling")));
        assert_eq!(lesson.join("./canary.ron"), Ok(Source::Shipped(shipped_named(Kind::Lesson, "canary").unwrap())));
        assert!(lesson.join("../../etc/passwd").is_err());
        assert!(lesson.join("../no-such.ron").unwrap_err().to_string().contains("scenarios/no-such.ron"));
        assert_eq!(lesson.to_string(), "shipped:scenarios/lessons/rolling.ron");
    }

    #[test]
    fn find_prefers_disk_then_names_then_paths() {
        // A path that exists is read from disk even when a shipped name would match.
        let here = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/canary.ron");
        assert_eq!(find(Path::new(here), Kind::Scenario), Ok(Source::Disk(PathBuf::from(here))));
        assert!(matches!(find(Path::new("rolling-bad-release"), Kind::Scenario), Ok(Source::Shipped(_))));
        // Anything with a slash or `.ron` stays a path, missing or not.
        let missing = Path::new("no/such/scenario.ron");
        assert_eq!(find(missing, Kind::Scenario), Ok(Source::Disk(missing.to_path_buf())));
        let e = find(Path::new("no-such-scenario"), Kind::Scenario).unwrap_err();
        assert!(e.message().contains("rolling-bad-release") && e.message().contains("canary-bad-release"), "{e}");
        let e = find(Path::new("no-such-lesson"), Kind::Lesson).unwrap_err();
        assert!(e.message().contains("shipped lessons are: ab-test, big-bang"), "{e}");
        // The path of a shipped file, from somewhere else, names the built-in copy.
        let e = find(Path::new("elsewhere/scenarios/rolling.ron"), Kind::Scenario).unwrap_err();
        assert!(e.message().contains("cannot read the file") && e.message().contains("`rolling`"), "{e}");
    }

    #[test]
    fn names_are_sorted() {
        for kind in [Kind::Scenario, Kind::Lesson, Kind::Flags] {
            let names: Vec<&str> = shipped(kind).map(|(n, _)| n).collect();
            assert!(names.windows(2).all(|w| w[0] < w[1]), "{names:?}");
        }
        let names: Vec<&str> = shipped(Kind::Scenario).map(|(n, _)| n).collect();
        assert!(names.starts_with(&["ab-test", "ab-test-srm"]), "{names:?}");
    }
}
