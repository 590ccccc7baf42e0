//! Continuous deployment: the release stream and the DORA metrics of each strategy,
//! checked against the statistics of the stream they come from (binomial and Poisson
//! bounds) and against what the detection paths allow (analysis every minute versus a
//! person who answers a page `response` later).

mod common;

use deploysim::continuous::{self, ReleaseRecord, window::ReleaseOutcome, window::RestoredBy};
use deploysim::scenario::{Scenario, parse_str};

/// z of a two-sided 99.9 % normal interval (any statistics table: Φ(3.29) = 0.9995).
const Z999: f64 = 3.29;

/// A small continuous scenario: low traffic and a quick fleet keep hundreds of release
/// windows cheap. `extra` goes inside `continuous: (...)`, `strategies` replaces the
/// strategy lines.
fn stream(seed: u64, strategies: &str, extra: &str) -> Scenario {
    common::scenario(&format!(
        "Scenario(
            name: \"stream\",
            seed: {seed},
            duration: \"1h\",
            traffic: (users: 500, rate: Constant(rps: 5)),
            service: (concurrency: 8, latency: Exponential(mean: \"40ms\"), timeout: \"2s\"),
            fleet: (replicas: 4, zones: 2, instance: (boot: \"5s\", hourly_cost: 0.10)),
            router: (mode: Weighted),
            {strategies}
            continuous: ({extra}),
        )"
    ))
}

const ROLLING: &str = "strategy: Rolling(),";
const ROLLING_AND_CANARY: &str = "strategy: Rolling(),
    compare: [(name: \"canary\", strategy: Canary(
        steps: [SetWeight(20), Pause(\"2m\"), SetWeight(50), Pause(\"2m\")],
        analysis: (interval: \"1m\", min_requests: 20, checks: [SuccessRate(0.99)])))],";

fn report_of(s: &Scenario) -> continuous::ContinuousReport {
    match continuous::run(s) {
        Ok(r) => r,
        Err(e) => panic!("the stream does not run: {e}"),
    }
}

/// Change failure rate of a strategy without analysis. A rolling update looks only at
/// readiness, so every bad release goes fully live and needs a person: the failed share of
/// deployments is the share of bad releases, a Binomial(n, p) / n with p =
/// `bad_probability`. Over 4 seeds × ~300 releases, each seed's rate must lie within
/// z·sqrt(p(1−p)/n) of p at 99.9 %, and so must the pooled rate.
#[test]
fn change_failure_rate_without_analysis_is_the_bad_release_probability() {
    let p = 0.15;
    let (mut failed, mut n) = (0u64, 0u64);
    for seed in 1..=4 {
        let s = stream(
            seed,
            ROLLING,
            "period: \"30d\", releases_per_day: 10, pipeline: Constant(\"10m\"), bad_probability: 0.15,
             defects: [(weight: 3, defect: ErrorRate(0.1)), (weight: 1, defect: ErrorRate(0.5))],
             alert: (error_rate: 0.02, window: \"2m\"), response: \"10m\"",
        );
        let r = report_of(&s);
        let d = &r.strategies[0];
        // Nothing stops a rolling update: every release reaches production.
        assert_eq!(d.deployments, d.releases, "seed {seed}: every release is made fully live");
        assert_eq!(d.rolled_back_by_strategy, 0);
        for rec in &d.release_records {
            let expect = if rec.bad { ReleaseOutcome::Failed } else { ReleaseOutcome::Deployed };
            assert_eq!(rec.outcome, expect, "seed {seed} release {}", rec.index);
        }
        let cfr = d.change_failure_rate.expect("deployments happened");
        let bound = Z999 * (p * (1.0 - p) / d.releases as f64).sqrt();
        assert!(
            (cfr - p).abs() <= bound,
            "seed {seed}: CFR {cfr:.4} over {} releases, expected {p} ± {bound:.4}",
            d.releases
        );
        failed += d.failed_deployments;
        n += d.deployments;
    }
    let pooled = failed as f64 / n as f64;
    let bound = Z999 * (p * (1.0 - p) / n as f64).sqrt();
    assert!(n >= 1000, "enough releases for the bound: {n}");
    assert!((pooled - p).abs() <= bound, "pooled CFR {pooled:.4} over {n}, expected {p} ± {bound:.4}");
}

fn ttr(d: &continuous::DoraReport) -> Vec<f64> {
    d.release_records.iter().filter_map(ReleaseRecord::time_to_restore_s).collect()
}

/// Time to restore. Without analysis, a person restores service `response` (30 min)
/// after the alert, and the alert cannot fire before the first failure: every incident
/// lasts at least `response`. A canary whose analysis measures the success rate every
/// minute aborts on its own within a couple of intervals: every incident ends before a
/// person could even have answered the page. On the same stream and seeds.
#[test]
fn automated_analysis_restores_service_faster_than_a_person() {
    let response = 1800.0;
    for seed in 1..=3 {
        let s = stream(
            seed,
            ROLLING_AND_CANARY,
            "period: \"3d\", releases_per_day: 10, bad_probability: 0.2,
             defects: [(weight: 1, defect: ErrorRate(0.1)), (weight: 1, defect: ErrorRate(0.5))],
             alert: (error_rate: 0.02, window: \"5m\"), response: \"30m\"",
        );
        let r = report_of(&s);
        let (rolling, canary) = (&r.strategies[0], &r.strategies[1]);
        assert_eq!((rolling.strategy.as_str(), canary.strategy.as_str()), ("rolling", "canary"));
        let (tr, tc) = (ttr(rolling), ttr(canary));
        assert!(!tr.is_empty() && !tc.is_empty(), "seed {seed}: incidents on both sides");
        for t in &tr {
            assert!(*t >= response, "seed {seed}: a person restored in {t}s, less than the response time");
        }
        for t in &tc {
            assert!(*t < response, "seed {seed}: the canary's analysis took {t}s");
        }
        assert!(canary.release_records.iter().all(|x| x.restored_by != Some(RestoredBy::Person)));
        let (mr, mc) = (rolling.time_to_restore_mean_s.unwrap_or(0.0), canary.time_to_restore_mean_s.unwrap_or(0.0));
        assert!(mc < mr, "seed {seed}: canary mean TTR {mc}s, rolling {mr}s");
        // Caught by the canary: not a failed deployment, but its users were hurt.
        assert_eq!(canary.change_failure_rate, Some(0.0));
        assert_eq!(canary.bad_caught_by_strategy, canary.bad_releases);
        assert!(canary.blast_radius_users < rolling.blast_radius_users);
    }
}

/// Deployment frequency of a healthy stream: every release is deployed, so the count is
/// the number of commits in the period, Poisson(λT): within z·sqrt(λT) of λT = 300 at
/// 99.9 % for each seed. Lead time for changes is commit → fully live, so it is never
/// shorter than the pipeline delay (constant 20 min here) and covers the queue wait.
#[test]
fn deployment_frequency_is_the_release_rate_and_lead_time_covers_the_pipeline() {
    let (rate, days) = (10.0, 30.0);
    let mean = rate * days;
    for seed in 1..=4 {
        let s = stream(seed, ROLLING, "period: \"30d\", releases_per_day: 10, pipeline: Constant(\"20m\")");
        let r = report_of(&s);
        let d = &r.strategies[0];
        assert_eq!(d.deployments, d.releases, "seed {seed}: a healthy stream deploys everything");
        assert!(
            (d.deployments as f64 - mean).abs() <= Z999 * mean.sqrt(),
            "seed {seed}: {} deployments, expected {mean} ± {:.1}",
            d.deployments,
            Z999 * mean.sqrt()
        );
        assert!((d.deployment_frequency_per_day - d.deployments as f64 / days).abs() < 1e-9);
        assert_eq!(d.change_failure_rate, Some(0.0));
        assert_eq!(d.incidents, 0);
        assert_eq!(d.blast_radius_users, 0, "a healthy rolling update at low load hurts no one");
        for rec in &d.release_records {
            let lead = rec.lead_time_s.expect("deployed");
            let wait = rec.start_s - rec.ready_s;
            assert!(lead >= 1200.0 + wait, "seed {seed} release {}: lead {lead}s, wait {wait}s", rec.index);
            assert!(rec.commit_s < 30.0 * 86_400.0);
        }
        assert!(d.lead_time_median_s.is_some_and(|m| m >= 1200.0));
        assert!(d.lead_time_p90_s >= d.lead_time_median_s);
    }
}

/// The pipeline delay is drawn from its distribution: with `LogNormal(median: 12m)` the
/// share of delays below 12 minutes is Binomial(n, 1/2) / n — within z·sqrt(1/4n) of 1/2.
/// And the share of bad releases is Binomial(n, p) / n.
#[test]
fn the_release_stream_follows_its_distributions() {
    let s = stream(
        3,
        ROLLING,
        "period: \"30d\", releases_per_day: 100, pipeline: LogNormal(median: \"12m\", p99: \"45m\"),
         bad_probability: 0.3, defects: [(defect: ErrorRate(0.1))]",
    );
    let spec = s.continuous.as_ref().expect("continuous");
    let plan = continuous::stream::plan(s.seed, spec);
    let n = plan.len() as f64;
    assert!((n - 3000.0).abs() <= Z999 * 3000f64.sqrt(), "{n} releases");
    let below = plan.iter().filter(|r| r.pipeline.as_secs_f64() < 720.0).count() as f64 / n;
    assert!((below - 0.5).abs() <= Z999 * (0.25 / n).sqrt(), "share below the median {below}");
    let bad = plan.iter().filter(|r| r.bad).count() as f64 / n;
    assert!((bad - 0.3).abs() <= Z999 * (0.21 / n).sqrt(), "bad share {bad}");
    assert!(plan.windows(2).all(|w| w[0].commit <= w[1].commit));
    assert!(plan.iter().all(|r| r.bad == r.defect.is_some()));
}

/// Same scenario and seed ⇒ the same report, to the byte; every strategy sees the same
/// stream (common random numbers); another seed gives another stream.
#[test]
fn runs_are_deterministic_and_strategies_share_the_stream() {
    let s = stream(
        5,
        ROLLING_AND_CANARY,
        "period: \"2d\", releases_per_day: 10, bad_probability: 0.3, defects: [(defect: ErrorRate(0.2))]",
    );
    let a = continuous::json(&report_of(&s));
    let b = continuous::json(&report_of(&s));
    assert_eq!(a, b);
    let r = report_of(&s);
    let streams: Vec<Vec<(u32, f64, bool)>> =
        r.strategies.iter().map(|d| d.release_records.iter().map(|x| (x.index, x.commit_s, x.bad)).collect()).collect();
    assert_eq!(streams[0], streams[1]);
    let mut other = s.clone();
    other.seed = 6;
    assert_ne!(continuous::json(&report_of(&other)), a);
}

fn rejected(text: &str, field: &str) -> deploysim::scenario::ScenarioError {
    match parse_str("bad.ron", text) {
        Ok(_) => panic!("accepted, but `{field}` is wrong:\n{text}"),
        Err(e) => {
            assert!(e.field.contains(field) || e.message().contains(field), "{e}");
            assert!(e.line > 1, "{e}");
            e
        }
    }
}

fn with_continuous(fields: &str, extra: &str) -> String {
    format!(
        "Scenario(\n    name: \"bad\",\n    duration: \"1h\",\n    strategy: Rolling(),\n    {fields}\n    continuous: ({extra}),\n)\n"
    )
}

#[test]
fn bad_continuous_sections_are_rejected_with_their_field() {
    rejected(&with_continuous("", "period: \"7d\", releases_per_day: -3"), "releases_per_day");
    rejected(&with_continuous("", "period: \"7d\", releases_per_day: 0"), "releases_per_day");
    rejected(&with_continuous("", "period: \"7d\", releases_per_day: 10, bad_probability: 1.5"), "bad_probability");
    let e = rejected(
        &with_continuous("", "period: \"7d\", releases_per_day: 10, bad_probability: 0.2"),
        "continuous.defects",
    );
    assert!(e.message().contains("no defects"), "{e}");
    rejected(&with_continuous("", "period: \"7d\", releases_per_day: 10, perod: \"1d\""), "perod");
    rejected(&with_continuous("", "period: \"90d\", releases_per_day: 10"), "90d");
    rejected(&with_continuous("", "period: \"10m\", releases_per_day: 10"), "continuous.period");
    rejected(&with_continuous("release: (at: \"1m\"),", "period: \"7d\", releases_per_day: 10"), "release");
    rejected(
        &with_continuous(
            "traffic: (rate: Ramp(from_rps: 1, to_rps: 5, end: \"1h\")),",
            "period: \"7d\", releases_per_day: 10",
        ),
        "traffic.rate",
    );
    rejected(
        &with_continuous(
            "",
            "period: \"7d\", releases_per_day: 10, bad_probability: 0.1, defects: [(defect: SegmentErrors(segment: \"nope\", rate: 1.0))]",
        ),
        "segment",
    );
    rejected(
        &with_continuous("traffic: (rate: Constant(rps: 10000)),", "period: \"30d\", releases_per_day: 1000"),
        "releases_per_day",
    );
    let none = "Scenario(\n    name: \"bad\",\n    duration: \"1h\",\n    continuous: (period: \"7d\", releases_per_day: 1),\n)\n";
    rejected(none, "strategy");
}

fn deploysim(args: &[&str]) -> std::process::Output {
    match std::process::Command::new(env!("CARGO_BIN_EXE_deploysim")).args(args).output() {
        Ok(o) => o,
        Err(e) => panic!("cannot start deploysim: {e}"),
    }
}

/// The shipped week: `run --json` prints the summary every run prints — here of the
/// stream under the scenario's own strategy, `rolling` — with the DORA report of every
/// strategy under `detail.continuous`, the same bytes twice. The summary's blast radius
/// and cost are the DORA report's for that strategy (the same union of users hurt, the
/// same windows and quiet time); `compare` prints each strategy's stream summary.
#[test]
fn the_command_line_runs_the_shipped_week() {
    let a = deploysim(&["run", "scenarios/continuous-week.ron", "--json"]);
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    let b = deploysim(&["run", "scenarios/continuous-week.ron", "--json"]);
    assert_eq!(a.stdout, b.stdout);
    let v: serde_json::Value = serde_json::from_slice(&a.stdout).expect("JSON");
    let strategies = v["detail"]["continuous"]["strategies"].as_array().expect("array").clone();
    let names: Vec<&str> = strategies.iter().filter_map(|d| d["strategy"].as_str()).collect();
    assert_eq!(names, ["rolling", "canary", "blue-green"]);
    assert_eq!((v["strategy"].as_str(), v["outcome"].as_str()), (Some("rolling"), Some("stream")));
    assert_eq!(v["blast_radius_users"], strategies[0]["blast_radius_users"]);
    assert_eq!(v["cost"], strategies[0]["cost"]);
    for d in &strategies {
        for k in [
            "deployment_frequency_per_day",
            "lead_time_median_s",
            "lead_time_p90_s",
            "change_failure_rate",
            "time_to_restore_median_s",
            "time_to_restore_mean_s",
            "blast_radius_users",
            "failed_requests",
            "cost",
        ] {
            assert!(d.get(k).is_some(), "missing {k}");
        }
    }
    let c = deploysim(&["compare", "scenarios/continuous-week.ron", "--json"]);
    assert!(c.status.success(), "{}", String::from_utf8_lossy(&c.stderr));
    let c: serde_json::Value = serde_json::from_slice(&c.stdout).expect("JSON");
    let runs = c["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 3);
    for (run, dora) in runs.iter().zip(&strategies) {
        assert_eq!(run["strategy"], dora["strategy"]);
        assert_eq!(run["blast_radius_users"], dora["blast_radius_users"], "{}", run["strategy"]);
    }
    let o = deploysim(&["batch", "scenarios/continuous-week.ron", "--seeds", "2", "--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bad = std::env::temp_dir().join(format!("deploysim-continuous-{}.ron", std::process::id()));
    std::fs::write(&bad, with_continuous("", "period: \"7d\", releases_per_day: 10, bad_probability: 2"))
        .expect("write");
    let o = deploysim(&["run", bad.to_str().unwrap_or_default()]);
    let _ = std::fs::remove_file(&bad);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad_probability") && err.contains(":6:"), "{err}");
}
