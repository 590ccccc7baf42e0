//! The command line: `run` output is byte-identical for a scenario and seed, `--json`
//! has every documented key, `--csv` writes the series, and every shipped scenario runs.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn deploysim(args: &[&str]) -> std::process::Output {
    match Command::new(env!("CARGO_BIN_EXE_deploysim")).args(args).output() {
        Ok(o) => o,
        Err(e) => panic!("cannot start deploysim: {e}"),
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("deploysim-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn stdout(o: &std::process::Output) -> String {
    assert!(o.status.success(), "exit {:?}: {}", o.status, String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const KEYS: [&str; 23] = [
    "scenario",
    "seed",
    "strategy",
    "outcome",
    "requests",
    "failed_requests",
    "downtime_s",
    "slo_violation_s",
    "exposed_users",
    "blast_radius_users",
    "blast_radius_pct",
    "excess_failed_requests",
    "error_budget_burn",
    "time_to_detect_s",
    "time_to_recover_s",
    "rollout_duration_s",
    "cost",
    "extra_cost",
    "peak_instances",
    "mixed_version_users",
    "latency_mean_ms",
    "latency_p50_ms",
    "latency_p99_ms",
];

#[test]
fn json_is_one_object_with_every_documented_key() {
    let out = stdout(&deploysim(&["run", "scenarios/rolling-bad-release.ron", "--json"]));
    assert_eq!(out.trim().lines().count(), 1, "one line of JSON");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("valid JSON");
    let obj = v.as_object().expect("an object");
    for k in KEYS {
        assert!(obj.contains_key(k), "missing key {k}");
    }
    assert_eq!(obj["strategy"], "rolling");
    assert!(obj["time_to_detect_s"].is_null(), "Rolling never aborts on errors, so detection does not apply");
}

#[test]
fn same_scenario_and_seed_give_byte_identical_json_and_csv() {
    let (d1, d2) = (temp_dir("a"), temp_dir("b"));
    let a = stdout(&deploysim(&[
        "run",
        "scenarios/rolling-bad-release.ron",
        "--json",
        "--csv",
        d1.to_str().unwrap_or("a"),
    ]));
    let b = stdout(&deploysim(&[
        "run",
        "scenarios/rolling-bad-release.ron",
        "--json",
        "--csv",
        d2.to_str().unwrap_or("b"),
    ]));
    assert_eq!(a, b);
    for f in ["series.csv", "events.csv"] {
        let x = std::fs::read(d1.join(f)).expect("written");
        let y = std::fs::read(d2.join(f)).expect("written");
        assert!(!x.is_empty());
        assert_eq!(x, y, "{f} differs");
    }
    let series = std::fs::read_to_string(d1.join("series.csv")).expect("written");
    // Header plus one row per simulated second (30 minutes).
    assert_eq!(series.lines().count(), 1 + 1800);
    let _ = std::fs::remove_dir_all(&d1);
    let _ = std::fs::remove_dir_all(&d2);
}

#[test]
fn seed_flag_overrides_the_file() {
    let a = stdout(&deploysim(&["run", "scenarios/baseline.ron", "--json", "--seed", "1"]));
    let b = stdout(&deploysim(&["run", "scenarios/baseline.ron", "--json", "--seed", "2"]));
    assert_ne!(a, b);
    let v: serde_json::Value = serde_json::from_str(a.trim()).expect("valid JSON");
    assert_eq!(v["seed"], 1);
}

#[test]
fn every_shipped_scenario_validates_and_runs() {
    let files = common::shipped_scenarios();
    assert!(files.len() >= 5);
    for f in &files {
        let name = f.to_str().unwrap_or_default();
        stdout(&deploysim(&["validate", name]));
        let table = stdout(&deploysim(&["run", name]));
        // Topology scenarios have their own engine and table.
        let topology = deploysim::scenario::load_file(f).is_ok_and(|s| s.topology.is_some());
        let expected = if topology { "users affected" } else { "blast radius" };
        assert!(table.contains(expected), "{name}: {table}");
    }
    for required in ["baseline", "recreate", "rolling", "rolling-bad-release", "mmc"] {
        assert!(Path::new(&format!("scenarios/{required}.ron")).exists(), "{required}.ron is shipped");
    }
}
