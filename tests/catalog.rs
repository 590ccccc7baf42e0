//! The shipped library is built into the binary: started in an empty directory outside the
//! checkout, `deploysim` finds scenarios, lessons and flags files by name, a lesson's
//! reference to its scenario resolves among the shipped files, a file on disk still wins,
//! and `scenarios` / `lessons` list exactly the files of the checkout.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const CHECKOUT: &str = env!("CARGO_MANIFEST_DIR");

/// A fresh, empty directory outside the checkout.
fn empty_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("deploysim-catalog-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("cannot create {}: {e}", d.display()));
    assert!(!d.starts_with(CHECKOUT), "{} is inside the checkout", d.display());
    d
}

fn deploysim_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deploysim"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot start deploysim: {e}"))
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "exit {:?}: {}", o.status, String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The file stems of `dir/*.ron` in the checkout, sorted.
fn stems(dir: &str) -> Vec<String> {
    let dir = Path::new(CHECKOUT).join(dir);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "ron"))
        .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(str::to_string))
        .collect();
    names.sort();
    names
}

/// The `(name, description)` rows of a listing: the name, two or more spaces, the rest.
fn rows(listing: &str) -> Vec<(String, String)> {
    listing
        .lines()
        .map(|l| match l.split_once("  ") {
            Some((n, d)) => (n.to_string(), d.trim_start().to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect()
}

#[test]
fn a_lesson_plays_by_name_from_anywhere() {
    let dir = empty_dir("lesson");
    let out = stdout(&deploysim_in(&dir, &["lesson", "canary", "--text"]));
    // The title as the lesson file writes it, and the end the text mode prints.
    assert!(
        out.starts_with("Canary: a small slice of traffic — and why too little traffic hides a bad release\n"),
        "{out}"
    );
    assert!(out.contains("End of the lesson."), "{out}");
}

#[test]
fn a_shipped_lesson_finds_its_shipped_scenario() {
    // `rolling` names its scenario as `Path("../rolling.ron")`; the empty directory has none.
    let dir = empty_dir("lesson-ref");
    let here = stdout(&deploysim_in(&dir, &["lesson", "rolling", "--text"]));
    let from_checkout =
        stdout(&deploysim_in(Path::new(CHECKOUT), &["lesson", "scenarios/lessons/rolling.ron", "--text"]));
    assert_eq!(here, from_checkout, "the shipped lesson plays exactly as the checkout's file");
}

#[test]
fn a_scenario_runs_by_name_exactly_as_its_file() {
    let dir = empty_dir("run");
    let by_name = stdout(&deploysim_in(&dir, &["run", "rolling-bad-release", "--json"]));
    let file = format!("{CHECKOUT}/scenarios/rolling-bad-release.ron");
    let by_path = stdout(&deploysim_in(&dir, &["run", &file, "--json"]));
    assert_eq!(by_name, by_path);
    let v: serde_json::Value = serde_json::from_str(by_name.trim()).expect("one JSON object");
    assert_eq!(v["scenario"], "Rolling update: bad release (5 % errors)");
    assert_eq!(v["strategy"], "rolling");
    stdout(&deploysim_in(&dir, &["run", "rolling-bad-release"]));
}

#[test]
fn compare_batch_validate_and_flags_take_names() {
    let dir = empty_dir("others");
    let out = stdout(&deploysim_in(&dir, &["compare", "canary-bad-release", "--strategies", "none,canary"]));
    assert!(out.starts_with("Canary: bad release caught at 10 % (seed "), "{out}");
    let out = stdout(&deploysim_in(&dir, &["batch", "canary-bad-release", "--seeds", "2", "--quiet", "--json"]));
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert!(v.is_object(), "{out}");
    let out = stdout(&deploysim_in(&dir, &["validate", "canary", "serverless-linear"]));
    assert!(out.contains("ok  canary  (Canary: healthy release, strategy canary)\n"), "{out}");
    assert!(
        out.contains("ok  serverless-linear  (Serverless linear: a healthy release is promoted, serverless"),
        "{out}"
    );
    // scenarios/flags/checkout.ron: user 42 is on the `new-checkout` user list.
    let out = stdout(&deploysim_in(&dir, &["flags", "checkout", "--users", "42"]));
    assert!(out.contains("user 42 (default): new-checkout ON : rule 1: user list"), "{out}");
}

#[test]
fn a_file_on_disk_wins_over_a_shipped_name() {
    let dir = empty_dir("disk-wins");
    let text = std::fs::read_to_string(format!("{CHECKOUT}/scenarios/rolling-bad-release.ron")).expect("the file");
    std::fs::write(dir.join("canary"), text).expect("write");
    let out = stdout(&deploysim_in(&dir, &["run", "canary", "--json"]));
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(
        v["scenario"], "Rolling update: bad release (5 % errors)",
        "the file `canary` here, not the shipped one"
    );
}

#[test]
fn scenarios_lists_every_scenario_file_with_its_name() {
    let dir = empty_dir("list");
    let listed = rows(&stdout(&deploysim_in(&dir, &["scenarios"])));
    let names: Vec<String> = listed.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(names, stems("scenarios"));
    for (name, description) in &listed {
        let file = Path::new(CHECKOUT).join("scenarios").join(format!("{name}.ron"));
        let s = deploysim::scenario::load_file(&file).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(description, &s.name, "{name}");
    }
}

#[test]
fn lessons_lists_every_lesson_file_with_its_title() {
    let dir = empty_dir("lessons");
    let listed = rows(&stdout(&deploysim_in(&dir, &["lessons"])));
    let names: Vec<String> = listed.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(names, stems("scenarios/lessons"));
    let canary = listed.iter().find(|(n, _)| n == "canary").expect("the canary lesson");
    assert_eq!(canary.1, "Canary: a small slice of traffic — and why too little traffic hides a bad release");
}

#[test]
fn an_unknown_name_is_bad_input_and_lists_the_names() {
    let dir = empty_dir("unknown");
    for (args, some) in [
        (&["run", "rolling-bad"][..], ["rolling-bad-release", "canary-bad-release"]),
        (&["lesson", "canery", "--text"][..], ["canary", "blue-green"]),
        (&["flags", "checkuot", "--users", "1"][..], ["checkout", "checkout"]),
    ] {
        let o = deploysim_in(&dir, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("no shipped"), "{args:?}: {err}");
        for name in some {
            assert!(err.contains(name), "{args:?} should list {name}: {err}");
        }
        assert!(o.stdout.is_empty(), "{args:?}");
    }
    // A shipped file's checkout path, typed elsewhere, points at the name.
    let o = deploysim_in(&dir, &["run", "scenarios/rolling-bad-release.ron"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("give its name alone: `rolling-bad-release`"), "{err}");
}
