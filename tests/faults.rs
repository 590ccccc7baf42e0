//! The fault catalogue: each fault does what its definition says, measured against
//! theory (renewal-reward, Poisson and binomial bounds) rather than against the
//! program's own output.

mod common;
use common::*;

fn run(text: &str) -> deploysim::sim::Simulation {
    let s = scenario(text);
    let mut sim = simulation(&s);
    sim.run_to_end();
    sim
}

fn seconds(sim: &deploysim::sim::Simulation, from: u32, to: u32) -> (u64, u64) {
    let mut ok = 0u64;
    let mut failed = 0u64;
    for r in sim.metrics().series.iter().filter(|r| r.t >= from && r.t < to) {
        ok += r.success.iter().map(|&x| x as u64).sum::<u64>();
        failed +=
            (r.error.iter().chain(&r.timeout).chain(&r.rejected).map(|&x| x as u64).sum::<u64>()) + r.no_backend as u64;
    }
    (ok, failed)
}

/// A dependency that is down fails every request that starts while it is down, and
/// nothing before or after.
#[test]
fn dependency_down_fails_every_request_in_its_window_only() {
    let sim = run(r#"Scenario(name: "down", duration: "10m", traffic: (rate: Constant(rps: 50)),
        service: (latency: Constant("20ms")),
        faults: [(at: "3m", fault: DependencyDown(duration: "2m"))])"#);
    let (ok, failed) = seconds(&sim, 181, 299);
    assert!(failed > 5000, "requests in the window: {failed}");
    assert_eq!(ok, 0, "no request may succeed while the dependency is down");
    assert_eq!(seconds(&sim, 0, 179).1, 0);
    assert_eq!(seconds(&sim, 301, 600).1, 0);
}

/// Error bursts of length b separated by exponential gaps of mean g: by the
/// renewal-reward theorem the long-run share of time in a burst is b / (b + g), so with
/// `rate: 1.0` that is the share of failed requests. Here b = 5 s, g = 25 s: 1/6.
/// Over 2 h a cycle count N has variance ≈ t·σ²/μ³ = 7200·625/27000 ≈ 167, so the share
/// has sd ≈ 5·12.9/7200 ≈ 0.009 per seed; the mean of 10 seeds ≈ 0.0028, and ±0.012 is
/// over 4 sd.
#[test]
fn error_bursts_fail_the_renewal_reward_share_of_requests() {
    let mut shares = Vec::new();
    for seed in 1..=10 {
        let sim = run(&format!(
            r#"Scenario(name: "bursts", seed: {seed}, duration: "2h", traffic: (rate: Constant(rps: 20)),
            service: (latency: Constant("10ms")),
            faults: [(at: "0s", fault: ErrorBursts(rate: 1.0, burst: "5s", gap: "25s", duration: "2h"))])"#
        ));
        let m = sim.metrics();
        shares.push(m.failed() as f64 / m.arrivals as f64);
    }
    let mean = shares.iter().sum::<f64>() / shares.len() as f64;
    assert!((mean - 1.0 / 6.0).abs() < 0.012, "failed share {mean}, expected 1/6");
}

/// Latency injected into a share s of requests adds s·delay to the mean at low load (no
/// queueing: 5 rps × 10 ms on 10 instances of 8 slots). s = 0.5, delay 100 ms, constant
/// service 10 ms: mean 60 ms. The injected share over n = 3000 requests has sd
/// √(0.25/3000) ≈ 0.009, i.e. ±0.9 ms per sd; ±4 ms is over 4 sd.
#[test]
fn latency_injection_adds_share_times_delay() {
    let sim = run(r#"Scenario(name: "delay", duration: "10m", traffic: (rate: Constant(rps: 5)),
        service: (latency: Constant("10ms"), timeout: "5s"),
        faults: [(at: "0s", fault: LatencyInjection(delay: "100ms", share: 0.5, duration: "10m"))])"#);
    let mean = sim.metrics().latency.mean().expect("latency") / 1e3;
    assert!((mean - 60.0).abs() < 4.0, "mean latency {mean} ms, expected 60");
}

/// A segment-only bug fails exactly the segment's requests. Segment membership is a
/// per-user Bernoulli(0.2) draw over 10 000 users (sd 0.004) and requests pick users
/// uniformly, so the failed share is 0.2 ± 0.02 (5 sd) and every failed user is in it.
#[test]
fn segment_bug_hits_only_its_segment() {
    let sim = run(r#"Scenario(name: "seg", duration: "10m",
        traffic: (users: 10000, rate: Constant(rps: 50), segments: [(name: "beta", share: 0.2)]),
        faults: [(at: "0s", fault: SegmentBug(segment: "beta", rate: 1.0, duration: "10m"))])"#);
    let m = sim.metrics();
    let share = m.failed() as f64 / m.arrivals as f64;
    assert!((share - 0.2).abs() < 0.02, "failed share {share}");
    let beta = sim.users().segment_index("beta").expect("beta");
    let outside = (0..10_000u32).filter(|&u| m.failed_users.contains(u) && sim.users().segment(u) != beta).count();
    assert_eq!(outside, 0, "users outside the segment failed");
}

/// A bad configuration push fails `rate` of the requests of the instances it reached
/// until it is reverted.
#[test]
fn bad_config_push_fails_until_reverted() {
    let sim = run(r#"Scenario(name: "push", duration: "20m", traffic: (rate: Constant(rps: 40)),
        service: (latency: Constant("10ms")),
        faults: [(at: "5m", fault: BadConfigPush(rate: 0.5, duration: "5m"))])"#);
    let (ok, failed) = seconds(&sim, 301, 599);
    let share = failed as f64 / (ok + failed) as f64;
    // n ≈ 11 900: binomial sd ≈ 0.0046; ±0.025 is over 5 sd.
    assert!((share - 0.5).abs() < 0.025, "failed share while pushed {share}");
    assert_eq!(seconds(&sim, 601, 1200).1, 0, "errors after the revert");
}

/// Without a revert a bad push stays on the instances it reached; replacing them (an
/// immutable rolling update to a healthy release) removes it, because new instances
/// start from the image.
#[test]
fn bad_config_push_without_revert_is_cleared_by_replacing_instances() {
    let base = r#"Scenario(name: "push", duration: "30m", traffic: (rate: Constant(rps: 40)),
        service: (latency: Constant("10ms")), fleet: (replicas: 4, instance: (boot: "5s")),
        release: (at: "10m"),
        faults: [(at: "2m", fault: BadConfigPush(rate: 1.0))], STRATEGY)"#;
    let kept = run(&base.replace(", STRATEGY", ""));
    let (ok, _) = seconds(&kept, 121, 1800);
    assert_eq!(ok, 0, "the pushed configuration fails every request until it is reverted");
    let replaced = run(&base.replace("STRATEGY", "strategy: Rolling(max_surge: 1, max_unavailable: 0)"));
    assert_eq!(seconds(&replaced, 1200, 1800).1, 0, "replaced instances must be clean");
}

/// A crash loop takes `count` instances out until the fault ends (each restart crashes
/// while booting), then they come back after their back-off.
#[test]
fn crash_loop_keeps_instances_down_until_it_ends() {
    let sim = run(r#"Scenario(name: "loop", duration: "30m", traffic: (rate: Constant(rps: 20)),
        fleet: (replicas: 6, instance: (boot: "5s")),
        faults: [(at: "2m", fault: CrashLoop(count: 2, duration: "10m"))])"#);
    let ready = |t: u32| sim.metrics().series[t as usize].ready[0];
    assert_eq!(ready(100), 6);
    for t in (130..720).step_by(10) {
        assert_eq!(ready(t), 4, "at {t}s");
    }
    // Back-off is capped at 5 min (Kubernetes), so by 12 m + 5 m + boot all are back.
    assert_eq!(ready(1400), 6);
}

/// A memory leak with mean uptime m on n running instances over a window w causes about
/// n·w/m crashes (a Poisson count, less the little time spent restarting). n = 10,
/// w = 1 h, m = 30 min: ≈ 20 per seed; over 20 seeds the total is Poisson(≈ 400) with
/// sd 20, and restarts take < 1 % of the time; ±70 is 3.5 sd.
#[test]
fn memory_leak_crash_count_matches_its_rate() {
    let mut crashes = 0u64;
    for seed in 1..=20 {
        let sim = run(&format!(
            r#"Scenario(name: "leak", seed: {seed}, duration: "1h", traffic: (rate: Constant(rps: 5)),
            fleet: (replicas: 10, instance: (boot: "1s"), readiness: (initial_delay: "0s", period: "1s")),
            faults: [(at: "0s", fault: MemoryLeak(mean_uptime: "30m", duration: "1h"))])"#
        ));
        crashes += sim.fleet().instances.iter().map(|i| i.crashes as u64).sum::<u64>();
    }
    assert!((crashes as f64 - 400.0).abs() < 70.0, "crashes {crashes}, expected ≈ 400");
}

/// Random faults strike as a Poisson process: over 200 seeds the mean number of
/// occurrences in 5 h with an MTBF of 30 min is 10, with sd √(10/200) ≈ 0.22.
#[test]
fn random_faults_follow_their_mtbf() {
    let mut total = 0usize;
    for seed in 1..=200 {
        let s = scenario(&format!(
            r#"Scenario(name: "random", seed: {seed}, duration: "5h", traffic: (rate: Constant(rps: 1)),
            random_faults: [(mtbf: "30m", fault: DependencySlow(factor: 2.0, duration: "1m"))])"#
        ));
        total += deploysim::sim::faults::occurrences(&s, seed).len();
    }
    let mean = total as f64 / 200.0;
    assert!((mean - 10.0).abs() < 0.8, "mean occurrences {mean}");
}

/// A bug that shows under load fails nothing when instances are idle.
#[test]
fn load_bug_needs_load() {
    let idle = run(r#"Scenario(name: "load", duration: "5m", traffic: (rate: Constant(rps: 5)),
        service: (concurrency: 8, latency: Constant("10ms")),
        faults: [(at: "0s", fault: LoadBug(utilization: 0.5, rate: 1.0, duration: "5m"))])"#);
    assert_eq!(idle.metrics().failed(), 0);
    // 2 instances × 8 slots at 100 ms each hold 160 rps; 150 rps keeps them busy, so
    // requests start with ≥ 4 in service often.
    let busy = run(r#"Scenario(name: "load", duration: "5m", traffic: (rate: Constant(rps: 150)),
        service: (concurrency: 8, queue: 1000, latency: Constant("100ms")), fleet: (replicas: 2),
        faults: [(at: "0s", fault: LoadBug(utilization: 0.5, rate: 1.0, duration: "5m"))])"#);
    assert!(busy.metrics().failed() > 1000, "failed {}", busy.metrics().failed());
}

/// A DB overload multiplies service times: at low load, constant 20 ms × 3 = 60 ms.
#[test]
fn db_overload_slows_and_fails() {
    let sim = run(r#"Scenario(name: "db", duration: "10m", traffic: (rate: Constant(rps: 5)),
        service: (latency: Constant("20ms")),
        faults: [(at: "0s", fault: DbOverload(factor: 3.0, rate: 0.0, duration: "10m"))])"#);
    let mean = sim.metrics().latency.mean().expect("latency") / 1e3;
    assert!((mean - 60.0).abs() < 1.0, "mean {mean}");
}

#[test]
fn fault_errors_name_the_field() {
    let cases = [
        (
            r#"Scenario(name: "x", duration: "10m", faults: [(at: "1m", fault: SegmentBug(segment: "gamma", rate: 1.0, duration: "1m"))])"#,
            "faults[0].fault.segment",
        ),
        (
            r#"Scenario(name: "x", duration: "10m", random_faults: [(mtbf: "0.1s", fault: DependencyDown(duration: "1m"))])"#,
            "random_faults[0].mtbf",
        ),
        (
            r#"Scenario(name: "x", duration: "10h", random_faults: [(mtbf: "10s", fault: DependencyDown(duration: "1m"))])"#,
            "random_faults[0].mtbf",
        ),
        (
            r#"Scenario(name: "x", duration: "10m", faults: [(at: "1m", fault: ErrorBursts(rate: 1.0, burst: "0s", gap: "1s", duration: "1m"))])"#,
            "faults[0].fault.burst",
        ),
        (
            r#"Scenario(name: "x", duration: "10m", faults: [(at: "1m", fault: LatencyInjection(delay: "1s", share: 1.5, duration: "1m"))])"#,
            "share",
        ),
    ];
    for (text, field) in cases {
        let e = deploysim::scenario::parse_str("bad.ron", text).err().unwrap_or_else(|| panic!("accepted: {text}"));
        let msg = e.to_string();
        assert!(msg.contains("bad.ron") && msg.contains(field), "`{msg}` should name bad.ron and {field}");
    }
}
