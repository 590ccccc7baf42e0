//! Engine properties: every request ends exactly once, runs are deterministic, a run
//! and its baseline share their arrivals, and forks and budgeted steps change nothing.

mod common;
use common::*;

use deploysim::des::time::Time;

/// Everything that can end a request at once: short timeouts, small queues that
/// overflow, a spike, crashes, a zone outage, a slow and a failing dependency, a leaky
/// and erroring release under a rolling update with a random MTBF.
const STRESS: &str = r#"Scenario(
    name: "stress", seed: 77, duration: "40m",
    traffic: (users: 3000, rate: Spike(base_rps: 150, peak_rps: 900, at: "25m", duration: "2m"),
              segments: [(name: "beta", share: 0.1)]),
    service: (concurrency: 4, queue: 5, latency: LogNormal(median: "30ms", p99: "400ms"), timeout: "500ms"),
    fleet: (replicas: 8, zones: 3, instance: (provision: "3s", boot: "10s"), mtbf: "20m", drain_timeout: "1s"),
    release: (at: "5m", defects: [ErrorRate(0.02), CrashAfterUptime("15m"), SegmentErrors(segment: "beta", rate: 0.5),
                                  ErrorsAboveLoad(utilization: 0.75, rate: 0.3), LatencyFactor(1.5)]),
    strategy: Rolling(max_surge: 2, max_unavailable: 1),
    faults: [
        (at: "8m", fault: CrashInstances(count: 3)),
        (at: "12m", fault: ZoneOutage(zone: 1, duration: "4m")),
        (at: "20m", fault: DependencySlow(factor: 3.0, duration: "3m")),
        (at: "30m", fault: DependencyErrors(rate: 0.4, duration: "2m")),
        (at: "6m", fault: CrashLoop(count: 2, duration: "3m")),
        (at: "9m", fault: LatencyInjection(delay: "300ms", share: 0.3, duration: "4m")),
        (at: "14m", fault: ErrorBursts(rate: 0.8, burst: "3s", gap: "20s", duration: "5m")),
        (at: "16m", fault: BadConfigPush(rate: 0.2, duration: "4m")),
        (at: "17m", fault: ConfigDrift(count: 2, rate: 0.1)),
        (at: "22m", fault: MemoryLeak(mean_uptime: "5m", duration: "6m")),
        (at: "26m", fault: SegmentBug(segment: "beta", rate: 1.0, duration: "2m")),
        (at: "27m", fault: LoadBug(utilization: 0.5, rate: 0.5, duration: "2m")),
        (at: "33m", fault: DbOverload(factor: 2.0, rate: 0.1, duration: "2m")),
        (at: "35m", fault: DependencyDown(duration: "30s")),
    ],
    random_faults: [(mtbf: "10m", fault: CrashInstances(count: 1))],
)"#;

#[test]
fn every_request_ends_exactly_once_under_stress() {
    let s = scenario(STRESS);
    let mut sim = simulation(&s);
    let mut steps = 0u64;
    while sim.step() {
        steps += 1;
        if steps.is_multiple_of(997) {
            sim.audit().unwrap_or_else(|e| panic!("at {}: {e}", sim.now()));
        }
    }
    sim.run_to_end();
    sim.audit().expect("bookkeeping at the end");
    assert_eq!(sim.in_system(), 0, "every request ended");
    let m = sim.metrics();
    let by_outcome: u64 = [
        deploysim::metrics::Outcome::Success,
        deploysim::metrics::Outcome::Error,
        deploysim::metrics::Outcome::Timeout,
        deploysim::metrics::Outcome::Rejected,
    ]
    .iter()
    .map(|&o| m.outcome_total(o))
    .sum();
    assert_eq!(by_outcome, m.arrivals);
    // All four outcomes occur, so the check covers each path.
    for o in [
        deploysim::metrics::Outcome::Error,
        deploysim::metrics::Outcome::Timeout,
        deploysim::metrics::Outcome::Rejected,
    ] {
        assert!(m.outcome_total(o) > 0, "{o:?} never happened");
    }
    // The per-second series accounts for the same requests.
    let in_series: u64 = m.series.iter().map(|r| r.ended()).sum();
    assert_eq!(in_series, m.arrivals);
    let arrivals_in_series: u64 = m.series.iter().map(|r| r.arrivals as u64).sum();
    assert_eq!(arrivals_in_series, m.arrivals);
}

#[test]
fn same_seed_gives_identical_runs_and_another_seed_does_not() {
    let s = scenario(STRESS);
    let a = deploysim::run(&s);
    let b = deploysim::run(&s);
    assert_eq!(a.summary, b.summary);
    let csv = |r: &deploysim::RunResult| {
        let mut v = Vec::new();
        deploysim::report::write_series_csv(&mut v, &r.run.metrics().series).expect("in memory");
        v
    };
    assert_eq!(csv(&a), csv(&b));
    let mut other = s.clone();
    other.seed += 1;
    let c = deploysim::run(&other);
    assert_ne!(a.run.metrics().arrival_digest, c.run.metrics().arrival_digest);
}

/// Common random numbers: the rollout run and its no-rollout baseline see the same
/// users making the same requests at the same times.
#[test]
fn run_and_baseline_see_identical_arrivals() {
    let s = scenario(STRESS);
    let r = deploysim::run(&s);
    let (a, b) = (r.run.metrics(), r.baseline.metrics());
    assert_eq!(a.arrivals, b.arrivals);
    assert_eq!(a.arrival_digest, b.arrival_digest);
    let per_second = |m: &deploysim::metrics::Recorder| m.series.iter().map(|s| s.arrivals).collect::<Vec<_>>();
    assert_eq!(per_second(a), per_second(b));
    assert_eq!(a.active_users.len(), b.active_users.len());
}

/// A clone continues exactly like the original; stepping in small pieces, in one go or
/// under a wall-clock budget reaches the same state.
#[test]
fn forks_and_step_sizes_do_not_change_the_run() {
    let s = scenario(STRESS);
    let mut whole = simulation(&s);
    whole.run_to_end();

    let mut pieces = simulation(&s);
    let mut t = Time::ZERO;
    while t < pieces.end() {
        t += Time::from_micros(7_777_777);
        pieces.step_until(t);
    }
    let mut fork = pieces.clone();
    pieces.run_to_end();
    fork.run_to_end();

    let mut budgeted = simulation(&s);
    while !budgeted.step_for(budgeted.end(), std::time::Duration::from_micros(200)) {}
    budgeted.run_to_end();

    let base = simulation(&s);
    for sim in [&pieces, &fork, &budgeted] {
        let a = sim.summary(&base);
        let b = whole.summary(&base);
        assert_eq!(a, b);
        assert_eq!(sim.metrics().series.len(), whole.metrics().series.len());
    }
}

/// A healthy release with no faults harms nobody: blast radius exactly 0.
#[test]
fn healthy_release_without_faults_has_zero_blast_radius() {
    let s = scenario(
        r#"Scenario(name: "healthy", seed: 4, duration: "20m",
            traffic: (users: 4000, rate: Constant(rps: 120)),
            service: (timeout: "2s"),
            release: (at: "5m"), strategy: Rolling())"#,
    );
    let r = deploysim::run(&s);
    assert_eq!(r.summary.outcome, "promoted");
    assert_eq!(r.summary.blast_radius_users, 0);
    assert_eq!(r.summary.failed_requests, 0);
}

/// Faults in the scenario hit the baseline too, so they are not blamed on the rollout.
#[test]
fn faults_present_in_the_baseline_are_not_blast_radius() {
    let s = scenario(
        r#"Scenario(name: "fault only", seed: 4, duration: "20m",
            traffic: (users: 4000, rate: Constant(rps: 120)),
            service: (timeout: "2s"),
            faults: [(at: "3m", fault: DependencyErrors(rate: 0.5, duration: "1m"))])"#,
    );
    let r = deploysim::run(&s);
    assert!(r.summary.failed_requests > 1000);
    assert_eq!(r.summary.blast_radius_users, 0);
    assert_eq!(r.summary.excess_failed_requests, 0);
}

/// Memory does not grow with run length: request records are reused, so 8 hours of
/// traffic need no more of them than 1 hour (both bounded by the most requests in
/// flight at once), and the event queue holds only what is in flight.
#[test]
fn request_memory_does_not_grow_with_run_length() {
    let text = |h: u32| {
        format!(
            r#"Scenario(name: "m", seed: 2, duration: "{h}h",
                traffic: (users: 1000, rate: Constant(rps: 300)),
                service: (concurrency: 8, queue: 1000, latency: Exponential(mean: "20ms")),
                fleet: (replicas: 1, zones: 1))"#
        )
    };
    let mut short = simulation(&scenario(&text(1)));
    short.run_to_end();
    let mut long = simulation(&scenario(&text(8)));
    long.run_to_end();
    assert!(long.metrics().arrivals > 8_000_000);
    // ρ = 0.75 with 8 slots: P(N > 200) is below 10^-20, so 200 records always suffice.
    assert!(
        short.request_slots() < 200 && long.request_slots() < 200,
        "{} / {}",
        short.request_slots(),
        long.request_slots()
    );
    assert!(long.pending_events() < 200);
}

/// A session saved with its commands replays exactly: the same summary as the live run.
#[test]
fn a_saved_session_replays_its_commands_exactly() {
    use deploysim::scenario::Command;
    use deploysim::scenario::RolloutCommand;
    let s = scenario(STRESS);
    let mut live = simulation(&s);
    live.step_until(Time::from_secs(305));
    live.apply(Command::ReleaseErrorRate(deploysim::scenario::Probability(0.2)));
    live.step_until(Time::from_secs(310));
    live.apply(Command::CrashInstance(3));
    live.step_until(Time::from_secs(320));
    live.apply(Command::Rollout(RolloutCommand::Abort));
    live.run_to_end();
    let saved = live.session_scenario();
    assert_eq!(saved.commands.len(), 3);
    // Through the file format and back.
    let text = deploysim::scenario::to_ron_string(&saved).expect("serialises");
    let reloaded = deploysim::scenario::parse_str("session.ron", &text).expect("parses");
    let mut replay = simulation(&reloaded);
    replay.run_to_end();
    let base = simulation(&s);
    assert_eq!(live.summary(&base), replay.summary(&base));
    assert_eq!(replay.rollout().outcome, deploysim::strategy::RolloutOutcome::RolledBack);
}

/// Sampling requests for drawing is keyed by request id and changes nothing else.
#[test]
fn sampling_recent_requests_does_not_change_the_run() {
    let s = scenario(STRESS);
    let mut plain = simulation(&s);
    plain.run_to_end();
    let mut sampled = simulation(&s);
    sampled.set_sample_rate(0.5);
    sampled.run_to_end();
    assert!(!sampled.recent().is_empty());
    let base = simulation(&s);
    assert_eq!(plain.summary(&base), sampled.summary(&base));
}

/// Handling quiet stretches of arrivals in one loop is the same run as taking each
/// arrival through the general path: for every single-service scenario in `scenarios/`
/// (cut to fifteen minutes, on two seeds, with and without a shared tape, stepped in
/// uneven pieces) and the stress scenario above, the summaries, every per-second record,
/// the cost, the log, the arrival digest and the users who failed are equal. The loop
/// must also have handled most arrivals of the runs.
#[test]
fn quiet_stretches_are_the_same_run() {
    use deploysim::sim::fast::tape::RequestTape;
    use std::sync::Arc;
    let mut cases = vec![("stress".to_string(), scenario(STRESS))];
    cases.extend(single_service_runs(900).into_iter().map(|(path, s)| (path.display().to_string(), s)));
    let (mut quiet, mut all) = (0u64, 0u64);
    for (k, (name, s)) in cases.iter().enumerate() {
        let tape = (k % 2 == 1).then(|| Arc::new(RequestTape::new(s)));
        let make = || deploysim::sim::Simulation::with_tape(Arc::new(s.clone()), tape.clone());
        let mut general = make();
        general.without_quiet_arrivals();
        general.run_to_end();
        let mut fast = make();
        let mut t = Time::ZERO;
        while t < fast.end() {
            t += Time::from_micros(13_131_313);
            fast.step_until(t);
        }
        fast.run_to_end();
        assert_eq!(general.quiet_arrival_count(), 0, "{name}");
        quiet += fast.quiet_arrival_count();
        all += fast.metrics().arrivals;
        let base = simulation(&deploysim::baseline_of(s));
        let (g, f) = (general.metrics(), fast.metrics());
        assert_eq!(general.summary(&base), fast.summary(&base), "{name}");
        assert_eq!(g.series, f.series, "{name}");
        assert_eq!(g.arrival_digest, f.arrival_digest, "{name}");
        assert_eq!(g.failed_users.count_minus(&f.failed_users), 0, "{name}");
        assert_eq!(f.failed_users.count_minus(&g.failed_users), 0, "{name}");
        assert_eq!(general.cost(), fast.cost(), "{name}");
        assert_eq!(general.request_seconds(), fast.request_seconds(), "{name}");
        assert_eq!(general.log(), fast.log(), "{name}");
    }
    assert!(quiet * 4 > all, "only {quiet} of {all} arrivals were handled in quiet stretches");
}
