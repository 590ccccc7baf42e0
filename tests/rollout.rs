//! Recreate and Rolling against the Kubernetes Deployment semantics, and the
//! comparative metrics (blast radius) against the no-rollout baseline.

mod common;
use common::*;

use deploysim::model::fleet::{NEW, STABLE};
use deploysim::strategy::RolloutOutcome;

fn rolling_text(replicas: u32, surge: &str, unavailable: &str, extra_release: &str) -> String {
    format!(
        r#"Scenario(
            name: "rolling", seed: 5, duration: "20m",
            traffic: (users: 5000, rate: Constant(rps: 50)),
            service: (concurrency: 8, latency: LogNormal(median: "40ms", p99: "300ms"), timeout: "2s"),
            fleet: (replicas: {replicas}, zones: 3, instance: (boot: "15s"), readiness: (period: "5s")),
            release: (at: "2m" {extra_release}),
            strategy: Rolling(max_surge: {surge}, max_unavailable: {unavailable}, min_ready: "5s"),
        )"#
    )
}

/// Steps event by event through a rolling update and checks the two Kubernetes
/// guarantees at every step (Deployment docs, "Max Surge" and "Max Unavailable"):
/// non-terminating instances ≤ replicas + maxSurge, available ≥ replicas − maxUnavailable.
fn check_rolling(replicas: u32, surge: &str, unavailable: &str, want_surge: u32, want_unavailable: u32) {
    let s = scenario(&rolling_text(replicas, surge, unavailable, ""));
    let mut sim = simulation(&s);
    let (mut max_total, mut min_available) = (0u32, u32::MAX);
    while sim.step() {
        let (a, b) = (sim.fleet().status(STABLE), sim.fleet().status(NEW));
        if sim.rollout().started.is_some() {
            max_total = max_total.max(a.current + b.current);
            min_available = min_available.min(a.available + b.available);
        }
        assert!(
            a.current + b.current <= replicas + want_surge,
            "{replicas} replicas, surge {surge}: {} instances at {}",
            a.current + b.current,
            sim.now()
        );
        assert!(
            a.available + b.available + want_unavailable >= replicas,
            "{replicas} replicas, unavailable {unavailable}: only {} available at {}",
            a.available + b.available,
            sim.now()
        );
    }
    sim.run_to_end();
    sim.audit().expect("engine bookkeeping holds");
    assert_eq!(sim.rollout().outcome, RolloutOutcome::Promoted, "{replicas}/{surge}/{unavailable}");
    assert_eq!(sim.fleet().status(NEW).available, replicas);
    assert_eq!(sim.fleet().status(STABLE).current, 0);
    // The bounds are reached, not merely respected: the rollout uses its budget.
    assert_eq!(max_total, replicas + want_surge, "surge budget used");
    assert_eq!(min_available, replicas - want_unavailable, "unavailability budget used");
}

#[test]
fn rolling_with_default_25_percent_of_10_surges_3_and_drops_2() {
    // 25 % of 10: surge rounds up to 3, unavailable rounds down to 2.
    check_rolling(10, r#""25%""#, r#""25%""#, 3, 2);
}

#[test]
fn rolling_one_at_a_time_with_zero_surge() {
    check_rolling(6, "0", "1", 0, 1);
}

#[test]
fn rolling_surge_only_keeps_full_availability() {
    check_rolling(3, "1", "0", 1, 0);
}

#[test]
fn rolling_half_at_a_time() {
    check_rolling(4, r#""50%""#, r#""50%""#, 2, 2);
}

#[test]
fn rolling_percentages_rounding_to_zero_unavailable_surges_one() {
    // 10 % of 7: surge ⌈0.7⌉ = 1, unavailable ⌊0.7⌋ = 0.
    check_rolling(7, r#""10%""#, r#""10%""#, 1, 0);
}

#[test]
fn rolling_both_resolving_to_zero_uses_one_unavailable() {
    // 20 % of 4 rounds up to 1 for surge; 0 % for both resolves to (0, 0) → (0, 1).
    check_rolling(4, r#""0%""#, r#""0%""#, 0, 1);
}

/// Kubernetes probes run at initialDelay + k·period after the container starts, so an
/// instance that boots in 25 s with a 10 s period becomes ready at 30 s. Recreate's
/// downtime is that gap (plus the drain of requests in flight, well under a second).
#[test]
fn recreate_downtime_is_boot_plus_readiness_alignment() {
    for (boot, period, expect) in [(20u64, 10u64, 20u64), (25, 10, 30), (12, 5, 15)] {
        let s = scenario(&format!(
            r#"Scenario(
                name: "recreate", seed: 9, duration: "15m",
                traffic: (users: 5000, rate: Constant(rps: 100)),
                service: (concurrency: 8, latency: LogNormal(median: "40ms", p99: "300ms"), timeout: "2s"),
                fleet: (replicas: 6, instance: (boot: "{boot}s"), readiness: (period: "{period}s")),
                release: (at: "5m"),
                strategy: Recreate(),
            )"#
        ));
        let r = deploysim::run(&s);
        assert_eq!(r.summary.outcome, "promoted");
        let d = r.summary.downtime_s;
        assert!(
            d >= expect && d <= expect + 1,
            "boot {boot}s, period {period}s: downtime {d}s, expected about {expect}s"
        );
    }
}

#[test]
fn rolling_healthy_release_has_no_downtime_and_no_blast_radius() {
    let s = scenario(&rolling_text(10, r#""25%""#, r#""25%""#, ""));
    let r = deploysim::run(&s);
    assert_eq!(r.summary.outcome, "promoted");
    assert_eq!(r.summary.downtime_s, 0);
    assert_eq!(r.summary.blast_radius_users, 0);
    assert_eq!(r.summary.excess_failed_requests, 0);
    assert!(r.summary.exposed_users > 0);
}

fn blast_radius(error_rate: f64) -> u64 {
    let extra = format!(", defects: [ErrorRate({error_rate})]");
    let s = scenario(&rolling_text(10, r#""25%""#, r#""25%""#, &extra));
    deploysim::run(&s).summary.blast_radius_users
}

/// Keyed randomness: each request's error draw is fixed by its id, so a higher error
/// rate fails a superset of the requests that a lower one fails.
#[test]
fn bad_release_blast_radius_grows_with_its_error_rate() {
    let radii: Vec<u64> = [0.01, 0.05, 0.20].iter().map(|&p| blast_radius(p)).collect();
    assert!(radii[0] > 0, "{radii:?}");
    assert!(radii[0] <= radii[1] && radii[1] <= radii[2], "{radii:?}");
    assert!(radii[2] > radii[0], "{radii:?}");
}

/// Kubernetes never looks at error rates: a bad release under Rolling completes.
#[test]
fn rolling_promotes_a_bad_release_because_readiness_is_all_it_checks() {
    let s = scenario(&rolling_text(10, r#""25%""#, r#""25%""#, ", defects: [ErrorRate(0.2)]"));
    let r = deploysim::run(&s);
    assert_eq!(r.summary.outcome, "promoted");
    assert!(r.summary.excess_failed_requests > 0);
    assert!(r.summary.error_budget_burn.unwrap_or(0.0) > 1.0);
}

/// A crash-looping release never becomes ready: the Deployment stalls and, with
/// `on_progress_deadline: Rollback`, rolls back after `progressDeadlineSeconds`.
#[test]
fn crash_loop_stalls_then_rolls_back_after_progress_deadline() {
    let s = scenario(
        r#"Scenario(
            name: "crashloop", seed: 3, duration: "30m",
            traffic: (users: 5000, rate: Constant(rps: 50)),
            fleet: (replicas: 4, instance: (boot: "10s")),
            release: (at: "1m", defects: [CrashLoop]),
            strategy: Rolling(max_surge: 1, max_unavailable: 0, progress_deadline: "5m", on_progress_deadline: Rollback),
        )"#,
    );
    let r = deploysim::run(&s);
    assert_eq!(r.summary.outcome, "rolled_back");
    assert_eq!(r.summary.blast_radius_users, 0, "no user reached a pod that never became ready");
    // The last progress is the new pod's creation at 1m; the deadline passes 5m later.
    let abort = r.run.rollout().abort_at.expect("aborted").as_secs_f64();
    assert!((abort - 360.0).abs() < 1.0, "abort at {abort}");
    assert!(r.summary.time_to_recover_s.is_some());
}

#[test]
fn crash_loop_with_report_only_is_stuck() {
    let s = scenario(
        r#"Scenario(
            name: "crashloop", seed: 3, duration: "30m",
            traffic: (users: 5000, rate: Constant(rps: 50)),
            fleet: (replicas: 4, instance: (boot: "10s")),
            release: (at: "1m", defects: [CrashLoop]),
            strategy: Rolling(max_surge: 1, max_unavailable: 0, progress_deadline: "5m"),
        )"#,
    );
    let r = deploysim::run(&s);
    assert_eq!(r.summary.outcome, "stuck");
    assert_eq!(r.summary.rollout_duration_s, None);
}

/// Abort by command: Rolling rolls back (`kubectl rollout undo`), and the time to detect
/// runs from the new version's first failure to the abort.
#[test]
fn abort_command_rolls_back_and_measures_detection() {
    use deploysim::des::time::Time;
    use deploysim::scenario::Command;
    use deploysim::scenario::RolloutCommand;
    let s = scenario(&rolling_text(10, r#""25%""#, r#""25%""#, ", defects: [ErrorRate(0.3)]"));
    let mut sim = simulation(&s);
    sim.step_until(Time::from_secs(150));
    let first = sim.first_new_harm().expect("the bad version has failed a request by now");
    sim.apply(Command::Rollout(RolloutCommand::Abort));
    sim.run_to_end();
    sim.audit().expect("bookkeeping");
    assert_eq!(sim.rollout().outcome, RolloutOutcome::RolledBack);
    assert_eq!(sim.rollout().abort_at, Some(Time::from_secs(150)));
    assert!(first < Time::from_secs(150));
    assert!(sim.rollout().recovered_at.is_some());
    assert_eq!(sim.fleet().status(STABLE).available, 10);
    assert_eq!(sim.commands().len(), 1, "the command is recorded");
}

/// Pausing stops the rollout where it is; resuming finishes it.
#[test]
fn pause_holds_the_rollout_and_resume_finishes_it() {
    use deploysim::des::time::Time;
    use deploysim::scenario::Command;
    use deploysim::scenario::RolloutCommand;
    let s = scenario(&rolling_text(10, r#""25%""#, r#""25%""#, ""));
    let mut sim = simulation(&s);
    sim.step_until(Time::from_secs(121));
    sim.apply(Command::Rollout(RolloutCommand::Pause));
    let held = (sim.fleet().desired, sim.fleet().status(NEW).current);
    sim.step_until(Time::from_secs(900));
    assert_eq!((sim.fleet().desired, sim.fleet().status(NEW).current), held);
    assert_eq!(sim.rollout().outcome, RolloutOutcome::Running);
    sim.apply(Command::Rollout(RolloutCommand::Resume));
    sim.run_to_end();
    assert_eq!(sim.rollout().outcome, RolloutOutcome::Promoted);
}
