//! Every front end runs every shipped scenario: `run --json`, `compare`, `batch`, `sweep`
//! over a parameter every scenario has (`traffic.users`), and `run --csv --report`, for
//! single services, graphs, functions and graphs with functions alike. Each command must
//! succeed and print what its schema says (or write the files it promises).
//!
//! A `continuous` scenario (a stream of releases) runs in all of them but `--csv` and
//! `--report` of `run`: its series are those of many windows, and the refusal says so
//! (checked below).

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every shipped scenario file, and whether it is a stream of releases.
fn scenarios() -> Vec<(PathBuf, bool)> {
    let mut out: Vec<(PathBuf, bool)> = std::fs::read_dir(root().join("scenarios"))
        .expect("scenarios/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .map(|p| {
            let s = deploysim::scenario::load_file(&p).unwrap_or_else(|e| panic!("{e}"));
            (p, deploysim::engine_of(&s) == deploysim::EngineKind::Releases)
        })
        .collect();
    out.sort();
    assert!(out.len() >= 40, "the shipped scenarios are found: {}", out.len());
    out
}

fn deploysim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_deploysim")).args(args).current_dir(root()).output().expect("runs")
}

/// Runs `args` (with the scenario path put in place of `{}`) on every scenario; returns
/// the parsed JSON of each success and checks that streams of releases are refused.
fn every(args: &[&str], streams_refused: bool) -> Vec<(String, serde_json::Value)> {
    let mut out = Vec::new();
    let mut failures = Vec::new();
    for (path, stream) in scenarios() {
        let p = path.to_string_lossy().to_string();
        let full: Vec<&str> = args.iter().map(|a| if *a == "{}" { p.as_str() } else { a }).collect();
        let o = deploysim(&full);
        let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        if stream && streams_refused {
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(!o.status.success() && err.contains("continuous"), "{name}: {err}");
            continue;
        }
        if !o.status.success() {
            failures.push(format!("{name}: {}", String::from_utf8_lossy(&o.stderr)));
            continue;
        }
        match serde_json::from_slice(&o.stdout) {
            Ok(v) => out.push((name, v)),
            Err(e) => failures.push(format!("{name}: not JSON: {e}")),
        }
    }
    assert!(failures.is_empty(), "{} failed:\n{}", failures.len(), failures.join("\n"));
    out
}

#[test]
fn run_json_runs_every_scenario() {
    for (name, v) in every(&["run", "{}", "--json"], false) {
        assert!(v["schema_version"].is_u64(), "{name}");
    }
}

#[test]
fn compare_runs_every_scenario() {
    for (name, v) in every(&["compare", "{}", "--json"], false) {
        let runs = v["runs"].as_array().unwrap_or_else(|| panic!("{name}: no runs"));
        assert!(!runs.is_empty(), "{name}");
        assert!(runs.iter().all(|r| r["blast_radius_users"].is_u64()), "{name}");
    }
}

#[test]
fn batch_runs_every_scenario_over_20_seeds() {
    for (name, v) in every(&["batch", "{}", "--seeds", "20", "--json", "--quiet"], false) {
        let text = v.to_string();
        assert!(text.contains("\"seeds\":20") || text.contains("\"n\":20"), "{name}: 20 seeds in {text:.300}");
    }
}

#[test]
fn sweep_runs_every_scenario_over_a_parameter() {
    let args = ["sweep", "{}", "--set", "traffic.users=500,1500", "--seeds", "3", "--json", "--quiet"];
    for (name, v) in every(&args, false) {
        let text = v.to_string();
        assert!(text.contains("500") && text.contains("1500"), "{name}: both points in {text:.300}");
    }
}

#[test]
fn run_writes_csv_and_a_report_for_every_scenario() {
    let base = std::env::temp_dir().join(format!("deploysim-front-ends-{}", std::process::id()));
    for (path, stream) in scenarios() {
        let name = path.file_stem().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let dir = base.join(&name);
        let d = dir.to_string_lossy().to_string();
        let o = deploysim(&["run", &path.to_string_lossy(), "--csv", &d, "--report", &d]);
        if stream {
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(o.status.code() == Some(2) && err.contains("many windows"), "{name}: {err}");
            continue;
        }
        assert!(o.status.success(), "{name}: {}", String::from_utf8_lossy(&o.stderr));
        let series = std::fs::read_to_string(dir.join("series.csv")).unwrap_or_else(|e| panic!("{name}: {e}"));
        let rows = series.lines().count();
        assert!(rows >= 2, "{name}: a header and at least one second");
        assert!(series.starts_with("t,arrivals,"), "{name}: the one series header");
        for f in ["events.csv", "report.html", "traffic.svg", "errors.png"] {
            assert!(dir.join(f).is_file(), "{name}: {f}");
        }
    }
    let _ = std::fs::remove_dir_all(&base);
}
