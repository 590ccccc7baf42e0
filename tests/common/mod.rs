//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::Arc;

use deploysim::scenario::{Scenario, parse_str};
use deploysim::sim::Simulation;

/// Parses scenario text written in a test; a typo is a test bug, so this may panic.
pub fn scenario(text: &str) -> Scenario {
    match parse_str("test.ron", text) {
        Ok(s) => s,
        Err(e) => panic!("test scenario does not parse: {e}"),
    }
}

/// The shipped scenario files, `scenarios/*.ron`, sorted.
pub fn shipped_scenarios() -> Vec<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .expect("scenarios/ is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "ron"))
        .collect();
    files.sort();
    files
}

/// Every single-service scenario in `scenarios/` (not serverless, topology or
/// continuous) on its own seed and the next, cut to `max_secs` seconds.
pub fn single_service_runs(max_secs: u64) -> Vec<(std::path::PathBuf, Scenario)> {
    let mut out = Vec::new();
    for path in shipped_scenarios() {
        let base = deploysim::scenario::load_file(&path).expect("scenario loads");
        if deploysim::headless_kind(&base).is_some() {
            continue;
        }
        for k in 0..2 {
            let mut s = base.clone();
            s.seed = base.seed.wrapping_add(k);
            if s.duration.time() > deploysim::des::time::Time::from_secs(max_secs) {
                s.duration = deploysim::scenario::Duration::secs(max_secs);
            }
            out.push((path.clone(), s));
        }
    }
    out
}

pub fn simulation(s: &Scenario) -> Simulation {
    Simulation::new(Arc::new(s.clone()))
}

/// Erlang C: the probability that an arrival waits in an M/M/c queue with offered load
/// `a = λ/μ` (Kleinrock, Queueing Systems vol. 1, §3.5).
pub fn erlang_c(c: u32, a: f64) -> f64 {
    let rho = a / c as f64;
    let mut term = 1.0; // a^k / k!
    let mut sum = 0.0;
    for k in 0..c {
        if k > 0 {
            term *= a / k as f64;
        }
        sum += term;
    }
    let top = term * a / c as f64 / (1.0 - rho); // a^c / c! / (1 − ρ)
    top / (sum + top)
}

/// Mean time in an M/M/c system: W = C(c, a) / (cμ − λ) + 1/μ.
pub fn mmc_sojourn(c: u32, lambda: f64, mu: f64) -> f64 {
    erlang_c(c, lambda / mu) / (c as f64 * mu - lambda) + 1.0 / mu
}
