//! The strategies against the real systems' documented behaviour and against
//! statistics: Flagger's timing, blue-green switching (load balancer, DNS, switch-back),
//! the Kayenta judge's error rates over many seeds, A/B false positives and sample-ratio
//! mismatch, the feature-flag kill switch, shadow traffic, and `compare`'s common random
//! numbers.

mod common;
use common::*;

use deploysim::des::time::Time;
use deploysim::model::fleet::{NEW, STABLE};
use deploysim::scenario::Command;
use deploysim::strategy::RolloutOutcome;

const BASE: &str = r#"
    traffic: (users: 20000, rate: Constant(rps: 200), segments: [(name: "internal", share: 0.01), (name: "beta", share: 0.05)]),
    service: (concurrency: 8, queue: 100, latency: LogNormal(median: "40ms", p99: "300ms"), timeout: "2s"),
    fleet: (replicas: 10, zones: 3, instance: (boot: "20s")),
    router: (mode: Weighted),
"#;

fn with_base(head: &str, tail: &str) -> String {
    format!("Scenario({head}, {BASE} {tail})")
}

// ----- Flagger -----------------------------------------------------------------------

/// Flagger docs: with `interval` 1m, `stepWeight` 10 and `maxWeight` 50 the canary is
/// promoted after the weight has passed 10, 20, 30, 40, 50 — no sooner than
/// interval × maxWeight / stepWeight = 5 minutes after the canary is ready.
#[test]
fn flagger_promotes_a_healthy_canary_no_sooner_than_interval_times_steps() {
    for (interval, step, max) in [(60u64, 10u32, 50u32), (30, 20, 60), (60, 5, 30)] {
        let s = scenario(&with_base(
            r#"name: "flagger", seed: 3, duration: "40m""#,
            &format!(
                r#"release: (at: "2m"), strategy: Flagger(interval: "{interval}s", step_weight: {step}, max_weight: {max}, threshold: 5)"#
            ),
        ));
        let r = deploysim::run(&s);
        assert_eq!(r.summary.outcome, "promoted");
        let d = r.summary.rollout_duration_s.expect("finished");
        let minimum = interval as f64 * (max / step) as f64;
        // The canary boots first (20 s boot, readiness probed every 10 s).
        assert!(d >= minimum, "interval {interval}s, step {step}, max {max}: promoted after {d}s < {minimum}s");
        assert!(d <= minimum + 60.0, "promoted after {d}s, expected about {minimum}s plus the canary's start");
    }
}

/// Flagger docs: failed checks count up (never reset) to `threshold`, then Flagger rolls
/// back — about interval × threshold after the analysis starts.
#[test]
fn flagger_rolls_back_a_failing_canary_after_interval_times_threshold() {
    for threshold in [2u64, 3, 5] {
        let s = scenario(&with_base(
            r#"name: "flagger bad", seed: 3, duration: "40m""#,
            &format!(
                r#"release: (at: "2m", defects: [ErrorRate(0.1)]),
                   strategy: Flagger(interval: "1m", step_weight: 10, max_weight: 50, threshold: {threshold})"#
            ),
        ));
        let r = deploysim::run(&s);
        assert_eq!(r.summary.outcome, "rolled_back");
        let started = r.run.rollout().started.expect("started").as_secs_f64();
        let abort = r.run.rollout().abort_at.expect("aborted").as_secs_f64() - started;
        let expect = 60.0 * threshold as f64;
        assert!(
            abort >= expect && abort <= expect + 40.0,
            "threshold {threshold}: abort {abort}s after start, expected about {expect}s"
        );
    }
}

// ----- blue-green ----------------------------------------------------------------------

#[test]
fn blue_green_healthy_switch_has_no_downtime_and_costs_double_for_a_while() {
    let s = scenario(&with_base(
        r#"name: "bg", seed: 5, duration: "30m""#,
        r#"release: (at: "5m"), strategy: BlueGreen()"#,
    ));
    let r = deploysim::run(&s);
    assert_eq!(r.summary.outcome, "promoted");
    assert_eq!(r.summary.downtime_s, 0);
    // Whatever fails fails in the baseline too (the log-normal tail past the timeout).
    assert_eq!(r.summary.excess_failed_requests, 0);
    assert_eq!(r.summary.blast_radius_users, 0);
    assert_eq!(r.summary.peak_instances, 20, "both environments at full size");
    assert!(r.summary.extra_cost > 0.0);
}

/// Clients follow a DNS change as their cached answers expire; with cache ages spread
/// evenly the old side's share falls linearly to zero over one TTL.
#[test]
fn blue_green_dns_share_on_the_old_side_decays_over_the_ttl() {
    let s = scenario(&with_base(
        r#"name: "bg dns", seed: 5, duration: "30m""#,
        r#"release: (at: "5m"), strategy: BlueGreen(switch: Dns(ttl: "120s"))"#,
    ));
    let mut sim = simulation(&s);
    sim.run_to_end();
    let series = &sim.metrics().series;
    let switch = series.iter().position(|r| r.success[NEW as usize] > 0).expect("traffic reached the new side");
    let old_share = |from: usize, to: usize| {
        let (mut old, mut all) = (0u64, 0u64);
        for r in &series[from..to] {
            old += r.success[STABLE as usize] as u64;
            all += (r.success[STABLE as usize] + r.success[NEW as usize]) as u64;
        }
        old as f64 / all as f64
    };
    // Expected old share over [a, b] seconds after the switch: the mean of 1 − t/TTL.
    for (a, b) in [(0usize, 30usize), (30, 60), (60, 90), (90, 120)] {
        let expect = 1.0 - (a + b) as f64 / 2.0 / 120.0;
        let got = old_share(switch + a, switch + b);
        assert!((got - expect).abs() < 0.04, "[{a}, {b}) s after the switch: old share {got:.3}, expected {expect:.3}");
    }
    assert_eq!(old_share(switch + 125, switch + 200), 0.0, "everyone has moved after one TTL");
}

/// Argo: a failed post-promotion analysis aborts and the active service goes back to the
/// old ReplicaSet, which was kept for it.
#[test]
fn blue_green_failed_post_promotion_analysis_switches_back() {
    let s = scenario(&with_base(
        r#"name: "bg bad", seed: 5, duration: "30m""#,
        r#"release: (at: "5m", defects: [ErrorRate(0.05)]),
           strategy: BlueGreen(post_promotion_analysis: (interval: "30s", count: 4, checks: [SuccessRate(0.99)]))"#,
    ));
    let r = deploysim::run(&s);
    assert_eq!(r.summary.outcome, "rolled_back");
    assert_eq!(r.summary.downtime_s, 0);
    let abort = r.run.rollout().abort_at.expect("aborted");
    // After the abort, no request reaches the new side.
    let after = abort.whole_secs() as usize + 1;
    let new_served: u64 =
        r.run.metrics().series[after..].iter().map(|s| (s.success[NEW as usize] + s.error[NEW as usize]) as u64).sum();
    assert_eq!(new_served, 0, "traffic went back to the old side");
    assert_eq!(r.run.fleet().status(STABLE).available, 10);
}

// ----- Kayenta -------------------------------------------------------------------------

fn kayenta_text(seed: u64, extra_error: f64) -> String {
    let defects = if extra_error > 0.0 { format!("defects: [ErrorRate({extra_error})]") } else { String::new() };
    format!(
        r#"Scenario(name: "kayenta", seed: {seed}, duration: "9m",
            traffic: (users: 20000, rate: Constant(rps: 200)),
            service: (concurrency: 8, latency: LogNormal(median: "40ms", p99: "300ms"), error_rate: 0.002),
            fleet: (replicas: 10, instance: (boot: "20s")),
            router: (mode: Weighted),
            release: (at: "1m", {defects}),
            strategy: Canary(steps: [SetWeight(10), Analysis(interval: "5m", count: 1, checks: [Kayenta()]), Pause("10m")]),
        )"#
    )
}

/// Runs the Kayenta canary on `seeds` seeds; returns how many judged it a failure.
fn kayenta_failures(seeds: u64, extra_error: f64) -> u64 {
    (0..seeds)
        .filter(|&seed| {
            let s = scenario(&kayenta_text(1000 + seed, extra_error));
            let mut sim = simulation(&s);
            sim.run_to_end();
            sim.rollout().outcome == RolloutOutcome::RolledBack
        })
        .count() as u64
}

/// A healthy canary against its baseline: each metric's Mann–Whitney interval at
/// confidence 0.98 misses a true zero shift about 2 % of the time, so with two metrics
/// the false-alarm rate is at most about 4 %. Over 200 seeds at a true rate of 5 % the
/// count exceeds 20 with probability below 1 % (binomial), so ≤ 20 is the bound.
#[test]
fn kayenta_false_alarm_rate_on_a_healthy_canary_is_at_most_5_percent() {
    let n = 200;
    let alarms = kayenta_failures(n, 0.0);
    assert!(alarms <= 20, "{alarms} false alarms in {n} healthy canaries");
}

/// A canary with 5 % more errors at 10 % of 200 rps: about 200 canary requests per
/// 10-second sample, so each sample's error rate is near 5 % against the baseline's
/// 0.2 %. Detection must be at least 95 % over 200 seeds.
#[test]
fn kayenta_detects_a_5_percent_error_regression_95_percent_of_the_time() {
    let n = 200;
    let caught = kayenta_failures(n, 0.05);
    assert!(caught * 100 >= 95 * n, "caught {caught} of {n}");
}

// ----- A/B -----------------------------------------------------------------------------

fn ab_text(seed: u64, lift: f64, loss: f64) -> String {
    format!(
        r#"Scenario(name: "ab", seed: {seed}, duration: "32m",
            traffic: (users: 20000, rate: Constant(rps: 50), session_gap: "5m"),
            fleet: (replicas: 4, instance: (boot: "5s"), readiness: (period: "5s")),
            release: (at: "10s"),
            strategy: AbTest(deploy: Recreate(), variants: [(name: "a"), (name: "b", lift: {lift}, tracking_loss: {loss})],
                             base_conversion: 0.1, duration: "30m"),
        )"#
    )
}

fn ab_report(seed: u64, lift: f64, loss: f64) -> deploysim::metrics::ab::AbReport {
    let s = scenario(&ab_text(seed, lift, loss));
    let mut sim = simulation(&s);
    sim.run_to_end();
    sim.rollout().ab.clone().expect("the experiment concluded")
}

/// With no true lift the z-test's p-value is uniform, so p < 0.05 in 5 % of seeds. Over
/// 400 seeds the count is Binomial(400, 0.05): mean 20, sd 4.36; [6, 36] holds with
/// probability above 99.9 %.
#[test]
fn ab_test_without_lift_is_significant_in_about_5_percent_of_seeds() {
    let n = 400;
    let significant =
        (0..n).filter(|&seed| ab_report(5000 + seed, 0.0, 0.0).variants[1].p_value.expect("tested") < 0.05).count();
    assert!((6..=36).contains(&significant), "{significant} of {n} significant at 5 %");
}

/// Losing 5 % of one side's users breaks the 50/50 split far beyond chance.
#[test]
fn ab_test_broken_split_raises_the_sample_ratio_alert() {
    let r = ab_report(77, 0.1, 0.05);
    assert!(r.srm_alert, "{r:?}");
    assert_eq!(r.winner, 0, "no decision on untrustworthy data");
    assert!(r.decision.contains("sample ratio mismatch"));
    let healthy = ab_report(77, 0.1, 0.0);
    assert!(!healthy.srm_alert, "{healthy:?}");
}

#[test]
fn ab_test_with_a_large_true_lift_ships_the_treatment() {
    let r = ab_report(9, 0.5, 0.0);
    assert_eq!(r.winner, 1, "{}", r.decision);
    assert!(r.variants[1].lift.unwrap_or(0.0) > 0.2);
}

// ----- feature toggle ----------------------------------------------------------------

/// The kill switch acts inside the instances on the next request: no request starts
/// running the new code after the command, and no redeploy happens.
#[test]
fn kill_switch_stops_the_new_code_on_the_next_request() {
    let s = scenario(&with_base(
        r#"name: "ft", seed: 8, duration: "20m""#,
        r#"release: (at: "1m", defects: [ErrorRate(0.3)]),
           strategy: FeatureToggle(flag: (name: "f"), ramp: [Percent(100), PauseUntilPromoted])"#,
    ));
    let mut sim = simulation(&s);
    sim.step_until(Time::from_secs(600));
    let failures_before = sim.metrics().failed();
    assert!(sim.last_new_code_start().is_some_and(|t| t > Time::from_secs(590)), "the flag is on for everyone");
    let instances = sim.fleet().instances.len();
    sim.apply(Command::KillSwitch);
    let killed_at = sim.now();
    let in_flight = sim.in_system();
    sim.run_to_end();
    assert!(sim.last_new_code_start().is_some_and(|t| t <= killed_at), "new code ran after the kill switch");
    // Only requests already running the new code at the kill can still fail.
    assert!(sim.metrics().failed() - failures_before <= in_flight);
    assert_eq!(sim.fleet().instances.len(), instances, "no instance was created or replaced");
    assert_eq!(sim.rollout().outcome, RolloutOutcome::RolledBack);
    assert!(sim.rollout().recovered_at.is_some_and(|t| t - killed_at < Time::from_secs(3)));
}

/// A dark launch harms nobody until the flag turns on: the build alone is no exposure.
#[test]
fn dark_build_exposes_nobody_and_the_ramp_reaches_the_configured_share() {
    let s = scenario(&with_base(
        r#"name: "ft ramp", seed: 8, duration: "20m""#,
        r#"release: (at: "1m", defects: [ErrorRate(0.3)]),
           strategy: FeatureToggle(flag: (name: "checkout"), ramp: [Pause("5m"), Percent(10), PauseUntilPromoted])"#,
    ));
    let mut sim = simulation(&s);
    sim.step_until(Time::from_secs(300));
    assert_eq!(sim.metrics().exposed_users.len(), 0, "dark: nobody ran the new code");
    // The same requests fail as without any release (common random numbers): the
    // stable version's rare timeouts, nothing more.
    let mut baseline = simulation(&deploysim::baseline_of(&s));
    baseline.step_until(Time::from_secs(300));
    assert_eq!(sim.metrics().failed(), baseline.metrics().failed());
    sim.run_to_end();
    // 10 % rollout: exposed users are those with Unleash bucket ≤ 10 who made a request;
    // the share among active users is 0.1 within 5 binomial standard deviations.
    let active = sim.metrics().active_users.len() as f64;
    let exposed = sim.metrics().exposed_users.len() as f64;
    let sd = (active * 0.1 * 0.9).sqrt();
    assert!((exposed - 0.1 * active).abs() < 5.0 * sd, "{exposed} of {active} exposed");
}

// ----- shadow ------------------------------------------------------------------------

#[test]
fn shadow_users_see_no_failure_of_the_new_version_but_its_errors_are_counted() {
    let s = scenario(&with_base(
        r#"name: "shadow", seed: 12, duration: "20m""#,
        r#"release: (at: "2m", defects: [ErrorRate(0.05), LatencyFactor(2.0)]), strategy: Shadow(mirror: 100, duration: "30m")"#,
    ));
    let r = deploysim::run(&s);
    assert_eq!(r.summary.blast_radius_users, 0);
    assert_eq!(r.summary.exposed_users, 0);
    assert_eq!(r.summary.failed_requests, r.baseline.metrics().failed());
    assert_eq!(r.summary.latency_p99_ms, r.baseline.summary(&r.baseline).latency_p99_ms);
    // The shadow's errors are measured: about 5 % of the mirrored requests.
    let (n, f) = (r.summary.shadow_requests as f64, r.summary.shadow_failed as f64);
    assert!(n > 100_000.0);
    let sd = (n * 0.05 * 0.95).sqrt();
    assert!((f - 0.05 * n).abs() < 5.0 * sd, "{f} of {n} shadow requests failed");
    assert!(r.summary.extra_cost > 0.0, "the shadow fleet costs");
}

#[test]
fn shadow_analysis_stops_a_bad_release_before_anyone_is_exposed() {
    let r = deploysim::run(
        &deploysim::scenario::load_file(std::path::Path::new("scenarios/shadow-bad-release.ron")).expect("loads"),
    );
    assert_eq!(r.summary.outcome, "rolled_back");
    assert_eq!(r.summary.exposed_users, 0);
    assert_eq!(r.summary.blast_radius_users, 0);
    assert!(r.summary.time_to_detect_s.is_some());
}

// ----- compare -------------------------------------------------------------------------

/// Common random numbers: every strategy in `compare` sees the same arrivals.
#[test]
fn compare_gives_every_strategy_identical_arrivals() {
    let s = deploysim::scenario::load_file(std::path::Path::new("scenarios/compare-bad-release.ron")).expect("loads");
    let variants = deploysim::compare_variants(&s, None).expect("variants");
    assert!(variants.len() >= 7);
    let runs = deploysim::compare(&s, &variants);
    let first = runs[0].1.run.metrics();
    for (name, r) in &runs {
        let m = r.run.metrics();
        assert_eq!(m.arrivals, first.arrivals, "{name}");
        assert_eq!(m.arrival_digest, first.arrival_digest, "{name}");
        assert_eq!(m.arrival_digest, r.baseline.metrics().arrival_digest, "{name}");
    }
    // The progressive strategies limit the blast radius of the bad release.
    let radius = |n: &str| runs.iter().find(|r| r.0 == n).map(|r| r.1.summary.blast_radius_users).unwrap_or(u64::MAX);
    assert!(radius("canary") < radius("rolling") / 10);
    assert_eq!(radius("shadow"), 0);
}

/// Argo Rollouts on abort: the canary's weight goes back to 0 at once; only the scale-down
/// of the canary ReplicaSet waits `abortScaleDownDelaySeconds` (default 30 s).
#[test]
fn canary_abort_moves_traffic_back_at_once_and_scales_down_later() {
    let s = scenario(&std::fs::read_to_string("scenarios/canary-bad-release.ron").expect("scenario"));
    let mut sim = simulation(&s);
    sim.run_to_end();
    let abort = sim.rollout().abort_at.expect("the bad canary aborts").whole_secs() as usize;
    let series = &sim.metrics().series;
    // The second that starts after the abort carries no traffic to the new version.
    let next = &series[abort + 1];
    assert_eq!(next.share_new_pct, 0.0);
    assert_eq!(next.success[NEW as usize] + next.error[NEW as usize], 0, "requests still reach the canary");
    // ...while the canary is still there until the delay has passed.
    assert!(series[abort + 10].ready[NEW as usize] > 0, "scaled down before abortScaleDownDelaySeconds");
    assert_eq!(series[abort + 45].ready[NEW as usize], 0);
}
