//! The service model against queueing theory: with Poisson arrivals, exponential
//! service and `c` slots the model is an M/M/c queue, so its mean time in system must
//! match Erlang C, and every run must satisfy Little's law L = λW.

mod common;
use common::*;

struct Case {
    c: u32,
    rho: f64,
    mean_ms: f64,
    hours: u32,
    seed: u64,
}

fn mmc_text(k: &Case) -> (String, f64, f64) {
    let mu = 1000.0 / k.mean_ms;
    let lambda = k.rho * k.c as f64 * mu;
    let text = format!(
        r#"Scenario(
            name: "mmc", seed: {seed}, duration: "{hours}h",
            traffic: (users: 100000, rate: Constant(rps: {lambda})),
            service: (concurrency: {c}, queue: 1000000, latency: Exponential(mean: "{mean}ms"), timeout: None),
            fleet: (replicas: 1, zones: 1),
        )"#,
        seed = k.seed,
        hours = k.hours,
        c = k.c,
        mean = k.mean_ms
    );
    (text, lambda, mu)
}

/// Runs the case and returns (measured W, Erlang C W, L, λ·W measured).
fn measure(k: &Case) -> (f64, f64, f64, f64) {
    let (text, lambda, mu) = mmc_text(k);
    let s = scenario(&text);
    let r = deploysim::run(&s);
    let w = r.summary.latency_mean_ms.expect("requests were served") / 1e3;
    assert_eq!(r.summary.failed_requests, 0, "an M/M/c queue with an unbounded queue fails nothing");
    (w, mmc_sojourn(k.c, lambda, mu), r.summary.mean_in_system, r.summary.throughput_rps * w)
}

fn check(k: Case) {
    let (w, theory, l, lw) = measure(&k);
    let err = (w / theory - 1.0).abs();
    assert!(err < 0.03, "c={} rho={}: W = {:.5}s, Erlang C {:.5}s ({:.2} % off)", k.c, k.rho, w, theory, err * 100.0);
    let little = (l / lw - 1.0).abs();
    assert!(little < 0.03, "c={} rho={}: L = {l:.4}, λW = {lw:.4}", k.c, k.rho);
}

#[test]
fn mm2_at_half_load_matches_erlang_c() {
    check(Case { c: 2, rho: 0.5, mean_ms: 20.0, hours: 3, seed: 11 });
}

#[test]
fn mm8_at_80_percent_load_matches_erlang_c() {
    check(Case { c: 8, rho: 0.8, mean_ms: 20.0, hours: 3, seed: 12 });
}

#[test]
fn mm4_at_90_percent_load_matches_erlang_c() {
    check(Case { c: 4, rho: 0.9, mean_ms: 20.0, hours: 8, seed: 13 });
}

#[test]
fn mm3_at_90_percent_load_matches_erlang_c() {
    check(Case { c: 3, rho: 0.9, mean_ms: 50.0, hours: 12, seed: 14 });
}

/// The shipped M/M/c scenario is what its comment says: ρ = 0.8, W ≈ Erlang C.
#[test]
fn shipped_mmc_scenario_matches_erlang_c() {
    let s = deploysim::scenario::load_file(std::path::Path::new("scenarios/mmc.ron")).expect("mmc.ron loads");
    let r = deploysim::run(&s);
    let theory = mmc_sojourn(8, 320.0, 50.0);
    let w = r.summary.latency_mean_ms.expect("served") / 1e3;
    assert!((w / theory - 1.0).abs() < 0.03, "W = {w}, Erlang C {theory}");
}

/// Textbook value: M/M/1 at ρ = 0.5 has C = ρ = 0.5; M/M/2 with a = 1 has C = 1/3.
#[test]
fn erlang_c_helper_matches_textbook_values() {
    assert!((erlang_c(1, 0.5) - 0.5).abs() < 1e-12);
    assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
}
