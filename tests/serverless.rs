//! The serverless engine against queueing theory, the binomial distribution, the
//! closed-form price of AWS Lambda and the AWS documentation of Lambda aliases and
//! CodeDeploy's deployment configurations.

mod common;

use std::process::Command;

use common::scenario;
use deploysim::serverless::{self, Outcome, RequestOutcome, ServerlessSummary};

const DEPLOYSIM: &str = env!("CARGO_BIN_EXE_deploysim");

/// Lambda's documented prices (x86, us-east-1, <https://aws.amazon.com/lambda/pricing/>).
const PRICE_PER_REQUEST: f64 = 0.20 / 1e6;
const PRICE_PER_GB_S: f64 = 0.000_016_666_7;

fn run(text: &str) -> ServerlessSummary {
    serverless::run(&scenario(text)).expect("a serverless scenario")
}

fn run_all(text: &str) -> (ServerlessSummary, Vec<RequestOutcome>) {
    let mut all = Vec::new();
    let s = serverless::run_observed(&scenario(text), |r| all.push(*r)).expect("a serverless scenario");
    all.sort_by_key(|r| r.id);
    (s, all)
}

/// P(X ≥ k) for X ~ Poisson(mean), by summing the lower terms.
fn poisson_tail(mean: f64, k: u32) -> f64 {
    let mut term = (-mean).exp();
    let mut below = 0.0;
    for i in 0..k {
        below += term;
        term *= mean / (i + 1) as f64;
    }
    (1.0 - below).max(0.0)
}

/// Erlang's loss formula B(c, a) by its recursion B(0) = 1,
/// B(n) = a·B(n−1) / (n + a·B(n−1)) (Kleinrock, Queueing Systems vol. 1, §3.6).
fn erlang_b(c: u32, a: f64) -> f64 {
    (1..=c).fold(1.0, |b, n| a * b / (n as f64 + a * b))
}

/// z for a two-sided 99.9 % interval.
const Z999: f64 = 3.290_526_731_491_926;

// ---- cold starts -------------------------------------------------------------------

/// Arrivals much rarer than the idle timeout: every request is a cold start.
///
/// A request can be warm only if an environment is alive when it arrives, i.e. another
/// request arrived less than W = idle timeout + init + execution = 100 + 50 + 10 ms
/// before it. For a Poisson process of rate λ that has probability 1 − e^(−λW) = 8·10⁻⁵
/// (λ = 0.0005/s); with about 86 requests per seed and 3 seeds the expected number of
/// warm starts is at most 0.021, so (Markov) all three seeds are all-cold with
/// probability ≥ 0.979 for a correct engine; the seeds are fixed, so the test is
/// deterministic. An engine that never shut environments down would give 1 cold start
/// per seed.
#[test]
fn arrivals_rarer_than_the_idle_timeout_are_all_cold_starts() {
    for seed in 1..=3 {
        let s = run(&format!(
            r#"Scenario(name: "sparse", seed: {seed}, duration: "2d",
                traffic: (rate: Constant(rps: 0.0005)),
                service: (latency: Constant("10ms")),
                serverless: (init: Constant("50ms"), idle_timeout: "100ms"))"#
        ));
        // Poisson(86.4) is above 40 with probability 1 − 10⁻⁸.
        assert!(s.requests > 40, "seed {seed}: {} requests", s.requests);
        assert_eq!(s.cold_starts, s.requests, "seed {seed}");
        assert_eq!(s.environments_created, s.requests, "seed {seed}");
        assert_eq!(s.cold_start_share, 1.0);
        // Each request is init + execution: 60 ms.
        assert!((s.latency_mean_ms.unwrap_or(0.0) - 60.0).abs() < 60.0 / 64.0);
        // Scale to zero: nothing is alive at the end of the run.
        assert_eq!(s.series.last().map(|r| r.environments), Some(0));
    }
}

/// With constant init I and execution D and one version, the gap g to the previous
/// arrival decides exactly: g > T + I + D (T the idle timeout) ⇒ every environment has
/// been shut down ⇒ cold; I + D < g < T ⇒ the previous request's environment is idle and
/// alive ⇒ warm. Deterministic, at a rate where both cases are common.
#[test]
fn the_gap_to_the_previous_request_decides_cold_or_warm() {
    let (s, reqs) = run_all(
        r#"Scenario(name: "gaps", seed: 3, duration: "2h",
            traffic: (rate: Constant(rps: 0.5)),
            service: (latency: Constant("100ms")),
            serverless: (init: Constant("200ms"), idle_timeout: "2s"))"#,
    );
    let (mut cold_checked, mut warm_checked) = (0, 0);
    for w in reqs.windows(2) {
        let gap = (w[1].arrival - w[0].arrival).as_secs_f64();
        if gap > 2.3 {
            assert!(w[1].cold, "request {} after a gap of {gap}s was warm", w[1].id);
            cold_checked += 1;
        } else if gap > 0.3 && gap < 2.0 {
            assert!(!w[1].cold, "request {} after a gap of {gap}s was cold", w[1].id);
            warm_checked += 1;
        }
    }
    // P(g > 2.3 s) = e^(−1.15) = 0.32, P(0.3 < g < 2) = 0.49 of ~3600 gaps.
    assert!(cold_checked > 900 && warm_checked > 1400, "{cold_checked} {warm_checked}");
    assert_eq!(s.cold_starts as usize, reqs.iter().filter(|r| r.cold).count());
}

/// Steady load λ = 100/s, execution 100 ms, init 10 ms, environments never shut down
/// during the run. (a) A new environment is made only when all are busy, so
/// environments created = peak concurrency (the running maximum of requests in flight).
/// (b) After warm-up, cold starts stop except in the Poisson tail: requests in flight form
/// an M/G/∞ queue with mean L = λW (Little) ≤ 100 × 0.11 = 11, and by PASTA an arrival
/// sees more than k in flight with probability P(Poisson(11) ≥ k). Over λT = 180 000
/// arrivals, P(peak > 36) ≤ 180 000 · P(Poisson(11) ≥ 36) = 3.5·10⁻⁴ per seed; so the cold
/// starts after the first 62 s (by then the first minute's requests are gone) are at most
/// 36 − (environments made in the first 62 s).
#[test]
fn cold_starts_stop_after_warm_up_under_steady_load() {
    let k_max = (1..100).find(|&k| 180_000.0 * poisson_tail(11.0, k) < 1e-3).unwrap_or(100);
    assert_eq!(k_max, 36, "the bound of the doc comment");
    for seed in 1..=5 {
        let (s, reqs) = run_all(&format!(
            r#"Scenario(name: "steady", seed: {seed}, duration: "30m",
                traffic: (rate: Constant(rps: 100)),
                service: (latency: Constant("100ms")),
                serverless: (init: Constant("10ms"), idle_timeout: "1h"))"#
        ));
        assert_eq!(s.environments_created, s.peak_concurrency as u64, "seed {seed}");
        assert_eq!(s.peak_environments, s.peak_concurrency, "seed {seed}");
        assert!(s.peak_concurrency <= k_max, "seed {seed}: peak {}", s.peak_concurrency);
        let warm_up = deploysim::des::time::Time::from_secs(62);
        let early = reqs.iter().filter(|r| r.cold && r.arrival < warm_up).count() as u32;
        let late = reqs.iter().filter(|r| r.cold && r.arrival >= warm_up).count() as u32;
        // Little's law for the first minute: about 11 in flight, so at least that many
        // environments (a broken reuse would make thousands).
        assert!(early >= 11, "seed {seed}: {early}");
        assert!(late <= k_max - early.min(k_max), "seed {seed}: {late} cold starts after warm-up, {early} before");
        assert_eq!(s.throttles, 0);
    }
}

// ---- cost ---------------------------------------------------------------------------

/// The cost equals requests × price + billed GB-seconds × price, recomputed here from
/// every request's own init and execution time: billed duration = execution (+ init on
/// a cold start, billed since August 2025) rounded up to 1 ms; 512 MB = 0.5 GB.
#[test]
fn cost_is_requests_plus_billed_gb_seconds() {
    for bill_init in [true, false] {
        let (s, reqs) = run_all(&format!(
            r#"Scenario(name: "cost", seed: 4, duration: "20m",
                traffic: (rate: Constant(rps: 20)),
                serverless: (idle_timeout: "2s", bill_init: {bill_init}))"#
        ));
        let mut invocations = 0u64;
        let mut billed_ms = 0u64;
        for r in &reqs {
            if r.outcome == Outcome::Throttled {
                continue;
            }
            invocations += 1;
            let us = r.exec.as_micros() + if bill_init && r.cold { r.init.as_micros() } else { 0 };
            billed_ms += us.div_ceil(1000);
        }
        assert!(s.cold_starts > 100, "the idle timeout makes cold starts: {}", s.cold_starts);
        assert_eq!(invocations, s.invocations);
        assert_eq!(billed_ms, s.billed_ms);
        let expect = invocations as f64 * PRICE_PER_REQUEST + billed_ms as f64 / 1000.0 * 0.5 * PRICE_PER_GB_S;
        assert!((s.cost - expect).abs() <= 1e-12 * expect, "{} vs {expect}", s.cost);
    }
}

/// The cost against its closed-form expectation. Requests form a Poisson process
/// (λT = 3.6·10⁶), each billed c = p_req + 0.5 GB × p_GBs × ⌈S⌉_ms with S log-normal
/// (median 40 ms, p99 300 ms, σ = ln 7.5 / z₀.₉₉). The total is compound Poisson:
/// E = λT·E[c], Var = λT·E[c²], with E⌈S⌉_ms = Σₙ≥₀ P(S > n ms) summed exactly.
/// Accept 5 standard deviations (about 0.3 %: a wrong GB (÷1000) is off by 2.4 %, a
/// missing request price by 29 %). Init is not billed here, so cold starts do not enter.
#[test]
fn cost_matches_its_closed_form_expectation() {
    let s = run(r#"Scenario(name: "cost", seed: 8, duration: "1h",
            traffic: (rate: Constant(rps: 1000)),
            service: (latency: LogNormal(median: "40ms", p99: "300ms")),
            serverless: (bill_init: false, idle_timeout: "1h"))"#);
    assert_eq!(s.throttles, 0);
    let sigma = 7.5f64.ln() / 2.326_347_874_040_841;
    let survival = |ms: f64| {
        if ms <= 0.0 { 1.0 } else { 1.0 - deploysim::metrics::stats::normal_cdf((ms / 40.0).ln() / sigma) }
    };
    let (mut e_b, mut e_b2) = (0.0, 0.0); // E⌈S⌉, E⌈S⌉² in ms: Σ P(S > n), Σ (2n+1) P(S > n)
    for n in 0..200_000 {
        let p = survival(n as f64);
        e_b += p;
        e_b2 += (2 * n + 1) as f64 * p;
    }
    let k = 0.5 * PRICE_PER_GB_S / 1000.0; // per billed ms
    let e_c = PRICE_PER_REQUEST + k * e_b;
    let e_c2 = PRICE_PER_REQUEST.powi(2) + 2.0 * PRICE_PER_REQUEST * k * e_b + k * k * e_b2;
    let n = 1000.0 * 3600.0;
    let (mean, sd) = (n * e_c, (n * e_c2).sqrt());
    assert!((s.cost - mean).abs() < 5.0 * sd, "cost {} vs E {mean} ± {sd}", s.cost);
    assert!(5.0 * sd / mean < 0.004, "the test is sharp enough to see a ÷1000 GB");
}

// ---- concurrency limit --------------------------------------------------------------

/// Reserved concurrency 5 under an offered load a = λ·E[S] = 100 × 0.1 = 10: requests in
/// flight never exceed 5 and the throttled share is Erlang's loss B(5, 10) = 0.564
/// (M/G/c/c; insensitive to the service distribution). Throttles are correlated over
/// about a service time, so 360 000 requests hold roughly 36 000 independent looks:
/// ±0.015 is over 5 standard deviations.
#[test]
fn above_the_concurrency_limit_requests_are_throttled() {
    let s = run(r#"Scenario(name: "limit", seed: 2, duration: "1h",
            traffic: (rate: Constant(rps: 100)),
            service: (latency: Constant("100ms")),
            serverless: (concurrency_limit: 5, init: Constant("1ms"), idle_timeout: "1h"))"#);
    assert!(s.throttles > 0);
    assert!(s.peak_concurrency <= 5, "{}", s.peak_concurrency);
    assert!(s.series.iter().all(|r| r.concurrency <= 5));
    assert!(s.environments_created <= 5);
    let share = s.throttles as f64 / s.requests as f64;
    let b = erlang_b(5, 10.0);
    assert!((b - 0.5640).abs() < 1e-4, "Erlang B(5, 10) from tables");
    assert!((share - b).abs() < 0.015, "throttled {share} vs Erlang B {b}");
}

// ---- alias weights and CodeDeploy --------------------------------------------------

/// A weighted alias routes every request independently with the weight (Lambda docs,
/// "Implement Lambda canary deployments using a weighted alias"): the new version's share
/// is within the binomial 99.9 % interval w ± 3.29·√(w(1−w)/n), nothing goes to it
/// before the deployment, and users are not sticky (many see both versions).
#[test]
fn the_alias_splits_requests_by_weight() {
    for (seed, w) in [(1, 10.0), (2, 30.0), (3, 50.0)] {
        let (_, reqs) = run_all(&format!(
            r#"Scenario(name: "split", seed: {seed}, duration: "31m",
                traffic: (users: 2000, rate: Constant(rps: 100)),
                release: (at: "1m"),
                serverless: (deployment: Canary(percent: {w}, interval: "1h")))"#
        ));
        let at = deploysim::des::time::Time::from_secs(60);
        assert!(reqs.iter().filter(|r| r.arrival < at).all(|r| r.version == 0));
        let after: Vec<_> = reqs.iter().filter(|r| r.arrival >= at).collect();
        let n = after.len() as f64;
        let p = w / 100.0;
        let share = after.iter().filter(|r| r.version == 1).count() as f64 / n;
        let bound = Z999 * (p * (1.0 - p) / n).sqrt();
        assert!((share - p).abs() < bound, "weight {w}: share {share}, bound ±{bound}");
        let mut seen = vec![0u8; 2000];
        for r in &after {
            seen[r.user as usize] |= 1 << r.version;
        }
        // Each user makes ~90 requests: with per-request routing nearly all see both.
        let both = seen.iter().filter(|&&b| b == 3).count();
        assert!(both > 1900, "weight {w}: {both} users saw both versions");
    }
}

/// `Canary10Percent5Minutes` (CodeDeploy user guide, deployment configurations for
/// Lambda: "shifts 10 percent of traffic in the first increment. The remaining 90 percent
/// is deployed five minutes later"): a healthy release is at 10 % from `release.at` for
/// exactly 5 minutes, then at 100 % and promoted.
#[test]
fn canary_10_percent_5_minutes_timeline() {
    let (s, reqs) = run_all(
        r#"Scenario(name: "canary", seed: 9, duration: "15m",
            traffic: (rate: Constant(rps: 100)),
            release: (at: "2m"),
            serverless: (deployment: Canary10Percent5Minutes,
                         alarm: (max_error_rate: 0.02, period: "1m")))"#,
    );
    let tl: Vec<(f64, f64)> = s.weight_timeline.iter().map(|w| (w.t_s, w.weight_pct)).collect();
    assert_eq!(tl, vec![(120.0, 10.0), (420.0, 100.0)]);
    assert_eq!(s.outcome, "promoted");
    assert_eq!(s.promoted_at_s, Some(420.0));
    for row in &s.series {
        let expect = if row.t < 120 {
            0.0
        } else if row.t < 420 {
            10.0
        } else {
            100.0
        };
        assert_eq!(row.weight_pct, expect, "second {}", row.t);
    }
    let t = deploysim::des::time::Time::from_secs;
    let during: Vec<_> = reqs.iter().filter(|r| r.arrival >= t(120) && r.arrival < t(420)).collect();
    let share = during.iter().filter(|r| r.version == 1).count() as f64 / during.len() as f64;
    assert!((share - 0.1).abs() < Z999 * (0.09 / during.len() as f64).sqrt(), "{share}");
    assert!(reqs.iter().filter(|r| r.arrival >= t(420)).all(|r| r.version == 1));
}

/// The shipped bad canary: the release fails 8 % of requests, the alarm threshold is
/// 2 % per 1-minute period. At 10 % of 50 requests/s the first period holds about 300
/// new-version requests; P(≤ 6 errors | n = 300, p = 0.08) < 10⁻⁶, so the alarm fires at
/// its first evaluation, `release.at` + 1 minute, and the alias goes back to 0 % — long
/// before the shift to 100 % at `release.at` + 5 minutes. No request arriving after the
/// rollback reaches the new version.
#[test]
fn a_bad_canary_rolls_back_before_the_shift_to_100_percent() {
    let text = std::fs::read_to_string("scenarios/serverless-canary.ron").expect("shipped scenario");
    let (s, reqs) = run_all(&text);
    assert_eq!(s.outcome, "rolled_back");
    assert_eq!(s.rolled_back_at_s, Some(360.0));
    let tl: Vec<(f64, f64)> = s.weight_timeline.iter().map(|w| (w.t_s, w.weight_pct)).collect();
    assert_eq!(tl, vec![(300.0, 10.0), (360.0, 0.0)]);
    let rb = deploysim::des::time::Time::from_secs(360);
    assert!(reqs.iter().filter(|r| r.arrival >= rb).all(|r| r.version == 0));
    assert!(s.blast_radius_users > 0 && s.blast_radius_users <= s.new_version_errors);
    let failed_v2_users: std::collections::BTreeSet<u32> =
        reqs.iter().filter(|r| r.version == 1 && r.outcome == Outcome::Error).map(|r| r.user).collect();
    assert_eq!(s.blast_radius_users, failed_v2_users.len() as u64);
}

/// `Linear10PercentEvery1Minute`: +10 % at `release.at` and every minute after, 100 % after
/// 9 minutes; the healthy release is promoted.
#[test]
fn linear_10_percent_every_minute_is_promoted() {
    let text = std::fs::read_to_string("scenarios/serverless-linear.ron").expect("shipped scenario");
    let s = run(&text);
    let tl: Vec<(f64, f64)> = s.weight_timeline.iter().map(|w| (w.t_s, w.weight_pct)).collect();
    let expect: Vec<(f64, f64)> = (0..10).map(|k| (300.0 + 60.0 * k as f64, 10.0 * (k + 1) as f64)).collect();
    assert_eq!(tl, expect);
    assert_eq!(s.outcome, "promoted");
    assert_eq!(s.promoted_at_s, Some(840.0));
}

/// The cold-start scenario teaches what it says: most requests are cold and the function
/// costs far less than two always-on instances.
#[test]
fn the_cold_start_scenario_is_mostly_cold_and_cheap() {
    let text = std::fs::read_to_string("scenarios/serverless-cold-starts.ron").expect("shipped scenario");
    let s = run(&text);
    // Gaps longer than 5 min (+ a few hundred ms): e^(−0.001·300) = 0.74 of them.
    assert!(s.cold_start_share > 0.5, "{}", s.cold_start_share);
    assert!(s.cost * 100.0 < s.always_on_cost, "{} vs {}", s.cost, s.always_on_cost);
    assert!((s.always_on_cost - 2.0 * 0.0104 * 12.0).abs() < 1e-12);
}

// ---- determinism and bad input -----------------------------------------------------

#[test]
fn same_seed_same_json_and_the_cli_prints_it() {
    let out = |args: &[&str]| {
        let o = Command::new(DEPLOYSIM).args(args).output().expect("runs");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).expect("UTF-8")
    };
    let a = out(&["run", "scenarios/serverless-canary.ron", "--json"]);
    let b = out(&["run", "scenarios/serverless-canary.ron", "--json"]);
    assert_eq!(a, b);
    let c = out(&["run", "scenarios/serverless-canary.ron", "--json", "--seed", "12"]);
    assert_ne!(a, c);
    let v: serde_json::Value = serde_json::from_str(a.trim()).expect("valid JSON");
    assert_eq!(v["outcome"], "rolled_back");
    for field in ["cost", "blast_radius_users", "excess_failed_requests", "latency_p99_ms", "services"] {
        assert!(!v[field].is_null(), "{field}");
    }
    for field in ["cold_starts", "peak_concurrency", "series"] {
        assert!(!v["detail"]["serverless"][field].is_null(), "detail.serverless.{field}");
    }
    let table = out(&["run", "scenarios/serverless-linear.ron"]);
    assert!(table.contains("cold starts") && table.contains("promoted"), "{table}");
}

#[test]
fn bad_serverless_input_is_an_error_with_its_place() {
    let base = |inner: &str| {
        format!(
            "Scenario(\n    name: \"bad\",\n    duration: \"10m\",\n    release: (at: \"1m\"),\n    serverless: (\n        {inner}\n    ),\n)\n"
        )
    };
    for (inner, needle) in [
        ("concurrency_limit: 0,", "from 1 to"),
        ("deployment: Canary(percent: 150, interval: \"5m\"),", "percentage from 0 to 100"),
        ("deployment: Linear(percent: 0, interval: \"1m\"),", "0.01"),
        ("deployment: Canary10Percent7Minutes,", "Canary10Percent7Minutes"),
        ("memory_mb: 64,", "from 128 to 10240"),
        ("idle_timeout: \"0s\",", "longer than 0s"),
        ("price_per_gb_second: -1.0,", "price"),
        ("init: LogNormal(median: \"300ms\", p99: \"100ms\"),", "median"),
    ] {
        let text = base(inner);
        let e = deploysim::scenario::parse_str("bad.ron", &text).expect_err(inner);
        assert!(e.to_string().contains(needle), "{inner}: {e}");
        assert_eq!(e.line, 6, "{inner}: {e}");
    }
    let with_strategy =
        "Scenario(name: \"bad\", duration: \"10m\", release: (at: \"1m\"),\n strategy: Rolling(), serverless: ())";
    let e = deploysim::scenario::parse_str("bad.ron", with_strategy).expect_err("strategy");
    assert_eq!(e.field, "strategy");
    let crash =
        "Scenario(name: \"bad\", duration: \"10m\", release: (at: \"1m\", defects: [CrashLoop]),\n serverless: ())";
    let e = deploysim::scenario::parse_str("bad.ron", crash).expect_err("crash loop");
    assert_eq!(e.field, "release.defects[0]");

    // The CLI: exit code 2 and `file:line:col`.
    let dir = std::env::temp_dir().join(format!("dsim-serverless-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("bad.ron");
    std::fs::write(&file, base("concurrency_limit: 0,")).expect("write");
    let o = Command::new(DEPLOYSIM).arg("run").arg(&file).output().expect("runs");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.ron:6:"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn shipped(name: &str) -> deploysim::scenario::Scenario {
    deploysim::scenario::load_file(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Against its no-release baseline on the same seed, a request routed to version 1 fails
/// exactly when it fails in the baseline (the same error draw for the same request id,
/// the same error rate), so with no throttling every excess failure and every user of
/// the blast radius is version 2's: the blast radius is at most the users version 2
/// failed, and the detection time is set because the alarm rolled back.
#[test]
fn a_function_release_is_measured_against_its_baseline() {
    let (s, own) = serverless::run_summarised(&shipped("serverless-canary.ron")).expect("serverless");
    assert_eq!(own.throttles, 0, "the argument below needs no throttling");
    assert_eq!(s.outcome, "rolled_back");
    assert!(s.blast_radius_users > 0 && s.blast_radius_users <= own.blast_radius_users, "{s:?}");
    assert!(s.excess_failed_requests > 0 && s.excess_failed_requests as u64 <= own.new_version_errors);
    assert!(s.time_to_detect_s.is_some());
    assert_eq!((s.requests, s.cost), (own.requests, own.cost), "pay per use, attributed to the function");
    assert_eq!(s.services.len(), 1);
    assert_eq!(s.services[0].name, "function");
}

/// Without a release the run is its own baseline: exactly 0 excess failures and blast
/// radius, and the cost is what the function billed.
#[test]
fn a_function_without_a_release_has_exactly_zero_excess() {
    let (s, own) = serverless::run_summarised(&shipped("serverless-cold-starts.ron")).expect("serverless");
    assert_eq!((s.excess_failed_requests, s.blast_radius_users, s.extra_cost), (0, 0, 0.0));
    assert_eq!(s.outcome, "no_rollout");
    assert_eq!(s.cost, own.cost);
    assert!(own.cold_starts > 0);
}
